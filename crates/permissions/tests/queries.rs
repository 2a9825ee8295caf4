//! The queries built on evaluation: who can see, what a viewer can see, the diff between two
//! models, the matrix; and folder rules evaluated end to end.

use permissions::{
    diff, what_can_see, who_can_see, AccessContext, AccessIndex, IdentityGraph, IdentityKey,
    PermissionIdentity, PermissionModel, PermissionRules, PermissionSet, Viewer,
};

const P: &str = "P";

/// hr1, hr2 in HR; intern1 in Interns, which is nested in HR; out1 in no group.
fn graph() -> IdentityGraph {
    let mut graph = IdentityGraph::new();
    let hr = IdentityKey::group(P, "HR");
    let interns = IdentityKey::group(P, "Interns");
    graph.add_member(&hr, &IdentityKey::user(P, "hr1"));
    graph.add_member(&hr, &IdentityKey::user(P, "hr2"));
    graph.add_member(&interns, &IdentityKey::user(P, "intern1"));
    graph.add_member(&hr, &interns);
    graph.add_member(
        &IdentityKey::group(P, "Outsiders"),
        &IdentityKey::user(P, "out1"),
    );
    graph
}

fn user(name: &str) -> Viewer {
    Viewer::Identity(IdentityKey::user(P, name))
}

fn names(viewers: &[Viewer]) -> Vec<String> {
    viewers
        .iter()
        .map(|v| match v {
            Viewer::Anonymous => "anonymous".to_owned(),
            Viewer::Identity(k) => k.name.clone(),
        })
        .collect()
}

fn only(groups: &[&str]) -> PermissionModel {
    PermissionModel::Simple(vec![PermissionSet {
        allow_anonymous: false,
        allowed_permissions: groups
            .iter()
            .map(|g| PermissionIdentity::group(*g))
            .collect(),
        denied_permissions: vec![],
    }])
}

fn everyone_except(groups: &[&str]) -> PermissionModel {
    PermissionModel::Simple(vec![PermissionSet {
        allow_anonymous: true,
        allowed_permissions: vec![],
        denied_permissions: groups
            .iter()
            .map(|g| PermissionIdentity::group(*g))
            .collect(),
    }])
}

#[test]
fn who_can_see_over_the_known_users() {
    let graph = graph();
    let ctx = AccessContext::new(&graph, P);
    let mut known = graph.users();
    known.push(Viewer::Anonymous);
    assert_eq!(
        names(&who_can_see(&ctx, &only(&["HR"]), &known)),
        ["hr1", "hr2", "intern1"]
    );
    assert_eq!(
        names(&who_can_see(&ctx, &everyone_except(&["Interns"]), &known)),
        ["hr1", "hr2", "out1", "anonymous"]
    );
    let index = AccessIndex::over_known_users(ctx);
    assert_eq!(index.viewers().len(), 5);
    assert_eq!(index.who_can_see(&only(&["Outsiders"])).len(), 1);
}

#[test]
fn what_a_viewer_can_see_over_a_list_of_items() {
    let graph = graph();
    let ctx = AccessContext::new(&graph, P);
    let items = [
        only(&["HR"]),
        only(&["Outsiders"]),
        everyone_except(&["HR"]),
        only(&["Interns"]),
    ];
    assert_eq!(what_can_see(&ctx, &user("intern1"), &items), [0, 3]);
    assert_eq!(what_can_see(&ctx, &user("out1"), &items), [1, 2]);
    assert_eq!(what_can_see(&ctx, &Viewer::Anonymous, &items), [2]);
    // A viewer the graph never saw is only themself: everyone-except lets them in.
    assert_eq!(what_can_see(&ctx, &user("newcomer"), &items), [2]);
}

#[test]
fn diff_lists_who_gains_and_who_loses_access() {
    let graph = graph();
    let ctx = AccessContext::new(&graph, P);
    let viewers = graph.users();
    let change = diff(
        &ctx,
        &only(&["HR"]),
        &only(&["Interns", "Outsiders"]),
        &viewers,
    );
    assert_eq!(names(&change.gained), ["out1"]);
    assert_eq!(names(&change.lost), ["hr1", "hr2"]);
    assert_eq!(names(&change.kept), ["intern1"]);
    assert!(!change.is_unchanged());
    assert!(diff(&ctx, &only(&["HR"]), &only(&["HR"]), &viewers).is_unchanged());
}

#[test]
fn the_matrix_answers_per_item_and_per_viewer() {
    let graph = graph();
    let ctx = AccessContext::new(&graph, P);
    let index = AccessIndex::new(
        ctx,
        vec![
            user("hr1"),
            user("intern1"),
            user("out1"),
            Viewer::Anonymous,
        ],
    );
    let items = [
        only(&["HR"]),
        everyone_except(&["Interns"]),
        only(&["Nobody"]),
    ];
    let matrix = index.matrix(&items);
    assert_eq!((matrix.item_count(), matrix.viewer_count()), (3, 4));
    assert_eq!(matrix.viewers_of(0).iter().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        matrix.by_viewer(),
        vec![vec![0, 1], vec![0], vec![1], vec![1]]
    );
    assert_eq!(matrix.items_of(2), [1]);
    assert!(matrix.viewers_of(2).is_empty());
    assert_eq!(matrix.visible_pairs(), 5);
    let why = index.explain(&items[1], 1).unwrap();
    assert!(
        why.to_string()
            .contains("hidden, a set of the permission sets denies"),
        "{why}"
    );
}

#[test]
fn folder_rules_evaluate_as_a_person_expects() {
    let rules = PermissionRules::from_toml_str(
        r#"
[[rule]]
path = "HR"
access = "only"
groups = ["HR"]

[[rule]]
path = "HR/Handbook"
mode = "add-level-after"
access = "everyone"

[[rule]]
path = "HR/Payroll"
mode = "add-level-before"
access = "deny"
groups = ["Interns"]

[[rule]]
path = "HR/Notices"
mode = "add-level-before"
access = "everyone-except"
groups = ["Interns"]
"#,
    )
    .unwrap()
    .compile()
    .unwrap();
    let graph = graph();
    let index = AccessIndex::new(
        AccessContext::new(&graph, P),
        vec![
            user("hr1"),
            user("intern1"),
            user("out1"),
            Viewer::Anonymous,
        ],
    );
    let who = |path: &str| {
        names(
            &index
                .who_can_see(&rules.resolve(path).unwrap().model)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(who("HR/policy.pdf"), ["hr1", "intern1"]);
    // HR decides first (all of HR sees it); everyone else falls through to "everyone".
    assert_eq!(
        who("HR/Handbook/welcome.pdf"),
        ["hr1", "intern1", "out1", "anonymous"]
    );
    // Interns are denied before HR's level is consulted.
    assert_eq!(who("HR/Payroll/2024.xlsx"), ["hr1"]);
    // "everyone except" as a first level decides for everyone but the interns.
    assert_eq!(who("HR/Notices/n.pdf"), ["hr1", "out1", "anonymous"]);
}
