//! One access truth, across fronts (issue 13): for every case, the permissions crate's
//! `AccessAnalysis`, `pushdeck access explain --json` (and `who --json`, `what --json`) and the
//! emulator's search-as (`/_emulator/v1/.../search?user=`) give the same answer: visible or
//! not, the same sentence, the same chains of the deciding sets, and the same other readings
//! when the documentation is ambiguous.
//!
//! Each world is set up once and read by every front from the same inputs: a folder whose
//! configuration gives each file its permissions (`access = "complete"` with the Push API
//! model), and an identity batch for provider P (cascading to the Email Security Provider, as
//! Pushdeck creates it). The CLI reads the configuration and the identities file; the emulator
//! gets the same identities through `pushdeck identities push` and the items through `pushdeck
//! sync --once` of the same configuration; the crate builds the graph from the same batch.
//!
//! Worlds: Coveo's documented simple and complete examples (reference §4.2–§4.6, every user
//! named there, and a user nobody knows, and anonymous), whose documented answers are also
//! asserted; the same identities written in the one CSV format (`name,kind,members,aliases`),
//! which the CLI must answer identically; and our own nested, cyclic, granted, alias-chain,
//! cascade, letter-case, same-name-other-type, no-rule and uncertain-level cases.
//!
//! The app host answers too ([`host_answers`]): a real `pushdeck_app::host::Host` (its
//! embedded Sandbox, its engine, its configuration file) holding the same identities, through
//! its CSV import or seeded from its Sandbox's provider, and the same folder rules, asked
//! through its View as and who-can-see commands. Its provider is the Sandbox's (`sandbox`), so
//! its answers are compared with the crate's for the same world in that provider.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use permissions::{
    AccessAnalysis, IdentityBatch, IdentityGraph, PermissionModel, Providers, QueryingUser,
    EMAIL_SECURITY_PROVIDER,
};
use push_emulator::{EmulatorConfig, OrgConfig};
use pushdeck_proof::{all_text, decoded, World, ORG, SOURCE};
use serde_json::{json, Value};

/// The provider of every world (the folder's, the source's first).
const P: &str = "P";

// ---------------------------------------------------------------------------------------------
// Worlds
// ---------------------------------------------------------------------------------------------

