//! Property tests over random identity graphs and random permission models.
//!
//! The properties, stated precisely:
//! 1. The indexed path ([`AccessIndex`]) and the explaining path ([`explain`]) agree for every
//!    viewer.
//! 2. Adding a deny entry to any set never shows the item to more viewers.
//! 3. Adding an allow entry to any set never hides the item from anyone.
//! 4. Adding a member to a group never hides an item from a viewer who saw it, *provided none
//!    of the identities that viewer newly reaches is named in a `deniedPermissions` entry*.
//!    Without the proviso it is false: a viewer who joins a denied group loses access (see
//!    `joining_a_denied_group_hides_the_item`). In general: growing a viewer's expansion can
//!    only turn sets from Unspecified to Allowed, unless a new identity is denied.
//! 5. Expansion is monotone: adding any edge (member, mapping, granted identity) never removes
//!    an identity from any viewer's expansion.
//! 6. Models round-trip through their JSON exactly.
//! 7. For querying users (P cascading to the Email provider), the index over resolved users
//!    and the analysis's explanation agree, and a person holds at least every identity their
//!    Email user expands to.

use permissions::{
    explain, AccessAnalysis, AccessContext, AccessIndex, IdentityGraph, IdentityKey, IdentityType,
    PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet, ProviderConfig, Providers,
    QueryingUser, Viewer, Visibility,
};
use proptest::prelude::*;

const P: &str = "P";
const EMAIL: &str = "Email";
const USERS: usize = 6;
const GROUPS: usize = 5;

#[derive(Debug, Clone)]
enum Edge {
    /// group g contains user u
    MemberUser(usize, usize),
    /// group g contains group h
    MemberGroup(usize, usize),
    /// user u of P is an alias of user e of the Email provider
    Mapping(usize, usize),
    /// identity (user u of P) is granted group g
    WellKnown(usize, usize),
}

fn user(i: usize) -> IdentityKey {
    IdentityKey::user(P, format!("u{i}"))
}
fn email(i: usize) -> IdentityKey {
    IdentityKey::user(EMAIL, format!("e{i}@example.com"))
}
fn group(i: usize) -> IdentityKey {
    IdentityKey::group(P, format!("g{i}"))
}

fn apply(graph: &mut IdentityGraph, edge: &Edge) {
    match *edge {
        Edge::MemberUser(g, u) => graph.add_member(&group(g), &user(u)),
        Edge::MemberGroup(g, h) => graph.add_member(&group(g), &group(h)),
        Edge::Mapping(u, e) => graph.add_mapping(&user(u), &email(e)),
        Edge::WellKnown(u, g) => graph.add_well_known(&user(u), &group(g)),
    }
}

fn build(edges: &[Edge]) -> IdentityGraph {
    let mut graph = IdentityGraph::new();
    edges.iter().for_each(|e| apply(&mut graph, e));
    graph
}

fn edge() -> impl Strategy<Value = Edge> {
    prop_oneof![
        (0..GROUPS, 0..USERS).prop_map(|(g, u)| Edge::MemberUser(g, u)),
        (0..GROUPS, 0..GROUPS).prop_map(|(g, h)| Edge::MemberGroup(g, h)),
        (0..USERS, 0..USERS).prop_map(|(u, e)| Edge::Mapping(u, e)),
        (0..USERS, 0..GROUPS).prop_map(|(u, g)| Edge::WellKnown(u, g)),
    ]
}

/// An entry naming a user of P, a user of Email, a group, or a name nobody has.
fn entry() -> impl Strategy<Value = PermissionIdentity> {
    prop_oneof![
        (0..USERS).prop_map(|u| PermissionIdentity::user(format!("u{u}"))),
        (0..USERS).prop_map(
            |e| PermissionIdentity::user(format!("e{e}@example.com")).with_provider(EMAIL)
        ),
        (0..GROUPS).prop_map(|g| PermissionIdentity::group(format!("g{g}"))),
        Just(PermissionIdentity::new("ghost", IdentityType::VirtualGroup)),
    ]
}

fn set() -> impl Strategy<Value = PermissionSet> {
    (
        any::<bool>(),
        prop::collection::vec(entry(), 0..3),
        prop::collection::vec(entry(), 0..2),
    )
        .prop_map(
            |(allow_anonymous, allowed_permissions, denied_permissions)| PermissionSet {
                allow_anonymous: allow_anonymous && allowed_permissions.is_empty(),
                allowed_permissions,
                denied_permissions,
            },
        )
}

fn model() -> impl Strategy<Value = PermissionModel> {
    prop_oneof![
        prop::collection::vec(set(), 0..4).prop_map(PermissionModel::Simple),
        prop::collection::vec(
            (
                prop::option::of("[A-Za-z ]{1,8}"),
                prop::collection::vec(set(), 0..3)
            )
                .prop_map(|(name, permission_sets)| PermissionLevel {
                    name,
                    permission_sets
                }),
            0..4
        )
        .prop_map(PermissionModel::Complete),
    ]
}

