//! The answers the UI's fake host gives (`ui/src/ipc/fake/access-answers.json`), written by
//! the real host's own code, so that the fake decides nothing about access.
//!
//! The fake host (the whole UI in a browser, for development and the UI's tests) shows the
//! same sample organization as `ui/src/ipc/fake/data.ts`: its identity list, and the
//! permission models its sample folders and the UI tests' rule changes produce. For each
//! (identity list, model, user) it asks, the answer here is what the host answers for the same
//! inputs: the identity list as the app stores it ([`graph_of`] in the Sandbox's provider), the
//! model as a rule gives it to the Push API ([`model_domain`]), the person as "View as" names
//! them, through [`AccessWorld`] (`permissions::AccessAnalysis`). Anything else, the fake answers
//! "not in the fixtures".
//!
//! `the_fake_hosts_answers_are_the_hosts` fails when the file differs from what it would write;
//! `UPDATE_FIXTURES=1 cargo test -p pushdeck-app --lib fake_host` rewrites it. The UI's unit
//! tests check that the fake's sample data still equals the worlds and models here.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::access::{model_domain, AccessWorld};
use super::identities::{graph_of, validate_identities};
use super::SANDBOX_PROVIDER;
use crate::dto::*;

fn user(name: &str, aliases: &[&str]) -> SecurityIdentity {
    SecurityIdentity {
        name: name.into(),
        kind: IdentityKind::User,
        members: Vec::new(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
    }
}

fn group(name: &str, members: &[(&str, IdentityKind)]) -> SecurityIdentity {
    SecurityIdentity {
        name: name.into(),
        kind: IdentityKind::Group,
        members: members
            .iter()
            .map(|(n, k)| IdentityRef {
                name: (*n).into(),
                kind: *k,
            })
            .collect(),
        aliases: Vec::new(),
    }
}

fn refs(names: &[&str], kind: IdentityKind) -> Vec<IdentityRef> {
    names
        .iter()
        .map(|n| IdentityRef {
            name: (*n).into(),
            kind,
        })
        .collect()
}

/// The sample organization of the fake host (`seedIdentities()` in `data.ts`).
fn sample_identities() -> Vec<SecurityIdentity> {
    use IdentityKind::{Group, User};
    vec![
        user("asmith@example.com", &[]),
        user("bjones@example.com", &[]),
        user("cbrown@example.com", &[]),
        user("dmoore@example.com", &[]),
        user("emitchell@example.com", &["MysteryUserX"]),
        user("fgarcia@example.com", &[]),
        user("hlee@example.com", &[]),
        group("Editors", &[("asmith@example.com", User)]),
        group("SampleTeam1", &[("Editors", Group)]),
        group("Contractors", &[("dmoore@example.com", User)]),
        group(
            "SampleTeam2",
            &[("cbrown@example.com", User), ("Contractors", Group)],
        ),
        group(
            "HR",
            &[("hlee@example.com", User), ("fgarcia@example.com", User)],
        ),
    ]
}

fn set(allowed: Vec<IdentityRef>, denied: Vec<IdentityRef>, anyone: bool) -> PermissionSetView {
    PermissionSetView {
        allow_anonymous: anyone,
        allowed,
        denied,
    }
}

fn level(name: Option<&str>, sets: Vec<PermissionSetView>) -> PermissionLevelView {
    PermissionLevelView {
        name: name.map(str::to_owned),
        sets,
    }
}

/// One set, one implicit level: what the simple rules give (`modelOfRule` in `data.ts`).
fn simple(set: PermissionSetView) -> PermissionModelView {
    PermissionModelView {
        complete: false,
        levels: vec![level(None, vec![set])],
    }
}

fn groups(names: &[&str]) -> Vec<IdentityRef> {
    refs(names, IdentityKind::Group)
}

fn users(names: &[&str]) -> Vec<IdentityRef> {
    refs(names, IdentityKind::User)
}

/// The complete model of the reference's worked example (`workedExampleModel()`).
fn worked_example() -> PermissionModelView {
    PermissionModelView {
        complete: true,
        levels: vec![
            level(
                Some("Level 1"),
                vec![
                    set(vec![], vec![], true),
                    set(groups(&["SampleTeam1"]), groups(&["SampleTeam2"]), false),
                    set(
                        users(&["asmith@example.com", "cbrown@example.com"]),
                        users(&["bjones@example.com"]),
                        false,
                    ),
                ],
            ),
            level(
                Some("Level 2"),
                vec![
                    set(
                        users(&["bjones@example.com", "emitchell@example.com"]),
                        users(&["asmith@example.com"]),
                        false,
                    ),
                    set(users(&["MysteryUserX"]), vec![], false),
                ],
            ),
        ],
    }
}

/// Two levels the reference leaves open (§4.5) for SampleTeam1's people
/// (`leadsThenTeamModel()`).
fn leads_then_team() -> PermissionModelView {
    PermissionModelView {
        complete: true,
        levels: vec![
            level(
                Some("Leads"),
                vec![
                    set(groups(&["SampleTeam1"]), vec![], false),
                    set(groups(&["HR"]), vec![], false),
                ],
            ),
            level(
                Some("Team"),
                vec![set(groups(&["SampleTeam1"]), vec![], false)],
            ),
        ],
    }
}

/// `largeModel(count)` of `data.ts`: `count` users `user0000@example.com`, …, named across two
/// levels, and the identities it adds to the sample organization.
fn large(count: usize) -> (PermissionModelView, Vec<SecurityIdentity>) {
    let names: Vec<String> = (0..count)
        .map(|i| format!("user{i:04}@example.com"))
        .collect();
    let identities = names.iter().map(|n| user(n, &[])).collect();
    let refs = |from: usize, to: usize| {
        names[from..to]
            .iter()
            .map(|n| IdentityRef {
                name: n.clone(),
                kind: IdentityKind::User,
            })
            .collect::<Vec<_>>()
    };
    let quarter = count / 4;
    let model = PermissionModelView {
        complete: true,
        levels: vec![
            level(
                Some("Managers"),
                vec![set(refs(0, quarter), refs(quarter, quarter + 10), false)],
            ),
            level(
                Some("Staff"),
                vec![
                    set(refs(quarter + 10, quarter * 3), vec![], false),
                    set(refs(quarter * 3, count), vec![], false),
                ],
            ),
        ],
    };
    (model, identities)
}

/// The models the fake's sample folders, its Sandbox and the UI tests' rule changes produce,
/// by name.
fn sample_models() -> Vec<(&'static str, PermissionModelView)> {
    let only_hr = simple(set(groups(&["HR"]), vec![], false));
    let except_contractors = simple(set(vec![], groups(&["Contractors"]), true));
    let mut hr_then_except = PermissionModelView {
        complete: true,
        levels: only_hr.levels.clone(),
    };
    hr_then_except
        .levels
        .extend(except_contractors.levels.clone());
    vec![
        ("everyone", simple(set(vec![], vec![], true))),
        (
            "nobody (only, no one picked yet)",
            simple(set(vec![], vec![], false)),
        ),
        ("only HR", only_hr),
        (
            "only Contractors",
            simple(set(groups(&["Contractors"]), vec![], false)),
        ),
        (
            "only Editors",
            simple(set(groups(&["Editors"]), vec![], false)),
        ),
        (
            "only SampleTeam1 and SampleTeam2",
            simple(set(groups(&["SampleTeam1", "SampleTeam2"]), vec![], false)),
        ),
        ("everyone except Contractors", except_contractors),
        (
            "only HR, then a level: everyone except Contractors",
            hr_then_except,
        ),
        ("the worked example (complete)", worked_example()),
        ("leads, then the team (ambiguous)", leads_then_team()),
    ]
}

/// The large organization of the fake (`identities=1000`): the users "View as" picks in the UI
/// tests and the UI benchmark.
const LARGE: usize = 1_000;
const LARGE_USERS: &[&str] = &[
    "user0100@example.com",
    "user0255@example.com",
    "user0700@example.com",
    "user0900@example.com",
];

/// An answer of the host's "View as", without the item's model (the fake adds the model it
/// asked about).
fn explanation(world: &AccessWorld, model: &PermissionModelView, name: &str) -> Value {
    let domain = model_domain(model, Some(SANDBOX_PROVIDER));
    let user = permissions::QueryingUser::named(name);
    let mut answer = serde_json::to_value(world.explain(Some(&domain), &user)).unwrap();
    answer.as_object_mut().unwrap().remove("model");
    answer
}

fn world_of(identities: &[SecurityIdentity]) -> AccessWorld {
    let stored = validate_identities(identities).unwrap();
    AccessWorld::new(
        graph_of(&stored, SANDBOX_PROVIDER),
        SANDBOX_PROVIDER,
        SANDBOX_PROVIDER,
    )
}

const ABOUT: &str = "Written by the app host (src-tauri/src/host/fake_answers.rs): \
UPDATE_FIXTURES=1 cargo test -p pushdeck-app --lib fake_host. What the real host answers for \
the fake host's sample organization: worlds (identity lists as the app stores them, in the \
Sandbox's provider), models (as the UI draws them), and per (world, model, user) the answer of \
View as (without the model), or per (world, model) the rows of Who can see (every person the \
host lists, then anonymous). The fake host answers \
only from here; do not edit by hand.";

/// One JSON value per line inside the big arrays and maps, so that a diff shows which case
/// changed.
fn lines<I: IntoIterator<Item = String>>(items: I, open: &str, close: &str) -> String {
    let items: Vec<String> = items.into_iter().map(|i| format!("    {i}")).collect();
    format!("{open}\n{}\n  {close}", items.join(",\n"))
}

fn fixture() -> String {
    let sample = sample_identities();
    let (large_model, large_identities) = large(LARGE);
    let mut with_large = sample.clone();
    with_large.extend(large_identities);
    let worlds: Vec<(&str, &[SecurityIdentity])> =
        vec![("sample", &sample), ("sample and 1,000 users", &with_large)];
    let mut models = sample_models();
    models.push(("1,000 identities in two levels", large_model));

    let mut world_lines = Vec::new();
    let mut cases = Vec::new();
    for (name, identities) in &worlds {
        let world = world_of(identities);
        world_lines.push(format!("{}: {}", json!(name), json!(identities)));
        let (asked_models, asked_users): (Vec<_>, Vec<&str>) = if *name == "sample" {
            let users = identities
                .iter()
                .filter(|i| i.kind == IdentityKind::User)
                .map(|i| i.name.as_str())
                .collect();
            (models[..models.len() - 1].iter().collect(), users)
        } else {
            (
                models[models.len() - 1..].iter().collect(),
                LARGE_USERS.to_vec(),
            )
        };
        for (model_name, model) in asked_models {
            for user in &asked_users {
                cases.push(
                    json!({
                        "world": name,
                        "model": model_name,
                        "user": user,
                        "answer": explanation(&world, model, user),
                    })
                    .to_string(),
                );
            }
            if *name == "sample" {
                let domain = model_domain(model, Some(SANDBOX_PROVIDER));
                cases.push(
                    json!({
                        "world": name,
                        "model": model_name,
                        "whoCanSee": world.who_can_see(Some(&domain)),
                    })
                    .to_string(),
                );
            }
        }
    }
    let model_lines = models
        .iter()
        .map(|(name, model)| format!("{}: {}", json!(name), json!(model)));
    format!(
        "{{\n  \"about\": {},\n  \"worlds\": {},\n  \"models\": {},\n  \"cases\": {}\n}}\n",
        json!(ABOUT),
        lines(world_lines, "{", "}"),
        lines(model_lines, "{", "}"),
        lines(cases, "[", "]"),
    )
}

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc/fake/access-answers.json")
}

#[test]
fn the_fake_hosts_answers_are_the_hosts() {
    let expected = fixture();
    serde_json::from_str::<Value>(&expected).expect("the fixture is JSON");
    let path = fixture_path();
    if std::env::var_os("UPDATE_FIXTURES").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "{} differs from what the host answers for the fake's sample organization; run \
         UPDATE_FIXTURES=1 cargo test -p pushdeck-app --lib fake_host, and review the diff",
        path.display()
    );
}

#[test]
fn the_sample_answers_show_the_readings_where_the_reference_is_open() {
    let world = world_of(&sample_identities());
    let asmith = explanation(&world, &leads_then_team(), "asmith@example.com");
    assert_eq!(asmith["visible"], true);
    assert_eq!(asmith["uncertain"], true, "{asmith}");
    assert_eq!(asmith["otherReadings"][0]["reading"], "stricterLevels");
    let emitchell = explanation(&world, &worked_example(), "emitchell@example.com");
    assert_eq!(emitchell["visible"], true);
    assert_eq!(emitchell["uncertain"], false, "{emitchell}");
}
