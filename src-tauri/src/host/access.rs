//! Permission rules, models, View as, who can see, what a user can see and the rule preview,
//! every answer through the one access analysis ([`AccessWorld`] over
//! `permissions::AccessAnalysis`).

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
    ///
    /// Every kind of rule is saved, the complete model with its levels too; subfolders inherit
    /// it unless they have their own rule. Only the permissions of the files change, so the
    /// engine plans permission-only updates (no re-hashing; the Push API has no partial update,
    /// so each item is sent again with its content).
    pub async fn save_rule(&self, request: RuleChangeRequest) -> Result<(), HostError> {
        if let Some(FolderRule::Only { identities } | FolderRule::EveryoneExcept { identities }) =
            &request.rule
        {
            if identities.is_empty() {
                return Err(HostError::new(
                    ErrorCode::InvalidInput,
                    "Pick at least one group or user for this rule.",
                ));
            }
        }
        let (mapping, awaiting) = self.mapping(&request.folder_id).await?;
        let (mapping, _) = with_rule(&mapping, &request.path, request.rule.as_ref(), request.mode)?;
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

    // ---- View as, who can see: the one access analysis (permissions::AccessAnalysis) -------

    /// What an access question is asked against: the identity graph of the app's identity list
    /// (in the current target's provider, [`Host::identity_graph`]) and the providers as
    /// Pushdeck creates them, for a folder whose permission entries name `folder_provider`.
    pub(crate) async fn access_world(
        &self,
        folder_provider: &str,
    ) -> Result<AccessWorld, HostError> {
        let graph = self.identity_graph().await?;
        Ok(AccessWorld::new(
            graph,
            &self.identity_provider(),
            folder_provider,
        ))
    }

    /// The effective model of a file (`None` when no rule applies), and the folder's provider
    /// (that of the entries that name none).
    pub(crate) async fn file_model(
        &self,
        folder_id: &str,
        path: &str,
    ) -> Result<(Option<permissions::PermissionModel>, String), HostError> {
        let (mapping, _) = self.mapping(folder_id).await?;
        let compiled = mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        let model = compiled
            .and_then(|c| c.resolve(path.trim_matches('/')))
            .map(|r| r.model);
        Ok((model, default_provider(&mapping)))
    }

    /// "View as": whether `user` sees the file, and why ([`AccessWorld::explain`]).
    pub async fn explain_access(
        &self,
        request: ExplainRequest,
    ) -> Result<AccessExplanation, HostError> {
        let user = querying_user(&request.user, "Pick a user to view the file as.")?;
        let (model, provider) = self.file_model(&request.folder_id, &request.path).await?;
        let world = self.access_world(&provider).await?;
        Ok(world.explain(model.as_ref(), &user))
    }

    /// Every person the identities know, then anyone not signed in, with whether they see
    /// the file ([`AccessWorld::who_can_see`]).
    pub async fn who_can_see(&self, request: FileRef) -> Result<Vec<UserAccess>, HostError> {
        let (model, provider) = self.file_model(&request.folder_id, &request.path).await?;
        let world = self.access_world(&provider).await?;
        Ok(world.who_can_see(model.as_ref()))
    }

    // ---- the access preview: a rule change before it is saved, what a user can see ---------

    /// The relative paths of a folder's files: what the engine recorded for it (every item
    /// it pushed, [`EngineHandle::recorded_paths`]), or, before its first sync, a scan with
    /// its filters.
    pub(crate) async fn folder_files(
        &self,
        mapping: &FolderMapping,
        awaiting: bool,
    ) -> Result<Vec<String>, HostError> {
        if !awaiting {
            match self.engine.recorded_paths(&mapping.name).await {
                Ok(paths) if !paths.is_empty() => return Ok(paths),
                Ok(_) => {}
                Err(e) => tracing::warn!("reading the folder's recorded items: {e}"),
            }
        }
        let mapping = mapping.clone();
        tokio::task::spawn_blocking(move || scanned_files(&mapping))
            .await
            .map_err(|e| internal("listing the folder's files stopped", e))?
    }

    /// Who gains and who loses access if a rule change is saved, over the folder's files. Pure:
    /// nothing is saved. A rule naming nobody yet is previewed as it reads (nobody, or
    /// everyone) so the preview follows the edit; saving it asks for a name.
    pub async fn preview_rule(
        &self,
        request: RuleChangeRequest,
    ) -> Result<AccessChange, HostError> {
        let draft = match &request.rule {
            Some(FolderRule::Only { identities }) if identities.is_empty() => {
                Some(FolderRule::Complete {
                    model: PermissionModelView {
                        complete: false,
                        levels: vec![PermissionLevelView {
                            name: None,
                            sets: vec![PermissionSetView {
                                allow_anonymous: false,
                                allowed: Vec::new(),
                                denied: Vec::new(),
                            }],
                        }],
                    },
                })
            }
            Some(FolderRule::EveryoneExcept { identities }) if identities.is_empty() => {
                Some(FolderRule::Everyone)
            }
            other => other.clone(),
        };
        let (mapping, awaiting) = self.mapping(&request.folder_id).await?;
        let (changed, new_index) =
            with_rule(&mapping, &request.path, draft.as_ref(), request.mode)?;
        let path = request.path.trim_matches('/').to_owned();
        let old_indexes: Vec<usize> = mapping
            .permission_rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.path.trim_matches('/') == path)
            .map(|(i, _)| i)
            .collect();
        let before = FolderRules::of(&mapping)?;
        let after = FolderRules::of(&changed)?;
        let files = self.folder_files(&mapping, awaiting).await?;
        let world = self.access_world(&default_provider(&mapping)).await?;
        tokio::task::spawn_blocking(move || {
            let scope = RuleScope {
                path: &path,
                old: &old_indexes,
                new: new_index,
            };
            rule_change(&world, &before, &after, &files, &scope)
        })
        .await
        .map_err(|e| internal("the access preview stopped", e))
    }

    /// "What can this user see": the folder's tree with, per file, whether `user` sees it, and
    /// per folder how many of its files. Big folders are cut ([`MAX_TREE_NODES`],
    /// [`MAX_TREE_FILES_PER_FOLDER`]); a folder cut short says how many files it does not
    /// list (`omittedFiles`), its counts stay whole.
    pub async fn what_can_user_see(&self, request: UserRequest) -> Result<TreeNode, HostError> {
        let user = querying_user(&request.user, "Pick a user to see what they can see.")?;
        let (mapping, awaiting) = self.mapping(&request.folder_id).await?;
        let rules = FolderRules::of(&mapping)?;
        let files = self.folder_files(&mapping, awaiting).await?;
        let world = self.access_world(&default_provider(&mapping)).await?;
        tokio::task::spawn_blocking(move || {
            let visible = visible_files(&world, &rules, &files, &user);
            user_tree(&mapping.name, &files, &visible, MAX_TREE_NODES)
        })
        .await
        .map_err(|e| internal("the access preview stopped", e))
    }
}

