//! The worked examples of reference §4.6 (simple and complete model), as data through one
//! `check` helper. Each case: a model (Push API JSON), a viewer, and the expected evaluation
//! written compactly: for every evaluated level, its outcome and the outcome of each set
//! (A = Allowed, D = Denied, U = Unspecified), then the verdict.

use permissions::{
    explain, AccessContext, AccessIndex, IdentityBody, IdentityGraph, IdentityKey, LevelOutcome,
    MappedIdentityBody, PermissionModel, SetOutcome, Viewer, Visibility,
};
use serde_json::json;

const P: &str = "P";
const EMAIL: &str = "Email Security Provider";

/// Provider P of §4.6: SampleTeam1 = {asmith, bjones}, SampleTeam2 = {cbrown, dmoore},
/// alias MysteryUserX → emitchell@example.com (Email provider), virtual group SampleGroup
/// (not containing emitchell). Users of P are named by their email in the examples' prose;
/// here asmith..dmoore are users of P and emitchell a user of the Email provider.
fn graph() -> IdentityGraph {
    let mut graph = IdentityGraph::new();
    let bodies = [
        json!({"identity": {"name": "SampleTeam1", "type": "GROUP"},
               "members": [{"name": "asmith", "type": "USER"}, {"name": "bjones", "type": "USER"}]}),
        json!({"identity": {"name": "SampleTeam2", "type": "GROUP"},
               "members": [{"name": "cbrown", "type": "USER"}, {"name": "dmoore", "type": "USER"}]}),
        json!({"identity": {"name": "SampleGroup", "type": "VIRTUAL_GROUP"},
               "members": [{"name": "cbrown", "type": "USER"}]}),
    ];
    for body in bodies {
        let body: IdentityBody = serde_json::from_value(body).unwrap();
        graph.put_identity(P, &body);
    }
    let alias: MappedIdentityBody = serde_json::from_value(json!({
        "identity": {"name": "MysteryUserX", "type": "USER"},
        "mappings": [{"name": "emitchell@example.com", "type": "USER", "provider": EMAIL}]}))
    .unwrap();
    graph.put_mapped_identity(P, &alias, EMAIL);
    graph
}

fn viewer(name: &str) -> Viewer {
    match name {
        "anonymous" => Viewer::Anonymous,
        "emitchell" => Viewer::Identity(IdentityKey::user(EMAIL, "emitchell@example.com")),
        other => Viewer::Identity(IdentityKey::user(P, other)),
    }
}

fn render(explanation: &permissions::Explanation) -> String {
    let mut parts = Vec::new();
    for level in explanation.levels.iter().filter(|l| l.evaluated) {
        let sets: Vec<&str> = level
            .sets
            .iter()
            .map(|s| match s.outcome {
                SetOutcome::Allowed => "A",
                SetOutcome::Denied => "D",
                SetOutcome::Unspecified => "U",
            })
            .collect();
        let outcome = match level.outcome {
            LevelOutcome::Allowed => "allowed",
            LevelOutcome::Denied => "denied",
            LevelOutcome::Inconclusive => "inconclusive",
            LevelOutcome::PartlyAllowed => "partly-allowed",
        };
        parts.push(format!("{outcome}({})", sets.join(" ")));
    }
    let verdict = match explanation.visibility {
        Visibility::Visible => "visible",
        Visibility::Hidden => "hidden",
    };
    let mut out = format!("{} => {verdict}", parts.join(" ; "));
    if let Some(level) = explanation.uncertain_level {
        out.push_str(&format!(" (uncertain at level {})", level + 1));
    }
    out
}

