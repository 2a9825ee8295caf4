//! What the app shows outside its window, as the sync apps people know do: the tray's state
//! line, a desktop notification when a folder halts, and when "pause all" ends. Pure functions
//! over the folder cards ([`FolderSummary`]), compiled and tested on every OS; the shell
//! (`shell.rs`) draws them with Tauri's tray and the notification plugin.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveTime, TimeZone};

use crate::dto::{FolderState, FolderSummary, HostEvent, TrayState};

/// The tray's state line and tooltip for these folders. `paused_until`: the end of a "pause
/// all", already written for people ("14:30", "tomorrow 08:00").
///
/// The line says the most urgent thing first: a folder that needs the person (a safety brake,
/// a vanished folder, a quota, files that failed), then syncing "n of N" items, then a pause,
/// then "Up to date".
pub fn tray_state(folders: &[FolderSummary], paused_until: Option<&str>) -> TrayState {
    let attention: Vec<&FolderSummary> = folders.iter().filter(|f| halt(f).is_some()).collect();
    let (mut done, mut total, mut busy) = (0u64, 0u64, 0usize);
    for f in folders {
        match &f.state {
            FolderState::Syncing {
                done: d, total: t, ..
            } => {
                done += d;
                total += t;
                busy += 1;
            }
            FolderState::Scanning { .. } => busy += 1,
            _ => {}
        }
    }
    let paused = folders
        .iter()
        .filter(|f| !f.awaiting_first_sync)
        .all(|f| matches!(f.state, FolderState::Paused { .. }));
    let line = if folders.is_empty() {
        "No folders yet".to_owned()
    } else if let [one] = attention.as_slice() {
        format!("{} needs attention", one.name)
    } else if !attention.is_empty() {
        format!("{} folders need attention", attention.len())
    } else if total > 0 {
        format!("Syncing {} of {} items", thousands(done), thousands(total))
    } else if busy > 0 {
        "Looking for changes…".to_owned()
    } else if let Some(until) = paused_until {
        format!("Paused until {until}")
    } else if paused {
        "Paused".to_owned()
    } else {
        "Up to date".to_owned()
    };
    TrayState {
        tooltip: format!("Pushdeck: {line}"),
        line,
        attention: !attention.is_empty(),
        paused: paused_until.is_some(),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Why a folder halted and waits for the person, in plain words; `None` when it did not.
/// Halts: a safety brake or a vanished folder (needs attention), a quota (paused with a
/// reason, not the first plan's wait), files that failed in the last run.
fn halt(folder: &FolderSummary) -> Option<(String, String)> {
    match &folder.state {
        FolderState::NeedsAttention { reasons, problems } => {
            let reason = reasons.first().cloned().unwrap_or_else(|| {
                format!("{problems} problems stop it; open Pushdeck to see what to do.")
            });
            Some((format!("attention:{}", reasons.join("\n")), reason))
        }
        FolderState::Paused {
            reason: Some(reason),
        } if !folder.awaiting_first_sync => Some((format!("paused:{reason}"), reason.clone())),
        FolderState::UpToDate { problems } if *problems > 0 => Some((
            "failed".to_owned(),
            match problems {
                1 => "1 file could not be synced; open Pushdeck to see why.".to_owned(),
                n => format!("{n} files could not be synced; open Pushdeck to see why."),
            },
        )),
        _ => None,
    }
}

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// Decides the desktop notifications: one when a folder halts, at most one per folder and
/// cause until the cause changes. A folder that syncs again keeps its cause (the same halt after
/// a retry says nothing new); one that is up to date with nothing failed, or removed, forgets it.
/// Normal progress never notifies.
#[derive(Debug, Default)]
pub struct NotificationGate {
    causes: BTreeMap<String, String>,
}

impl NotificationGate {
    /// The notification this card calls for, if any.
    pub fn observe(&mut self, folder: &FolderSummary) -> Option<Notice> {
        match halt(folder) {
            Some((cause, reason)) => {
                if self.causes.get(&folder.id) == Some(&cause) {
                    return None;
                }
                self.causes.insert(folder.id.clone(), cause);
                Some(Notice {
                    title: format!("{} needs attention", folder.name),
                    body: reason,
                })
            }
            None => {
                if matches!(
                    folder.state,
                    FolderState::UpToDate { problems: 0 } | FolderState::Paused { reason: None }
                ) {
                    self.causes.remove(&folder.id);
                }
                None
            }
        }
    }

    pub fn forget(&mut self, folder_id: &str) {
        self.causes.remove(folder_id);
    }
}

/// The folder cards as the window would show them, kept from the host's events, and the
/// notifications they call for: what the tray and the notifications read while the window is
/// hidden.
#[derive(Debug, Default)]
pub struct Companion {
    folders: BTreeMap<String, FolderSummary>,
    gate: NotificationGate,
}

impl Companion {
    /// Starts from the host's folder list (a halt already there at start notifies once).
    pub fn new(folders: Vec<FolderSummary>) -> (Self, Vec<Notice>) {
        let mut companion = Self::default();
        let notices = folders
            .into_iter()
            .filter_map(|f| companion.card(f))
            .collect();
        (companion, notices)
    }

    /// Takes a host event in; returns the notification it calls for, if any.
    pub fn on_event(&mut self, event: &HostEvent) -> Option<Notice> {
        match event {
            HostEvent::Folder { folder } => self.card(folder.clone()),
            HostEvent::FolderRemoved { folder_id } => {
                self.folders.remove(folder_id);
                self.gate.forget(folder_id);
                None
            }
            _ => None,
        }
    }

    fn card(&mut self, folder: FolderSummary) -> Option<Notice> {
        let notice = self.gate.observe(&folder);
        self.folders.insert(folder.id.clone(), folder);
        notice
    }

    /// Whether an event changes what the tray shows.
    pub fn concerns_tray(event: &HostEvent) -> bool {
        matches!(
            event,
            HostEvent::Folder { .. } | HostEvent::FolderRemoved { .. }
        )
    }

    /// Whether a folder is in the engine (its first plan confirmed): closing the window then
    /// keeps it syncing in the background.
    pub fn syncs(&self) -> bool {
        self.folders.values().any(|f| !f.awaiting_first_sync)
    }

    pub fn tray(&self, paused_until: Option<&str>) -> TrayState {
        let folders: Vec<FolderSummary> = self.folders.values().cloned().collect();
        tray_state(&folders, paused_until)
    }
}

/// How long "pause all" lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseFor {
    OneHour,
    /// Until 08:00 tomorrow, local time.
    UntilTomorrow,
}

/// When a "pause all" chosen at `now` ends. Tomorrow's 08:00 that a daylight-saving change
/// skips becomes the first instant after it; one that occurs twice, the first.
pub fn pause_end<Tz: TimeZone>(choice: PauseFor, now: DateTime<Tz>) -> DateTime<Tz> {
    match choice {
        PauseFor::OneHour => now + chrono::Duration::hours(1),
        PauseFor::UntilTomorrow => {
            let tz = now.timezone();
            let day = now.date_naive() + Days::new(1);
            let morning = day.and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default());
            tz.from_local_datetime(&morning)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(morning + chrono::Duration::hours(1)))
                        .earliest()
                })
                .unwrap_or_else(|| now + chrono::Duration::hours(24))
        }
    }
}