fn viewers() -> Vec<Viewer> {
    let mut viewers: Vec<Viewer> = (0..USERS).map(|u| Viewer::Identity(user(u))).collect();
    viewers.extend((0..USERS).map(|e| Viewer::Identity(email(e))));
    viewers.push(Viewer::Identity(IdentityKey::user(
        EMAIL,
        "stranger@example.com",
    )));
    viewers.push(Viewer::Anonymous);
    viewers
}

fn sets_mut(model: &mut PermissionModel) -> Vec<&mut PermissionSet> {
    match model {
        PermissionModel::Simple(sets) => sets.iter_mut().collect(),
        PermissionModel::Complete(levels) => levels
            .iter_mut()
            .flat_map(|l| l.permission_sets.iter_mut())
            .collect(),
    }
}

fn visible(graph: &IdentityGraph, model: &PermissionModel) -> Vec<bool> {
    let index = AccessIndex::new(AccessContext::new(graph, P), viewers());
    let set = index.visible_to(model);
    (0..viewers().len()).map(|i| set.contains(i)).collect()
}

fn people() -> Vec<QueryingUser> {
    let mut people: Vec<QueryingUser> = (0..USERS)
        .map(|u| QueryingUser::named(format!("u{u}")))
        .collect();
    people.extend((0..USERS).map(|e| QueryingUser::named(format!("e{e}@example.com"))));
    people.push(QueryingUser::in_provider("u0", P));
    people.push(QueryingUser::named("stranger@example.com"));
    people.push(QueryingUser::Anonymous);
    people
}