/// Evaluates `model` for each (viewer, expected) case, through the explaining path and the
/// indexed path, and checks both against the expected rendering.
fn check(model: serde_json::Value, cases: &[(&str, &str)]) {
    let graph = graph();
    let ctx = AccessContext::new(&graph, P);
    let model: PermissionModel = serde_json::from_value(model).unwrap();
    let viewers: Vec<Viewer> = cases.iter().map(|(name, _)| viewer(name)).collect();
    let index = AccessIndex::new(ctx, viewers.clone());
    let visible = index.visible_to(&model);
    let mut failures = Vec::new();
    for (position, ((name, expected), viewer)) in cases.iter().zip(&viewers).enumerate() {
        let explanation = explain(&ctx, &model, viewer);
        let actual = render(&explanation);
        if actual != *expected {
            failures.push(format!(
                "{name}: expected `{expected}`, got `{actual}`\n{explanation}"
            ));
        }
        let fast = visible.contains(position);
        if fast != (explanation.visibility == Visibility::Visible) {
            failures.push(format!(
                "{name}: the index says visible={fast}, the explanation disagrees"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn simple_model_of_the_reference() {
    check(
        json!([
            {"allowAnonymous": true, "deniedPermissions": [{"identity": "asmith", "identityType": "User"}]},
            {"allowAnonymous": false, "allowedPermissions": [
                {"identity": "SampleTeam1", "identityType": "Group"},
                {"identity": "emitchell@example.com", "identityType": "User", "securityProvider": EMAIL}]},
            {"allowAnonymous": false,
             "allowedPermissions": [{"identity": "MysteryUserX", "identityType": "User"}],
             "deniedPermissions": [{"identity": "SampleGroup", "identityType": "VirtualGroup"}]}
        ]),
        &[
            ("asmith", "denied(D A U) => hidden"),
            ("bjones", "partly-allowed(A A U) => hidden"),
            ("emitchell", "allowed(A A A) => visible"),
            ("anonymous", "partly-allowed(A U U) => hidden"),
            ("cbrown", "denied(A U D) => hidden"),
        ],
    );
}

#[test]
fn complete_model_of_the_reference() {
    check(
        json!([
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
                                        {"identity": "emitchell@example.com", "identityType": "User",
                                         "securityProvider": EMAIL}],
                 "deniedPermissions": [{"identity": "asmith", "identityType": "User"}]},
                {"allowedPermissions": [{"identity": "MysteryUserX", "identityType": "User"}]}
            ]}
        ]),
        &[
            ("asmith", "allowed(A A A) => visible"),
            ("bjones", "denied(A A D) => hidden"),
            ("cbrown", "denied(A D A) => hidden"),
            ("dmoore", "denied(A D U) => hidden"),
            (
                "emitchell",
                "partly-allowed(A U U) ; allowed(A A) => visible (uncertain at level 1)",
            ),
            (
                "anonymous",
                "partly-allowed(A U U) ; inconclusive(U U) => hidden",
            ),
            (
                "zlee",
                "partly-allowed(A U U) ; inconclusive(U U) => hidden",
            ),
        ],
    );
}

#[test]
fn explanation_names_the_chain_that_matched() {
    let graph = graph();
    let ctx = AccessContext::new(&graph, P);
    let model: PermissionModel = serde_json::from_value(json!([
        {"allowedPermissions": [{"identity": "MysteryUserX", "identityType": "User"}]}
    ]))
    .unwrap();
    let explanation = explain(&ctx, &model, &viewer("emitchell"));
    let matched = &explanation.levels[0].sets[0].allowed_by[0];
    assert_eq!(matched.identity, IdentityKey::user(P, "MysteryUserX"));
    assert_eq!(matched.chain.0.len(), 2);
    let text = explanation.to_string();
    assert!(
        text.contains("visible, every set of the permission sets allows"),
        "{text}"
    );
    assert!(text.contains("-> alias MysteryUserX"), "{text}");
}

#[test]
fn explanation_text_names_the_uncertain_level() {
    let graph = graph();
    let ctx = AccessContext::new(&graph, P);
    let model: PermissionModel = serde_json::from_value(json!([
        {"name": "Managers", "permissionSets": [
            {"allowAnonymous": true},
            {"allowedPermissions": [{"identity": "SampleTeam2", "identityType": "Group"}]}]},
        {"permissionSets": [{"allowedPermissions": [{"identity": "SampleTeam1", "identityType": "Group"}]}]}
    ]))
    .unwrap();
    let text = explain(&ctx, &model, &viewer("asmith")).to_string();
    let expected = "asmith (User, provider \"P\"): visible, every set of level 2 allows
  level 1 set 1: Allowed (allowAnonymous)
  level 1 set 2: Unspecified
  inconclusive at level 1 (\"Managers\"): allowed in some but not all sets, denied in none (evaluation continues)
  level 2 set 1: Allowed via asmith (User, provider \"P\") -> member of SampleTeam1 (Group, provider \"P\")
  uncertain: under the stricter reading of the documentation, level 1 (\"Managers\") would hide this item";
    assert_eq!(text, expected);
}
