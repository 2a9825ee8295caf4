//! A folder's state as one state machine: what it is doing ([`Phase`]: idle, or a run in
//! flight) and what holds it ([`Hold`]: a person's pause, a quota, a safety brake or a failure),
//! changed only by [`step`], a pure function of the state and one [`Event`] that returns the
//! new state and the [`Effect`]s for the engine's loop to carry out. What the fronts see
//! ([`FolderState`]) is computed from it ([`Phase::shown`]), so the two cannot disagree.
//!
//! Why a phase and a hold, not one list: a run in flight and a hold are independent. A person
//! may pause during a run (it stops between batches, [`Effect::StopRun`]), and may ask for a
//! run of a held folder (`sync_now`: [`Event::RunDue`] with `asked`); every pair is a state.
//!
//! Not part of the machine, because they never change what a folder shows or whether it may
//! run: queued work (`engine::Pending`: watch hints, the rescan and retry timers, `rescan_now`,
//! `rebuild`, `sync_now`, a settings change all only queue work; held work waits, and queued
//! work of a free, idle folder starts in the same turn of the loop, so "scheduled" is never a
//! state that lasts), the timers themselves, the Source Logs follow-up, the watcher and the
//! callers waiting for a run.
//!
//! # The table
//!
//! `problems` is the count `UpToDate` shows; "over r" is a pause made while the folder needed
//! attention for `r`, which comes back at resume. Rows not listed leave the state unchanged
//! and do nothing (`tests::the_table` lists every pair of state and event, those included).
//!
//! | state | event | new state | effects |
//! |---|---|---|---|
//! | Idle, free | `RunDue` | Running, free | `StartRun` |
//! | Idle, held | `RunDue { asked: true }` | Running, same hold | `StartRun` |
//! | Running | `Progress(p)` | Running, progress `p` | |
//! | Running | `RunFinished`, attention `r` | Idle, `Attention(r)` | `SaveAttention(r)` |
//! | Running | `RunFinished`, quota | Idle, `Quota` (message, until) | `SaveAttention(None)` if the hold carried an attention |
//! | Running, paused | `RunFinished`, clean | Idle, `Paused` (over nothing) | the same |
//! | Running, not paused | `RunFinished`, clean | Idle, free, its problems | the same |
//! | Idle, free or quota | `Pause` | Idle, `Paused` | |
//! | Idle, attention `r` | `Pause` | Idle, `Paused` over `r` | |
//! | Running, unless paused during the run | `Pause` | Running, `Paused` (over the attention, if any), stopping | `StopRun` |
//! | Idle, free, paused over nothing, or quota | `Resume` | Idle, free, 0 problems | `QueueFullRun` |
//! | Idle, paused over `r` | `Resume` | Idle, `Attention(r)` | |
//! | Running, free, paused over nothing, or quota | `Resume` | Running, free | `QueueFullRun` |
//! | Running, paused over `r` | `Resume` | Running, `Attention(r)` | |
//! | any | `Confirm` | same phase, free | `PassBrakesOnce`, `QueueFullRun`, `SaveAttention(None)`, `Notify(DeletesConfirmed)` |
//! | Idle, quota until `t` | `Tick { now ≥ t }` | Idle, free, 0 problems | `QueueFullRun`, `Notify(QuotaWaitOver)` |
//! | Running, quota until `t` | `Tick { now ≥ t }` | Running, free | the same |
//!
//! Unchanged, on purpose: `RunDue` while running (one run at a time) or held and not asked;
//! `Progress` and `RunFinished` while idle (no run of this folder is in flight); `Pause` of a
//! paused folder; `Resume` of a folder that needs attention (confirm goes past a brake, resume
//! does not); `Tick` before the end of a quota pause, or with no quota pause.
//!
//! A run that ends clean or on a quota got past the brakes and the failure an attention hold
//! was about, so that hold is gone, in the store too; a person's pause outlives the run.
//!
//! What the fronts see ([`Phase::shown`]):
//!
//! | state | [`FolderState`] |
//! |---|---|
//! | Idle, free | `UpToDate { problems }` |
//! | Idle, `Paused` | `Paused { reason: None }` |
//! | Idle, `Quota` | `Paused { reason: the message and until when }` |
//! | Idle, `Attention(r)` | `NeedsAttention { problems: [r] }` |
//! | Running, paused during the run (stopping) | `Paused { reason: None }` |
//! | Running, otherwise | `Syncing { .. }` once a batch was sent, `Scanning` before |