/// The folder with `rule` set at `path` (or its rule removed), and the new rule's position.
pub(crate) fn with_rule(
    mapping: &FolderMapping,
    path: &str,
    rule: Option<&FolderRule>,
    mode: RuleMode,
) -> Result<(FolderMapping, Option<usize>), HostError> {
    let path = path.trim_matches('/').to_owned();
    let mut changed = mapping.clone();
    changed
        .permission_rules
        .retain(|r| r.path.trim_matches('/') != path);
    let provider = changed.provider.clone();
    let index = match rule {
        Some(rule) => {
            changed
                .permission_rules
                .push(rule_domain(&path, rule, mode, provider)?);
            Some(changed.permission_rules.len() - 1)
        }
        None => None,
    };
    Ok((changed, index))
}

/// The provider of permission entries that name none: the folder's provider.
pub(crate) fn default_provider(mapping: &FolderMapping) -> String {
    mapping
        .provider
        .clone()
        .unwrap_or_else(|| SANDBOX_PROVIDER.to_owned())
}

/// The files a scan of the folder would sync: its filters and the default excludes.
fn scanned_files(mapping: &FolderMapping) -> Result<Vec<String>, HostError> {
    let filters = mapping
        .compiled_filters()
        .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
    let matches = sync_engine::config::list_matches(&mapping.path, &filters).map_err(|e| {
        HostError::new(
            ErrorCode::NotFound,
            format!(
                "cannot read the folder {}: {e}; check that it still exists and is readable",
                mapping.path.display()
            ),
        )
    })?;
    Ok(matches
        .into_iter()
        .filter(|m| m.decision.included)
        .map(|m| m.path)
        .collect())
}

