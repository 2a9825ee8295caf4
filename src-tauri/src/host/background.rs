//! Syncing in the background: "pause all" for a while (from the tray), and the offer to start
//! at login. The tray, the window that hides instead of closing, and the notifications are the
//! shell's (`shell.rs`, over `crate::companion`); what they change lives here, in `app.json`.

use super::*;

/// A "pause all" in force: until when, and the folders it paused (a folder the person had
/// paused before stays paused at the end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PausedAll {
    pub until_ms: u64,
    pub folders: Vec<String>,
}

impl Host {
    /// Pauses every folder that is not paused until the end `request` says (an hour, or 08:00
    /// tomorrow, local time), then resumes the folders it paused. A second "pause all" moves
    /// the end and adds the folders it paused.
    pub async fn pause_all(
        self: &Arc<Self>,
        request: PauseAllRequest,
    ) -> Result<AppState, HostError> {
        let now = chrono::Local::now();
        let choice = match request.duration {
            PauseAllFor::OneHour => crate::companion::PauseFor::OneHour,
            PauseAllFor::UntilTomorrow => crate::companion::PauseFor::UntilTomorrow,
        };
        let until_ms = crate::companion::pause_end(choice, now)
            .timestamp_millis()
            .max(0) as u64;
        let status = self.engine.status().await.map_err(engine_error)?;
        let mut paused = Vec::new();
        for folder in &status {
            if matches!(
                folder.state,
                sync_engine::engine::FolderState::Paused { reason: None }
            ) {
                continue;
            }
            self.engine
                .pause(&folder.mapping.name)
                .await
                .map_err(engine_error)?;
            paused.push(folder.mapping.name.clone());
        }
        {
            let mut s = lock(&self.settings);
            let mut folders = s.paused_all.take().map(|p| p.folders).unwrap_or_default();
            folders.extend(paused);
            folders.sort();
            folders.dedup();
            s.paused_all = Some(PausedAll { until_ms, folders });
            self.save_settings(&s)?;
        }
        self.log_activity(
            ActivityKind::Info,
            None,
            format!(
                "Paused every folder until {}",
                crate::companion::until_words(
                    &chrono::DateTime::from_timestamp_millis(until_ms as i64)
                        .unwrap_or_default()
                        .with_timezone(&chrono::Local),
                    &now
                )
            ),
            0,
        );
        self.resume_all_when_due();
        self.get_app_state().await
    }

    /// Ends a "pause all" now: resumes the folders it paused.
    pub async fn resume_all(&self) -> Result<AppState, HostError> {
        let ended = {
            let mut s = lock(&self.settings);
            let ended = s.paused_all.take();
            self.save_settings(&s)?;
            ended
        };
        if let Some(ended) = ended {
            for name in &ended.folders {
                // A folder removed during the pause is simply not there any more.
                if let Err(e) = self.engine.resume(name).await {
                    tracing::info!("resuming {name} after the pause: {e}");
                }
            }
            self.log_activity(
                ActivityKind::Info,
                None,
                "Resumed the folders paused together".into(),
                0,
            );
        }
        self.get_app_state().await
    }

    /// When the "pause all" in force ends (ms since the epoch).
    pub fn paused_until_ms(&self) -> Option<u64> {
        lock(&self.settings).paused_all.as_ref().map(|p| p.until_ms)
    }

    /// Resumes at the end of the "pause all" in force (at once if it ended while the app was
    /// not running). A timer of an earlier pause that was moved or ended does nothing.
    pub(crate) fn resume_all_when_due(self: &Arc<Self>) {
        let Some(until_ms) = self.paused_until_ms() else {
            return;
        };
        let host = Arc::downgrade(self);
        tokio::spawn(async move {
            let wait = until_ms.saturating_sub(now_ms() as u64);
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            let Some(host) = host.upgrade() else { return };
            if host.paused_until_ms() == Some(until_ms) {
                if let Err(e) = host.resume_all().await {
                    tracing::warn!("resuming after the pause: {}", e.message);
                }
            }
        });
    }

    /// Records that the app offered to start at login (it offers once).
    pub async fn autostart_offered(&self) -> Result<AppState, HostError> {
        {
            let mut s = lock(&self.settings);
            s.autostart_offered = true;
            self.save_settings(&s)?;
        }
        self.get_app_state().await
    }
}
