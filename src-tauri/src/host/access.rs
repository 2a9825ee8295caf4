//! Permission rules, models, View as and who can see, over the permissions crate.

use super::*;

impl Host {
    // ---- permission rules ------------------------------------------------------------------

    /// The mapping of a folder, whether it waits for its first plan or runs in the engine.
    pub(crate) async fn mapping(
        &self,
        folder_id: &str,
    ) -> Result<(FolderMapping, bool), HostError> {
        if let Some(m) = self.awaiting(folder_id) {
            return Ok((m, true));
        }
        self.engine
            .status()
            .await
            .map_err(engine_error)?
            .into_iter()
            .find(|s| s.mapping.name == folder_id)
            .map(|s| (s.mapping, false))
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(folder_id.into())))
    }

    /// The root, every rule, and every subfolder (which inherits unless a rule names it).
    pub async fn list_rules(&self, request: FolderRef) -> Result<Vec<RuleEntry>, HostError> {
        let (mapping, _) = self.mapping(&request.folder_id).await?;
        let mut entries: BTreeMap<String, RuleEntry> = BTreeMap::new();
        entries.insert(
            String::new(),
            RuleEntry {
                path: String::new(),
                rule: None,
                mode: RuleMode::Replace,
            },
        );
        let root = mapping.path.clone();
        let dirs = tokio::task::spawn_blocking(move || subfolders(&root))
            .await
            .unwrap_or_default();
        for dir in dirs {
            entries.insert(
                dir.clone(),
                RuleEntry {
                    path: dir,
                    rule: None,
                    mode: RuleMode::Replace,
                },
            );
        }
        for rule in &mapping.permission_rules {
            let path = rule.path.trim_matches('/').to_owned();
            entries.insert(
                path.clone(),
                RuleEntry {
                    path,
                    rule: Some(rule_dto(rule)),
                    mode: mode_dto(rule.mode),
                },
            );
        }
        Ok(entries.into_values().collect())
    }

    /// Sets (or with `rule: None`, removes) the rule of one path; the engine re-pushes the
    /// items whose permissions change at its next run.
    pub async fn save_rule(&self, request: RuleChangeRequest) -> Result<(), HostError> {
        let (mut mapping, awaiting) = self.mapping(&request.folder_id).await?;
        let path = request.path.trim_matches('/').to_owned();
        let provider = mapping.provider.clone();
        mapping
            .permission_rules
            .retain(|r| r.path.trim_matches('/') != path);
        if let Some(rule) = &request.rule {
            mapping
                .permission_rules
                .push(rule_domain(&path, rule, request.mode, provider)?);
        }
        mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        if awaiting {
            let mut s = lock(&self.settings);
            if let Some(m) = s.awaiting.iter_mut().find(|m| m.name == mapping.name) {
                *m = mapping;
            }
            return self.save_settings(&s);
        }
        self.engine
            .change_folder(mapping)
            .await
            .map_err(engine_error)?;
        self.engine
            .rescan_now(&request.folder_id)
            .await
            .map_err(engine_error)
    }

    /// The effective permission model of a file, from the folder's rules (an empty model: no
    /// rule applies, and the source's own visibility decides).
    pub async fn permission_model(
        &self,
        request: FileRef,
    ) -> Result<PermissionModelView, HostError> {
        let (mapping, _) = self.mapping(&request.folder_id).await?;
        let compiled = mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        Ok(compiled
            .and_then(|c| c.resolve(request.path.trim_matches('/')))
            .map(|r| (&r.model).into())
            .unwrap_or_else(empty_model))
    }

    // ---- View as, who can see (permissions crate over the Sandbox's identities) --------------

    /// The identity graph of the Sandbox's provider (members and granted identities).
    pub(crate) async fn sandbox_graph(&self) -> Result<permissions::IdentityGraph, HostError> {
        if self.get_app_state().await?.mode == ConnectionMode::Organization {
            return Err(not_yet(
                "The access preview with an organization's identities",
            ));
        }
        let answer = self
            .inspect(&format!(
                "/organizations/{SANDBOX_ORG}/providers/{SANDBOX_PROVIDER}/identities"
            ))
            .await?;
        let mut graph = permissions::IdentityGraph::new();
        for record in answer["identities"].as_array().into_iter().flatten() {
            let body = serde_json::json!({
                "identity": record["identity"],
                "members": record["members"],
                "wellKnowns": record["wellKnowns"],
            });
            match serde_json::from_value::<permissions::IdentityBody>(body) {
                Ok(body) => graph.put_identity(SANDBOX_PROVIDER, &body),
                Err(e) => tracing::warn!("skipping an identity the preview cannot read: {e}"),
            }
        }
        Ok(graph)
    }

    /// The effective model of a file, `None` when no rule applies.
    pub(crate) async fn file_model(
        &self,
        folder_id: &str,
        path: &str,
    ) -> Result<Option<permissions::PermissionModel>, HostError> {
        let (mapping, _) = self.mapping(folder_id).await?;
        let compiled = mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        Ok(compiled
            .and_then(|c| c.resolve(path.trim_matches('/')))
            .map(|r| r.model))
    }

    pub(crate) fn explain_one(
        graph: &permissions::IdentityGraph,
        model: Option<&permissions::PermissionModel>,
        user: &str,
    ) -> AccessExplanation {
        let Some(model) = model else {
            return AccessExplanation {
                user: user.to_owned(),
                visible: true,
                deciding: None,
                chain: Vec::new(),
                levels: Vec::new(),
                uncertain_level: None,
                summary: "Visible: no rule applies to this file, so it carries no permissions and the source's own visibility decides.".into(),
                model: empty_model(),
            };
        };
        let ctx = permissions::AccessContext::new(graph, SANDBOX_PROVIDER);
        let viewer =
            permissions::Viewer::Identity(permissions::IdentityKey::user(SANDBOX_PROVIDER, user));
        let explanation = permissions::explain(&ctx, model, &viewer);
        AccessExplanation::from_explanation(&explanation, model)
    }

    /// "View as": whether `user` (of the Sandbox's provider) sees the file, and why.
    pub async fn explain_access(
        &self,
        request: ExplainRequest,
    ) -> Result<AccessExplanation, HostError> {
        let model = self.file_model(&request.folder_id, &request.path).await?;
        let graph = self.sandbox_graph().await?;
        Ok(Self::explain_one(
            &graph,
            model.as_ref(),
            request.user.trim(),
        ))
    }

    /// Every user the Sandbox's provider knows, with whether they see the file.
    pub async fn who_can_see(&self, request: FileRef) -> Result<Vec<UserAccess>, HostError> {
        let model = self.file_model(&request.folder_id, &request.path).await?;
        let graph = self.sandbox_graph().await?;
        let mut out: Vec<UserAccess> = graph
            .users()
            .iter()
            .filter_map(|v| match v {
                permissions::Viewer::Identity(key) => Some(key.name.clone()),
                permissions::Viewer::Anonymous => None,
            })
            .map(|user| {
                let e = Self::explain_one(&graph, model.as_ref(), &user);
                UserAccess {
                    user,
                    visible: e.visible,
                    summary: e.summary,
                }
            })
            .collect();
        out.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(out)
    }
}