/// "What can this user see" lists at most this many entries (files and folders, breadth
/// first, so the top of the tree shows first). More shows more of a big folder but makes the
/// answer (about 150 bytes an entry) and the window's tree slower; the counts are always whole.
pub(crate) const MAX_TREE_NODES: usize = 5_000;
/// And at most this many files of one folder, so that one crowded folder does not use up
/// [`MAX_TREE_NODES`] before its neighbours are listed.
pub(crate) const MAX_TREE_FILES_PER_FOLDER: usize = 1_000;

/// A folder's files grouped by the rules that apply to them. The model of a file depends only
/// on that list of rules, so access questions are answered once per group, not per file.
pub(crate) struct FileClasses {
    /// Per group, the rules applied (positions) and the model (`None`: no rule applies, the
    /// item carries no permissions and is visible wherever the source shows it).
    pub rules: Vec<Vec<usize>>,
    pub models: Vec<Option<permissions::PermissionModel>>,
    /// Per file (in the order given), its group.
    pub of_file: Vec<u32>,
}

/// A folder's rules, compiled, and what lets its files be grouped folder by folder.
pub(crate) struct FolderRules {
    pub compiled: Option<permissions::CompiledRules>,
    /// The rules' paths (normalized), when none is a glob. Then a file gets the rules of its
    /// folder, unless a rule names the file itself. A glob may match a file by its name, so
    /// with one, every file is matched on its own.
    plain_paths: Option<std::collections::HashSet<String>>,
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '[', '{'])
}

/// `./a//b/` and `a\b` → `a/b`, as the permissions crate reads rule paths.
fn normalized(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl FolderRules {
    pub(crate) fn of(mapping: &FolderMapping) -> Result<Self, HostError> {
        let compiled = mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        let rules = &mapping.permission_rules;
        let plain_paths = (!rules.iter().any(|r| is_glob(&r.path)))
            .then(|| rules.iter().map(|r| normalized(&r.path)).collect());
        Ok(Self {
            compiled,
            plain_paths,
        })
    }
}

pub(crate) fn classify(rules: &FolderRules, files: &[String]) -> FileClasses {
    let mut classes = FileClasses {
        rules: Vec::new(),
        models: Vec::new(),
        of_file: Vec::with_capacity(files.len()),
    };
    let Some(compiled) = &rules.compiled else {
        classes.rules.push(Vec::new());
        classes.models.push(None);
        classes.of_file.resize(files.len(), 0);
        return classes;
    };
    let mut groups: std::collections::HashMap<Vec<usize>, u32> = std::collections::HashMap::new();
    let mut by_folder: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut group_of = |applied: Vec<usize>, path: &str, classes: &mut FileClasses| -> u32 {
        if let Some(group) = groups.get(&applied) {
            return *group;
        }
        let group = u32::try_from(classes.models.len()).unwrap_or(u32::MAX);
        classes.models.push(compiled.resolve(path).map(|r| r.model));
        classes.rules.push(applied.clone());
        groups.insert(applied, group);
        group
    };
    for path in files {
        let own = rules
            .plain_paths
            .as_ref()
            .is_none_or(|plain| plain.contains(path.as_str()));
        let group = if own {
            group_of(compiled.matching_rules(path), path, &mut classes)
        } else {
            let folder = parent_of(path);
            match by_folder.get(folder) {
                Some(group) => *group,
                None => {
                    let group = group_of(compiled.matching_rules(folder), path, &mut classes);
                    by_folder.insert(folder, group);
                    group
                }
            }
        };
        classes.of_file.push(group);
    }
    classes
}

/// What an access question is asked against, built from what the host knows: the identity
/// graph of the app's identity list, the providers (the target's provider and the folder's, each
/// cascading to the Email Security Provider, as Pushdeck creates its providers and as the
/// Sandbox's provider is), and the folder's provider for permission entries that name none.
///
/// Every answer about access goes through [`permissions::AccessAnalysis`]: one resolution of
/// the person (`permissions::QueryingUser`) and one evaluation. The host decides nothing
/// about visibility itself.
pub struct AccessWorld {
    graph: permissions::IdentityGraph,
    providers: permissions::Providers,
    default_provider: String,
}

impl AccessWorld {
    /// `identity_provider`: where the identity graph's identities live; `folder_provider`: the
    /// provider of the folder's permission entries (often the same).
    pub fn new(
        graph: permissions::IdentityGraph,
        identity_provider: &str,
        folder_provider: &str,
    ) -> Self {
        Self {
            graph,
            providers: permissions::Providers::pushdeck([identity_provider, folder_provider]),
            default_provider: folder_provider.to_owned(),
        }
    }

    pub fn analysis(&self) -> permissions::AccessAnalysis<'_> {
        permissions::AccessAnalysis::new(&self.graph, &self.providers, &self.default_provider)
    }

    /// "View as": `user`'s answer for an item with `model` (`None`: no rule applies).
    pub fn explain(
        &self,
        model: Option<&permissions::PermissionModel>,
        user: &permissions::QueryingUser,
    ) -> AccessExplanation {
        AccessExplanation::from_answer(&self.analysis().explain(model, user), model)
    }

    /// "Who can see this file": every person the identities know, then anonymous.
    pub fn who_can_see(&self, model: Option<&permissions::PermissionModel>) -> Vec<UserAccess> {
        self.analysis()
            .who_can_see(model)
            .iter()
            .map(Into::into)
            .collect()
    }
}

