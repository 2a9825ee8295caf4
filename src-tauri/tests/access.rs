//! The access preview against the real thing: a real [`Host`] (the embedded Sandbox emulator on
//! a loopback socket, the sync engine with its SQLite state) over temporary folders, with
//! identities pushed to the Sandbox's provider: the sample organization's (nested groups and an
//! alias, as the fake host's seed data), or the provider of Coveo's documented examples.
//!
//! Coveo's documented simple and complete examples (reference §4.6) are answered as documented
//! for every user they name, through every access command of the host (View as, who can see,
//! what a user can see, the rule preview). Elsewhere the expected answers come from the one
//! access analysis (`permissions::AccessAnalysis`) asked file by file and user by user, not
//! through the host's grouping by model, so the two paths check each other; one test checks
//! what the Sandbox received and its "search as".

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use permissions::rules::{AccessChoice, FolderRule as DomainRule, PermissionRules, RuleMode as M};
use permissions::{
    AccessAnalysis, Identity, IdentityBody, IdentityGraph, IdentityKey, IdentityMapping,
    IdentityType, MappedIdentityBody, PermissionModel, Providers, QueryingUser,
};
use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostPaths};

/// How long a folder may take to sync on a loaded 2-core machine.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
const PROVIDER: &str = "sandbox";
const FOLDER: &str = "Docs";

const USERS: &[&str] = &[
    "asmith@example.com",
    "bjones@example.com",
    "cbrown@example.com",
    "dmoore@example.com",
    "emitchell@example.com",
    "fgarcia@example.com",
    "hlee@example.com",
];

/// (group, members): members are users, or groups when the name has no `@`.
const GROUPS: &[(&str, &[&str])] = &[
    ("Editors", &["asmith@example.com"]),
    ("SampleTeam1", &["Editors"]),
    ("Contractors", &["dmoore@example.com"]),
    ("SampleTeam2", &["cbrown@example.com", "Contractors"]),
    ("HR", &["hlee@example.com", "fgarcia@example.com"]),
];

/// emitchell is also known as MysteryUserX.
const ALIAS: (&str, &str) = ("MysteryUserX", "emitchell@example.com");

const FILES: &[&str] = &[
    "open.txt",
    "HR/leave.txt",
    "HR/payroll/salaries.txt",
    "Legal/contract.txt",
    "Legal/drafts/nda.txt",
    "Team/plan.txt",
    "Team/drafts/idea.txt",
];

fn kind_of(name: &str) -> IdentityType {
    if name.contains('@') {
        IdentityType::User
    } else {
        IdentityType::Group
    }
}

/// The sample identities as the `permissions` crate sees them (built here, not read back);
/// with or without the alias.
fn sample_graph(alias: bool) -> IdentityGraph {
    let mut graph = IdentityGraph::new();
    for user in USERS {
        graph.intern(&IdentityKey::user(PROVIDER, *user));
    }
    for (group, members) in GROUPS {
        for member in *members {
            graph.add_member(
                &IdentityKey::group(PROVIDER, *group),
                &IdentityKey::new(PROVIDER, *member, kind_of(member)),
            );
        }
    }
    if alias {
        graph.add_mapping(
            &IdentityKey::user(PROVIDER, ALIAS.0),
            &IdentityKey::user(PROVIDER, ALIAS.1),
        );
    }
    graph
}

/// The worked example of the reference (§4.6): two levels, nested groups, an alias.
fn worked_example() -> PermissionModel {
    serde_json::from_value(serde_json::json!([
        {"name": "Level 1", "permissionSets": [
            {"allowAnonymous": true},
            {"allowedPermissions": [{"identity": "SampleTeam1", "identityType": "Group"}],
             "deniedPermissions": [{"identity": "SampleTeam2", "identityType": "Group"}]},
            {"allowedPermissions": [{"identity": "asmith@example.com", "identityType": "User"},
                                    {"identity": "cbrown@example.com", "identityType": "User"}],
             "deniedPermissions": [{"identity": "bjones@example.com", "identityType": "User"}]}
        ]},
        {"name": "Level 2", "permissionSets": [
            {"allowedPermissions": [{"identity": "bjones@example.com", "identityType": "User"},
                                    {"identity": "emitchell@example.com", "identityType": "User"}],
             "deniedPermissions": [{"identity": "asmith@example.com", "identityType": "User"}]},
            {"allowedPermissions": [{"identity": "MysteryUserX", "identityType": "User"}]}
        ]}
    ]))
    .unwrap()
}

struct Fixture {
    _dirs: tempfile::TempDir,
    paths: HostPaths,
    _docs: tempfile::TempDir,
    host: Arc<Host>,
}

impl Fixture {
    /// A host with the sample identities in its Sandbox (with or without the alias) and
    /// `files` in a folder named [`FOLDER`], added (waiting for its first plan).
    async fn new(files: &[&str], alias: bool) -> Self {
        Self::with(files, World::Sample { alias }).await
    }

