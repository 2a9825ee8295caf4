//! Security identities through the host's commands: the app's store in a temporary data
//! directory, the embedded Sandbox (a real emulator on a loopback socket) read through its
//! inspection API, and a second emulator posing as a real organization.

use std::collections::BTreeSet;
use std::sync::Arc;

use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostOptions, HostPaths};

struct Fixture {
    _dirs: tempfile::TempDir,
    paths: HostPaths,
}

impl Fixture {
    fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let paths = HostPaths {
            config_dir: dirs.path().join("config"),
            data_dir: dirs.path().join("data"),
        };
        Self { _dirs: dirs, paths }
    }

    async fn host(&self) -> Arc<Host> {
        self.host_with_origin(None).await
    }

    async fn host_with_origin(&self, origin: Option<&str>) -> Arc<Host> {
        let options = HostOptions {
            coveo_origin: origin.map(str::to_owned),
        };
        Host::start_with(self.paths.clone(), Arc::new(|_| {}), options)
            .await
            .unwrap()
    }

    fn store(&self) -> std::path::PathBuf {
        self.paths.data_dir.join("identities.json")
    }
}

fn user(name: &str, aliases: &[&str]) -> SecurityIdentity {
    SecurityIdentity {
        name: name.into(),
        kind: IdentityKind::User,
        members: vec![],
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
    }
}

fn member(name: &str, kind: IdentityKind) -> IdentityRef {
    IdentityRef {
        name: name.into(),
        kind,
    }
}

fn group(name: &str, members: Vec<IdentityRef>) -> SecurityIdentity {
    SecurityIdentity {
        name: name.into(),
        kind: IdentityKind::Group,
        members,
        aliases: vec![],
    }
}

fn save(list: Vec<SecurityIdentity>) -> SaveIdentitiesRequest {
    SaveIdentitiesRequest { identities: list }
}

/// The sample the tests push: two users (one with an alias), a group with a nested group.
fn sample() -> Vec<SecurityIdentity> {
    use IdentityKind::*;
    vec![
        user("ana@example.com", &["ana.login"]),
        user("bob@example.com", &[]),
        group("Editors", vec![member("ana@example.com", User)]),
        group(
            "Staff",
            vec![member("Editors", Group), member("bob@example.com", User)],
        ),
    ]
}