/// Subfolders are listed for the rule editor down to this many: enough for a document tree,
/// bounded so a home folder does not stall the call.
pub(crate) const MAX_SUBFOLDERS: usize = 2_000;

pub(crate) fn subfolders(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if out.len() >= MAX_SUBFOLDERS {
                return out;
            }
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                out.push(child.clone());
                stack.push((entry.path(), child));
            }
        }
    }
    out.sort();
    out
}

pub(crate) fn mode_dto(mode: permissions::rules::RuleMode) -> RuleMode {
    use permissions::rules::RuleMode as M;
    match mode {
        M::Replace => RuleMode::Replace,
        M::AddLevelBefore => RuleMode::AddLevelBefore,
        M::AddLevelAfter => RuleMode::AddLevelAfter,
    }
}

pub(crate) fn identities_of(rule: &permissions::rules::FolderRule) -> Vec<IdentityRef> {
    let named = |names: &[String], kind| {
        names
            .iter()
            .map(move |n| IdentityRef {
                name: n.clone(),
                kind,
            })
            .collect::<Vec<_>>()
    };
    let mut out = named(&rule.groups, IdentityKind::Group);
    out.extend(named(&rule.virtual_groups, IdentityKind::VirtualGroup));
    out.extend(named(&rule.users, IdentityKind::User));
    out
}

pub(crate) fn rule_dto(rule: &permissions::rules::FolderRule) -> FolderRule {
    use permissions::rules::AccessChoice as A;
    match rule.access {
        A::Everyone => FolderRule::Everyone,
        A::Only => FolderRule::Only {
            identities: identities_of(rule),
        },
        A::EveryoneExcept => FolderRule::EveryoneExcept {
            identities: identities_of(rule),
        },
        // A deny-only level and a full model are both shown as the model they produce.
        A::Deny | A::Complete => FolderRule::Complete {
            model: rule
                .own_model()
                .map(|m| (&m).into())
                .unwrap_or_else(|_| empty_model()),
        },
    }
}

pub(crate) fn rule_domain(
    path: &str,
    rule: &FolderRule,
    mode: RuleMode,
    provider: Option<String>,
) -> Result<permissions::rules::FolderRule, HostError> {
    use permissions::rules::AccessChoice as A;
    let (access, identities) = match rule {
        FolderRule::Everyone => (A::Everyone, &[][..]),
        FolderRule::Only { identities } => (A::Only, identities.as_slice()),
        FolderRule::EveryoneExcept { identities } => (A::EveryoneExcept, identities.as_slice()),
        FolderRule::Complete { .. } => {
            return Err(not_yet("Saving a complete permission model from the app"))
        }
    };
    let pick = |kind: IdentityKind| -> Vec<String> {
        identities
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.name.clone())
            .collect()
    };
    if identities.iter().any(|i| i.kind == IdentityKind::Unknown) {
        return Err(HostError::new(
            ErrorCode::InvalidInput,
            "a rule can name users, groups and virtual groups only",
        ));
    }
    Ok(permissions::rules::FolderRule {
        path: path.to_owned(),
        mode: match mode {
            RuleMode::Replace => permissions::rules::RuleMode::Replace,
            RuleMode::AddLevelBefore => permissions::rules::RuleMode::AddLevelBefore,
            RuleMode::AddLevelAfter => permissions::rules::RuleMode::AddLevelAfter,
        },
        access,
        groups: pick(IdentityKind::Group),
        virtual_groups: pick(IdentityKind::VirtualGroup),
        users: pick(IdentityKind::User),
        provider,
        level_name: None,
        model: None,
    })
}