    /// A host with `world`'s identities in its Sandbox and `files` in a folder named
    /// [`FOLDER`], added (waiting for its first plan).
    async fn with(files: &[&str], world: World) -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let paths = HostPaths {
            config_dir: dirs.path().join("config"),
            data_dir: dirs.path().join("data"),
        };
        let host = Host::start(paths.clone(), Arc::new(|_| {})).await.unwrap();
        match world {
            World::Sample { alias } => push_sample_identities(&paths, alias).await,
            World::Documented => push_documented_identities(&paths).await,
        }
        host.drain_sandbox().await;
        let docs = tempfile::tempdir().unwrap();
        for name in files {
            let path = docs.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, format!("The text of {name}.")).unwrap();
        }
        host.add_folder(AddFolderRequest {
            path: docs.path().display().to_string(),
            name: FOLDER.into(),
            source_id: String::new(),
            include: vec![],
            exclude: vec![],
        })
        .await
        .unwrap();
        Self {
            _dirs: dirs,
            paths,
            _docs: docs,
            host,
        }
    }

    async fn save(&self, path: &str, rule: Option<FolderRule>, mode: RuleMode) {
        self.host
            .save_rule(change(path, rule, mode))
            .await
            .unwrap_or_else(|e| panic!("saving the rule of {path:?}: {e}"));
    }

    /// Saves "everyone except `group`" (replacing) at `path`.
    async fn save_everyone_except(&self, path: &str, group_name: &str) {
        let identities = vec![group(group_name)];
        let rule = FolderRule::EveryoneExcept { identities };
        self.save(path, Some(rule), RuleMode::Replace).await;
    }

    /// Saves "only `group`" (replacing) at `path`.
    async fn save_only(&self, path: &str, group_name: &str) {
        let identities = vec![group(group_name)];
        self.save(
            path,
            Some(FolderRule::Only { identities }),
            RuleMode::Replace,
        )
        .await;
    }

    async fn sync_first_time(&self) {
        let plan = self.host.plan_folder(folder()).await.unwrap();
        self.host
            .confirm_plan(ConfirmPlanRequest {
                folder_id: FOLDER.into(),
                plan_id: plan.plan_id,
            })
            .await
            .unwrap();
        let start = Instant::now();
        loop {
            let folders = self.host.list_folders().await.unwrap();
            let f = folders.iter().find(|f| f.id == FOLDER).unwrap();
            if matches!(f.state, FolderState::UpToDate { .. }) && f.item_count > 0 {
                break;
            }
            assert!(
                start.elapsed() < SYNC_TIMEOUT,
                "no first sync: {:?}",
                f.state
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.host.drain_sandbox().await;
    }

    /// The emulator's inspection API.
    async fn inspect(&self, path_and_query: &str) -> serde_json::Value {
        let url = format!("{}/_emulator/v1{path_and_query}", self.host.sandbox_url());
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    /// documentId → the permissions the Sandbox holds for it.
    async fn sandbox_models(&self) -> BTreeMap<String, PermissionModelView> {
        let items = self
            .inspect("/organizations/sandbox/sources/documents/items")
            .await;
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                let model: PermissionModel =
                    serde_json::from_value(item["permissions"].clone()).unwrap();
                (
                    item["documentId"].as_str().unwrap().to_owned(),
                    (&model).into(),
                )
            })
            .collect()
    }

    /// path → documentId, from the engine's state.
    fn document_ids(&self) -> BTreeMap<String, String> {
        sync_engine::state::Store::open(&self.paths.data_dir.join("state.sqlite3"))
            .unwrap()
            .items(FOLDER)
            .unwrap()
            .into_iter()
            .map(|i| (i.path, i.document_id))
            .collect()
    }
}

/// Whose identities the Sandbox's provider holds.
enum World {
    /// The sample organization (as the fake host's seed data), with or without the alias.
    Sample { alias: bool },
    /// The provider of Coveo's documented examples (reference §4.6).
    Documented,
}

/// A Push API client of the host's Sandbox.
fn sandbox_client(paths: &HostPaths) -> coveo_push::PushClient {
    use coveo_push::{ApiKey, ClientConfig, Endpoint, PushClient};
    let announce: serde_json::Value = serde_json::from_slice(
        &std::fs::read(paths.data_dir.join("sandbox/sandbox.json")).unwrap(),
    )
    .unwrap();
    PushClient::new(
        ClientConfig::new(
            "sandbox",
            ApiKey::new(announce["api_key"].as_str().unwrap()),
        )
        .with_endpoint(Endpoint::custom(announce["url"].as_str().unwrap()).unwrap()),
    )
    .unwrap()
}

/// The provider of the reference's worked examples (§4.6): `SampleTeam1 = {asmith, bjones}`,
/// `SampleTeam2 = {cbrown, dmoore}`, the virtual group `SampleGroup = {cbrown}` (not
/// emitchell), and the alias `MysteryUserX → emitchell@example.com` (Email Security Provider).
async fn push_documented_identities(paths: &HostPaths) {
    let client = sandbox_client(paths);
    let user = |name: &str| Identity::new(name, IdentityType::User);
    for (name, kind, members) in [
        ("SampleTeam1", IdentityType::Group, ["asmith", "bjones"]),
        ("SampleTeam2", IdentityType::Group, ["cbrown", "dmoore"]),
        ("SampleGroup", IdentityType::VirtualGroup, ["cbrown", ""]),
    ] {
        let members = members.iter().filter(|m| !m.is_empty()).map(|m| user(m));
        let body = IdentityBody::new(Identity::new(name, kind)).members(members.collect());
        client.put_identity(PROVIDER, &body, None).await.unwrap();
    }
    let alias = MappedIdentityBody {
        identity: user("MysteryUserX"),
        mappings: vec![IdentityMapping::user(
            "emitchell@example.com",
            Some(permissions::EMAIL_SECURITY_PROVIDER.into()),
        )],
        well_knowns: vec![],
    };
    client.put_mapping(PROVIDER, &alias, None).await.unwrap();
}

async fn push_sample_identities(paths: &HostPaths, alias: bool) {
    let client = sandbox_client(paths);
    for user in USERS {
        let body = IdentityBody::new(Identity::new(*user, IdentityType::User));
        client.put_identity(PROVIDER, &body, None).await.unwrap();
    }
    for (group, members) in GROUPS {
        let body = IdentityBody::new(Identity::new(*group, IdentityType::Group)).members(
            members
                .iter()
                .map(|m| Identity::new(*m, kind_of(m)))
                .collect(),
        );
        client.put_identity(PROVIDER, &body, None).await.unwrap();
    }
    if alias {
        let body = MappedIdentityBody {
            identity: Identity::new(ALIAS.0, IdentityType::User),
            mappings: vec![IdentityMapping::user(ALIAS.1, Some(PROVIDER.into()))],
            well_knowns: vec![],
        };
        client.put_mapping(PROVIDER, &body, None).await.unwrap();
    }
}

fn folder() -> FolderRef {
    FolderRef {
        folder_id: FOLDER.into(),
    }
}

fn change(path: &str, rule: Option<FolderRule>, mode: RuleMode) -> RuleChangeRequest {
    RuleChangeRequest {
        folder_id: FOLDER.into(),
        path: path.into(),
        rule,
        mode,
    }
}

fn group(name: &str) -> IdentityRef {
    IdentityRef {
        name: name.into(),
        kind: IdentityKind::Group,
    }
}

