//! The querying user and the access analysis, as data through one `check` helper: Coveo's
//! documented simple and complete examples (reference §4.6) for every user they name, and
//! nested, cyclic, alias-chain, cascade, letter-case, other-type, other-provider, granted,
//! no-permission and uncertain cases.
//!
//! The same cases, with the answers the crate gives, are the shared fixture
//! `ui/test/fixtures/access-cases.json` that the UI's unit tests replay. The test
//! `the_ui_fixture_is_what_the_crate_answers` fails when the file differs from what it would
//! write; `UPDATE_FIXTURES=1 cargo test -p permissions --test querying_user` rewrites it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use permissions::{
    AccessAnalysis, AccessAnswer, IdentityBatch, IdentityGraph, LevelOutcome, PermissionModel,
    ProviderConfig, Providers, QueryingUser, Reading, SetOutcome, Visibility,
};
use serde::Serialize;
use serde_json::{json, Value};

const P: &str = "P";
const EMAIL: &str = "Email Security Provider";

// ---------------------------------------------------------------------------------------------
// Worlds: providers, their configuration and their identities, as the Push API receives them
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct World {
    /// Which providers exist and where each cascades.
    providers: Providers,
    /// The provider of entries without `securityProvider` (the source's first provider).
    default_provider: String,
    /// Per provider, the identity batch pushed to it (every mapping names its provider).
    identities: BTreeMap<String, IdentityBatch>,
}

impl World {
    fn graph(&self) -> IdentityGraph {
        let mut graph = IdentityGraph::new();
        for (provider, batch) in &self.identities {
            let cascade = self
                .providers
                .cascade_target(provider)
                .unwrap_or(self.providers.email_provider());
            graph.apply_batch(provider, batch, cascade);
        }
        graph
    }
}