/// The person a name typed or picked in the window stands for: the user of that name as they
/// sign in (the Email Security Provider; `permissions::QueryingUser`).
pub(crate) fn querying_user(
    name: &str,
    if_empty: &str,
) -> Result<permissions::QueryingUser, HostError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(HostError::new(ErrorCode::InvalidInput, if_empty));
    }
    Ok(permissions::QueryingUser::named(name))
}

/// Which files the changed rule concerns: the files under its path (for a plain path), and
/// those the rule applied to before (`old`) or applies to after (`new`, for a glob too).
pub(crate) struct RuleScope<'a> {
    pub path: &'a str,
    pub old: &'a [usize],
    pub new: Option<usize>,
}

impl RuleScope<'_> {
    fn under_path(&self, file: &str) -> bool {
        !is_glob(self.path)
            && (self.path.is_empty()
                || file == self.path
                || file
                    .strip_prefix(self.path)
                    .is_some_and(|rest| rest.starts_with('/')))
    }
}

/// Who gains and who loses access when the rules change from `before` to `after`, over
/// `files`: the people the identities know (`AccessAnalysis::people`), resolved once into an
/// index (`AccessAnalysis::index`); one evaluation per distinct model, then per distinct
/// (before, after) pair of models.
pub(crate) fn rule_change(
    world: &AccessWorld,
    before: &FolderRules,
    after: &FolderRules,
    files: &[String],
    scope: &RuleScope<'_>,
) -> AccessChange {
    let old = classify(before, files);
    let new = classify(after, files);
    let mut pairs: std::collections::HashMap<(u32, u32), u64> = std::collections::HashMap::new();
    let mut affected = 0u64;
    let mut first_affected: Option<u32> = None;
    for (i, file) in files.iter().enumerate() {
        let (b, a) = (old.of_file[i], new.of_file[i]);
        *pairs.entry((b, a)).or_default() += 1;
        let concerned = scope.under_path(file)
            || old.rules[b as usize].iter().any(|r| scope.old.contains(r))
            || scope
                .new
                .is_some_and(|n| new.rules[a as usize].contains(&n));
        if concerned {
            affected += 1;
            first_affected.get_or_insert(a);
        }
    }
    let analysis = world.analysis();
    let people = analysis.people();
    let index = analysis.index(&people);
    let visible = |models: &[Option<permissions::PermissionModel>]| -> Vec<permissions::ViewerSet> {
        models
            .iter()
            .map(|m| index.visible_to_item(m.as_ref()))
            .collect()
    };
    let (seen_before, seen_after) = (visible(&old.models), visible(&new.models));
    let mut gains = std::collections::BTreeSet::new();
    let mut loses = std::collections::BTreeSet::new();
    let mut files_changed = 0u64;
    let name = |i: usize| people[i].to_string();
    for ((b, a), count) in &pairs {
        if old.models[*b as usize] == new.models[*a as usize] {
            continue;
        }
        files_changed += count;
        let (was, will) = (&seen_before[*b as usize], &seen_after[*a as usize]);
        gains.extend(will.iter().filter(|i| !was.contains(*i)).map(name));
        loses.extend(was.iter().filter(|i| !will.contains(*i)).map(name));
    }
    // The model at the rule's path once saved (for a glob: the first file it concerns).
    let model = if is_glob(scope.path) {
        first_affected.and_then(|a| new.models[a as usize].clone())
    } else {
        after
            .compiled
            .as_ref()
            .and_then(|r| r.resolve(scope.path))
            .map(|r| r.model)
    };
    AccessChange {
        gains: gains.into_iter().collect(),
        loses: loses.into_iter().collect(),
        files_affected: affected,
        model: model.as_ref().map(Into::into).unwrap_or_else(empty_model),
        files_changed: Some(files_changed),
    }
}

