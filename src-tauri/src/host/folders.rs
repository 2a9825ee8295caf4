//! Folders: adding, actions, plans, patterns, failed items.

use super::*;

pub(crate) fn folder_state(state: &sync_engine::engine::FolderState) -> FolderState {
    use sync_engine::engine::FolderState as S;
    match state {
        S::UpToDate { problems } => FolderState::UpToDate {
            problems: *problems as u64,
        },
        S::Scanning => FolderState::Scanning { files_seen: None },
        S::Syncing {
            done,
            total,
            bytes_done,
            bytes_total,
            eta_secs,
        } => FolderState::Syncing {
            done: *done as u64,
            total: *total as u64,
            bytes: *bytes_done,
            bytes_total: *bytes_total,
            eta_seconds: eta_secs.map(|s| s as f64),
        },
        S::Paused { reason } => FolderState::Paused {
            reason: reason.clone(),
        },
        S::NeedsAttention { problems } => FolderState::NeedsAttention {
            problems: problems.len() as u64,
            reasons: problems.clone(),
        },
    }
}

/// The UI's include/exclude lists as the engine's first-match-wins filters: excludes first,
/// then includes, then (when there are includes) everything else left out.
pub(crate) fn filters_of(include: &[String], exclude: &[String]) -> Vec<String> {
    let mut filters: Vec<String> = exclude.iter().map(|p| format!("- {p}")).collect();
    filters.extend(include.iter().map(|p| format!("+ {p}")));
    if !include.is_empty() {
        filters.push(EXCLUDE_REST.into());
    }
    filters
}

pub(crate) fn patterns_of(filters: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut include, mut exclude) = (Vec::new(), Vec::new());
    for f in filters.iter().filter(|f| f.as_str() != EXCLUDE_REST) {
        if let Some(p) = f.strip_prefix("+ ") {
            include.push(p.to_owned());
        } else if let Some(p) = f.strip_prefix("- ") {
            exclude.push(p.to_owned());
        }
    }
    (include, exclude)
}

pub(crate) fn summary_of(
    mapping: &FolderMapping,
    state: FolderState,
    last_sync_at_ms: Option<f64>,
    item_count: u64,
    awaiting: bool,
) -> FolderSummary {
    let (include, exclude) = patterns_of(&mapping.filters);
    FolderSummary {
        id: mapping.name.clone(),
        name: mapping.name.clone(),
        path: mapping.path.display().to_string(),
        source_id: mapping.source.clone(),
        state,
        last_sync_at_ms,
        item_count,
        include,
        exclude,
        awaiting_first_sync: awaiting,
        owns_source: mapping.owns_source,
    }
}

/// A folder's card from the engine's state event alone (the event carries the whole card).
pub(crate) fn card_summary(
    state: &sync_engine::engine::FolderState,
    card: &sync_engine::engine::FolderCard,
) -> FolderSummary {
    summary_of(
        &card.mapping,
        folder_state(state),
        card.last_full_sync_ms.map(|ms| ms as f64),
        card.item_count,
        false,
    )
}

/// A folder's card from the engine's status.
pub(crate) fn status_summary(status: &sync_engine::engine::FolderStatus) -> FolderSummary {
    summary_of(
        &status.mapping,
        folder_state(&status.state),
        status.last_full_sync_ms.map(|ms| ms as f64),
        status.item_count,
        false,
    )
}

pub(crate) fn awaiting_summary(mapping: &FolderMapping) -> FolderSummary {
    summary_of(
        mapping,
        FolderState::Paused {
            reason: Some("Waiting for you to check and confirm the first plan.".into()),
        },
        None,
        0,
        true,
    )
}

pub(crate) fn problem_code(kind: sync_engine::scan::ProblemKind) -> ProblemCode {
    use sync_engine::scan::ProblemKind as K;
    match kind {
        K::Unreadable => ProblemCode::Unreadable,
        K::ChangedWhileRead => ProblemCode::ChangedWhileRead,
        K::NameNotUtf8 => ProblemCode::NameNotUtf8,
        K::SymlinkLoop => ProblemCode::SymlinkLoop,
        K::PushFailed => ProblemCode::PushFailed,
        K::Rejected => ProblemCode::Rejected,
    }
}