/// The active identities of an emulator's provider, as (name, TYPE) pairs, from its
/// inspection API.
async fn provider_holds(
    url: &str,
    org: &str,
    provider: &str,
) -> (BTreeSet<(String, String)>, serde_json::Value) {
    let answer: serde_json::Value = reqwest::get(format!(
        "{url}/_emulator/v1/organizations/{org}/providers/{provider}/identities"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let names = answer["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["identity"]["name"].as_str().unwrap().to_owned(),
                r["identity"]["type"].as_str().unwrap().to_uppercase(),
            )
        })
        .collect();
    (names, answer)
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

fn record<'a>(answer: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    answer["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["identity"]["name"] == name)
        .unwrap_or_else(|| panic!("no identity {name} in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_identities_come_back_from_list_and_after_a_restart() {
    let fx = Fixture::new();
    let host = fx.host().await;
    assert!(host.list_identities().await.unwrap().is_empty());
    assert!(!fx.store().exists(), "an empty Sandbox seeds no file");

    host.save_identities(save(sample())).await.unwrap();
    assert_eq!(host.list_identities().await.unwrap(), sample());
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.store()).unwrap()).unwrap();
    assert_eq!(file["version"], 1);
    host.shutdown().await;

    let again = fx.host().await;
    assert_eq!(again.list_identities().await.unwrap(), sample());
    // Names are tidied on the way in.
    let mut untidy = sample();
    untidy[1].name = "  bob@example.com ".into();
    again.save_identities(save(untidy)).await.unwrap();
    assert_eq!(again.list_identities().await.unwrap(), sample());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lists_are_refused_with_what_to_fix_and_change_nothing() {
    use IdentityKind::*;
    let fx = Fixture::new();
    let host = fx.host().await;
    host.save_identities(save(sample())).await.unwrap();

    let cases: Vec<(Vec<SecurityIdentity>, &str)> = vec![
        (
            vec![user("ana@example.com", &[]), user(" ", &[])],
            "Every identity needs a name.",
        ),
        (
            vec![user("ana@example.com", &[]), group("ANA@example.com", vec![])],
            "ANA@example.com appears twice; names must be unique.",
        ),
        (
            vec![group("Legal", vec![member("Lawyers", Group)])],
            "Legal lists Lawyers as a group, but there is no group Lawyers in the list; add it, or correct the name",
        ),
        (
            vec![group("Legal", vec![member("Legal", Group)])],
            "Legal lists itself as a member; remove it.",
        ),
        (
            vec![user("ana@example.com", &["Legal"]), group("Legal", vec![])],
            "Legal, an alias of ana@example.com, is also the group Legal in the list",
        ),
    ];
    for (list, expected) in cases {
        let e = host.save_identities(save(list)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{e:?}");
        assert!(
            e.message.starts_with(expected),
            "{:?} should start with {expected:?}",
            e.message
        );
    }
    assert_eq!(host.list_identities().await.unwrap(), sample());

    // A cycle of groups is accepted: the permissions crate evaluates it to a fixed point.
    let cycle = vec![
        group("A", vec![member("B", Group)]),
        group(
            "B",
            vec![member("A", Group), member("ana@example.com", User)],
        ),
    ];
    host.save_identities(save(cycle.clone())).await.unwrap();
    assert_eq!(host.list_identities().await.unwrap(), cycle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_reported_and_never_overwritten() {
    let fx = Fixture::new();
    let host = fx.host().await;
    std::fs::create_dir_all(&fx.paths.data_dir).unwrap();
    let damaged = "{\"version\": 1, \"identities\": [{\"name\": ";
    std::fs::write(fx.store(), damaged).unwrap();

    let e = host.list_identities().await.unwrap_err();
    assert!(
        e.message.contains("identities.json cannot be read"),
        "{e:?}"
    );
    assert!(e.message.contains("rename it"), "{e:?}");
    let e = host.save_identities(save(sample())).await.unwrap_err();
    assert!(e.message.contains("cannot be read"), "{e:?}");
    assert!(host.push_identities().await.is_err());
    // Reading a CSV does not need the saved list.
    let import = host
        .import_identities_csv(CsvImportRequest {
            text: "ana@example.com,user\n".into(),
        })
        .await
        .unwrap();
    assert_eq!(import.identities, vec![user("ana@example.com", &[])]);
    assert!(host
        .explain_access(ExplainRequest {
            folder_id: "none".into(),
            path: "x".into(),
            user: "ana@example.com".into(),
        })
        .await
        .is_err());
    assert_eq!(std::fs::read_to_string(fx.store()).unwrap(), damaged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_import_returns_the_good_lines_and_names_the_bad_ones() {
    let fx = Fixture::new();
    let host = fx.host().await;
    host.save_identities(save(sample())).await.unwrap();
    let text = "name,kind,members,aliases\n\
                Legal,group,asmith@example.com;Editors,\n\
                emitchell@example.com,user,,MysteryUserX\n\
                ,user\n\
                Sales,team\n\
                Legal,group\n\
                Ops,group,a@example.com,b@example.com,Editors\n";
    let import = host
        .import_identities_csv(CsvImportRequest { text: text.into() })
        .await
        .unwrap();
    assert_eq!(
        import.identities,
        vec![
            group(
                "Legal",
                vec![
                    member("asmith@example.com", IdentityKind::User),
                    // Editors is a group of the saved list.
                    member("Editors", IdentityKind::Group),
                ]
            ),
            user("emitchell@example.com", &["MysteryUserX"]),
        ]
    );
    let problems: Vec<(u32, String)> = import
        .problems
        .iter()
        .map(|p| (p.line, p.message.clone()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (4, "The name is empty.".to_owned()),
            (
                5,
                "\"team\" is not a kind; use user, group or virtualGroup.".to_owned()
            ),
            (
                6,
                "Legal is on line 2 already; keep one line per identity.".to_owned()
            ),
            (
                7,
                "This line has 5 columns; write name,kind,members,aliases, and separate several members or aliases with ; (not with a comma).".to_owned()
            ),
        ]
    );
    // Nothing is saved until the person saves.
    assert_eq!(host.list_identities().await.unwrap(), sample());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_puts_exactly_the_list_in_the_sandbox_and_removes_what_was_removed() {
    let fx = Fixture::new();
    let host = fx.host().await;
    host.save_identities(save(sample())).await.unwrap();
    let result = host.push_identities().await.unwrap();
    assert_eq!(result.pushed, 4);
    assert_eq!(
        result.message,
        "4 security identities were sent to provider sandbox. The Sandbox applies them at once."
    );
    let activity = host
        .list_activity(ActivityQuery {
            after_id: None,
            before_id: None,
            limit: 10,
        })
        .await
        .unwrap();
    let line = activity.last().expect("an activity line for the push");
    assert_eq!(line.kind, ActivityKind::Identities);
    assert_eq!(
        line.message,
        "Pushed 4 security identities to provider sandbox"
    );
    host.drain_sandbox().await;

    let (held, answer) = provider_holds(host.sandbox_url(), "sandbox", "sandbox").await;
    assert_eq!(
        held,
        pairs(&[
            ("ana@example.com", "USER"),
            ("bob@example.com", "USER"),
            ("ana.login", "USER"),
            ("Editors", "GROUP"),
            ("Staff", "GROUP"),
        ])
    );
    let staff: BTreeSet<String> = record(&answer, "Staff")["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        staff,
        BTreeSet::from(["Editors".to_owned(), "bob@example.com".to_owned()])
    );
    let mapping = &record(&answer, "ana.login")["mappings"][0];
    assert_eq!(mapping["identity"]["name"], "ana@example.com");
    // The alias maps to ana as she signs in (sent with no provider, so the Sandbox's provider
    // cascades it to the Email Security Provider), as Coveo expects and as the CLI pushes an identities file.
    assert_eq!(mapping["provider"], "Email Security Provider", "{mapping}");
    // The Sandbox's search-as resolves ana as the preview does: through her alias.
    let expand: serde_json::Value = reqwest::get(format!(
        "{}/_emulator/v1/organizations/sandbox/sources/documents/search?user=ana@example.com",
        host.sandbox_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(expand.to_string().contains("ana.login"), "{expand}");

    // Remove bob, Staff and ana's alias; push again.
    let mut smaller = sample();
    smaller.retain(|i| i.name != "bob@example.com" && i.name != "Staff");
    smaller[0].aliases.clear();
    host.save_identities(save(smaller)).await.unwrap();
    let result = host.push_identities().await.unwrap();
    assert_eq!(
        result.message,
        "2 security identities were sent to provider sandbox, and 3 removed. The Sandbox applies them at once."
    );
    host.drain_sandbox().await;
    let (held, _) = provider_holds(host.sandbox_url(), "sandbox", "sandbox").await;
    assert_eq!(
        held,
        pairs(&[("ana@example.com", "USER"), ("Editors", "GROUP")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_seeds_the_store_once_and_only_what_the_app_knew_is_removed() {
    use coveo_push::{
        ApiKey, ClientConfig, Endpoint, Identity, IdentityBody, IdentityType, MappedIdentityBody,
        PushClient,
    };
    let fx = Fixture::new();
    let host = fx.host().await;
    let announce: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fx.paths.data_dir.join("sandbox/sandbox.json")).unwrap(),
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
    // What a sample set up before the app had a store: a group, a group with a granted
    // identity (which the editor does not show), and an alias of a user.
    let hr = IdentityBody::new(Identity::new("HR", IdentityType::Group))
        .members(vec![Identity::new("hlee@example.com", IdentityType::User)]);
    client.put_identity("sandbox", &hr, None).await.unwrap();
    let staff = IdentityBody::new(Identity::new("Staff", IdentityType::Group))
        .well_knowns(vec![Identity::new("Everyone", IdentityType::VirtualGroup)]);
    client.put_identity("sandbox", &staff, None).await.unwrap();
    let alias = MappedIdentityBody {
        identity: Identity::new("MysteryUserX", IdentityType::User),
        mappings: vec![coveo_push::Mapping::user("emitchell@example.com", None)],
        well_knowns: vec![],
    };
    client.put_mapping("sandbox", &alias, None).await.unwrap();
    host.drain_sandbox().await;

    let seeded = host.list_identities().await.unwrap();
    assert_eq!(
        seeded,
        vec![
            user("emitchell@example.com", &["MysteryUserX"]),
            group("HR", vec![member("hlee@example.com", IdentityKind::User)]),
            group("Staff", vec![]),
        ]
    );
    assert!(fx.store().exists());

    // Pushed by another tool after the seed: the app's list stays its own...
    let other = IdentityBody::new(Identity::new("Crawled", IdentityType::Group));
    client.put_identity("sandbox", &other, None).await.unwrap();
    host.drain_sandbox().await;
    assert_eq!(host.list_identities().await.unwrap(), seeded);

    // ...and removing HR in the app removes HR from the Sandbox, never Crawled.
    host.save_identities(save(vec![
        user("emitchell@example.com", &["MysteryUserX"]),
        group("Staff", vec![]),
    ]))
    .await
    .unwrap();
    let result = host.push_identities().await.unwrap();
    assert_eq!(result.pushed, 2);
    assert!(result.message.contains("and 1 removed"), "{result:?}");
    host.drain_sandbox().await;
    let (held, answer) = provider_holds(host.sandbox_url(), "sandbox", "sandbox").await;
    assert_eq!(
        held,
        pairs(&[
            ("MysteryUserX", "USER"),
            ("emitchell@example.com", "USER"),
            ("Crawled", "GROUP"),
            ("Staff", "GROUP"),
        ])
    );
    // Staff kept its granted identity through the save and the push.
    assert_eq!(
        record(&answer, "Staff")["wellKnowns"][0]["name"],
        "Everyone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_as_sees_a_new_group_membership_after_save() {
    use IdentityKind::*;
    let fx = Fixture::new();
    let host = fx.host().await;
    let docs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(docs.path().join("HR")).unwrap();
    std::fs::write(docs.path().join("HR/leave.txt"), "Leave policy").unwrap();
    host.add_folder(AddFolderRequest {
        path: docs.path().display().to_string(),
        name: "Docs".into(),
        source_id: String::new(),
        include: vec![],
        exclude: vec![],
    })
    .await
    .unwrap();
    host.save_rule(RuleChangeRequest {
        folder_id: "Docs".into(),
        path: "HR".into(),
        rule: Some(FolderRule::Only {
            identities: vec![member("HR", Group)],
        }),
        mode: RuleMode::Replace,
    })
    .await
    .unwrap();
    let view_as = |user: &str| ExplainRequest {
        folder_id: "Docs".into(),
        path: "HR/leave.txt".into(),
        user: user.into(),
    };

    host.save_identities(save(vec![
        user("ana@example.com", &[]),
        user("bob@example.com", &["bobby"]),
        group("HR", vec![member("ana@example.com", User)]),
    ]))
    .await
    .unwrap();
    let bob = host
        .explain_access(view_as("bob@example.com"))
        .await
        .unwrap();
    assert!(!bob.visible, "{bob:?}");

    // bob joins HR: saved, not pushed, and the preview already says so.
    host.save_identities(save(vec![
        user("ana@example.com", &[]),
        user("bob@example.com", &["bobby"]),
        group(
            "HR",
            vec![
                member("ana@example.com", User),
                member("bob@example.com", User),
            ],
        ),
    ]))
    .await
    .unwrap();
    let bob = host
        .explain_access(view_as("bob@example.com"))
        .await
        .unwrap();
    assert!(bob.visible, "{bob:?}");
    assert_eq!(bob.chain.last().unwrap().identity.name, "HR");

    let who = host
        .who_can_see(FileRef {
            folder_id: "Docs".into(),
            path: "HR/leave.txt".into(),
        })
        .await
        .unwrap();
    let sees: Vec<(&str, bool)> = who.iter().map(|u| (u.user.as_str(), u.visible)).collect();
    assert!(sees.contains(&("ana@example.com", true)), "{sees:?}");
    assert!(sees.contains(&("bob@example.com", true)), "{sees:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_gets_the_same_list_in_its_own_provider() {
    let org = push_emulator::Emulator::start(push_emulator::EmulatorConfig {
        organizations: vec![push_emulator::OrgConfig::new("acme", "docs", "acme-ids")],
        ..push_emulator::EmulatorConfig::default()
    })
    .await
    .unwrap();
    let fx = Fixture::new();
    let host = fx.host_with_origin(Some(org.url())).await;
    host.save_identities(save(sample())).await.unwrap();
    let state = host
        .connect(ConnectionRequest {
            organization_id: "acme".into(),
            region: Region::Us,
            source: TargetChoice::Existing { id: "docs".into() },
            provider: TargetChoice::Existing {
                id: "acme-ids".into(),
            },
            api_key: org.api_key().into(),
            key_storage: KeyStorage::ThisRunOnly,
        })
        .await
        .unwrap();
    assert_eq!(state.mode, ConnectionMode::Organization);
    assert_eq!(host.list_identities().await.unwrap(), sample());

    let result = host.push_identities().await.unwrap();
    assert_eq!(
        result.message,
        "4 security identities were sent to provider acme-ids. Coveo applies them within a few minutes."
    );
    org.drain().await;
    let (held, answer) = provider_holds(org.url(), "acme", "acme-ids").await;
    assert_eq!(held.len(), 5, "{held:?}");
    assert!(held.contains(&("Staff".to_owned(), "GROUP".to_owned())));
    // An organization's alias names the user in the cascaded provider, as Coveo expects.
    assert_eq!(
        record(&answer, "ana.login")["mappings"][0]["provider"],
        "Email Security Provider"
    );

    // The access preview reads the same list in the organization's provider: a folder of the
    // organization whose Team folder only Staff may see (bob directly, ana through Editors).
    let docs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(docs.path().join("Team")).unwrap();
    std::fs::write(docs.path().join("Team/plan.txt"), "Plan").unwrap();
    std::fs::write(docs.path().join("open.txt"), "Open").unwrap();
    host.add_folder(AddFolderRequest {
        path: docs.path().display().to_string(),
        name: "Acme".into(),
        source_id: String::new(),
        include: vec![],
        exclude: vec![],
    })
    .await
    .unwrap();
    host.save_rule(RuleChangeRequest {
        folder_id: "Acme".into(),
        path: "Team".into(),
        rule: Some(FolderRule::Only {
            identities: vec![member("Staff", IdentityKind::Group)],
        }),
        mode: RuleMode::Replace,
    })
    .await
    .unwrap();
    for (user, sees_team) in [
        ("ana@example.com", true),
        ("bob@example.com", true),
        ("carl@example.com", false),
    ] {
        let tree = host
            .what_can_user_see(UserRequest {
                folder_id: "Acme".into(),
                user: user.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            (tree.visible_files, tree.total_files),
            (1 + u64::from(sees_team), 2),
            "{user}: {tree:?}"
        );
    }

    // The Sandbox's provider got nothing: the push went to the organization.
    let (sandbox, _) = provider_holds(host.sandbox_url(), "sandbox", "sandbox").await;
    assert!(sandbox.is_empty(), "{sandbox:?}");
}