/// One world: the identities of provider P, files with their permissions (`None`: no rule
/// applies), and the people to ask about every file.
struct Spec {
    name: &'static str,
    /// The identity batch pushed to P (mappings without provider go to the Email Security
    /// Provider, where P cascades).
    identities: Value,
    /// The same identities in the one CSV format, when it can say them (an alias of an alias
    /// inside P cannot be: a CSV alias maps to its user in the Email Security Provider).
    csv: Option<&'static str>,
    items: Vec<(&'static str, Option<Value>)>,
    /// Querying users by name (`"anonymous"`: anonymous).
    users: Vec<&'static str>,
    /// Why the app's identity list cannot hold this world, if it cannot (the app is then
    /// not asked; the other fronts are).
    not_in_the_app: Option<&'static str>,
}

fn group(name: &str, members: Value) -> Value {
    json!({"identity": {"name": name, "type": "GROUP"}, "members": members})
}

fn user(name: &str) -> Value {
    json!({"name": name, "type": "USER"})
}

fn group_ref(name: &str) -> Value {
    json!({"name": name, "type": "GROUP"})
}

fn alias(name: &str, target: &str, provider: Option<&str>) -> Value {
    let mut mapping = json!({"name": target, "type": "USER"});
    if let Some(p) = provider {
        mapping["provider"] = json!(p);
    }
    json!({"identity": {"name": name, "type": "USER"}, "mappings": [mapping]})
}

fn g(name: &str) -> Value {
    json!({"identity": name, "identityType": "Group"})
}

fn u(name: &str) -> Value {
    json!({"identity": name, "identityType": "User"})
}

fn allow(entries: Value) -> Value {
    json!([{"allowedPermissions": entries}])
}

fn documented_simple() -> Value {
    json!([
        {"allowAnonymous": true, "deniedPermissions": [u("asmith")]},
        {"allowAnonymous": false, "allowedPermissions": [
            g("SampleTeam1"),
            {"identity": "emitchell@example.com", "identityType": "User",
             "securityProvider": EMAIL_SECURITY_PROVIDER}]},
        {"allowAnonymous": false, "allowedPermissions": [u("MysteryUserX")],
         "deniedPermissions": [{"identity": "SampleGroup", "identityType": "VirtualGroup"}]}
    ])
}

fn documented_complete() -> Value {
    json!([
        {"name": "Level 1", "permissionSets": [
            {"allowAnonymous": true},
            {"allowedPermissions": [g("SampleTeam1")], "deniedPermissions": [g("SampleTeam2")]},
            {"allowedPermissions": [u("asmith"), u("cbrown")], "deniedPermissions": [u("bjones")]}
        ]},
        {"name": "Level 2", "permissionSets": [
            {"allowedPermissions": [u("bjones"),
                {"identity": "emitchell@example.com", "identityType": "User",
                 "securityProvider": EMAIL_SECURITY_PROVIDER}],
             "deniedPermissions": [u("asmith")]},
            {"allowedPermissions": [u("MysteryUserX")]}
        ]}
    ])
}

const DOCUMENTED_USERS: [&str; 8] = [
    "asmith",
    "bjones",
    "cbrown",
    "dmoore",
    "emitchell@example.com",
    "MysteryUserX",
    "zlee@example.com",
    "anonymous",
];

/// Provider P of reference §4.6: SampleTeam1 = {asmith, bjones}, SampleTeam2 = {cbrown,
/// dmoore}, virtual group SampleGroup = {cbrown}, alias MysteryUserX → emitchell@example.com
/// (Email Security Provider).
fn reference() -> Spec {
    Spec {
        name: "documented examples",
        identities: json!({
            "members": [
                group("SampleTeam1", json!([user("asmith"), user("bjones")])),
                group("SampleTeam2", json!([user("cbrown"), user("dmoore")])),
                {"identity": {"name": "SampleGroup", "type": "VIRTUAL_GROUP"},
                 "members": [user("cbrown")]}
            ],
            "mappings": [alias("MysteryUserX", "emitchell@example.com", None)]
        }),
        csv: None,
        items: vec![
            ("simple.txt", Some(documented_simple())),
            ("complete.txt", Some(documented_complete())),
        ],
        users: DOCUMENTED_USERS.to_vec(),
        not_in_the_app: None,
    }
}

/// The documented examples with the identities in the one CSV format (users get lines of
/// their own, so the file says they are users; the answers must not change).
fn reference_csv() -> Spec {
    Spec {
        name: "documented examples, identities from CSV",
        csv: Some(
            "name,kind,members,aliases\n\
             SampleTeam1,group,asmith;bjones\n\
             SampleTeam2,group,cbrown;dmoore\n\
             SampleGroup,virtualGroup,cbrown\n\
             asmith,user\n\
             bjones,user\n\
             cbrown,user\n\
             dmoore,user\n\
             emitchell@example.com,user,,MysteryUserX\n",
        ),
        ..reference()
    }
}

/// Our own, in P: Staff = {amy, Engineering}; Engineering = {Contractors}, granted Everyone;
/// Contractors = {zed}; Loop1 = {Loop2}, Loop2 = {Loop1, cy} (a cycle); Readers = {Kim}; a
/// *group* named amy = {bo}; the alias dee → dee@example.com (Email Security Provider).
fn own() -> Spec {
    Spec {
        name: "own cases",
        identities: json!({
            "members": [
                group("Staff", json!([user("amy"), group_ref("Engineering")])),
                {"identity": {"name": "Engineering", "type": "GROUP"},
                 "members": [group_ref("Contractors")],
                 "wellKnowns": [{"name": "Everyone", "type": "VIRTUAL_GROUP"}]},
                group("Contractors", json!([user("zed")])),
                group("Loop1", json!([group_ref("Loop2")])),
                group("Loop2", json!([group_ref("Loop1"), user("cy")])),
                group("Readers", json!([user("Kim")])),
                group("amy", json!([user("bo")]))
            ],
            "mappings": [
                alias("dee", "dee@example.com", None)
            ]
        }),
        csv: None,
        items: vec![
            (
                "nested-denied.txt",
                Some(json!([{"allowAnonymous": true, "deniedPermissions": [g("Engineering")]}])),
            ),
            ("staff.txt", Some(allow(json!([g("Staff")])))),
            ("cycle.txt", Some(allow(json!([g("Loop1")])))),
            (
                "granted.txt",
                Some(allow(
                    json!([{"identity": "Everyone", "identityType": "VirtualGroup"}]),
                )),
            ),
            ("alias.txt", Some(allow(json!([u("dee")])))),
            ("letter-case.txt", Some(allow(json!([g("Readers")])))),
            ("other-type.txt", Some(allow(json!([g("amy")])))),
            (
                "levels.txt",
                Some(json!([
                    {"name": "Managers only", "permissionSets": [
                        {"allowedPermissions": [g("Staff")]},
                        {"allowedPermissions": [g("Managers")]}]},
                    {"permissionSets": [{"allowedPermissions": [g("Staff")]}]}
                ])),
            ),
            ("no-rule.txt", None),
        ],
        users: vec![
            "zed",
            "amy",
            "cy",
            "bo",
            "dee@example.com",
            "dee",
            "Kim",
            "kim",
            "nobody@example.com",
            "anonymous",
        ],
        not_in_the_app: None,
    }
}

/// An alias chain inside P: dee → dee@example.com (Email Security Provider), D → dee (P),
/// DD → D (P). The app's identity list gives each user its aliases and maps every alias to
/// its user where people sign in (as the CSV format does), so it cannot hold an alias of an
/// alias inside a provider: the app is not asked here.
fn own_alias_chain() -> Spec {
    Spec {
        name: "own alias chain",
        identities: json!({
            "members": [],
            "mappings": [
                alias("dee", "dee@example.com", None),
                alias("D", "dee", Some(P)),
                alias("DD", "D", Some(P))
            ]
        }),
        csv: None,
        items: vec![
            ("alias-chain.txt", Some(allow(json!([u("DD")])))),
            ("alias.txt", Some(allow(json!([u("dee")])))),
        ],
        users: vec![
            "dee@example.com",
            "dee",
            "D",
            "nobody@example.com",
            "anonymous",
        ],
        not_in_the_app: Some("an alias of an alias inside one provider"),
    }
}

fn querying_user(name: &str) -> QueryingUser {
    if name == "anonymous" {
        QueryingUser::Anonymous
    } else {
        QueryingUser::named(name)
    }
}

// ---------------------------------------------------------------------------------------------
// Answers, as every front reports them
// ---------------------------------------------------------------------------------------------

/// What must agree: visible or not, the sentence, the chains of the deciding sets in words,
/// `uncertain`, and the other readings (which, and their visibility and chains).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    visible: bool,
    summary: String,
    because: Vec<String>,
    uncertain: bool,
    other_readings: Vec<String>,
}