fn batch(value: Value) -> IdentityBatch {
    serde_json::from_value(value).unwrap()
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

fn alias(name: &str, target: &str, provider: &str) -> Value {
    json!({"identity": {"name": name, "type": "USER"},
           "mappings": [{"name": target, "type": "USER", "provider": provider}]})
}

/// Provider P of reference §4.6: SampleTeam1 = {asmith, bjones}, SampleTeam2 = {cbrown,
/// dmoore}, virtual group SampleGroup = {cbrown} (not emitchell), alias MysteryUserX →
/// emitchell@example.com in the Email Security Provider. P cascades to the Email Security
/// Provider, as the provider Pushdeck creates.
fn reference_world() -> World {
    World {
        providers: Providers::pushdeck([P]),
        default_provider: P.into(),
        identities: BTreeMap::from([(
            P.to_owned(),
            batch(json!({
                "members": [
                    group("SampleTeam1", json!([user("asmith"), user("bjones")])),
                    group("SampleTeam2", json!([user("cbrown"), user("dmoore")])),
                    {"identity": {"name": "SampleGroup", "type": "VIRTUAL_GROUP"},
                     "members": [user("cbrown")]}
                ],
                "mappings": [alias("MysteryUserX", "emitchell@example.com", EMAIL)]
            })),
        )]),
    }
}

/// Our own: P cascades to the Email Security Provider, Q cascades to P, N cascades nowhere,
/// and "Unlisted" has identities but no configuration.
/// - P: Staff = {amy, Engineering}; Engineering = {Contractors}, granted Everyone;
///   Contractors = {zed}; Loop1 = {Loop2}, Loop2 = {Loop1, cy} (a cycle); Readers = {Kim};
///   Managers = {max}; a *group* named amy = {bo}; alias dee → dee@example.com (Email).
/// - Q: QTeam = {qia}; alias D → dee (P) (an alias of an alias).
/// - N: NTeam = {amy}.  Unlisted: UTeam = {zed}.
fn own_world() -> World {
    World {
        providers: Providers::pushdeck([P])
            .with(ProviderConfig::new("Q", "EXPANDED", [P]))
            .with(ProviderConfig::standalone("N")),
        default_provider: P.into(),
        identities: BTreeMap::from([
            (
                P.to_owned(),
                batch(json!({
                    "members": [
                        group("Staff", json!([user("amy"), group_ref("Engineering")])),
                        {"identity": {"name": "Engineering", "type": "GROUP"},
                         "members": [group_ref("Contractors")],
                         "wellKnowns": [{"name": "Everyone", "type": "VIRTUAL_GROUP"}]},
                        group("Contractors", json!([user("zed")])),
                        group("Loop1", json!([group_ref("Loop2")])),
                        group("Loop2", json!([group_ref("Loop1"), user("cy")])),
                        group("Readers", json!([user("Kim")])),
                        group("Managers", json!([user("max")])),
                        group("amy", json!([user("bo")]))
                    ],
                    "mappings": [alias("dee", "dee@example.com", EMAIL)]
                })),
            ),
            (
                "Q".to_owned(),
                batch(json!({
                    "members": [group("QTeam", json!([user("qia")]))],
                    "mappings": [alias("D", "dee", P)]
                })),
            ),
            (
                "N".to_owned(),
                batch(json!({"members": [group("NTeam", json!([user("amy")]))]})),
            ),
            (
                "Unlisted".to_owned(),
                batch(json!({"members": [group("UTeam", json!([user("zed")]))]})),
            ),
        ]),
    }
}

fn worlds() -> BTreeMap<&'static str, World> {
    BTreeMap::from([("reference", reference_world()), ("own", own_world())])
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// The expected answer: visible or not, the chains of the deciding sets in words, and the
/// other readings that change the answer (with the visibility under each).
#[derive(Debug, Clone)]
struct Expect {
    visible: bool,
    because: Vec<&'static str>,
    uncertain: Vec<(Reading, bool)>,
}

fn visible(because: &[&'static str]) -> Expect {
    Expect {
        visible: true,
        because: because.to_vec(),
        uncertain: Vec::new(),
    }
}

fn hidden(because: &[&'static str]) -> Expect {
    Expect {
        visible: false,
        because: because.to_vec(),
        uncertain: Vec::new(),
    }
}

impl Expect {
    fn or_else(mut self, reading: Reading, visible: bool) -> Self {
        self.uncertain.push((reading, visible));
        self
    }
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    world: &'static str,
    permissions: Option<Value>,
    user: QueryingUser,
    expect: Expect,
}

fn named(name: &str) -> QueryingUser {
    if name == "anonymous" {
        QueryingUser::Anonymous
    } else {
        QueryingUser::named(name)
    }
}

/// One model, several users.
fn each(
    title: &str,
    world: &'static str,
    permissions: Option<Value>,
    users: Vec<(QueryingUser, Expect)>,
) -> Vec<Case> {
    users
        .into_iter()
        .map(|(user, expect)| Case {
            name: format!("{title}: {user}"),
            world,
            permissions: permissions.clone(),
            user,
            expect,
        })
        .collect()
}

fn allow(entries: Value) -> Value {
    json!([{"allowedPermissions": entries}])
}

fn g(name: &str) -> Value {
    json!({"identity": name, "identityType": "Group"})
}

fn u(name: &str) -> Value {
    json!({"identity": name, "identityType": "User"})
}

fn in_provider(mut entry: Value, provider: &str) -> Value {
    entry["securityProvider"] = json!(provider);
    entry
}

fn documented_simple() -> Vec<Case> {
    let model = json!([
        {"allowAnonymous": true, "deniedPermissions": [u("asmith")]},
        {"allowAnonymous": false, "allowedPermissions": [
            g("SampleTeam1"), in_provider(u("emitchell@example.com"), EMAIL)]},
        {"allowAnonymous": false, "allowedPermissions": [u("MysteryUserX")],
         "deniedPermissions": [{"identity": "SampleGroup", "identityType": "VirtualGroup"}]}
    ]);
    each(
        "documented simple example",
        "reference",
        Some(model),
        vec![
            (
                named("asmith"),
                hidden(&["asmith (Email Security Provider) → same user asmith (P) → set 1"]),
            ),
            (named("bjones"), hidden(&[])),
            (
                named("cbrown"),
                hidden(&["cbrown (Email Security Provider) → same user cbrown (P) → member of virtual group SampleGroup (P) → set 3"]),
            ),
            (named("dmoore"), hidden(&[])),
            (
                named("emitchell@example.com"),
                visible(&[
                    "anyone (allowAnonymous) → set 1",
                    "emitchell@example.com (Email Security Provider) → set 2",
                    "emitchell@example.com (Email Security Provider) → alias MysteryUserX (P) → set 3",
                ]),
            ),
            (named("anonymous"), hidden(&[])),
            (named("zlee"), hidden(&[])),
        ],
    )
}

fn documented_complete() -> Vec<Case> {
    let model = json!([
        {"name": "Level 1", "permissionSets": [
            {"allowAnonymous": true},
            {"allowedPermissions": [g("SampleTeam1")], "deniedPermissions": [g("SampleTeam2")]},
            {"allowedPermissions": [u("asmith"), u("cbrown")], "deniedPermissions": [u("bjones")]}
        ]},
        {"name": "Level 2", "permissionSets": [
            {"allowedPermissions": [u("bjones"), in_provider(u("emitchell@example.com"), EMAIL)],
             "deniedPermissions": [u("asmith")]},
            {"allowedPermissions": [u("MysteryUserX")]}
        ]}
    ]);
    let mut cases = each(
        "documented complete example",
        "reference",
        Some(model.clone()),
        vec![
            (
                named("asmith"),
                visible(&[
                    "anyone (allowAnonymous) → level 1, set 1",
                    "asmith (Email Security Provider) → same user asmith (P) → member of group SampleTeam1 (P) → level 1, set 2",
                    "asmith (Email Security Provider) → same user asmith (P) → level 1, set 3",
                ]),
            ),
            (
                named("bjones"),
                hidden(&["bjones (Email Security Provider) → same user bjones (P) → level 1, set 3"]),
            ),
            (
                named("cbrown"),
                hidden(&["cbrown (Email Security Provider) → same user cbrown (P) → member of group SampleTeam2 (P) → level 1, set 2"]),
            ),
            (
                named("dmoore"),
                hidden(&["dmoore (Email Security Provider) → same user dmoore (P) → member of group SampleTeam2 (P) → level 1, set 2"]),
            ),
            (
                named("emitchell@example.com"),
                visible(&[
                    "emitchell@example.com (Email Security Provider) → level 2, set 1",
                    "emitchell@example.com (Email Security Provider) → alias MysteryUserX (P) → level 2, set 2",
                ]),
            ),
            (named("anonymous"), hidden(&[])),
            (named("zlee"), hidden(&[])),
        ],
    );
    cases.extend(each(
        "documented complete example, other spellings",
        "reference",
        Some(model),
        vec![
            // The person names provider P: P cascades to the Email Security Provider.
            (
                QueryingUser::in_provider("asmith", P),
                visible(&[
                    "anyone (allowAnonymous) → level 1, set 1",
                    "asmith (P) → member of group SampleTeam1 (P) → level 1, set 2",
                    "asmith (P) → level 1, set 3",
                ]),
            ),
            // Names are compared exactly; ignoring case, ASMITH would be asmith of P.
            (
                named("ASMITH"),
                hidden(&[]).or_else(Reading::NamesIgnoringCase, true),
            ),
        ],
    ));
    cases
}

fn own_cases() -> Vec<Case> {
    let deny_engineering =
        json!([{"allowAnonymous": true, "deniedPermissions": [g("Engineering")]}]);
    let mut cases = Vec::new();
    cases.extend(each(
        "a member of a nested denied group",
        "own",
        Some(deny_engineering),
        vec![
            (
                named("zed"),
                hidden(&["zed (Email Security Provider) → same user zed (P) → member of group Contractors (P) → member of group Engineering (P) → set 1"]),
            ),
            (
                QueryingUser::in_provider("zed", P),
                hidden(&["zed (P) → member of group Contractors (P) → member of group Engineering (P) → set 1"]),
            ),
            (named("amy"), visible(&["anyone (allowAnonymous) → set 1"])),
        ],
    ));
    cases.extend(each(
        "a cycle of groups",
        "own",
        Some(allow(json!([g("Loop1")]))),
        vec![
            (
                named("cy"),
                visible(&["cy (Email Security Provider) → same user cy (P) → member of group Loop2 (P) → member of group Loop1 (P) → set 1"]),
            ),
            (named("amy"), hidden(&[])),
        ],
    ));
    cases.extend(each(
        "a granted identity",
        "own",
        Some(allow(json!([{"identity": "Everyone", "identityType": "VirtualGroup"}]))),
        vec![
            (
                named("zed"),
                visible(&["zed (Email Security Provider) → same user zed (P) → member of group Contractors (P) → member of group Engineering (P) → granted virtual group Everyone (P) → set 1"]),
            ),
            (named("amy"), hidden(&[])),
        ],
    ));
    cases.extend(each(
        "an alias of an alias",
        "own",
        Some(allow(json!([in_provider(u("D"), "Q")]))),
        vec![
            (
                named("dee@example.com"),
                visible(&["dee@example.com (Email Security Provider) → alias dee (P) → alias D (Q) → set 1"]),
            ),
            // dee of P is dee@example.com's alias, not a person called dee.
            (
                named("dee"),
                hidden(&[]).or_else(Reading::AliasedUserByName, true),
            ),
        ],
    ));
    cases.extend(each(
        "a provider cascading through another",
        "own",
        Some(allow(json!([in_provider(g("QTeam"), "Q")]))),
        vec![(
            named("qia"),
            visible(&["qia (Email Security Provider) → same user qia (Q) → member of group QTeam (Q) → set 1"]),
        )],
    ));
    cases.extend(each(
        "a user name differing only in case",
        "own",
        Some(allow(json!([g("Readers")]))),
        vec![
            (
                named("kim"),
                hidden(&[]).or_else(Reading::NamesIgnoringCase, true),
            ),
            (
                named("Kim"),
                visible(&["Kim (Email Security Provider) → same user Kim (P) → member of group Readers (P) → set 1"]),
            ),
        ],
    ));
    cases.extend(each(
        "an entry differing only in case",
        "own",
        Some(allow(json!([g("STAFF")]))),
        vec![(
            named("amy"),
            hidden(&[]).or_else(Reading::NamesIgnoringCase, true),
        )],
    ));
    cases.extend(each(
        "the same name with another type",
        "own",
        Some(allow(json!([g("amy")]))),
        vec![
            (named("amy"), hidden(&[])),
            (
                named("bo"),
                visible(&["bo (Email Security Provider) → same user bo (P) → member of group amy (P) → set 1"]),
            ),
        ],
    ));
    cases.extend(each(
        "the same name in a provider that does not cascade",
        "own",
        Some(allow(json!([in_provider(g("NTeam"), "N")]))),
        vec![
            (
                named("amy"),
                hidden(&[]).or_else(Reading::SameNameInAnyProvider, true),
            ),
            (
                QueryingUser::in_provider("amy", "N"),
                visible(&["amy (N) → member of group NTeam (N) → set 1"]),
            ),
        ],
    ));
    cases.extend(each(
        "the same name in a provider the configuration does not list",
        "own",
        Some(allow(json!([in_provider(g("UTeam"), "Unlisted")]))),
        vec![(
            named("zed"),
            hidden(&[]).or_else(Reading::SameNameInAnyProvider, true),
        )],
    ));
    cases.extend(each(
        "a user of the same name mapped to someone else",
        "own",
        Some(allow(json!([u("dee")]))),
        vec![
            (
                named("dee"),
                hidden(&[]).or_else(Reading::AliasedUserByName, true),
            ),
            (
                named("dee@example.com"),
                visible(&["dee@example.com (Email Security Provider) → alias dee (P) → set 1"]),
            ),
        ],
    ));
    cases.extend(each(
        "no rule, so no permissions",
        "own",
        None,
        vec![
            (named("zed"), visible(&[])),
            (named("anonymous"), visible(&[])),
        ],
    ));
    cases.extend(each(
        "empty permissions",
        "own",
        Some(json!([])),
        vec![(named("amy"), hidden(&[]))],
    ));
    cases.extend(each(
        "allowAnonymous",
        "own",
        Some(json!([{"allowAnonymous": true}])),
        vec![(
            named("anonymous"),
            visible(&["anyone (allowAnonymous) → set 1"]),
        )],
    ));
    cases.extend(each(
        "a named group only",
        "own",
        Some(allow(json!([g("Staff")]))),
        vec![
            (named("anonymous"), hidden(&[])),
            (
                named("zed"),
                visible(&["zed (Email Security Provider) → same user zed (P) → member of group Contractors (P) → member of group Engineering (P) → member of group Staff (P) → set 1"]),
            ),
        ],
    ));
    cases.extend(each(
        "a user no provider knows, named directly",
        "own",
        Some(allow(json!([in_provider(u("nobody@example.com"), EMAIL)]))),
        vec![(
            named("nobody@example.com"),
            visible(&["nobody@example.com (Email Security Provider) → set 1"]),
        )],
    ));
    cases.extend(each(
        "a level allowed in some sets by name",
        "own",
        Some(json!([
            {"name": "Managers only", "permissionSets": [
                {"allowedPermissions": [g("Staff")]},
                {"allowedPermissions": [g("Managers")]}]},
            {"permissionSets": [{"allowedPermissions": [g("Staff")]}]}
        ])),
        vec![(
            named("amy"),
            visible(&["amy (Email Security Provider) → same user amy (P) → member of group Staff (P) → level 2, set 1"])
                .or_else(Reading::StricterLevels, false),
        )],
    ));
    cases
}

fn cases() -> Vec<Case> {
    let mut all = documented_simple();
    all.extend(documented_complete());
    all.extend(own_cases());
    all
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

fn model_of(case: &Case) -> Option<PermissionModel> {
    case.permissions
        .as_ref()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
}

fn answer(world: &World, case: &Case) -> (AccessAnswer, Vec<String>, bool) {
    let graph = world.graph();
    let analysis = AccessAnalysis::new(&graph, &world.providers, &world.default_provider);
    let model = model_of(case);
    let resolved = analysis.resolve(&case.user);
    let answer = analysis.explain_resolved(model.as_ref(), &resolved);
    let identities = resolved
        .identities(&graph)
        .into_iter()
        .map(|r| r.text)
        .collect();
    let indexed = analysis
        .index(std::slice::from_ref(&case.user))
        .visible_to_item(model.as_ref())
        .contains(0);
    (answer, identities, indexed)
}

/// Every difference between a case's expectation and the crate's answer.
fn check(world: &World, case: &Case) -> Vec<String> {
    let (answer, _, indexed) = answer(world, case);
    let mut problems = Vec::new();
    let name = &case.name;
    if answer.is_visible() != case.expect.visible {
        problems.push(format!(
            "{name}: expected visible={}, got\n{answer}",
            case.expect.visible
        ));
    }
    if indexed != answer.is_visible() {
        problems.push(format!(
            "{name}: the index says visible={indexed}, the explanation disagrees"
        ));
    }
    let because: Vec<&str> = answer.because.iter().map(|b| b.text.as_str()).collect();
    if because != case.expect.because {
        problems.push(format!(
            "{name}: expected because {:#?}, got {because:#?}",
            case.expect.because
        ));
    }
    let uncertain: Vec<(Reading, bool)> = answer
        .other_readings
        .iter()
        .map(|o| (o.reading, o.visibility == Visibility::Visible))
        .collect();
    if uncertain != case.expect.uncertain {
        problems.push(format!(
            "{name}: expected other readings {:?}, got {uncertain:?}\n{answer}",
            case.expect.uncertain
        ));
    }
    if answer.uncertain == uncertain.is_empty() {
        problems.push(format!("{name}: `uncertain` disagrees with other_readings"));
    }
    problems
}

#[test]
fn every_case_gives_the_expected_answer() {
    let worlds = worlds();
    let problems: Vec<String> = cases()
        .iter()
        .flat_map(|case| check(&worlds[case.world], case))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn case_names_are_unique() {
    let cases = cases();
    let names: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len());
}

#[test]
fn documented_examples_who_can_see() {
    let world = reference_world();
    let graph = world.graph();
    let analysis = AccessAnalysis::new(&graph, &world.providers, P);
    let people: Vec<String> = analysis.people().iter().map(ToString::to_string).collect();
    assert_eq!(
        people,
        [
            "asmith",
            "bjones",
            "cbrown",
            "dmoore",
            "emitchell@example.com"
        ],
        "MysteryUserX is emitchell's alias, not a person"
    );
    for (models, expected) in [
        (documented_simple(), vec!["emitchell@example.com"]),
        (
            documented_complete(),
            vec!["asmith", "emitchell@example.com"],
        ),
    ] {
        let model = model_of(&models[0]);
        let who: Vec<String> = analysis
            .who_can_see(model.as_ref())
            .into_iter()
            .filter(AccessAnswer::is_visible)
            .map(|a| a.user.to_string())
            .collect();
        assert_eq!(who, expected);
    }
}

#[test]
fn a_resolved_user_lists_every_identity_with_its_chain() {
    let world = reference_world();
    let graph = world.graph();
    let analysis = AccessAnalysis::new(&graph, &world.providers, P);
    let texts = |user: QueryingUser| -> Vec<String> {
        analysis
            .resolve(&user)
            .identities(&graph)
            .into_iter()
            .map(|r| r.text)
            .collect()
    };
    assert_eq!(
        texts(QueryingUser::named("emitchell@example.com")),
        [
            "emitchell@example.com (Email Security Provider)",
            "emitchell@example.com (Email Security Provider) → alias MysteryUserX (P)",
        ]
    );
    assert_eq!(
        texts(QueryingUser::named("asmith")),
        [
            "asmith (Email Security Provider)",
            "asmith (Email Security Provider) → same user asmith (P)",
            "asmith (Email Security Provider) → same user asmith (P) → member of group SampleTeam1 (P)",
        ]
    );
    assert!(texts(QueryingUser::Anonymous).is_empty());
    let notes = analysis
        .resolve(&QueryingUser::named("MysteryUserX"))
        .reading_notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].reading, Reading::AliasedUserByName);
}

#[test]
fn providers_read_the_platform_shape_and_cascade_transitively() {
    let providers: Providers = serde_json::from_value(json!([
        {"id": "P", "type": "EXPANDED", "cascadingSecurityProviders":
            {"EmailSecurityProvider": {"id": "Email Security Provider", "type": "EMAIL"}}},
        {"id": "Q", "cascadingSecurityProviders": ["P"]},
        {"id": "N"}
    ]))
    .unwrap();
    assert_eq!(providers.email_provider(), EMAIL);
    assert!(providers.cascades_to("Q", EMAIL));
    assert!(!providers.cascades_to("N", EMAIL));
    assert_eq!(providers.cascade_target("P"), Some(EMAIL));
    let same: Vec<String> = providers.same_person_providers(EMAIL).into_iter().collect();
    assert_eq!(same, [EMAIL, "P", "Q"]);
    let same_for_p: Vec<String> = providers.same_person_providers("P").into_iter().collect();
    assert_eq!(same_for_p, [EMAIL, "P", "Q"]);
    let same_for_n: Vec<String> = providers.same_person_providers("N").into_iter().collect();
    assert_eq!(same_for_n, ["N"]);
}

// ---------------------------------------------------------------------------------------------
// The shared fixture
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fixture {
    about: &'static str,
    worlds: BTreeMap<&'static str, World>,
    cases: Vec<FixtureCase>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixtureCase {
    name: String,
    world: &'static str,
    /// The item's `permissions` as the Push API spells them; `null`: no permissions.
    permissions: Option<PermissionModel>,
    user: QueryingUser,
    expected: FixtureAnswer,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixtureAnswer {
    visible: bool,
    summary: String,
    /// The chains of the deciding sets, in words.
    because: Vec<String>,
    /// Other readings that change the answer.
    other_readings: Vec<FixtureReading>,
    /// Per level: its outcome, whether it was evaluated, each set's outcome. `null`: no
    /// permissions.
    levels: Option<Vec<FixtureLevel>>,
    /// Every identity the user holds, with its chain, in words.
    identities: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixtureReading {
    reading: Reading,
    visible: bool,
    text: String,
    because: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixtureLevel {
    outcome: LevelOutcome,
    evaluated: bool,
    sets: Vec<SetOutcome>,
}

const ABOUT: &str =
    "Written by the permissions crate (crates/permissions/tests/querying_user.rs): \
UPDATE_FIXTURES=1 cargo test -p permissions --test querying_user. Each case: a world (providers \
with their cascading, the identity batch pushed to each provider), an item's permissions, a \
querying user, and the crate's answer. Replayed by the UI's unit tests; do not edit by hand \
(the Rust test fails when this file differs from what it would write).";

fn fixture() -> String {
    let worlds = worlds();
    let cases = cases()
        .into_iter()
        .map(|case| {
            let world = &worlds[case.world];
            let (answer, identities, _) = answer(world, &case);
            let texts = |b: &[permissions::Because]| b.iter().map(|b| b.text.clone()).collect();
            FixtureCase {
                permissions: model_of(&case),
                expected: FixtureAnswer {
                    visible: answer.is_visible(),
                    summary: answer.summary.clone(),
                    because: texts(&answer.because),
                    other_readings: answer
                        .other_readings
                        .iter()
                        .map(|o| FixtureReading {
                            reading: o.reading,
                            visible: o.visibility == Visibility::Visible,
                            text: o.text.clone(),
                            because: texts(&o.because),
                        })
                        .collect(),
                    levels: answer.explanation.as_ref().map(|e| {
                        e.levels
                            .iter()
                            .map(|l| FixtureLevel {
                                outcome: l.outcome,
                                evaluated: l.evaluated,
                                sets: l.sets.iter().map(|s| s.outcome).collect(),
                            })
                            .collect()
                    }),
                    identities,
                },
                name: case.name,
                world: case.world,
                user: case.user,
            }
        })
        .collect();
    let fixture = Fixture {
        about: ABOUT,
        worlds,
        cases,
    };
    serde_json::to_string_pretty(&fixture).unwrap() + "\n"
}

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/test/fixtures/access-cases.json")
}

#[test]
fn the_ui_fixture_is_what_the_crate_answers() {
    let expected = fixture();
    let path = fixture_path();
    if std::env::var_os("UPDATE_FIXTURES").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} differs from what the permissions crate answers; regenerate it with \
         UPDATE_FIXTURES=1 cargo test -p permissions --test querying_user, and review the diff",
        path.display()
    );
}