pub(crate) fn empty_model() -> PermissionModelView {
    PermissionModelView {
        complete: false,
        levels: Vec::new(),
    }
}

pub(crate) fn plan_dto(plan: &sync_engine::plan::Plan, plan_id: String) -> SyncPlan {
    let s = plan.summary();
    let sample = plan.pushes.first().map(|item| {
        let file_name = item
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&item.path)
            .to_owned();
        let metadata: Vec<MetadataEntry> = item
            .metadata
            .iter()
            .map(|(name, value)| MetadataEntry {
                name: name.clone(),
                value: match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            })
            .collect();
        let mut body = serde_json::Map::new();
        body.insert("documentId".into(), item.document_id.clone().into());
        for (k, v) in &item.metadata {
            body.insert(k.clone(), v.clone());
        }
        if let Some(p) = &item.permissions {
            body.insert(
                "permissions".into(),
                serde_json::to_value(p).unwrap_or_default(),
            );
        }
        body.insert(
            "data".into(),
            format!("<the content of {file_name}, {} bytes>", item.size).into(),
        );
        ItemPreview {
            document_id: item.document_id.clone(),
            title: file_name.clone(),
            file_name,
            size: item.size,
            // The dry run does not compress; the size sent is at most this.
            compressed_size: item.size,
            compression: Compression::Uncompressed,
            metadata,
            permissions: item
                .permissions
                .as_ref()
                .map(Into::into)
                .unwrap_or_else(empty_model),
            json: serde_json::to_string_pretty(&body).unwrap_or_default(),
        }
    });
    SyncPlan {
        plan_id,
        folder_id: plan.folder.clone(),
        added: s.adds as u64,
        updated: s.updates as u64,
        deleted: s.deletes as u64,
        moved: s.moves as u64,
        unchanged: s.unchanged as u64,
        skipped: s.skipped as u64,
        bytes: s.bytes,
        sample,
        warnings: Vec::new(),
    }
}

impl Host {
    // ---- folders -------------------------------------------------------------------------

    pub async fn list_folders(&self) -> Result<Vec<FolderSummary>, HostError> {
        let status = self.engine.status().await.map_err(engine_error)?;
        let mut out: Vec<FolderSummary> = status.iter().map(status_summary).collect();
        out.extend(lock(&self.settings).awaiting.iter().map(awaiting_summary));
        Ok(out)
    }

    pub(crate) fn target(&self, source_id: &str) -> (String, String, Option<String>) {
        let s = lock(&self.settings);
        match (&s.connection, s.use_organization) {
            (Some(c), true) => (
                c.organization_id.clone(),
                if source_id.is_empty() {
                    c.source_id.clone()
                } else {
                    source_id.to_owned()
                },
                Some(c.provider_id.clone()),
            ),
            _ => (
                SANDBOX_ORG.into(),
                if source_id.is_empty() {
                    SANDBOX_SOURCE.into()
                } else {
                    source_id.to_owned()
                },
                Some(SANDBOX_PROVIDER.into()),
            ),
        }
    }