/// A rule as the configuration spells it (the expected side).
fn domain(path: &str, mode: M, access: AccessChoice, groups: &[&str]) -> DomainRule {
    DomainRule {
        path: path.into(),
        mode,
        access,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        virtual_groups: vec![],
        users: vec![],
        provider: Some(PROVIDER.into()),
        level_name: None,
        model: None,
    }
}

fn domain_complete(path: &str, mode: M, model: PermissionModel) -> DomainRule {
    DomainRule {
        model: Some(model),
        ..domain(path, mode, AccessChoice::Complete, &[])
    }
}

/// Whether `user` sees `file` under `rules`, by the one access analysis asked for that one
/// file and person (the Sandbox's provider cascades to the Email Security Provider).
fn sees(graph: &IdentityGraph, rules: &[DomainRule], file: &str, user: &str) -> bool {
    let compiled = PermissionRules {
        rules: rules.to_vec(),
    }
    .compile()
    .unwrap();
    let model = compiled.resolve(file).map(|r| r.model);
    let providers = Providers::pushdeck([PROVIDER]);
    AccessAnalysis::new(graph, &providers, PROVIDER)
        .explain(model.as_ref(), &QueryingUser::named(user))
        .is_visible()
}

/// The people the identities know, as the analysis lists them.
fn known_users(graph: &IdentityGraph) -> Vec<String> {
    let providers = Providers::pushdeck([PROVIDER]);
    AccessAnalysis::new(graph, &providers, PROVIDER)
        .people()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// (gains, loses) when the rules go from `before` to `after`, person by person and file by
/// file, among the people the identities know.
fn expected_change(
    graph: &IdentityGraph,
    before: &[DomainRule],
    after: &[DomainRule],
    files: &[&str],
) -> (Vec<String>, Vec<String>) {
    let users: BTreeSet<String> = known_users(graph).into_iter().collect();
    let (mut gains, mut loses) = (BTreeSet::new(), BTreeSet::new());
    for user in users {
        for file in files {
            match (
                sees(graph, before, file, &user),
                sees(graph, after, file, &user),
            ) {
                (false, true) => {
                    gains.insert(user.clone());
                }
                (true, false) => {
                    loses.insert(user.clone());
                }
                _ => {}
            }
        }
    }
    (gains.into_iter().collect(), loses.into_iter().collect())
}

/// Files whose model changes from `before` to `after`.
fn expected_files_changed(before: &[DomainRule], after: &[DomainRule], files: &[&str]) -> u64 {
    let compile = |rules: &[DomainRule]| {
        PermissionRules {
            rules: rules.to_vec(),
        }
        .compile()
        .unwrap()
    };
    let (b, a) = (compile(before), compile(after));
    files
        .iter()
        .filter(|f| b.resolve(f).map(|r| r.model) != a.resolve(f).map(|r| r.model))
        .count() as u64
}

/// Every file of a tree, with its visibility; checks that folders add up on the way.
fn tree_files(node: &TreeNode, out: &mut BTreeMap<String, bool>) -> (u64, u64) {
    if !node.is_dir {
        out.insert(node.path.clone(), node.visible.unwrap());
        return (u64::from(node.visible.unwrap()), 1);
    }
    let (mut seen, mut total) = (0, 0);
    for child in &node.children {
        let (s, t) = tree_files(child, out);
        seen += s;
        total += t;
    }
    let omitted = node.omitted_files.unwrap_or(0);
    assert_eq!(
        total + omitted,
        node.total_files,
        "folder {:?} does not add up",
        node.path
    );
    if omitted == 0 {
        assert_eq!(seen, node.visible_files, "folder {:?}", node.path);
        assert_eq!(
            node.visible,
            Some(total > 0 && seen == total),
            "folder {:?}",
            node.path
        );
    }
    (node.visible_files, node.total_files)
}

/// Coveo's documented simple example (DOCS 107, reference §4.6): A = anyone except asmith,
/// B = SampleTeam1 or emitchell, C = MysteryUserX except the virtual group SampleGroup.
fn documented_simple() -> PermissionModelView {
    let model: PermissionModel = serde_json::from_value(serde_json::json!([
        {"allowAnonymous": true,
         "deniedPermissions": [{"identity": "asmith", "identityType": "User"}]},
        {"allowedPermissions": [{"identity": "SampleTeam1", "identityType": "Group"},
                                {"identity": "emitchell@example.com", "identityType": "User"}]},
        {"allowedPermissions": [{"identity": "MysteryUserX", "identityType": "User"}],
         "deniedPermissions": [{"identity": "SampleGroup", "identityType": "VirtualGroup"}]}
    ]))
    .unwrap();
    (&model).into()
}

/// Coveo's documented complete example (DOCS 25, level 2 from the JavaScript sample).
fn documented_complete() -> PermissionModelView {
    let model: PermissionModel = serde_json::from_value(serde_json::json!([
        {"name": "Level 1", "permissionSets": [
            {"allowAnonymous": true},
            {"allowedPermissions": [{"identity": "SampleTeam1", "identityType": "Group"}],
             "deniedPermissions": [{"identity": "SampleTeam2", "identityType": "Group"}]},
            {"allowedPermissions": [{"identity": "asmith", "identityType": "User"},
                                    {"identity": "cbrown", "identityType": "User"}],
             "deniedPermissions": [{"identity": "bjones", "identityType": "User"}]}
        ]},
        {"name": "Level 2", "permissionSets": [
            {"allowedPermissions": [{"identity": "bjones", "identityType": "User"},
                                    {"identity": "emitchell@example.com", "identityType": "User"}],
             "deniedPermissions": [{"identity": "asmith", "identityType": "User"}]},
            {"allowedPermissions": [{"identity": "MysteryUserX", "identityType": "User"}]}
        ]}
    ]))
    .unwrap();
    (&model).into()
}

/// A case the reference leaves open (§4.5): level 1 allows asmith and bjones in one of its two
/// sets (through SampleTeam1) and denies them in none; level 2 allows them.
fn ambiguous_levels() -> PermissionModelView {
    let model: PermissionModel = serde_json::from_value(serde_json::json!([
        {"name": "Leads", "permissionSets": [
            {"allowedPermissions": [{"identity": "SampleTeam1", "identityType": "Group"}]},
            {"allowedPermissions": [{"identity": "SampleTeam2", "identityType": "Group"}]}
        ]},
        {"name": "Team 1", "permissionSets": [
            {"allowedPermissions": [{"identity": "SampleTeam1", "identityType": "Group"}]}
        ]}
    ]))
    .unwrap();
    (&model).into()
}

/// The people of the documented examples, as the host lists them (MysteryUserX is an alias of
/// emitchell, not a person).
const DOCUMENTED_PEOPLE: &[&str] = &[
    "asmith",
    "bjones",
    "cbrown",
    "dmoore",
    "emitchell@example.com",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coveos_documented_examples_give_the_documented_answer_in_every_command() {
    const SIMPLE: &str = "simple/item.txt";
    const COMPLETE: &str = "complete/item.txt";
    const AMBIGUOUS: &str = "ambiguous/item.txt";
    let fx = Fixture::with(&[SIMPLE, COMPLETE, AMBIGUOUS], World::Documented).await;
    let complete = |model: PermissionModelView| Some(FolderRule::Complete { model });

    // The rule preview, before anything is saved (no rule: everyone sees every file): who
    // loses the file under each documented model.
    for (path, model, loses) in [
        (
            "simple",
            documented_simple(),
            vec!["asmith", "bjones", "cbrown", "dmoore"],
        ),
        (
            "complete",
            documented_complete(),
            vec!["bjones", "cbrown", "dmoore"],
        ),
    ] {
        let preview = fx
            .host
            .preview_rule(change(path, complete(model), RuleMode::Replace))
            .await
            .unwrap();
        assert_eq!(preview.loses, loses, "the preview of {path}");
        assert!(preview.gains.is_empty(), "{preview:?}");
    }
    fx.save("simple", complete(documented_simple()), RuleMode::Replace)
        .await;
    fx.save(
        "complete",
        complete(documented_complete()),
        RuleMode::Replace,
    )
    .await;
    fx.save("ambiguous", complete(ambiguous_levels()), RuleMode::Replace)
        .await;

    // The documented answers (reference §4.6); zlee is "any other user".
    let documented: &[(&str, bool, bool)] = &[
        // (user, sees the simple example's item, sees the complete example's item)
        ("asmith", false, true),
        ("bjones", false, false),
        ("cbrown", false, false),
        ("dmoore", false, false),
        ("emitchell@example.com", true, true),
        ("zlee", false, false),
    ];
    for &(user, simple, complete) in documented {
        for (path, expected) in [(SIMPLE, simple), (COMPLETE, complete)] {
            // View as.
            let view_as = fx
                .host
                .explain_access(ExplainRequest {
                    folder_id: FOLDER.into(),
                    path: path.into(),
                    user: user.into(),
                })
                .await
                .unwrap();
            assert_eq!(
                view_as.visible, expected,
                "View as {user} on {path}: {view_as:?}"
            );
            assert!(
                !view_as.uncertain,
                "the documentation answers {user} on {path}: {:?}",
                view_as.other_readings
            );
        }
        // What a user can see.
        let mut tree = BTreeMap::new();
        tree_files(
            &fx.host
                .what_can_user_see(UserRequest {
                    folder_id: FOLDER.into(),
                    user: user.into(),
                })
                .await
                .unwrap(),
            &mut tree,
        );
        assert_eq!(
            (tree[SIMPLE], tree[COMPLETE]),
            (simple, complete),
            "what {user} can see"
        );
    }
    // Who can see: every person, then anyone not signed in (hidden in both examples).
    for (path, column) in [(SIMPLE, 1), (COMPLETE, 2)] {
        let who = fx
            .host
            .who_can_see(FileRef {
                folder_id: FOLDER.into(),
                path: path.into(),
            })
            .await
            .unwrap();
        let mut expected: Vec<(String, bool)> = documented
            .iter()
            .filter(|(user, ..)| DOCUMENTED_PEOPLE.contains(user))
            .map(|&(user, simple, complete)| {
                (user.to_owned(), if column == 1 { simple } else { complete })
            })
            .collect();
        expected.push(("anonymous".into(), false));
        let rows: Vec<(String, bool)> = who.iter().map(|r| (r.user.clone(), r.visible)).collect();
        assert_eq!(rows, expected, "who can see {path}");
        assert!(who.last().unwrap().anonymous);
        assert!(who.iter().all(|r| !r.uncertain), "{who:?}");
    }

    // Why, in words: emitchell through her own name and through the alias MysteryUserX; the
    // Sandbox's provider cascades to the Email Security Provider, where she signs in.
    let why = |user: &str, path: &str| {
        let host = fx.host.clone();
        let (user, path) = (user.to_owned(), path.to_owned());
        async move {
            host.explain_access(ExplainRequest {
                folder_id: FOLDER.into(),
                path,
                user,
            })
            .await
            .unwrap()
        }
    };
    let emitchell = why("emitchell@example.com", COMPLETE).await;
    assert_eq!(
        emitchell.because,
        vec![
            "emitchell@example.com (Email Security Provider) → same user emitchell@example.com \
             (sandbox) → level 2, set 1",
            "emitchell@example.com (Email Security Provider) → alias MysteryUserX (sandbox) → \
             level 2, set 2",
        ]
    );
    assert_eq!(
        emitchell
            .levels
            .iter()
            .map(|l| l.verdict)
            .collect::<Vec<_>>(),
        vec![LevelVerdict::PartlyAllowed, LevelVerdict::Visible]
    );
    let asmith = why("asmith", SIMPLE).await;
    assert_eq!(asmith.summary, "asmith: hidden: set 1 denies them");
    assert_eq!(
        asmith.because,
        vec!["asmith (Email Security Provider) → same user asmith (sandbox) → set 1"]
    );
    let cbrown = why("cbrown", SIMPLE).await;
    assert_eq!(
        cbrown.deciding.map(|d| (d.level, d.set)),
        Some((0, 2)),
        "the virtual group SampleGroup denies cbrown in set C: {cbrown:?}"
    );

    // Where the documentation is ambiguous, the answer says so, with both readings.
    let ambiguous = why("asmith", AMBIGUOUS).await;
    assert!(ambiguous.visible && ambiguous.uncertain, "{ambiguous:?}");
    assert_eq!(ambiguous.other_readings.len(), 1, "{ambiguous:?}");
    let other = &ambiguous.other_readings[0];
    assert_eq!(other.reading, ReadingKind::StricterLevels);
    assert!(!other.visible);
    assert!(other.text.contains("level 1 would hide it"), "{other:?}");
    let who = fx
        .host
        .who_can_see(FileRef {
            folder_id: FOLDER.into(),
            path: AMBIGUOUS.into(),
        })
        .await
        .unwrap();
    let uncertain: Vec<(&str, bool)> = who
        .iter()
        .filter(|r| r.uncertain)
        .map(|r| (r.user.as_str(), r.visible))
        .collect();
    assert_eq!(uncertain, vec![("asmith", true), ("bjones", true)]);
    assert!(
        !why("cbrown", AMBIGUOUS).await.uncertain,
        "hidden under both readings"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_lists_exactly_who_gains_and_who_loses() {
    let fx = Fixture::new(FILES, false).await;
    let graph = sample_graph(false);
    // The saved rules: everyone but the contractors; HR only for HR.
    fx.save_everyone_except("", "Contractors").await;
    fx.save_only("HR", "HR").await;
    let saved = vec![
        domain(
            "",
            M::Replace,
            AccessChoice::EveryoneExcept,
            &["Contractors"],
        ),
        domain("HR", M::Replace, AccessChoice::Only, &["HR"]),
    ];
    let without = |path: &str| -> Vec<DomainRule> {
        saved.iter().filter(|r| r.path != path).cloned().collect()
    };

    // (what the UI sends, the same rule as configured (None: removed), files it applies to)
    let worked: PermissionModelView = (&worked_example()).into();
    let cases: Vec<(RuleChangeRequest, Option<DomainRule>, u64)> = vec![
        (
            change(
                "Legal",
                Some(FolderRule::Complete {
                    model: worked.clone(),
                }),
                RuleMode::Replace,
            ),
            Some(domain_complete("Legal", M::Replace, worked_example())),
            2,
        ),
        (change("HR", None, RuleMode::Replace), None, 2),
        (
            change(
                "",
                Some(FolderRule::Only {
                    identities: vec![group("SampleTeam2")],
                }),
                RuleMode::Replace,
            ),
            Some(domain("", M::Replace, AccessChoice::Only, &["SampleTeam2"])),
            7,
        ),
        (
            change(
                "HR/payroll",
                Some(FolderRule::Only {
                    identities: vec![group("SampleTeam1")],
                }),
                RuleMode::AddLevelBefore,
            ),
            Some(domain(
                "HR/payroll",
                M::AddLevelBefore,
                AccessChoice::Only,
                &["SampleTeam1"],
            )),
            1,
        ),
        (
            change(
                "**/drafts",
                Some(FolderRule::EveryoneExcept {
                    identities: vec![group("Editors")],
                }),
                RuleMode::Replace,
            ),
            Some(domain(
                "**/drafts",
                M::Replace,
                AccessChoice::EveryoneExcept,
                &["Editors"],
            )),
            2,
        ),
        (
            change(
                "Team",
                Some(FolderRule::Complete {
                    model: worked.clone(),
                }),
                RuleMode::AddLevelAfter,
            ),
            Some(domain_complete("Team", M::AddLevelAfter, worked_example())),
            2,
        ),
    ];
    // A rule may name one file.
    let mut cases = cases;
    cases.push((
        change(
            "HR/leave.txt",
            Some(FolderRule::EveryoneExcept {
                identities: vec![group("Editors")],
            }),
            RuleMode::Replace,
        ),
        Some(domain(
            "HR/leave.txt",
            M::Replace,
            AccessChoice::EveryoneExcept,
            &["Editors"],
        )),
        1,
    ));
    let mut someone_gained = false;
    let mut someone_lost = false;
    for (request, rule, affected) in cases {
        let path = request.path.clone();
        let mut after = without(&path);
        after.extend(rule);
        let (gains, loses) = expected_change(&graph, &saved, &after, FILES);
        let preview = fx.host.preview_rule(request).await.unwrap();
        assert_eq!(
            (&preview.gains, &preview.loses),
            (&gains, &loses),
            "rule change at {path:?}"
        );
        assert_eq!(preview.files_affected, affected, "files under {path:?}");
        assert_eq!(
            preview.files_changed,
            Some(expected_files_changed(&saved, &after, FILES)),
            "files whose permissions change at {path:?}"
        );
        someone_gained |= !gains.is_empty();
        someone_lost |= !loses.is_empty();
    }
    assert!(someone_gained && someone_lost, "the cases test both sides");

    // The worked example at Legal, by name: asmith is allowed at level 1, so he keeps Legal;
    // bjones is denied at level 1, cbrown through SampleTeam2; emitchell is only partly allowed
    // at level 2 (without the alias MysteryUserX, see the alias test); HR's people are not
    // named at all; dmoore never saw it. MysteryUserX, whom the model names, is nobody the
    // identities know: not a person of the preview.
    let legal = fx
        .host
        .preview_rule(change(
            "Legal",
            Some(FolderRule::Complete { model: worked }),
            RuleMode::Replace,
        ))
        .await
        .unwrap();
    assert!(legal.gains.is_empty(), "{legal:?}");
    assert_eq!(
        legal.loses,
        vec![
            "bjones@example.com",
            "cbrown@example.com",
            "emitchell@example.com",
            "fgarcia@example.com",
            "hlee@example.com"
        ],
        "{legal:?}"
    );
    assert!(legal.model.complete && legal.model.levels.len() == 2);

    // A preview saves nothing.
    let rules = fx.host.list_rules(folder()).await.unwrap();
    assert!(rules
        .iter()
        .find(|r| r.path == "Legal")
        .is_some_and(|r| r.rule.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_user_can_see_marks_each_file_and_rolls_up_per_folder() {
    let fx = Fixture::new(FILES, false).await;
    let graph = sample_graph(false);
    fx.save_everyone_except("", "Contractors").await;
    fx.save_only("HR", "HR").await;
    fx.save(
        "Legal",
        Some(FolderRule::Complete {
            model: (&worked_example()).into(),
        }),
        RuleMode::Replace,
    )
    .await;
    let saved = vec![
        domain(
            "",
            M::Replace,
            AccessChoice::EveryoneExcept,
            &["Contractors"],
        ),
        domain("HR", M::Replace, AccessChoice::Only, &["HR"]),
        domain_complete("Legal", M::Replace, worked_example()),
    ];
    for user in USERS {
        let tree = fx
            .host
            .what_can_user_see(UserRequest {
                folder_id: FOLDER.into(),
                user: user.to_string(),
            })
            .await
            .unwrap();
        assert_eq!(tree.name, FOLDER);
        assert_eq!(tree.total_files, FILES.len() as u64);
        let mut seen = BTreeMap::new();
        tree_files(&tree, &mut seen);
        let expected: BTreeMap<String, bool> = FILES
            .iter()
            .map(|f| (f.to_string(), sees(&graph, &saved, f, user)))
            .collect();
        assert_eq!(seen, expected, "what {user} can see");
    }
    // Spot checks, by name.
    let tree = |user: &str| {
        let host = fx.host.clone();
        let user = user.to_owned();
        async move {
            let mut seen = BTreeMap::new();
            tree_files(
                &host
                    .what_can_user_see(UserRequest {
                        folder_id: FOLDER.into(),
                        user,
                    })
                    .await
                    .unwrap(),
                &mut seen,
            );
            seen
        }
    };
    let hlee = tree("hlee@example.com").await;
    assert!(hlee["HR/payroll/salaries.txt"] && hlee["open.txt"]);
    let dmoore = tree("dmoore@example.com").await;
    assert!(
        dmoore.values().all(|v| !v),
        "a contractor sees nothing: {dmoore:?}"
    );
    let emitchell = tree("emitchell@example.com").await;
    assert!(
        !emitchell["Legal/contract.txt"],
        "without the alias, emitchell is only partly allowed at level 2"
    );

    let empty = fx
        .host
        .what_can_user_see(UserRequest {
            folder_id: FOLDER.into(),
            user: " ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(empty.code, ErrorCode::InvalidInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_folder_tree_is_cut_and_says_how_much() {
    let mut files: Vec<String> = (0..5_100).map(|i| format!("big/file-{i:05}.txt")).collect();
    files.push("top.txt".into());
    files.push("small/one.txt".into());
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let fx = Fixture::new(&names, false).await;
    fx.save_only("big", "HR").await;
    let tree = fx
        .host
        .what_can_user_see(UserRequest {
            folder_id: FOLDER.into(),
            user: "hlee@example.com".into(),
        })
        .await
        .unwrap();
    assert_eq!(tree.total_files, 5_102);
    assert_eq!(tree.visible_files, 5_102);
    let mut seen = BTreeMap::new();
    tree_files(&tree, &mut seen);
    let big = tree.children.iter().find(|c| c.name == "big").unwrap();
    let omitted = big.omitted_files.expect("the big folder is cut");
    assert_eq!(big.children.len() as u64 + omitted, 5_100);
    assert!(seen.len() < 5_100, "listed {}", seen.len());
    // The small parts are listed in full (breadth first).
    assert!(seen.contains_key("top.txt") && seen.contains_key("small/one.txt"));

    let outsider = fx
        .host
        .what_can_user_see(UserRequest {
            folder_id: FOLDER.into(),
            user: "bjones@example.com".into(),
        })
        .await
        .unwrap();
    assert_eq!((outsider.visible_files, outsider.total_files), (2, 5_102));
    assert_eq!(outsider.visible, Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_complete_model_reaches_the_sandbox_as_the_preview_drew_it() {
    let fx = Fixture::new(FILES, false).await;
    let graph = sample_graph(false);
    fx.save_everyone_except("", "Contractors").await;
    // A subfolder with its own rule: it keeps it when its parent's rule changes.
    fx.save_only("Legal/drafts", "HR").await;
    fx.sync_first_time().await;
    let ids = fx.document_ids();
    assert_eq!(ids.len(), FILES.len());

    // The preview (now over the engine's recorded items) of a complete model with levels.
    let worked: PermissionModelView = (&worked_example()).into();
    let request = change(
        "Legal",
        Some(FolderRule::Complete {
            model: worked.clone(),
        }),
        RuleMode::Replace,
    );
    let preview = fx.host.preview_rule(request.clone()).await.unwrap();
    assert_eq!(
        preview.model, worked,
        "the preview draws the model as given"
    );
    assert_eq!(preview.files_affected, 2);
    assert_eq!(
        preview.files_changed,
        Some(1),
        "Legal/drafts keeps its own rule"
    );
    let before = vec![
        domain(
            "",
            M::Replace,
            AccessChoice::EveryoneExcept,
            &["Contractors"],
        ),
        domain("Legal/drafts", M::Replace, AccessChoice::Only, &["HR"]),
    ];
    let mut after = before.clone();
    after.push(domain_complete("Legal", M::Replace, worked_example()));
    assert_eq!(
        (preview.gains.clone(), preview.loses.clone()),
        expected_change(&graph, &before, &after, FILES)
    );

    // Saved while paused, the engine plans a permission-only update of that one file.
    fx.host
        .folder_action(FolderActionRequest {
            folder_id: FOLDER.into(),
            action: FolderAction::Pause,
        })
        .await
        .unwrap();
    fx.host.save_rule(request).await.unwrap();
    let rules = fx.host.list_rules(folder()).await.unwrap();
    assert_eq!(
        rules.iter().find(|r| r.path == "Legal").unwrap().rule,
        Some(FolderRule::Complete {
            model: worked.clone()
        }),
        "the complete model is saved with its levels"
    );
    let config =
        sync_engine::config::Config::load(&fx.paths.config_dir.join("config.toml")).unwrap();
    let mapping = config.folders.iter().find(|m| m.name == FOLDER).unwrap();
    let plan = sync_engine::engine::preview(&fx.paths.data_dir.join("state.sqlite3"), mapping)
        .await
        .unwrap();
    let planned: Vec<(&str, sync_engine::plan::Change)> = plan
        .pushes
        .iter()
        .map(|p| (p.path.as_str(), p.change))
        .collect();
    assert_eq!(
        planned,
        vec![(
            "Legal/contract.txt",
            sync_engine::plan::Change::PermissionsOnly
        )]
    );
    assert!(plan.deletes.is_empty());

    // Synced, the Sandbox holds what the preview drew, file by file.
    fx.host
        .folder_action(FolderActionRequest {
            folder_id: FOLDER.into(),
            action: FolderAction::Resume,
        })
        .await
        .unwrap();
    let contract = &ids["Legal/contract.txt"];
    let start = Instant::now();
    let models = loop {
        fx.host.drain_sandbox().await;
        let models = fx.sandbox_models().await;
        if models.get(contract) == Some(&worked) {
            break models;
        }
        assert!(
            start.elapsed() < SYNC_TIMEOUT,
            "the Sandbox never got the new model: {:?}",
            models.get(contract)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (path, id) in &ids {
        let drawn = fx
            .host
            .permission_model(FileRef {
                folder_id: FOLDER.into(),
                path: path.clone(),
            })
            .await
            .unwrap();
        assert_eq!(
            models.get(id),
            Some(&drawn),
            "the Sandbox's model of {path}"
        );
    }

    // "Search as" in the Sandbox agrees with View as and with What can this user see.
    let by_id: BTreeMap<&str, &str> = ids.iter().map(|(p, i)| (i.as_str(), p.as_str())).collect();
    for user in [
        "asmith@example.com",
        "bjones@example.com",
        "dmoore@example.com",
        "emitchell@example.com",
        "hlee@example.com",
    ] {
        let search = fx
            .inspect(&format!(
                "/organizations/sandbox/sources/documents/search?user={user}&provider={PROVIDER}"
            ))
            .await;
        let sandbox: BTreeMap<String, bool> = search["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let id = i["documentId"].as_str().unwrap();
                (by_id[id].to_owned(), i["visible"].as_bool().unwrap())
            })
            .collect();
        let mut tree = BTreeMap::new();
        tree_files(
            &fx.host
                .what_can_user_see(UserRequest {
                    folder_id: FOLDER.into(),
                    user: user.into(),
                })
                .await
                .unwrap(),
            &mut tree,
        );
        assert_eq!(
            sandbox, tree,
            "search as {user} against What can this user see"
        );
        for (path, visible) in &sandbox {
            let view_as = fx
                .host
                .explain_access(ExplainRequest {
                    folder_id: FOLDER.into(),
                    path: path.clone(),
                    user: user.into(),
                })
                .await
                .unwrap();
            assert_eq!(
                view_as.visible, *visible,
                "View as {user} on {path}: {}",
                view_as.summary
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_mistakes_come_back_in_plain_words() {
    let fx = Fixture::new(FILES, false).await;
    let nobody = fx
        .host
        .save_rule(change(
            "HR",
            Some(FolderRule::Only { identities: vec![] }),
            RuleMode::Replace,
        ))
        .await
        .unwrap_err();
    assert_eq!(nobody.code, ErrorCode::InvalidInput);
    assert_eq!(
        nobody.message,
        "Pick at least one group or user for this rule."
    );
    // While the person is still picking, the preview follows the rule as it reads: nobody.
    let preview = fx
        .host
        .preview_rule(change(
            "HR",
            Some(FolderRule::Only { identities: vec![] }),
            RuleMode::Replace,
        ))
        .await
        .unwrap();
    assert!(preview.gains.is_empty());
    assert_eq!(preview.loses.len(), USERS.len(), "{preview:?}");
    assert_eq!(preview.files_affected, 2);

    let unknown = fx
        .host
        .preview_rule(RuleChangeRequest {
            folder_id: "Nope".into(),
            ..change("", Some(FolderRule::Everyone), RuleMode::Replace)
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_reaches_what_names_their_alias() {
    let fx = Fixture::new(FILES, true).await;
    let graph = sample_graph(true);
    fx.save_everyone_except("", "Contractors").await;
    let before = vec![domain(
        "",
        M::Replace,
        AccessChoice::EveryoneExcept,
        &["Contractors"],
    )];
    let mut after = before.clone();
    after.push(domain_complete("Legal", M::Replace, worked_example()));
    let preview = fx
        .host
        .preview_rule(change(
            "Legal",
            Some(FolderRule::Complete {
                model: (&worked_example()).into(),
            }),
            RuleMode::Replace,
        ))
        .await
        .unwrap();
    assert_eq!(
        (preview.gains.clone(), preview.loses.clone()),
        expected_change(&graph, &before, &after, FILES)
    );
    assert!(
        !preview.loses.iter().any(|u| u == ALIAS.1),
        "emitchell keeps Legal through the alias MysteryUserX: {preview:?}"
    );

    fx.save(
        "Legal",
        Some(FolderRule::Complete {
            model: (&worked_example()).into(),
        }),
        RuleMode::Replace,
    )
    .await;
    let mut seen = BTreeMap::new();
    tree_files(
        &fx.host
            .what_can_user_see(UserRequest {
                folder_id: FOLDER.into(),
                user: ALIAS.1.into(),
            })
            .await
            .unwrap(),
        &mut seen,
    );
    assert!(seen["Legal/contract.txt"], "{seen:?}");
}

/// Figures, not a test (it prints them): the preview and "what can this user see" over a
/// 20,000-file folder and 1,000 users in 50 groups, against the naive baseline (every file ×
/// every person through the access analysis, timed on the first files and extrapolated).
/// `cargo test -p pushdeck-app --test access -- --ignored --nocapture figures`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures; run with --ignored --nocapture"]
async fn figures_for_a_big_folder() {
    use coveo_push::{ApiKey, ClientConfig, Endpoint, IdentityBatch, PushClient};
    const DEPARTMENTS: usize = 40;
    const SUBFOLDERS: usize = 5;
    const FILES_PER_SUBFOLDER: usize = 100;
    const USER_COUNT: usize = 1_000;
    const GROUP_COUNT: usize = 50;
    const BASELINE_BUDGET: Duration = Duration::from_secs(5);

    let dirs = tempfile::tempdir().unwrap();
    let paths = HostPaths {
        config_dir: dirs.path().join("config"),
        data_dir: dirs.path().join("data"),
    };
    let host = Host::start(paths.clone(), Arc::new(|_| {})).await.unwrap();
    let announce: serde_json::Value = serde_json::from_slice(
        &std::fs::read(paths.data_dir.join("sandbox/sandbox.json")).unwrap(),
    )
    .unwrap();
    let client = PushClient::new(
        ClientConfig::new(
            "sandbox",
            ApiKey::new(announce["api_key"].as_str().unwrap()),
        )
        .with_endpoint(Endpoint::custom(announce["url"].as_str().unwrap()).unwrap()),
    )
    .unwrap();
    let user = |i: usize| format!("user{i:04}@example.com");
    let mut batch = IdentityBatch::default();
    for g in 0..GROUP_COUNT {
        let members = (0..USER_COUNT)
            .filter(|u| u % GROUP_COUNT == g)
            .map(|u| Identity::new(user(u), IdentityType::User))
            .collect();
        batch.members.push(
            IdentityBody::new(Identity::new(format!("G{g:02}"), IdentityType::Group))
                .members(members),
        );
    }
    batch.members.push(
        IdentityBody::new(Identity::new("All", IdentityType::Group)).members(
            (0..GROUP_COUNT)
                .map(|g| Identity::new(format!("G{g:02}"), IdentityType::Group))
                .collect(),
        ),
    );
    client
        .push_identity_batch(PROVIDER, &batch, None)
        .await
        .unwrap();
    host.drain_sandbox().await;

    let docs = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for d in 0..DEPARTMENTS {
        for s in 0..SUBFOLDERS {
            let dir = docs.path().join(format!("dept-{d:02}/sub-{s}"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..FILES_PER_SUBFOLDER {
                std::fs::write(dir.join(format!("file-{f:03}.txt")), "x").unwrap();
                files.push(format!("dept-{d:02}/sub-{s}/file-{f:03}.txt"));
            }
        }
    }
    host.add_folder(AddFolderRequest {
        path: docs.path().display().to_string(),
        name: FOLDER.into(),
        source_id: String::new(),
        include: vec![],
        exclude: vec![],
    })
    .await
    .unwrap();
    let only = |names: &[String]| FolderRule::Only {
        identities: names.iter().map(|n| group(n)).collect(),
    };
    let mut rules = vec![domain("", M::Replace, AccessChoice::Only, &["All"])];
    host.save_rule(change("", Some(only(&["All".into()])), RuleMode::Replace))
        .await
        .unwrap();
    for d in 0..DEPARTMENTS / 2 {
        let (path, g) = (format!("dept-{d:02}"), format!("G{d:02}"));
        host.save_rule(change(
            &path,
            Some(only(std::slice::from_ref(&g))),
            RuleMode::Replace,
        ))
        .await
        .unwrap();
        rules.push(domain(&path, M::Replace, AccessChoice::Only, &[g.as_str()]));
    }
    let request = change(
        "",
        Some(only(&["G00".into(), "G01".into()])),
        RuleMode::Replace,
    );

    let graph = host_graph(&host).await;
    // The first call also seeds the app's identity list from the Sandbox: timed apart.
    let start = Instant::now();
    host.preview_rule(request.clone()).await.unwrap();
    let first_ms = start.elapsed().as_millis();
    let start = Instant::now();
    let preview = host.preview_rule(request.clone()).await.unwrap();
    let preview_ms = start.elapsed().as_millis();
    let start = Instant::now();
    let tree = host
        .what_can_user_see(UserRequest {
            folder_id: FOLDER.into(),
            user: user(1),
        })
        .await
        .unwrap();
    let tree_ms = start.elapsed().as_millis();

    // What listing the folder costs on its own (the scan the preview starts with).
    let start = Instant::now();
    let filters = sync_engine::config::Filters::new(&[]).unwrap();
    let listed = sync_engine::config::list_matches(docs.path(), &filters)
        .unwrap()
        .len();
    let scan_ms = start.elapsed().as_millis();

    // The naive baseline: every file, every person, one answer each (rules compiled once,
    // each file's models resolved once; each person resolved once).
    let mut after = rules.clone();
    after[0] = domain("", M::Replace, AccessChoice::Only, &["G00", "G01"]);
    let compile = |rules: &[DomainRule]| {
        PermissionRules {
            rules: rules.to_vec(),
        }
        .compile()
        .unwrap()
    };
    let (old_rules, new_rules) = (compile(&rules), compile(&after));
    let users = known_users(&graph);
    let providers = Providers::pushdeck([PROVIDER]);
    let analysis = AccessAnalysis::new(&graph, &providers, PROVIDER);
    let people: Vec<_> = users
        .iter()
        .map(|u| analysis.resolve(&QueryingUser::named(u.clone())))
        .collect();
    let start = Instant::now();
    let mut done = 0usize;
    for file in &files {
        let (was, will) = (
            old_rules.resolve(file).unwrap().model,
            new_rules.resolve(file).unwrap().model,
        );
        for person in &people {
            let _ = (
                analysis.explain_resolved(Some(&was), person).visibility,
                analysis.explain_resolved(Some(&will), person).visibility,
            );
        }
        done += 1;
        if start.elapsed() > BASELINE_BUDGET {
            break;
        }
    }
    let per_file = start.elapsed().as_secs_f64() / done as f64;
    println!(
        "figures: {} files, {} users in {} groups (debug build)",
        files.len(),
        users.len(),
        GROUP_COUNT + 1
    );
    println!("  preview_rule, first call (seeds the identity list): {first_ms} ms");
    println!(
        "  preview_rule: {preview_ms} ms ({} gain, {} lose, {} files affected)",
        preview.gains.len(),
        preview.loses.len(),
        preview.files_affected
    );
    println!("  listing the folder alone: {scan_ms} ms ({listed} files)");
    println!(
        "  what_can_user_see: {tree_ms} ms ({} of {} visible)",
        tree.visible_files, tree.total_files
    );
    println!(
        "  naive baseline (file x user explain): {:.1} ms per file over {done} files, about {:.0} s for the folder",
        per_file * 1000.0,
        per_file * files.len() as f64
    );
}

/// The identity graph the host evaluates, rebuilt here from the Sandbox's provider (the
/// figures' baseline uses the same identities).
async fn host_graph(host: &Host) -> IdentityGraph {
    let url = format!(
        "{}/_emulator/v1/organizations/sandbox/providers/{PROVIDER}/identities",
        host.sandbox_url()
    );
    let answer: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let mut graph = IdentityGraph::new();
    for record in answer["identities"].as_array().unwrap() {
        let body: IdentityBody = serde_json::from_value(serde_json::json!({
            "identity": record["identity"],
            "members": record["members"],
        }))
        .unwrap();
        graph.put_identity(PROVIDER, &body);
    }
    graph
}