/// (file, user) → answer.
type Answers = BTreeMap<(String, String), Answer>;

fn texts(because: &Value) -> Vec<String> {
    because
        .as_array()
        .map(|list| {
            list.iter()
                .map(|b| b["text"].as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// An answer from the JSON both `access explain --json` and search-as write.
fn answer_of(v: &Value) -> Answer {
    Answer {
        visible: v["visible"].as_bool().expect("visible"),
        summary: v["summary"].as_str().unwrap_or("?").to_owned(),
        because: texts(&v["because"]),
        uncertain: v["uncertain"].as_bool().expect("uncertain"),
        other_readings: v["otherReadings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                format!(
                    "{} {}: {}",
                    o["reading"].as_str().unwrap_or("?"),
                    o["visibility"].as_str().unwrap_or("?"),
                    texts(&o["because"]).join(" | ")
                )
            })
            .collect(),
    }
}

fn model(permissions: &Value) -> PermissionModel {
    serde_json::from_value(permissions.clone()).expect("a permission model")
}

/// The crate, directly: the batch applied to `provider` (P for the CLI and the emulator, the
/// Sandbox's provider for the app), cascading to the Email Security Provider.
fn crate_answers(spec: &Spec, provider: &str) -> Answers {
    let batch: IdentityBatch = match spec.csv {
        Some(text) => {
            let csv = permissions::parse_identities_csv(text, &[]);
            assert!(csv.problems.is_empty(), "{:?}", csv.problems);
            csv.to_batch(None)
        }
        None => serde_json::from_value(spec.identities.clone()).expect("a batch"),
    };
    let mut graph = IdentityGraph::new();
    // Mappings that name P name the provider of this world.
    let batch: IdentityBatch = {
        let mut value = serde_json::to_value(&batch).expect("a batch");
        for mapping in value["mappings"].as_array_mut().into_iter().flatten() {
            for m in mapping["mappings"].as_array_mut().into_iter().flatten() {
                if m["provider"] == json!(P) {
                    m["provider"] = json!(provider);
                }
            }
        }
        serde_json::from_value(value).expect("a batch")
    };
    graph.apply_batch(provider, &batch, EMAIL_SECURITY_PROVIDER);
    let providers = Providers::pushdeck([provider]);
    let analysis = AccessAnalysis::new(&graph, &providers, provider);
    let mut out = Answers::new();
    for (file, permissions) in &spec.items {
        let model = permissions.as_ref().map(model);
        for name in &spec.users {
            let answer = analysis.explain(model.as_ref(), &querying_user(name));
            let value = json!({
                "visible": answer.is_visible(),
                "summary": answer.summary,
                "because": answer.because,
                "uncertain": answer.uncertain,
                "otherReadings": answer.other_readings,
            });
            out.insert(((*file).to_owned(), (*name).to_owned()), answer_of(&value));
        }
    }
    out
}

/// An answer as the app shows it (View as, or a row of who can see).
fn app_answer(
    visible: bool,
    summary: &str,
    because: &[String],
    uncertain: bool,
    other: &[pushdeck_app::dto::OtherReading],
) -> Answer {
    Answer {
        visible,
        summary: summary.to_owned(),
        because: because.to_vec(),
        uncertain,
        other_readings: other
            .iter()
            .map(|o| {
                let reading = serde_json::to_value(o.reading).expect("a reading");
                let visibility = if o.visible { "visible" } else { "hidden" };
                format!(
                    "{} {visibility}: {}",
                    reading.as_str().unwrap_or("?"),
                    o.because.join(" | ")
                )
            })
            .collect(),
    }
}

/// The app host's answers for the same world, from its own commands: a real `Host` (embedded
/// Sandbox, engine, configuration file) whose folder `truth` has the world's files and rules in
/// its configuration, and whose identity list is the world's, imported through its CSV import
/// (as a person drops a CSV on the window) or, for a JSON batch, pushed to its Sandbox's
/// provider and read back from there (as the app seeds its list on first use). Each (file,
/// user) through `explain_access` (View as); anonymous, and every person the list knows,
/// through `who_can_see`, which must agree with View as. `None` when the app's identity list
/// cannot hold the world (see [`Spec::not_in_the_app`]).
fn host_answers(spec: &Spec) -> Option<(Answers, Vec<String>)> {
    use pushdeck_app::dto::{CsvImportRequest, ExplainRequest, FileRef, SaveIdentitiesRequest};
    use pushdeck_app::host::{Host, HostPaths};
    if spec.not_in_the_app.is_some() {
        return None;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let docs = dir.path().join("docs");
        for (file, _) in &spec.items {
            let path = docs.join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
            std::fs::write(&path, format!("{file}\n")).expect("a file");
        }
        let paths = HostPaths {
            config_dir: dir.path().join("config"),
            data_dir: dir.path().join("data"),
        };
        std::fs::create_dir_all(&paths.config_dir).expect("the config folder");
        std::fs::write(
            paths.config_dir.join("config.toml"),
            config_text(
                &docs,
                push_emulator::SANDBOX_ORG,
                push_emulator::SANDBOX_SOURCE,
                push_emulator::SANDBOX_PROVIDER,
                spec,
            ),
        )
        .expect("the app's configuration");
        let host = Host::start(paths.clone(), std::sync::Arc::new(|_| {}))
            .await
            .expect("the app host starts");
        match spec.csv {
            Some(text) => {
                let import = host
                    .import_identities_csv(CsvImportRequest { text: text.into() })
                    .await
                    .expect("the CSV import");
                assert!(import.problems.is_empty(), "{:?}", import.problems);
                host.save_identities(SaveIdentitiesRequest {
                    identities: import.identities,
                })
                .await
                .expect("the identities are saved");
            }
            None => {
                let batch: IdentityBatch =
                    serde_json::from_value(spec.identities.clone()).expect("a batch");
                sandbox_client(&paths)
                    .push_identity_batch(push_emulator::SANDBOX_PROVIDER, &batch, None)
                    .await
                    .expect("the identities reach the app's Sandbox");
                host.drain_sandbox().await;
            }
        }
        // The list as the app holds it (seeded from the Sandbox's provider on first use).
        let listed = host.list_identities().await.expect("the identity list");
        assert!(!listed.is_empty(), "{}: the app holds no identity", spec.name);
        let mut answers = Answers::new();
        let mut problems = Vec::new();
        for (file, _) in &spec.items {
            let who = host
                .who_can_see(FileRef {
                    folder_id: "truth".into(),
                    path: (*file).into(),
                })
                .await
                .expect("who can see");
            for name in &spec.users {
                let key = ((*file).to_owned(), (*name).to_owned());
                let row = who
                    .iter()
                    .find(|r| if *name == "anonymous" { r.anonymous } else { !r.anonymous && r.user == *name })
                    .map(|r| app_answer(r.visible, &r.summary, &r.because, r.uncertain, &r.other_readings));
                if *name == "anonymous" {
                    answers.insert(key, row.expect("who can see has an anonymous row"));
                    continue;
                }
                let e = host
                    .explain_access(ExplainRequest {
                        folder_id: "truth".into(),
                        path: (*file).into(),
                        user: (*name).into(),
                    })
                    .await
                    .expect("View as");
                let answer =
                    app_answer(e.visible, &e.summary, &e.because, e.uncertain, &e.other_readings);
                if let Some(row) = row {
                    if row != answer {
                        problems.push(format!(
                            "{}: the app's who can see and View as disagree on {file} for {name}:\n  {row:?}\n  {answer:?}",
                            spec.name
                        ));
                    }
                }
                answers.insert(key, answer);
            }
        }
        Some((answers, problems))
    })
}

/// A Push API client of an app host's Sandbox (its address and key from the file the Sandbox
/// announces itself in).
fn sandbox_client(paths: &pushdeck_app::host::HostPaths) -> coveo_push::PushClient {
    use coveo_push::{ApiKey, ClientConfig, Endpoint, PushClient};
    let announce: Value = serde_json::from_slice(
        &std::fs::read(paths.data_dir.join("sandbox/sandbox.json")).expect("the Sandbox's file"),
    )
    .expect("the Sandbox's file is JSON");
    PushClient::new(
        ClientConfig::new(
            push_emulator::SANDBOX_ORG,
            ApiKey::new(announce["api_key"].as_str().expect("a key")),
        )
        .with_endpoint(Endpoint::custom(announce["url"].as_str().expect("a URL")).expect("a URL")),
    )
    .expect("a client")
}

// ---------------------------------------------------------------------------------------------
// Setting a world up for the CLI and the emulator
// ---------------------------------------------------------------------------------------------

/// A JSON value as a TOML inline value (the folder rules' `model`).
fn toml_inline(v: &Value) -> String {
    match v {
        Value::Null => "\"\"".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => serde_json::to_string(s).expect("a string"),
        Value::Array(list) => format!(
            "[{}]",
            list.iter().map(toml_inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!(
                    "{} = {}",
                    serde_json::to_string(k).expect("a key"),
                    toml_inline(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn config_text(
    docs: &std::path::Path,
    organization: &str,
    source: &str,
    provider: &str,
    spec: &Spec,
) -> String {
    let mut text = format!(
        "version = 1\n\n[[folder]]\nname = \"truth\"\npath = \"{}\"\norganization = \"{organization}\"\n\
         source = \"{source}\"\nprovider = \"{provider}\"\nwatch = false\n",
        docs.display()
    );
    for (file, permissions) in &spec.items {
        if let Some(p) = permissions {
            let _ = write!(
                text,
                "\n[[folder.permission]]\npath = \"{file}\"\naccess = \"complete\"\nmodel = {}\n",
                toml_inline(p)
            );
        }
    }
    text
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The world in a fresh emulator (org `sandbox`, source `documents`, provider P) and folder:
/// files, configuration, identities file; identities pushed and the folder synced through the
/// real binary. Returns the world, the configuration's path and the identities file's path.
fn set_up(spec: &Spec) -> (World, std::path::PathBuf, std::path::PathBuf) {
    let w = World::with_config(EmulatorConfig {
        organizations: vec![OrgConfig::new(ORG, SOURCE, P)],
        ..Default::default()
    });
    for (file, _) in &spec.items {
        w.write(file, format!("{file}\n"));
    }
    let config = w.path().join("truth.toml");
    std::fs::write(&config, config_text(&w.docs(), ORG, SOURCE, P, spec)).expect("config");
    let identities = match spec.csv {
        Some(text) => {
            let path = w.path().join("people.csv");
            std::fs::write(&path, text).expect("csv");
            path
        }
        None => {
            let path = w.path().join("identities.json");
            std::fs::write(&path, spec.identities.to_string()).expect("json");
            path
        }
    };
    let mut push = w.emu_cmd([
        "identities".as_ref(),
        "push".as_ref(),
        identities.as_os_str(),
        "--provider".as_ref(),
        P.as_ref(),
    ]);
    let out = w.run(&mut push);
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    let mut sync = w.emu_cmd([
        "sync".as_ref(),
        "--once".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let out = w.run(&mut sync);
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    assert_eq!(w.items(SOURCE).len(), spec.items.len(), "every file synced");
    (w, config, identities)
}

/// `pushdeck access explain --json` per file and user (anonymous from `access who --json`),
/// checked against `access who --json` and `access what --json`.
fn cli_answers(
    spec: &Spec,
    w: &World,
    config: &std::path::Path,
    identities: &std::path::Path,
) -> (Answers, Vec<String>) {
    let mut answers = Answers::new();
    let mut problems = Vec::new();
    let run_json = |args: &[&str]| -> Value {
        let mut cmd = w.cmd(["--config".as_ref(), config.as_os_str()]);
        cmd.args(args)
            .arg("--identities")
            .arg(identities)
            .arg("--json");
        let out = w.run(&mut cmd);
        assert_eq!(
            out.status.code(),
            Some(0),
            "pushdeck {args:?}: {}",
            all_text(&out)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let docs = w.docs();
    for (file, _) in &spec.items {
        let item = docs.join(file).display().to_string();
        let who = run_json(&["access", "who", "--item", &item]);
        for name in &spec.users {
            let key = ((*file).to_owned(), (*name).to_owned());
            if *name == "anonymous" {
                // Anonymous is asked through `who` (explain takes a user name); the other
                // fronts' anonymous answer must at least agree on visibility.
                let visible = who["anonymous"].as_bool().or(who["everyone"].as_bool());
                answers.insert(
                    key,
                    Answer {
                        visible: visible.expect("who says whether anonymous sees it"),
                        summary: String::new(),
                        because: Vec::new(),
                        uncertain: false,
                        other_readings: Vec::new(),
                    },
                );
                continue;
            }
            let explained = run_json(&["access", "explain", "--item", &item, "--user", name]);
            let answer = answer_of(&explained);
            // `who` lists the people the identities know; each one's answer is explain's.
            if let Some(person) = who["people"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["user"] == json!(name))
            {
                if answer_of(person) != answer {
                    problems.push(format!(
                        "{}: access who and access explain disagree on {file} for {name}",
                        spec.name
                    ));
                }
            }
            answers.insert(key, answer);
        }
    }
    for name in spec.users.iter().filter(|n| **n != "anonymous") {
        let what = run_json(&[
            "access",
            "what",
            "--user",
            name,
            "--folder",
            &docs.display().to_string(),
        ]);
        let listed: Vec<String> = what["visible"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let explained: Vec<String> = spec
            .items
            .iter()
            .map(|(file, _)| (*file).to_owned())
            .filter(|file| answers[&(file.clone(), (*name).to_owned())].visible)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        if listed_sorted != explained {
            problems.push(format!(
                "{}: access what --user {name} lists {listed:?}, explain says {explained:?}",
                spec.name
            ));
        }
    }
    (answers, problems)
}

/// Search-as per user, over HTTP, each item mapped back to its file.
fn emulator_answers(spec: &Spec, w: &World) -> Answers {
    let mut answers = Answers::new();
    let docs = w.docs().display().to_string();
    for name in &spec.users {
        let query = if *name == "anonymous" {
            "anonymous=true".to_owned()
        } else {
            format!("user={}", encode(name))
        };
        let found = w.get(&format!(
            "/organizations/{ORG}/sources/{SOURCE}/search?{query}"
        ));
        for item in found["items"].as_array().expect("items") {
            let uri = decoded(item["documentId"].as_str().expect("documentId"));
            let file = uri
                .strip_prefix(&format!("file://{docs}/"))
                .unwrap_or_else(|| panic!("{uri} is not in {docs}"))
                .to_owned();
            answers.insert((file, (*name).to_owned()), answer_of(item));
        }
    }
    answers
}

/// Every difference between `front`'s answers and the crate's.
fn differences(
    spec: &Spec,
    front: &str,
    truth: &Answers,
    answers: &Answers,
    anonymous_visibility_only: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for (key, expected) in truth {
        let (file, name) = key;
        let Some(got) = answers.get(key) else {
            out.push(format!(
                "{}: {front} has no answer for {file} / {name}",
                spec.name
            ));
            continue;
        };
        let agrees = if anonymous_visibility_only && name == "anonymous" {
            got.visible == expected.visible
        } else {
            got == expected
        };
        if !agrees {
            out.push(format!(
                "{}: {front} on {file} for {name}:\n  crate: {expected:?}\n  {front}: {got:?}",
                spec.name
            ));
        }
    }
    out
}

/// The documented answers (reference §4.6): who sees each documented item.
fn check_documented(spec: &Spec, front: &str, truth: &Answers) -> Vec<String> {
    let mut out = Vec::new();
    for (file, expected) in [
        ("simple.txt", vec!["emitchell@example.com"]),
        ("complete.txt", vec!["asmith", "emitchell@example.com"]),
    ] {
        let visible: Vec<&str> = spec
            .users
            .iter()
            .copied()
            .filter(|name| truth[&(file.to_owned(), (*name).to_owned())].visible)
            .collect();
        if visible != expected {
            out.push(format!(
                "{}: {front}: {file} is visible to {visible:?}; Coveo documents {expected:?}",
                spec.name
            ));
        }
    }
    out
}

#[test]
fn every_front_gives_the_one_answer() {
    let mut problems = Vec::new();
    let mut compared: BTreeMap<&str, usize> = BTreeMap::new();
    for spec in [reference(), reference_csv(), own(), own_alias_chain()] {
        let truth = crate_answers(&spec, P);
        let documented = spec.name.starts_with("documented");
        if documented {
            problems.extend(check_documented(&spec, "the crate", &truth));
        }
        let (w, config, identities) = set_up(&spec);
        let (cli, cli_problems) = cli_answers(&spec, &w, &config, &identities);
        problems.extend(cli_problems);
        problems.extend(differences(&spec, "pushdeck access", &truth, &cli, true));
        let emulator = emulator_answers(&spec, &w);
        problems.extend(differences(&spec, "search-as", &truth, &emulator, false));
        if documented {
            problems.extend(check_documented(&spec, "pushdeck access", &cli));
            problems.extend(check_documented(&spec, "search-as", &emulator));
        }
        *compared.entry("crate = CLI = search-as").or_default() += truth.len();
        match host_answers(&spec) {
            Some((host, host_problems)) => {
                // The same world in the app's provider (the Sandbox's), so chains name it.
                let truth = crate_answers(&spec, push_emulator::SANDBOX_PROVIDER);
                problems.extend(host_problems);
                problems.extend(differences(&spec, "app host", &truth, &host, false));
                if documented {
                    problems.extend(check_documented(&spec, "app host", &host));
                }
                *compared.entry("crate = app host").or_default() += truth.len();
            }
            None => println!(
                "{}: the app is not asked ({})",
                spec.name,
                spec.not_in_the_app.unwrap_or("?")
            ),
        }
    }
    println!("(file, user) answers compared: {compared:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The answers themselves, for the record: the documented examples' chains in words, so a
/// change of wording or of reading shows here (and in the crate's own cases) on purpose.
#[test]
fn the_documented_chains_read_as_the_crate_writes_them() {
    let truth = crate_answers(&reference(), P);
    let because =
        |file: &str, user: &str| truth[&(file.to_owned(), user.to_owned())].because.clone();
    assert_eq!(
        because("simple.txt", "emitchell@example.com"),
        [
            "anyone (allowAnonymous) → set 1",
            "emitchell@example.com (Email Security Provider) → set 2",
            "emitchell@example.com (Email Security Provider) → alias MysteryUserX (P) → set 3",
        ]
    );
    assert_eq!(
        because("complete.txt", "asmith"),
        [
            "anyone (allowAnonymous) → level 1, set 1",
            "asmith (Email Security Provider) → same user asmith (P) → member of group SampleTeam1 (P) → level 1, set 2",
            "asmith (Email Security Provider) → same user asmith (P) → level 1, set 3",
        ]
    );
    // MysteryUserX is emitchell's alias, not a person: asked as that name, hidden in both.
    for file in ["simple.txt", "complete.txt"] {
        let mystery = &truth[&(file.to_owned(), "MysteryUserX".to_owned())];
        assert!(!mystery.visible, "{file}: {mystery:?}");
    }
}