    /// Adds a folder, paused until its first plan is confirmed (`confirm_plan`).
    pub async fn add_folder(&self, request: AddFolderRequest) -> Result<FolderSummary, HostError> {
        let path = PathBuf::from(request.path.trim());
        if !path.is_absolute() || !path.is_dir() {
            return Err(HostError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{} is not a folder on this computer; pick one with \"Add folder\"",
                    path.display()
                ),
            ));
        }
        let mut taken: Vec<String> = self
            .engine
            .status()
            .await
            .map_err(engine_error)?
            .into_iter()
            .map(|s| s.mapping.name)
            .collect();
        taken.extend(lock(&self.settings).awaiting.iter().map(|m| m.name.clone()));
        let wanted = request.name.trim();
        let name = if wanted.is_empty() {
            sync_engine::config::unique_folder_name(&path, |n| taken.iter().any(|t| t == n))
        } else if taken.iter().any(|t| t == wanted) {
            return Err(HostError::new(
                ErrorCode::Conflict,
                format!("a folder named {wanted:?} exists already; pick another name"),
            ));
        } else {
            wanted.to_owned()
        };
        let (org, source, provider) = self.target(&request.source_id);
        let mut mapping = FolderMapping::new(name, path, org, source);
        mapping.provider = provider;
        mapping.filters = filters_of(&request.include, &request.exclude);
        let mut check = Config::default();
        check.folders.push(mapping.clone());
        check
            .validate()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e.to_string()))?;
        let summary = awaiting_summary(&mapping);
        {
            let mut s = lock(&self.settings);
            s.awaiting.push(mapping);
            self.save_settings(&s)?;
        }
        // The card shows at once, also when the person closes the plan without confirming.
        (self.sink)(HostEvent::Folder {
            folder: summary.clone(),
        });
        self.log_activity(
            ActivityKind::Info,
            Some(&summary.id),
            format!("Added folder {} ({})", summary.name, summary.path),
            0,
        );
        Ok(summary)
    }

    pub(crate) fn awaiting(&self, name: &str) -> Option<FolderMapping> {
        lock(&self.settings)
            .awaiting
            .iter()
            .find(|m| m.name == name)
            .cloned()
    }

    pub async fn folder_action(&self, request: FolderActionRequest) -> Result<(), HostError> {
        let name = request.folder_id.as_str();
        if self.awaiting(name).is_some() {
            return match request.action {
                FolderAction::Remove => {
                    let mut s = lock(&self.settings);
                    s.awaiting.retain(|m| m.name != name);
                    self.save_settings(&s)
                }
                _ => Err(HostError::new(
                    ErrorCode::Conflict,
                    "this folder waits for its first plan: check it and confirm it first",
                )),
            };
        }
        let r = match request.action {
            FolderAction::Pause => self.engine.pause(name).await,
            FolderAction::Resume => self.engine.resume(name).await,
            FolderAction::Rescan => self.engine.rescan_now(name).await,
            FolderAction::Rebuild => self.engine.rebuild(name).await,
            FolderAction::Remove => self.engine.remove_folder(name).await,
        };
        r.map_err(engine_error)
    }

    pub async fn plan_folder(&self, request: FolderRef) -> Result<SyncPlan, HostError> {
        let plan = match self.awaiting(&request.folder_id) {
            Some(mapping) => sync_engine::engine::preview(&self.paths.state(), &mapping)
                .await
                .map_err(engine_error)?,
            None => self
                .engine
                .dry_run(&request.folder_id)
                .await
                .map_err(engine_error)?,
        };
        let plan_id = uuid::Uuid::new_v4().simple().to_string();
        lock(&self.plans).insert(
            request.folder_id.clone(),
            PlanTicket {
                plan_id: plan_id.clone(),
            },
        );
        Ok(plan_dto(&plan, plan_id))
    }

    /// Starts syncing a folder that waited for its first plan, or lets a folder go past a
    /// safety brake once. `conflict` when the plan is not the latest one shown.
    pub async fn confirm_plan(&self, request: ConfirmPlanRequest) -> Result<(), HostError> {
        let current = lock(&self.plans)
            .get(&request.folder_id)
            .map(|t| t.plan_id.clone());
        if current.as_deref() != Some(request.plan_id.as_str()) {
            return Err(HostError::new(
                ErrorCode::Conflict,
                "this plan is out of date; look at the new plan before confirming",
            ));
        }
        lock(&self.plans).remove(&request.folder_id);
        match self.awaiting(&request.folder_id) {
            Some(mapping) => {
                self.engine
                    .add_folder(mapping)
                    .await
                    .map_err(engine_error)?;
                let mut s = lock(&self.settings);
                s.awaiting.retain(|m| m.name != request.folder_id);
                self.save_settings(&s)
            }
            None => {
                self.engine
                    .confirm(&request.folder_id)
                    .await
                    .map_err(engine_error)?;
                self.engine
                    .rescan_now(&request.folder_id)
                    .await
                    .map_err(engine_error)
            }
        }
    }

    pub async fn preview_patterns(
        &self,
        request: PatternRequest,
    ) -> Result<PatternPreview, HostError> {
        let root = PathBuf::from(&request.path);
        let mut problems = Vec::new();
        for p in request.include.iter().chain(&request.exclude) {
            if let Err(e) = sync_engine::config::Filters::new(&[&format!("+ {p}")]) {
                problems.push(PatternProblem {
                    pattern: p.clone(),
                    message: e,
                });
            }
        }
        if !problems.is_empty() {
            return Ok(PatternPreview {
                matched: Vec::new(),
                matched_count: 0,
                excluded_count: 0,
                total_count: 0,
                problems,
            });
        }
        let rules = filters_of(&request.include, &request.exclude);
        let limit = request.limit as usize;
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
            let filters = sync_engine::config::Filters::new(&refs)
                .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
            let matches = sync_engine::config::list_matches(&root, &filters).map_err(|e| {
                HostError::new(
                    ErrorCode::NotFound,
                    format!("cannot read {}: {e}", root.display()),
                )
            })?;
            let total = matches.len() as u64;
            let included: Vec<String> = matches
                .iter()
                .filter(|m| m.decision.included)
                .map(|m| m.path.clone())
                .collect();
            let matched_count = included.len() as u64;
            Ok(PatternPreview {
                matched: included.into_iter().take(limit).collect(),
                matched_count,
                excluded_count: total - matched_count,
                total_count: total,
                problems: Vec::new(),
            })
        })
        .await
        .map_err(|e| internal("the pattern preview stopped", e))?
    }

    pub async fn save_patterns(
        &self,
        request: SavePatternsRequest,
    ) -> Result<FolderSummary, HostError> {
        let filters = filters_of(&request.include, &request.exclude);
        if let Some(mut mapping) = self.awaiting(&request.folder_id) {
            mapping.filters = filters;
            let summary = awaiting_summary(&mapping);
            let mut s = lock(&self.settings);
            if let Some(m) = s.awaiting.iter_mut().find(|m| m.name == mapping.name) {
                *m = mapping;
            }
            self.save_settings(&s)?;
            return Ok(summary);
        }
        let status = self.engine.status().await.map_err(engine_error)?;
        let folder = status
            .into_iter()
            .find(|s| s.mapping.name == request.folder_id)
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(request.folder_id.clone())))?;
        let mut mapping = folder.mapping;
        mapping.filters = filters;
        self.engine
            .change_folder(mapping)
            .await
            .map_err(engine_error)?;
        let status = self.engine.status().await.map_err(engine_error)?;
        let folder = status
            .into_iter()
            .find(|s| s.mapping.name == request.folder_id)
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(request.folder_id.clone())))?;
        Ok(status_summary(&folder))
    }

    pub async fn list_problems(&self, request: FolderRef) -> Result<Vec<ItemProblem>, HostError> {
        if self.awaiting(&request.folder_id).is_some() {
            return Ok(Vec::new());
        }
        let status = self.engine.status().await.map_err(engine_error)?;
        let folder = status
            .into_iter()
            .find(|s| s.mapping.name == request.folder_id)
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(request.folder_id.clone())))?;
        let at_ms = folder
            .last_full_sync_ms
            .map(|ms| ms as f64)
            .unwrap_or_else(now_ms);
        Ok(folder
            .last_problems
            .iter()
            .map(|p| ItemProblem {
                path: p.path.clone(),
                code: problem_code(p.kind),
                what: p.message.clone(),
                what_to_do: p.kind.what_to_do().to_owned(),
                at_ms,
            })
            .collect())
    }

    /// Failed files are retried by a full rescan now.
    pub async fn retry_problems(&self, request: FolderRef) -> Result<(), HostError> {
        self.engine
            .rescan_now(&request.folder_id)
            .await
            .map_err(engine_error)
    }
}
