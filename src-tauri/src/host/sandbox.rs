//! The activity log and the Sandbox browser (the embedded emulator's typed reads).

use super::*;

impl Host {
    // ---- activity ------------------------------------------------------------------------

    pub async fn list_activity(&self, q: ActivityQuery) -> Result<Vec<ActivityEntry>, HostError> {
        let limit = q.limit.max(1) as usize;
        let out: Vec<ActivityEntry> =
            self.activity
                .with_entries(|a| match (q.after_id, q.before_id) {
                    (Some(after), _) => a
                        .iter()
                        .filter(|e| e.id > after && q.before_id.is_none_or(|b| e.id < b))
                        .take(limit)
                        .cloned()
                        .collect(),
                    (None, before) => {
                        let mut newest: Vec<ActivityEntry> = a
                            .iter()
                            .rev()
                            .filter(|e| before.is_none_or(|b| e.id < b))
                            .take(limit)
                            .cloned()
                            .collect();
                        newest.reverse();
                        newest
                    }
                });
        Ok(out)
    }

    // ---- Sandbox browser (the emulator's typed reads; `inspect` is its HTTP inspection API) --

    /// A GET of the Sandbox's inspection API (`/_emulator/v1...`), as JSON. The browser reads
    /// through the emulator's typed API instead; the identities' first seeding still uses it.
    pub(crate) async fn inspect(
        &self,
        path_and_query: &str,
    ) -> Result<serde_json::Value, HostError> {
        let url = format!("{}/_emulator/v1{path_and_query}", self.emulator.url());
        let response = self.http.get(url).send().await.map_err(|e| {
            HostError::new(
                ErrorCode::Network,
                format!("the Sandbox did not answer: {e}"),
            )
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(HostError::new(
                ErrorCode::NotFound,
                "the Sandbox has no such item",
            ));
        }
        if !status.is_success() {
            return Err(HostError::new(
                ErrorCode::Internal,
                format!("the Sandbox answered {status}"),
            ));
        }
        response
            .json()
            .await
            .map_err(|e| internal("the Sandbox's answer is not JSON", e))
    }

    /// A Sandbox item's line in the browser.
    pub(crate) fn item_summary(item: &push_emulator::state::Item) -> SandboxItemSummary {
        let document_id = item.document_id.clone();
        let title = item.title().map(str::to_owned).unwrap_or_else(|| {
            document_id
                .rsplit('/')
                .next()
                .unwrap_or(&document_id)
                .to_owned()
        });
        SandboxItemSummary {
            document_id,
            title,
            size: item.content_size,
            file_type: item
                .file_extension
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('.')
                .to_owned(),
            indexed_at_ms: item.updated_ms().unwrap_or(0) as f64,
        }
    }

    /// The start of an item's content as text (invalid UTF-8 replaced).
    pub(crate) fn content_text(item: &push_emulator::state::Item) -> String {
        String::from_utf8_lossy(&item.content)
            .chars()
            .take(CONTENT_PREVIEW_CHARS)
            .collect()
    }

    pub async fn list_sandbox_items(&self, q: SandboxQuery) -> Result<SandboxPage, HostError> {
        let mut items = self
            .emulator
            .items(SANDBOX_ORG, SANDBOX_SOURCE)
            .map_err(sandbox_error)?;
        if let Some(user) = q.as_user.as_deref().filter(|u| !u.trim().is_empty()) {
            // The person as the Sandbox's provider knows them (what the UI's identities are).
            let user = permissions::QueryingUser::in_provider(user.trim(), SANDBOX_PROVIDER);
            let seen = self
                .emulator
                .search_as(SANDBOX_ORG, SANDBOX_SOURCE, &user)
                .map_err(sandbox_error)?;
            let visible: std::collections::HashSet<&str> = seen.visible().collect();
            items.retain(|i| visible.contains(i.document_id.as_str()));
        }
        let words: Vec<String> = q.text.split_whitespace().map(str::to_lowercase).collect();
        let mut summaries: Vec<SandboxItemSummary> = Vec::new();
        for item in &items {
            let summary = Self::item_summary(item);
            if !words.is_empty() {
                let hay = format!("{} {}", summary.title, Self::content_text(item)).to_lowercase();
                if !words.iter().all(|w| hay.contains(w)) {
                    continue;
                }
            }
            summaries.push(summary);
        }
        let total = summaries.len() as u64;
        let items = summaries
            .into_iter()
            .skip(q.offset as usize)
            .take(q.limit as usize)
            .collect();
        Ok(SandboxPage {
            total,
            offset: q.offset,
            items,
        })
    }

    pub async fn get_sandbox_item(&self, r: DocumentRef) -> Result<SandboxItemDetail, HostError> {
        let item = self
            .emulator
            .item(SANDBOX_ORG, SANDBOX_SOURCE, &r.document_id)
            .map_err(sandbox_error)?
            .ok_or_else(|| HostError::new(ErrorCode::NotFound, "the Sandbox has no such item"))?;
        let metadata = item
            .metadata
            .iter()
            .map(|(name, v)| MetadataEntry {
                name: name.clone(),
                value: v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string()),
            })
            .collect();
        let permissions = item
            .permissions
            .as_ref()
            .map(Into::into)
            .unwrap_or_else(empty_model);
        Ok(SandboxItemDetail {
            summary: Self::item_summary(&item),
            ordering_id: item.ordering_id,
            metadata,
            permissions,
            content: Self::content_text(&item),
        })
    }
}

/// The Sandbox's organization or source is missing: the app created both at start, so this
/// is not the person's doing.
fn sandbox_error(e: push_emulator::InspectError) -> HostError {
    internal("the Sandbox cannot be read", e)
}