/// The end of a pause in words: the time if it is today, else "tomorrow" and the time.
pub fn until_words<Tz: TimeZone>(end: &DateTime<Tz>, now: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let time = end.format("%H:%M").to_string();
    if end.date_naive() == now.date_naive() {
        time
    } else if end.date_naive() == now.date_naive() + Days::new(1) {
        format!("tomorrow {time}")
    } else {
        end.format("%Y-%m-%d %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn folder(id: &str, state: FolderState) -> FolderSummary {
        FolderSummary {
            id: id.into(),
            name: id.into(),
            path: format!("/srv/{id}"),
            source_id: "documents".into(),
            state,
            last_sync_at_ms: None,
            item_count: 0,
            awaiting_first_sync: false,
            include: Vec::new(),
            exclude: Vec::new(),
            owns_source: false,
        }
    }

    fn up(problems: u64) -> FolderState {
        FolderState::UpToDate { problems }
    }

    fn syncing(done: u64, total: u64) -> FolderState {
        FolderState::Syncing {
            done,
            total,
            bytes: 0,
            bytes_total: 0,
            eta_seconds: None,
        }
    }

    fn attention(reason: &str) -> FolderState {
        FolderState::NeedsAttention {
            problems: 1,
            reasons: vec![reason.into()],
        }
    }

    #[test]
    fn the_tray_says_the_most_urgent_thing_first() {
        let line = |folders: &[FolderSummary], until: Option<&str>| tray_state(folders, until).line;
        assert_eq!(line(&[], None), "No folders yet");
        assert_eq!(
            line(&[folder("a", up(0)), folder("b", up(0))], None),
            "Up to date"
        );
        // Files that failed in the last run wait for the person too.
        assert_eq!(line(&[folder("a", up(2))], None), "a needs attention");
        assert_eq!(
            line(
                &[
                    folder("a", syncing(1_200, 10_000)),
                    folder("b", syncing(3, 5))
                ],
                None
            ),
            "Syncing 1,203 of 10,005 items"
        );
        assert_eq!(
            line(
                &[folder("a", FolderState::Scanning { files_seen: None })],
                None
            ),
            "Looking for changes…"
        );
        let halted = folder("Docs", attention("The folder is gone."));
        assert_eq!(
            line(&[halted.clone(), folder("b", syncing(1, 2))], None),
            "Docs needs attention"
        );
        let other = folder("HR", attention("Mass delete."));
        assert_eq!(
            line(&[halted.clone(), other], None),
            "2 folders need attention"
        );
        let paused = folder("a", FolderState::Paused { reason: None });
        assert_eq!(
            line(std::slice::from_ref(&paused), Some("14:30")),
            "Paused until 14:30"
        );
        assert_eq!(line(&[paused], None), "Paused");
        let state = tray_state(&[halted], None);
        assert!(state.attention);
        assert_eq!(state.tooltip, "Pushdeck: Docs needs attention");
    }

    #[test]
    fn the_first_plans_wait_is_no_halt() {
        let mut waiting = folder(
            "Sample",
            FolderState::Paused {
                reason: Some("Waiting for you to check and confirm the first plan.".into()),
            },
        );
        waiting.awaiting_first_sync = true;
        assert_eq!(
            tray_state(&[waiting.clone(), folder("a", up(0))], None).line,
            "Up to date"
        );
        assert_eq!(NotificationGate::default().observe(&waiting), None);
    }

    #[test]
    fn one_notification_per_folder_and_cause_until_it_changes() {
        let mut gate = NotificationGate::default();
        let gone = folder("Docs", attention("The folder /srv/Docs is gone."));
        let first = gate.observe(&gone).expect("a halt notifies");
        assert_eq!(first.title, "Docs needs attention");
        assert_eq!(first.body, "The folder /srv/Docs is gone.");
        // The same halt again, after a retry that synced for a while: nothing new.
        assert_eq!(gate.observe(&folder("Docs", syncing(1, 9))), None);
        assert_eq!(gate.observe(&gone), None);
        // Another folder halting is its own notification.
        assert!(gate
            .observe(&folder("HR", attention("The folder /srv/HR is gone.")))
            .is_some());
        // A different cause for the same folder: a new notification.
        let quota = folder(
            "Docs",
            FolderState::Paused {
                reason: Some("Coveo's quota is reached; Pushdeck resumes at 14:00.".into()),
            },
        );
        assert_eq!(
            gate.observe(&quota).unwrap().body,
            "Coveo's quota is reached; Pushdeck resumes at 14:00."
        );
        // Normal progress never notifies; up to date clears the cause, so a later halt notifies.
        assert_eq!(gate.observe(&folder("Docs", up(0))), None);
        assert!(gate.observe(&gone).is_some());
        // Failed files are a halt the person should hear of, once.
        let failed = folder("Wiki", up(3));
        assert_eq!(
            gate.observe(&failed).unwrap().body,
            "3 files could not be synced; open Pushdeck to see why."
        );
        assert_eq!(gate.observe(&folder("Wiki", up(4))), None);
        gate.forget("Wiki");
        assert!(gate.observe(&failed).is_some());
    }

    #[test]
    fn the_companion_follows_the_hosts_events() {
        let (mut companion, notices) = Companion::new(vec![folder("Docs", up(0))]);
        assert!(notices.is_empty());
        assert_eq!(companion.tray(None).line, "Up to date");
        let event = |state| HostEvent::Folder {
            folder: folder("Docs", state),
        };
        assert_eq!(companion.on_event(&event(syncing(2, 8))), None);
        assert_eq!(companion.tray(None).line, "Syncing 2 of 8 items");
        let halted = event(attention("The folder /srv/Docs is gone."));
        assert!(companion.on_event(&halted).is_some());
        assert_eq!(
            companion.on_event(&halted),
            None,
            "one notification per cause"
        );
        assert_eq!(companion.tray(None).line, "Docs needs attention");
        companion.on_event(&HostEvent::FolderRemoved {
            folder_id: "Docs".into(),
        });
        assert_eq!(companion.tray(None).line, "No folders yet");
    }

    #[test]
    fn pause_ends_in_an_hour_or_tomorrow_morning() {
        let paris = FixedOffset::east_opt(3600).unwrap();
        let now = paris.with_ymd_and_hms(2026, 12, 5, 22, 40, 0).unwrap();
        let hour = pause_end(PauseFor::OneHour, now);
        assert_eq!(
            hour,
            paris.with_ymd_and_hms(2026, 12, 5, 23, 40, 0).unwrap()
        );
        assert_eq!(until_words(&hour, &now), "23:40");
        let tomorrow = pause_end(PauseFor::UntilTomorrow, now);
        assert_eq!(
            tomorrow,
            paris.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap()
        );
        assert_eq!(until_words(&tomorrow, &now), "tomorrow 08:00");
        // Just after midnight, "tomorrow" is the next day, not this morning.
        let late = paris.with_ymd_and_hms(2026, 12, 31, 0, 10, 0).unwrap();
        assert_eq!(
            pause_end(PauseFor::UntilTomorrow, late),
            paris.with_ymd_and_hms(2027, 1, 1, 8, 0, 0).unwrap()
        );
        // An hour across midnight is "tomorrow".
        let hour = pause_end(
            PauseFor::OneHour,
            paris.with_ymd_and_hms(2026, 12, 5, 23, 30, 0).unwrap(),
        );
        assert_eq!(
            until_words(
                &hour,
                &paris.with_ymd_and_hms(2026, 12, 5, 23, 30, 0).unwrap()
            ),
            "tomorrow 00:30"
        );
    }
}