/// Per file, whether `user` sees it under `rules`: the person resolved once, one answer per
/// distinct model.
pub(crate) fn visible_files(
    world: &AccessWorld,
    rules: &FolderRules,
    files: &[String],
    user: &permissions::QueryingUser,
) -> Vec<bool> {
    let classes = classify(rules, files);
    let analysis = world.analysis();
    let person = analysis.resolve(user);
    let per_class: Vec<bool> = classes
        .models
        .iter()
        .map(|m| analysis.explain_resolved(m.as_ref(), &person).is_visible())
        .collect();
    classes
        .of_file
        .iter()
        .map(|c| per_class[*c as usize])
        .collect()
}

#[derive(Default)]
struct DirTally {
    /// Child folders (full relative paths; sorted, so by name).
    subdirs: std::collections::BTreeSet<String>,
    /// The files directly inside (positions in the file list).
    files: Vec<usize>,
    visible: u64,
    total: u64,
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

fn name_of(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

/// The folder tree of `files` (relative paths) with each file's visibility, folders first
/// then files, each by name. At most `max_nodes` entries are listed, breadth first.
pub(crate) fn user_tree(
    root_name: &str,
    files: &[String],
    visible: &[bool],
    max_nodes: usize,
) -> TreeNode {
    let mut dirs: std::collections::HashMap<String, DirTally> = std::collections::HashMap::new();
    dirs.insert(String::new(), DirTally::default());
    for (i, path) in files.iter().enumerate() {
        let seen = visible.get(i).copied().unwrap_or(false);
        // Count the file in its folder and every folder above; a folder seen for the first
        // time is listed in its parent (the next step up).
        let mut dir = parent_of(path);
        let mut new_child: Option<&str> = None;
        loop {
            let created = !dirs.contains_key(dir);
            if created {
                dirs.insert(dir.to_owned(), DirTally::default());
            }
            if let Some(tally) = dirs.get_mut(dir) {
                tally.total += 1;
                tally.visible += u64::from(seen);
                if let Some(child) = new_child.take() {
                    tally.subdirs.insert(child.to_owned());
                }
            }
            if dir.is_empty() {
                break;
            }
            new_child = created.then_some(dir);
            dir = parent_of(dir);
        }
        if let Some(tally) = dirs.get_mut(parent_of(path)) {
            tally.files.push(i);
        }
    }
    for tally in dirs.values_mut() {
        tally
            .files
            .sort_by(|a, b| name_of(&files[*a]).cmp(name_of(&files[*b])));
    }
    // Breadth first: which children of each folder are listed.
    let mut listed: std::collections::HashMap<&str, (Vec<&str>, usize)> =
        std::collections::HashMap::new();
    let mut budget = max_nodes;
    let mut queue = VecDeque::from([""]);
    while let Some(dir) = queue.pop_front() {
        let Some(tally) = dirs.get(dir) else { continue };
        let mut subdirs = Vec::new();
        for sub in tally.subdirs.iter().take(budget) {
            subdirs.push(sub.as_str());
            queue.push_back(sub.as_str());
        }
        budget -= subdirs.len();
        let shown = tally.files.len().min(MAX_TREE_FILES_PER_FOLDER).min(budget);
        budget -= shown;
        listed.insert(dir, (subdirs, shown));
    }
    fn build(
        dir: &str,
        name: &str,
        dirs: &std::collections::HashMap<String, DirTally>,
        listed: &std::collections::HashMap<&str, (Vec<&str>, usize)>,
        files: &[String],
        visible: &[bool],
    ) -> TreeNode {
        let (total, seen) = dirs.get(dir).map_or((0, 0), |t| (t.total, t.visible));
        let mut children = Vec::new();
        let mut listed_files = 0u64;
        if let (Some(tally), Some((subdirs, shown))) = (dirs.get(dir), listed.get(dir)) {
            for sub in subdirs {
                let child = build(sub, name_of(sub), dirs, listed, files, visible);
                listed_files += child.total_files;
                children.push(child);
            }
            for i in tally.files.iter().take(*shown) {
                let seen = visible.get(*i).copied().unwrap_or(false);
                children.push(TreeNode {
                    name: name_of(&files[*i]).to_owned(),
                    path: files[*i].clone(),
                    is_dir: false,
                    visible: Some(seen),
                    visible_files: u64::from(seen),
                    total_files: 1,
                    children: Vec::new(),
                    omitted_files: None,
                });
                listed_files += 1;
            }
        }
        let omitted = total.saturating_sub(listed_files);
        TreeNode {
            name: name.to_owned(),
            path: dir.to_owned(),
            is_dir: true,
            visible: Some(total > 0 && seen == total),
            visible_files: seen,
            total_files: total,
            children,
            omitted_files: (omitted > 0).then_some(omitted),
        }
    }
    build("", root_name, &dirs, &listed, files, visible)
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
        FolderRule::Complete { model } => {
            return Ok(permissions::rules::FolderRule {
                path: path.to_owned(),
                mode: mode_domain(mode),
                access: A::Complete,
                groups: Vec::new(),
                virtual_groups: Vec::new(),
                users: Vec::new(),
                model: Some(model_domain(model, provider.as_deref())),
                provider,
                level_name: None,
            });
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
        mode: mode_domain(mode),
        access,
        groups: pick(IdentityKind::Group),
        virtual_groups: pick(IdentityKind::VirtualGroup),
        users: pick(IdentityKind::User),
        provider,
        level_name: None,
        model: None,
    })
}

pub(crate) fn mode_domain(mode: RuleMode) -> permissions::rules::RuleMode {
    use permissions::rules::RuleMode as M;
    match mode {
        RuleMode::Replace => M::Replace,
        RuleMode::AddLevelBefore => M::AddLevelBefore,
        RuleMode::AddLevelAfter => M::AddLevelAfter,
    }
}

fn identity_type(kind: IdentityKind) -> permissions::IdentityType {
    use permissions::IdentityType as T;
    match kind {
        IdentityKind::User => T::User,
        IdentityKind::Group => T::Group,
        IdentityKind::VirtualGroup => T::VirtualGroup,
        IdentityKind::Unknown => T::Unknown,
    }
}

/// The model the diagram shows, as the Push API receives it. Entries name `provider` (the
/// folder's), as the other rule kinds do. One level that is not `complete` is the simple model.
pub(crate) fn model_domain(
    view: &PermissionModelView,
    provider: Option<&str>,
) -> permissions::PermissionModel {
    use permissions::{PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet};
    let entry = |i: &IdentityRef| PermissionIdentity {
        identity: i.name.clone(),
        identity_type: identity_type(i.kind),
        security_provider: provider.map(str::to_owned),
    };
    let set = |s: &PermissionSetView| PermissionSet {
        allow_anonymous: s.allow_anonymous,
        allowed_permissions: s.allowed.iter().map(entry).collect(),
        denied_permissions: s.denied.iter().map(entry).collect(),
    };
    if !view.complete && view.levels.len() <= 1 {
        PermissionModel::Simple(view.levels.iter().flat_map(|l| &l.sets).map(set).collect())
    } else {
        PermissionModel::Complete(
            view.levels
                .iter()
                .map(|l| PermissionLevel {
                    name: l.name.clone(),
                    permission_sets: l.sets.iter().map(set).collect(),
                })
                .collect(),
        )
    }
}