use serde::Serialize;

/// Where a folder stands, as the fronts see it (computed by [`Phase::shown`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FolderState {
    UpToDate {
        problems: usize,
    },
    Scanning,
    Syncing {
        done: usize,
        total: usize,
        bytes_done: u64,
        bytes_total: u64,
        eta_secs: Option<u64>,
    },
    Paused {
        reason: Option<String>,
    },
    NeedsAttention {
        problems: Vec<String>,
    },
}

/// A run's progress, as `Syncing` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub eta_secs: Option<u64>,
}

/// Why the runs the engine starts by itself do not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// A person paused the folder; only a person resumes it. `over`: why the folder needed
    /// attention when it was paused; at resume it needs attention again.
    Paused { over: Option<String> },
    /// A run stopped on a quota (a throttle, the daily quota, the item limit): paused until
    /// `until_ms` (engine clock), then it resumes by itself; `None`: until a person resumes.
    Quota {
        message: String,
        until_ms: Option<u64>,
    },
    /// A safety brake, a fatal halt (bad key, missing source) or a failed run: held until a
    /// person confirms, or until a run a person asked for gets past it.
    Attention { reason: String },
}

impl Hold {
    /// The attention reason the hold carries (its own, or the one a pause was made over).
    fn attention(&self) -> Option<&String> {
        match self {
            Self::Attention { reason } => Some(reason),
            Self::Paused { over } => over.as_ref(),
            Self::Quota { .. } => None,
        }
    }
}

/// A folder's state: idle or running, and what holds it (`None`: free).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// No run in flight. `problems`: what the last run left (shown by `UpToDate`).
    Idle { hold: Option<Hold>, problems: usize },
    /// One run in flight (never two for a folder). `progress`: its last accepted batch
    /// (`None` while it scans and plans); `stopping`: a pause during the run told it to stop
    /// between batches (it does, even if the folder is resumed meanwhile).
    Running {
        hold: Option<Hold>,
        progress: Option<Progress>,
        stopping: bool,
    },
}

/// How a run ended, for [`Event::RunFinished`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// Problems left by the run (scan and push problems, and one for an unreachable service).
    pub problems: usize,
    pub halt: Option<RunHalt>,
}

/// A run's end that holds the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunHalt {
    /// A safety brake, a fatal halt or a failed run, in words.
    Attention(String),
    /// A quota stopped the run: the service's message, and when the pause ends by itself.
    Quota {
        message: String,
        until_ms: Option<u64>,
    },
}

/// What happens to a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Work is queued: a run may start. `asked`: a person waits for it (`sync_now`), which
    /// starts it on a held folder too.
    RunDue { asked: bool },
    /// The run in flight had a batch accepted.
    Progress(Progress),
    /// The run in flight ended.
    RunFinished(RunEnd),
    /// A person paused the folder.
    Pause,
    /// A person resumed it.
    Resume,
    /// A person confirmed: go past the safety brakes once.
    Confirm,
    /// The loop's timer tick, at `now_ms` (engine clock).
    Tick { now_ms: u64 },
}

/// What the engine's loop does after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start the run (scan, plan, brakes, execute) with the queued work.
    StartRun,
    /// Tell the run in flight to stop between batches.
    StopRun,
    /// Queue a full rescan (a run starts when the folder is free and idle).
    QueueFullRun,
    /// Let the next run go past the safety brakes.
    PassBrakesOnce,
    /// Record why the folder needs attention (`None`: it no longer does) in the state store,
    /// so that it outlives a restart.
    SaveAttention(Option<String>),
    /// Tell the person (an activity line).
    Notify(Notice),
}