fn providers() -> Providers {
    Providers::new()
        .with(ProviderConfig::new(EMAIL, "EMAIL", Vec::<String>::new()))
        .with(ProviderConfig::new(P, "EXPANDED", [EMAIL]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn querying_users_index_and_explanation_agree(edges in prop::collection::vec(edge(), 0..14), model in model()) {
        let graph = build(&edges);
        let providers = providers();
        let analysis = AccessAnalysis::new(&graph, &providers, P);
        let people = people();
        let index = analysis.index(&people);
        let fast = index.visible_to(&model);
        for (i, person) in people.iter().enumerate() {
            let answer = analysis.explain(Some(&model), person);
            prop_assert_eq!(fast.contains(i), answer.is_visible(), "person {}", person);
            let resolved = analysis.resolve(person);
            let Viewer::Identity(own) = resolved.viewer().clone() else { continue };
            for (key, _) in graph.expand(&Viewer::Identity(own)).reached(&graph) {
                prop_assert!(resolved.expansion().contains_key(&graph, &key), "{} lacks {}", person, key);
            }
        }
    }

    #[test]
    fn the_index_and_the_explanation_agree(edges in prop::collection::vec(edge(), 0..14), model in model()) {
        let graph = build(&edges);
        let ctx = AccessContext::new(&graph, P);
        let fast = visible(&graph, &model);
        for (i, viewer) in viewers().iter().enumerate() {
            let explained = explain(&ctx, &model, viewer).visibility == Visibility::Visible;
            prop_assert_eq!(fast[i], explained, "viewer {}", viewer);
        }
    }

    #[test]
    fn adding_a_deny_never_shows_the_item_to_more_viewers(
        edges in prop::collection::vec(edge(), 0..14), model in model(), extra in entry(), pick in any::<prop::sample::Index>()
    ) {
        let graph = build(&edges);
        let before = visible(&graph, &model);
        let mut changed = model.clone();
        let mut sets = sets_mut(&mut changed);
        prop_assume!(!sets.is_empty());
        let n = sets.len();
        sets[pick.index(n)].denied_permissions.push(extra);
        let after = visible(&graph, &changed);
        for i in 0..before.len() {
            prop_assert!(!after[i] || before[i], "viewer {} gained access through a deny", viewers()[i]);
        }
    }

    #[test]
    fn adding_an_allow_never_hides_the_item(
        edges in prop::collection::vec(edge(), 0..14), model in model(), extra in entry(), pick in any::<prop::sample::Index>()
    ) {
        let graph = build(&edges);
        let before = visible(&graph, &model);
        let mut changed = model.clone();
        let mut sets = sets_mut(&mut changed);
        prop_assume!(!sets.is_empty());
        let n = sets.len();
        sets[pick.index(n)].allowed_permissions.push(extra);
        let after = visible(&graph, &changed);
        for i in 0..before.len() {
            prop_assert!(after[i] || !before[i], "viewer {} lost access through an allow", viewers()[i]);
        }
    }

    #[test]
    fn adding_a_member_never_hides_an_item_unless_a_newly_reached_identity_is_denied(
        edges in prop::collection::vec(edge(), 0..14), model in model(), g in 0..GROUPS, member in prop_oneof![
            (0..USERS).prop_map(|u| (true, u)), (0..GROUPS).prop_map(|h| (false, h))]
    ) {
        let before_graph = build(&edges);
        let mut after_graph = before_graph.clone();
        let new_edge = if member.0 { Edge::MemberUser(g, member.1) } else { Edge::MemberGroup(g, member.1) };
        apply(&mut after_graph, &new_edge);
        let before = visible(&before_graph, &model);
        let after = visible(&after_graph, &model);
        let denied: Vec<IdentityKey> = {
            let mut m = model.clone();
            sets_mut(&mut m).iter().flat_map(|s| s.denied_permissions.clone())
                .map(|e| IdentityKey::of_entry(&e, P)).collect()
        };
        for (i, viewer) in viewers().iter().enumerate() {
            if before[i] && !after[i] {
                let old = before_graph.expand(viewer);
                let new = after_graph.expand(viewer);
                let newly_denied = denied.iter().any(|k| new.contains_key(&after_graph, k) && !old.contains_key(&before_graph, k));
                prop_assert!(newly_denied, "viewer {} lost access without reaching a denied identity", viewer);
            }
        }
    }

    #[test]
    fn expansion_is_monotone(edges in prop::collection::vec(edge(), 0..14), extra in edge()) {
        let before_graph = build(&edges);
        let mut after_graph = before_graph.clone();
        apply(&mut after_graph, &extra);
        for viewer in viewers() {
            let before = before_graph.expand(&viewer).reached(&before_graph);
            let after = after_graph.expand(&viewer);
            for (key, _) in before {
                prop_assert!(after.contains_key(&after_graph, &key), "{} lost {} after adding {:?}", viewer, key, extra);
            }
        }
    }

    #[test]
    fn models_round_trip_through_json(model in model()) {
        let json = serde_json::to_string(&model).unwrap();
        let back: PermissionModel = serde_json::from_str(&json).unwrap();
        // An empty complete model is written `[]`, which reads back as the empty simple model:
        // the same JSON, so the same thing to the Push API.
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        if !matches!(&model, PermissionModel::Complete(levels) if levels.is_empty()) {
            prop_assert_eq!(back, model);
        }
    }
}

#[test]
fn joining_a_denied_group_hides_the_item() {
    // Everyone except group g0; u0 is visible until added to g0.
    let model = PermissionModel::Simple(vec![PermissionSet {
        allow_anonymous: true,
        allowed_permissions: vec![],
        denied_permissions: vec![PermissionIdentity::group("g0")],
    }]);
    let mut graph = build(&[]);
    let u0 = Viewer::Identity(user(0));
    assert_eq!(
        explain(&AccessContext::new(&graph, P), &model, &u0).visibility,
        Visibility::Visible
    );
    graph.add_member(&group(0), &user(0));
    assert_eq!(
        explain(&AccessContext::new(&graph, P), &model, &u0).visibility,
        Visibility::Hidden
    );
}

/// Valid documents to mutate: random edits of these reach deeper than random text.
const MODEL_SEED: &str = r#"[{"name":"L1","permissionSets":[{"allowAnonymous":true,"deniedPermissions":[{"identity":"g","identityType":"GROUP","securityProvider":"P"}]}]}]"#;
const RULES_SEED: &str = "[[rule]]\npath = \"HR/**\"\nmode = \"add-level-after\"\naccess = \"only\"\ngroups = [\"HR\"]\n[[rule]]\npath = \"\"\naccess = \"complete\"\nmodel = [{ allowAnonymous = true }]\n";

/// Replaces `len` bytes at `at` by `insert` (on char boundaries), a cheap structural mutation.
fn mutate(seed: &str, at: usize, len: usize, insert: &str) -> String {
    let mut start = at.min(seed.len());
    while !seed.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + len).min(seed.len());
    while !seed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}{}", &seed[..start], insert, &seed[end..])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The stable-Rust stand-in for the fuzz targets (which need nightly): the parsers return
    /// errors, never panic, on random and mutated input; what parses round-trips.
    #[test]
    fn parsers_never_panic_and_what_parses_round_trips(
        at in 0usize..200, len in 0usize..8, insert in "[\\[\\]{}\",:=a-zA-Z0-9 *\\n]{0,12}", noise in ".{0,40}"
    ) {
        for text in [mutate(MODEL_SEED, at, len, &insert), noise.clone()] {
            if let Ok(model) = serde_json::from_str::<PermissionModel>(&text) {
                let json = serde_json::to_string(&model).unwrap();
                let back: PermissionModel = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
            }
            let _ = serde_json::from_str::<permissions::IdentityBatch>(&text);
        }
        for text in [mutate(RULES_SEED, at, len, &insert), noise] {
            if let Ok(rules) = permissions::PermissionRules::from_toml_str(&text) {
                if let Ok(written) = rules.to_toml_string() {
                    prop_assert_eq!(permissions::PermissionRules::from_toml_str(&written).unwrap(), rules.clone());
                }
                if let Ok(compiled) = rules.compile() {
                    let _ = compiled.resolve("HR/a/b.pdf");
                }
            }
        }
    }
}
