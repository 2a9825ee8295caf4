//! The activity log and the Sandbox browser (the emulator's inspection API).

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

    // ---- Sandbox browser (the emulator's inspection API) ----------------------------------

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

    pub(crate) fn item_summary(item: &serde_json::Value) -> SandboxItemSummary {
        let document_id = item["documentId"].as_str().unwrap_or_default().to_owned();
        let title = item["metadata"]
            .as_object()
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("title"))
                    .and_then(|(_, v)| v.as_str())
            })
            .map(str::to_owned)
            .unwrap_or_else(|| {
                document_id
                    .rsplit('/')
                    .next()
                    .unwrap_or(&document_id)
                    .to_owned()
            });
        SandboxItemSummary {
            document_id,
            title,
            size: item["contentSize"].as_u64().unwrap_or(0),
            file_type: item["fileExtension"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('.')
                .to_owned(),
            indexed_at_ms: item["updated"]
                .as_f64()
                .or_else(|| {
                    item["updated"]
                        .as_str()
                        .and_then(|s| {
                            time::OffsetDateTime::parse(
                                s,
                                &time::format_description::well_known::Rfc3339,
                            )
                            .ok()
                        })
                        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as f64)
                })
                .unwrap_or(0.0),
        }
    }

    pub(crate) fn content_text(item: &serde_json::Value) -> String {
        use base64::Engine as _;
        let bytes = item["content"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .chars()
            .take(CONTENT_PREVIEW_CHARS)
            .collect()
    }

    pub(crate) fn sandbox_source(&self) -> String {
        format!("/organizations/{SANDBOX_ORG}/sources/{SANDBOX_SOURCE}")
    }

    pub async fn list_sandbox_items(&self, q: SandboxQuery) -> Result<SandboxPage, HostError> {
        let base = self.sandbox_source();
        let all = self.inspect(&format!("{base}/items")).await?;
        let mut items: Vec<&serde_json::Value> = all["items"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        if let Some(user) = q.as_user.as_deref().filter(|u| !u.trim().is_empty()) {
            let user = user.trim();
            let encoded: String = url_encode(user);
            let seen = self
                .inspect(&format!(
                    "{base}/search?user={encoded}&provider={SANDBOX_PROVIDER}&visibleOnly=true"
                ))
                .await?;
            let visible: std::collections::HashSet<String> = seen["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|i| i["visible"].as_bool().unwrap_or(false))
                        .filter_map(|i| i["documentId"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            items.retain(|i| visible.contains(i["documentId"].as_str().unwrap_or_default()));
        }
        let words: Vec<String> = q.text.split_whitespace().map(str::to_lowercase).collect();
        let mut summaries: Vec<SandboxItemSummary> = Vec::new();
        for item in items {
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
            .inspect(&format!(
                "{}/item?documentId={}",
                self.sandbox_source(),
                url_encode(&r.document_id)
            ))
            .await?;
        let metadata = item["metadata"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(name, v)| MetadataEntry {
                        name: name.clone(),
                        value: v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let permissions =
            serde_json::from_value::<permissions::PermissionModel>(item["permissions"].clone())
                .map(|m| (&m).into())
                .unwrap_or_else(|_| empty_model());
        Ok(SandboxItemDetail {
            summary: Self::item_summary(&item),
            ordering_id: item["orderingId"].as_u64().unwrap_or(0),
            metadata,
            permissions,
            content: Self::content_text(&item),
        })
    }
}