/// The activity lines a step writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    QuotaWaitOver,
    DeletesConfirmed,
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::QuotaWaitOver => "the quota wait is over; syncing again",
            Self::DeletesConfirmed => "deletes confirmed",
        })
    }
}

impl Phase {
    /// A folder as it starts: free, or needing attention for the reason the store kept.
    pub fn at_start(attention: Option<String>, problems: usize) -> Self {
        Self::Idle {
            hold: attention.map(|reason| Hold::Attention { reason }),
            problems,
        }
    }

    pub fn hold(&self) -> Option<&Hold> {
        match self {
            Self::Idle { hold, .. } | Self::Running { hold, .. } => hold.as_ref(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running { .. })
    }

    /// When a quota pause ends by itself (ms, engine clock).
    pub fn paused_until_ms(&self) -> Option<u64> {
        match self.hold() {
            Some(Hold::Quota { until_ms, .. }) => *until_ms,
            _ => None,
        }
    }

    /// What the fronts see (the second table of the module).
    pub fn shown(&self) -> FolderState {
        match self {
            Self::Idle {
                hold: None,
                problems,
            } => FolderState::UpToDate {
                problems: *problems,
            },
            Self::Idle {
                hold: Some(Hold::Paused { .. }),
                ..
            }
            | Self::Running {
                hold: Some(Hold::Paused { .. }),
                stopping: true,
                ..
            } => FolderState::Paused { reason: None },
            Self::Idle {
                hold: Some(Hold::Quota { message, until_ms }),
                ..
            } => FolderState::Paused {
                reason: Some(quota_reason(message, *until_ms)),
            },
            Self::Idle {
                hold: Some(Hold::Attention { reason }),
                ..
            } => FolderState::NeedsAttention {
                problems: vec![reason.clone()],
            },
            Self::Running { progress, .. } => match progress {
                None => FolderState::Scanning,
                Some(p) => FolderState::Syncing {
                    done: p.done,
                    total: p.total,
                    bytes_done: p.bytes_done,
                    bytes_total: p.bytes_total,
                    eta_secs: p.eta_secs,
                },
            },
        }
    }
}

/// The reason shown for a quota pause: the service's explanation and until when.
pub fn quota_reason(message: &str, resume_at_ms: Option<u64>) -> String {
    let until = resume_at_ms.and_then(|ms| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .ok()?
            .format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    match until {
        Some(t) => format!("{message}; paused until {t}, then it resumes by itself"),
        None => format!(
            "{message}; paused until you resume the folder (this limit does not lift by itself)"
        ),
    }
}

/// The same phase with another hold.
fn with_hold(phase: &Phase, hold: Option<Hold>) -> Phase {
    match phase {
        Phase::Idle { problems, .. } => Phase::Idle {
            hold,
            problems: *problems,
        },
        Phase::Running {
            progress, stopping, ..
        } => Phase::Running {
            hold,
            progress: *progress,
            stopping: *stopping,
        },
    }
}

/// The transition function: the new state and what to do (the tables of the module). Pure.
pub fn step(phase: &Phase, event: Event) -> (Phase, Vec<Effect>) {
    let unchanged = || (phase.clone(), Vec::new());
    let hold = phase.hold();
    match event {
        Event::RunDue { asked } => match phase {
            Phase::Idle { hold, .. } if hold.is_none() || asked => (
                Phase::Running {
                    hold: hold.clone(),
                    progress: None,
                    stopping: false,
                },
                vec![Effect::StartRun],
            ),
            _ => unchanged(),
        },
        Event::Progress(p) => match phase {
            Phase::Running { hold, stopping, .. } => (
                Phase::Running {
                    hold: hold.clone(),
                    progress: Some(p),
                    stopping: *stopping,
                },
                Vec::new(),
            ),
            Phase::Idle { .. } => unchanged(),
        },
        Event::RunFinished(end) => {
            if !phase.is_running() {
                return unchanged();
            }
            // The run got past the brakes unless it ends on one: an attention it ran under
            // is over.
            let cleared = || match hold.and_then(Hold::attention) {
                Some(_) => vec![Effect::SaveAttention(None)],
                None => Vec::new(),
            };
            let (hold, effects) = match end.halt {
                Some(RunHalt::Attention(reason)) => (
                    Some(Hold::Attention {
                        reason: reason.clone(),
                    }),
                    vec![Effect::SaveAttention(Some(reason))],
                ),
                Some(RunHalt::Quota { message, until_ms }) => {
                    (Some(Hold::Quota { message, until_ms }), cleared())
                }
                None => match hold {
                    Some(Hold::Paused { .. }) => (Some(Hold::Paused { over: None }), cleared()),
                    _ => (None, cleared()),
                },
            };
            (
                Phase::Idle {
                    hold,
                    problems: end.problems,
                },
                effects,
            )
        }
        Event::Pause => {
            let paused = Hold::Paused {
                over: hold.and_then(Hold::attention).cloned(),
            };
            match phase {
                Phase::Idle {
                    hold: Some(Hold::Paused { .. }),
                    ..
                }
                | Phase::Running {
                    hold: Some(Hold::Paused { .. }),
                    stopping: true,
                    ..
                } => unchanged(),
                Phase::Idle { problems, .. } => (
                    Phase::Idle {
                        hold: Some(paused),
                        problems: *problems,
                    },
                    Vec::new(),
                ),
                Phase::Running { progress, .. } => (
                    Phase::Running {
                        hold: Some(paused),
                        progress: *progress,
                        stopping: true,
                    },
                    vec![Effect::StopRun],
                ),
            }
        }
        Event::Resume => match hold {
            Some(Hold::Attention { .. }) => unchanged(),
            Some(Hold::Paused { over: Some(reason) }) => (
                with_hold(
                    phase,
                    Some(Hold::Attention {
                        reason: reason.clone(),
                    }),
                ),
                Vec::new(),
            ),
            None | Some(Hold::Paused { over: None }) | Some(Hold::Quota { .. }) => {
                let next = match phase {
                    Phase::Idle { .. } => Phase::Idle {
                        hold: None,
                        problems: 0,
                    },
                    Phase::Running { .. } => with_hold(phase, None),
                };
                (next, vec![Effect::QueueFullRun])
            }
        },
        Event::Confirm => (
            with_hold(phase, None),
            vec![
                Effect::PassBrakesOnce,
                Effect::QueueFullRun,
                Effect::SaveAttention(None),
                Effect::Notify(Notice::DeletesConfirmed),
            ],
        ),
        Event::Tick { now_ms } => match hold {
            Some(Hold::Quota {
                until_ms: Some(until),
                ..
            }) if now_ms >= *until => {
                let next = match phase {
                    Phase::Idle { .. } => Phase::Idle {
                        hold: None,
                        problems: 0,
                    },
                    Phase::Running { .. } => with_hold(phase, None),
                };
                (
                    next,
                    vec![Effect::QueueFullRun, Effect::Notify(Notice::QuotaWaitOver)],
                )
            }
            _ => unchanged(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const OLD: &str = "the folder is empty";
    const NEW: &str = "the folder vanished";
    const UNTIL: u64 = 1_000;
    const LATER: u64 = 5_000;
    const P: Progress = Progress {
        done: 4,
        total: 10,
        bytes_done: 40,
        bytes_total: 100,
        eta_secs: Some(1),
    };

    fn idle(hold: Option<Hold>, problems: usize) -> Phase {
        Phase::Idle { hold, problems }
    }
    fn running(hold: Option<Hold>, stopping: bool) -> Phase {
        Phase::Running {
            hold,
            progress: None,
            stopping,
        }
    }
    fn paused(over: Option<&str>) -> Option<Hold> {
        Some(Hold::Paused {
            over: over.map(Into::into),
        })
    }
    fn quota(message: &str, until_ms: Option<u64>) -> Option<Hold> {
        Some(Hold::Quota {
            message: message.into(),
            until_ms,
        })
    }
    fn attention(reason: &str) -> Option<Hold> {
        Some(Hold::Attention {
            reason: reason.into(),
        })
    }

    /// One representative of every state: each phase with each hold, and the sub-cases that
    /// step tells apart (a pause over an attention, a quota with or without an end, a run
    /// paused during it or asked for while held, a run resumed after it was told to stop).
    fn states() -> Vec<(&'static str, Phase)> {
        vec![
            ("idle", idle(None, 2)),
            ("paused", idle(paused(None), 2)),
            ("paused over attention", idle(paused(Some(OLD)), 2)),
            ("quota", idle(quota("quota", Some(UNTIL)), 2)),
            ("quota until resumed", idle(quota("quota", None), 2)),
            ("attention", idle(attention(OLD), 2)),
            ("running", running(None, false)),
            ("running, resumed while stopping", running(None, true)),
            ("running, paused", running(paused(None), true)),
            (
                "running, paused over attention",
                running(paused(Some(OLD)), true),
            ),
            ("running, asked while paused", running(paused(None), false)),
            (
                "running, asked while quota",
                running(quota("quota", Some(UNTIL)), false),
            ),
            (
                "running, asked while attention",
                running(attention(OLD), false),
            ),
        ]
    }

    /// States rows end in that are not representatives.
    fn other_states() -> Vec<(&'static str, Phase)> {
        vec![
            ("idle, 0 problems", idle(None, 0)),
            ("idle, 3 problems", idle(None, 3)),
            ("paused, 3 problems", idle(paused(None), 3)),
            ("attention, new", idle(attention(NEW), 3)),
            ("quota, new", idle(quota("quota 2", Some(LATER)), 3)),
            (
                "running, stopping, attention",
                running(attention(OLD), true),
            ),
            (
                "running, asked while paused over attention",
                running(paused(Some(OLD)), false),
            ),
            (
                "running, asked while quota until resumed",
                running(quota("quota", None), false),
            ),
        ]
    }

    /// One representative of every event.
    fn events() -> Vec<(&'static str, Event)> {
        let finished = |halt| Event::RunFinished(RunEnd { problems: 3, halt });
        vec![
            ("due", Event::RunDue { asked: false }),
            ("due, asked", Event::RunDue { asked: true }),
            ("progress", Event::Progress(P)),
            ("finished", finished(None)),
            (
                "finished, attention",
                finished(Some(RunHalt::Attention(NEW.into()))),
            ),
            (
                "finished, quota",
                finished(Some(RunHalt::Quota {
                    message: "quota 2".into(),
                    until_ms: Some(LATER),
                })),
            ),
            ("pause", Event::Pause),
            ("resume", Event::Resume),
            ("confirm", Event::Confirm),
            ("tick, early", Event::Tick { now_ms: UNTIL - 1 }),
            ("tick, due", Event::Tick { now_ms: UNTIL }),
        ]
    }

    enum Next {
        /// Ignored: the state is unchanged and nothing is done.
        Ignored,
        /// This named state (a representative or one of `other_states`).
        To(&'static str),
        /// The same state with the run's progress.
        WithProgress,
    }

    struct Row {
        state: &'static str,
        event: &'static str,
        next: Next,
        effects: Vec<Effect>,
    }

    fn row(state: &'static str, event: &'static str, to: &'static str, effects: &[Effect]) -> Row {
        Row {
            state,
            event,
            next: Next::To(to),
            effects: effects.to_vec(),
        }
    }

    fn ignored(states: &[&'static str], event: &'static str) -> Vec<Row> {
        states
            .iter()
            .map(|state| Row {
                state,
                event,
                next: Next::Ignored,
                effects: Vec::new(),
            })
            .collect()
    }

    const IDLE: &[&str] = &[
        "idle",
        "paused",
        "paused over attention",
        "quota",
        "quota until resumed",
        "attention",
    ];
    const RUNNING: &[&str] = &[
        "running",
        "running, resumed while stopping",
        "running, paused",
        "running, paused over attention",
        "running, asked while paused",
        "running, asked while quota",
        "running, asked while attention",
    ];

    fn table() -> Vec<Row> {
        use Effect::*;
        let save_new = [SaveAttention(Some(NEW.into()))];
        let confirmed = [
            PassBrakesOnce,
            QueueFullRun,
            SaveAttention(None),
            Notify(Notice::DeletesConfirmed),
        ];
        let lifted = [QueueFullRun, Notify(Notice::QuotaWaitOver)];
        let mut rows = vec![
            // A run starts: by itself only when free; when a person asks, held or not.
            row("idle", "due", "running", &[StartRun]),
            row("idle", "due, asked", "running", &[StartRun]),
            row(
                "paused",
                "due, asked",
                "running, asked while paused",
                &[StartRun],
            ),
            row(
                "paused over attention",
                "due, asked",
                "running, asked while paused over attention",
                &[StartRun],
            ),
            row(
                "quota",
                "due, asked",
                "running, asked while quota",
                &[StartRun],
            ),
            row(
                "quota until resumed",
                "due, asked",
                "running, asked while quota until resumed",
                &[StartRun],
            ),
            row(
                "attention",
                "due, asked",
                "running, asked while attention",
                &[StartRun],
            ),
            // A run ends: its outcome decides, a person's pause stays, an attention it got
            // past is cleared.
            row("running", "finished", "idle, 3 problems", &[]),
            row(
                "running",
                "finished, attention",
                "attention, new",
                &save_new,
            ),
            row("running", "finished, quota", "quota, new", &[]),
            row(
                "running, resumed while stopping",
                "finished",
                "idle, 3 problems",
                &[],
            ),
            row(
                "running, resumed while stopping",
                "finished, attention",
                "attention, new",
                &save_new,
            ),
            row(
                "running, resumed while stopping",
                "finished, quota",
                "quota, new",
                &[],
            ),
            row("running, paused", "finished", "paused, 3 problems", &[]),
            row(
                "running, paused",
                "finished, attention",
                "attention, new",
                &save_new,
            ),
            row("running, paused", "finished, quota", "quota, new", &[]),
            row(
                "running, paused over attention",
                "finished",
                "paused, 3 problems",
                &[SaveAttention(None)],
            ),
            row(
                "running, paused over attention",
                "finished, attention",
                "attention, new",
                &save_new,
            ),
            row(
                "running, paused over attention",
                "finished, quota",
                "quota, new",
                &[SaveAttention(None)],
            ),
            row(
                "running, asked while paused",
                "finished",
                "paused, 3 problems",
                &[],
            ),
            row(
                "running, asked while paused",
                "finished, attention",
                "attention, new",
                &save_new,
            ),
            row(
                "running, asked while paused",
                "finished, quota",
                "quota, new",
                &[],
            ),
            row(
                "running, asked while quota",
                "finished",
                "idle, 3 problems",
                &[],
            ),
            row(
                "running, asked while quota",
                "finished, attention",
                "attention, new",
                &save_new,
            ),
            row(
                "running, asked while quota",
                "finished, quota",
                "quota, new",
                &[],
            ),
            row(
                "running, asked while attention",
                "finished",
                "idle, 3 problems",
                &[SaveAttention(None)],
            ),
            row(
                "running, asked while attention",
                "finished, attention",
                "attention, new",
                &save_new,
            ),
            row(
                "running, asked while attention",
                "finished, quota",
                "quota, new",
                &[SaveAttention(None)],
            ),
            // A person's pause: replaces a quota pause (it never lifts by itself), keeps an
            // attention for the resume, stops a run in flight between batches.
            row("idle", "pause", "paused", &[]),
            row("quota", "pause", "paused", &[]),
            row("quota until resumed", "pause", "paused", &[]),
            row("attention", "pause", "paused over attention", &[]),
            row("running", "pause", "running, paused", &[StopRun]),
            row(
                "running, resumed while stopping",
                "pause",
                "running, paused",
                &[StopRun],
            ),
            row(
                "running, asked while paused",
                "pause",
                "running, paused",
                &[StopRun],
            ),
            row(
                "running, asked while quota",
                "pause",
                "running, paused",
                &[StopRun],
            ),
            row(
                "running, asked while attention",
                "pause",
                "running, paused over attention",
                &[StopRun],
            ),
            // Resume: free again and look at everything; an attention paused over is back.
            row("idle", "resume", "idle, 0 problems", &[QueueFullRun]),
            row("paused", "resume", "idle, 0 problems", &[QueueFullRun]),
            row("paused over attention", "resume", "attention", &[]),
            row("quota", "resume", "idle, 0 problems", &[QueueFullRun]),
            row(
                "quota until resumed",
                "resume",
                "idle, 0 problems",
                &[QueueFullRun],
            ),
            row("running", "resume", "running", &[QueueFullRun]),
            row(
                "running, resumed while stopping",
                "resume",
                "running, resumed while stopping",
                &[QueueFullRun],
            ),
            row(
                "running, paused",
                "resume",
                "running, resumed while stopping",
                &[QueueFullRun],
            ),
            row(
                "running, paused over attention",
                "resume",
                "running, stopping, attention",
                &[],
            ),
            row(
                "running, asked while paused",
                "resume",
                "running",
                &[QueueFullRun],
            ),
            row(
                "running, asked while quota",
                "resume",
                "running",
                &[QueueFullRun],
            ),
            // Confirm: free in every state, the next run goes past the brakes.
            row("idle", "confirm", "idle", &confirmed),
            row("paused", "confirm", "idle", &confirmed),
            row("paused over attention", "confirm", "idle", &confirmed),
            row("quota", "confirm", "idle", &confirmed),
            row("quota until resumed", "confirm", "idle", &confirmed),
            row("attention", "confirm", "idle", &confirmed),
            row("running", "confirm", "running", &confirmed),
            row(
                "running, resumed while stopping",
                "confirm",
                "running, resumed while stopping",
                &confirmed,
            ),
            row(
                "running, paused",
                "confirm",
                "running, resumed while stopping",
                &confirmed,
            ),
            row(
                "running, paused over attention",
                "confirm",
                "running, resumed while stopping",
                &confirmed,
            ),
            row(
                "running, asked while paused",
                "confirm",
                "running",
                &confirmed,
            ),
            row(
                "running, asked while quota",
                "confirm",
                "running",
                &confirmed,
            ),
            row(
                "running, asked while attention",
                "confirm",
                "running",
                &confirmed,
            ),
            // The end of a quota pause, on the engine's clock.
            row("quota", "tick, due", "idle, 0 problems", &lifted),
            row(
                "running, asked while quota",
                "tick, due",
                "running",
                &lifted,
            ),
        ];
        for state in RUNNING {
            rows.push(Row {
                state,
                event: "progress",
                next: Next::WithProgress,
                effects: Vec::new(),
            });
        }
        // One run at a time; a held folder runs only when a person asks.
        rows.extend(ignored(RUNNING, "due"));
        rows.extend(ignored(RUNNING, "due, asked"));
        rows.extend(ignored(&IDLE[1..], "due"));
        // Nothing in flight: no progress, no end.
        for event in [
            "progress",
            "finished",
            "finished, attention",
            "finished, quota",
        ] {
            rows.extend(ignored(IDLE, event));
        }
        // Already paused.
        rows.extend(ignored(&["paused", "paused over attention"], "pause"));
        rows.extend(ignored(
            &["running, paused", "running, paused over attention"],
            "pause",
        ));
        // Resume does not go past a brake (confirm does).
        rows.extend(ignored(
            &["attention", "running, asked while attention"],
            "resume",
        ));
        // The clock ends only a quota pause with an end, once it is reached.
        let all: Vec<&'static str> = IDLE.iter().chain(RUNNING).copied().collect();
        rows.extend(ignored(&all, "tick, early"));
        let not_due: Vec<&'static str> = all
            .iter()
            .copied()
            .filter(|s| !matches!(*s, "quota" | "running, asked while quota"))
            .collect();
        rows.extend(ignored(&not_due, "tick, due"));
        rows
    }

    #[test]
    fn the_table() {
        let states = states();
        let events = events();
        let named: Vec<(&str, Phase)> = states.iter().cloned().chain(other_states()).collect();
        let phase = |name: &str| {
            named
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("no state named {name:?}"))
                .1
                .clone()
        };
        let event = |name: &str| {
            events
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("no event named {name:?}"))
                .1
                .clone()
        };
        let mut seen = BTreeSet::new();
        for row in table() {
            assert!(
                seen.insert((row.state, row.event)),
                "two rows for {:?} × {:?}",
                row.state,
                row.event
            );
            let from = phase(row.state);
            let want = match row.next {
                Next::Ignored => from.clone(),
                Next::To(name) => phase(name),
                Next::WithProgress => match &from {
                    Phase::Running { hold, stopping, .. } => Phase::Running {
                        hold: hold.clone(),
                        progress: Some(P),
                        stopping: *stopping,
                    },
                    Phase::Idle { .. } => panic!("{:?}: progress of an idle folder", row.state),
                },
            };
            let got = step(&from, event(row.event));
            assert_eq!(
                got,
                (want, row.effects),
                "{:?} × {:?}",
                row.state,
                row.event
            );
        }
        // Every state meets every event: a row, or an explicit "ignored".
        let mut missing = Vec::new();
        for (s, _) in &states {
            for (e, _) in &events {
                if !seen.contains(&(*s, *e)) {
                    missing.push(format!("{s:?} × {e:?}"));
                }
            }
        }
        assert!(missing.is_empty(), "pairs with no row: {missing:?}");
        assert_eq!(seen.len(), states.len() * events.len());
    }

    #[test]
    fn what_the_fronts_see() {
        let syncing = FolderState::Syncing {
            done: 4,
            total: 10,
            bytes_done: 40,
            bytes_total: 100,
            eta_secs: Some(1),
        };
        let quota_shown = FolderState::Paused {
            reason: Some(quota_reason("quota", Some(UNTIL))),
        };
        let cases: Vec<(&str, FolderState, Option<u64>)> = vec![
            ("idle", FolderState::UpToDate { problems: 2 }, None),
            ("paused", FolderState::Paused { reason: None }, None),
            (
                "paused over attention",
                FolderState::Paused { reason: None },
                None,
            ),
            ("quota", quota_shown, Some(UNTIL)),
            (
                "quota until resumed",
                FolderState::Paused {
                    reason: Some(quota_reason("quota", None)),
                },
                None,
            ),
            (
                "attention",
                FolderState::NeedsAttention {
                    problems: vec![OLD.into()],
                },
                None,
            ),
            ("running", FolderState::Scanning, None),
            (
                "running, resumed while stopping",
                FolderState::Scanning,
                None,
            ),
            (
                "running, paused",
                FolderState::Paused { reason: None },
                None,
            ),
            (
                "running, paused over attention",
                FolderState::Paused { reason: None },
                None,
            ),
            ("running, asked while paused", FolderState::Scanning, None),
            (
                "running, asked while quota",
                FolderState::Scanning,
                Some(UNTIL),
            ),
            (
                "running, asked while attention",
                FolderState::Scanning,
                None,
            ),
        ];
        let states = states();
        assert_eq!(cases.len(), states.len());
        for ((name, phase), (case, shown, until)) in states.iter().zip(cases) {
            assert_eq!(*name, case);
            assert_eq!(phase.shown(), shown, "{name}");
            assert_eq!(phase.paused_until_ms(), until, "{name}");
            // With progress: a run shows it, unless it was paused during the run.
            if let Phase::Running { hold, stopping, .. } = phase {
                let (with, _) = step(phase, Event::Progress(P));
                let want = if *stopping && matches!(hold, Some(Hold::Paused { .. })) {
                    FolderState::Paused { reason: None }
                } else {
                    syncing.clone()
                };
                assert_eq!(with.shown(), want, "{name} with progress");
            }
        }
        assert!(quota_reason("over quota", None).contains("until you resume"));
        assert!(quota_reason("over quota", Some(0)).contains("paused until 1970-01-01T00:00:00Z"));
    }
}
