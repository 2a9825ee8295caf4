//! Benchmark of the "what can each user see" matrix: 10,000 items against 1,000 users in 200
//! groups nested 5 deep (plus an alias per user), target under 1 s.
//!
//! Run: `cargo run -p permissions --release --example matrix_bench`
//! Prints one line per phase with its wall-clock time.

use std::time::Instant;

use permissions::{
    explain_expanded, AccessAnalysis, AccessContext, AccessIndex, IdentityGraph, IdentityKey,
    PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet, Providers, QueryingUser,
    Viewer, Visibility,
};

const USERS: usize = 1_000;
const GROUPS: usize = 200;
const DEPTH: usize = 5;
const ITEMS: usize = 10_000;
const PROVIDER: &str = "Directory";
const EMAIL: &str = "Email Security Provider";

/// A small deterministic generator (xorshift64*): the same graph and items on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn group_name(layer: usize, i: usize) -> String {
    format!("group-{layer}-{i}")
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let per_layer = GROUPS / DEPTH;

    let started = Instant::now();
    let mut graph = IdentityGraph::new();
    // Layer 0 groups hold users (each user in 2 groups); layer k+1 groups hold 2 groups of
    // layer k, so a user reaches groups 5 levels up.
    for u in 0..USERS {
        let user = IdentityKey::user(PROVIDER, format!("user{u}"));
        for _ in 0..2 {
            let g = IdentityKey::group(PROVIDER, group_name(0, rng.below(per_layer)));
            graph.add_member(&g, &user);
        }
        // Each directory user is an alias of the email the viewer signs in with.
        graph.add_mapping(
            &user,
            &IdentityKey::user(EMAIL, format!("user{u}@example.com")),
        );
    }
    for layer in 1..DEPTH {
        for i in 0..per_layer {
            for _ in 0..2 {
                let child =
                    IdentityKey::group(PROVIDER, group_name(layer - 1, rng.below(per_layer)));
                graph.add_member(&IdentityKey::group(PROVIDER, group_name(layer, i)), &child);
            }
        }
    }
    let viewers: Vec<Viewer> = (0..USERS)
        .map(|u| Viewer::Identity(IdentityKey::user(EMAIL, format!("user{u}@example.com"))))
        .chain([Viewer::Anonymous])
        .collect();

    let entry = |rng: &mut Rng| -> PermissionIdentity {
        if rng.below(4) == 0 {
            PermissionIdentity::user(format!("user{}", rng.below(USERS)))
        } else {
            PermissionIdentity::group(group_name(rng.below(DEPTH), rng.below(per_layer)))
        }
    };
    let set = |rng: &mut Rng| -> PermissionSet {
        let allowed = (0..1 + rng.below(4)).map(|_| entry(rng)).collect();
        let denied = (0..rng.below(3)).map(|_| entry(rng)).collect();
        PermissionSet {
            allow_anonymous: rng.below(10) == 0,
            allowed_permissions: allowed,
            denied_permissions: denied,
        }
    };
    let items: Vec<PermissionModel> = (0..ITEMS)
        .map(|_| {
            if rng.below(3) == 0 {
                PermissionModel::Complete(
                    (0..2)
                        .map(|l| PermissionLevel {
                            name: Some(format!("Level {}", l + 1)),
                            permission_sets: (0..1 + rng.below(2)).map(|_| set(&mut rng)).collect(),
                        })
                        .collect(),
                )
            } else {
                PermissionModel::Simple((0..1 + rng.below(3)).map(|_| set(&mut rng)).collect())
            }
        })
        .collect();
    let entries: usize = items.iter().map(PermissionModel::permission_count).sum();
    println!(
        "setup: {} identities, {} viewers, {} items, {} permission entries, built in {:.1} ms",
        graph.len(),
        viewers.len(),
        items.len(),
        entries,
        started.elapsed().as_secs_f64() * 1e3
    );

    let ctx = AccessContext::new(&graph, PROVIDER);
    let total = Instant::now();
    let t = Instant::now();
    let index = AccessIndex::new(ctx, viewers.clone());
    let expand_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let matrix = index.matrix(&items);
    let matrix_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let by_viewer = matrix.by_viewer();
    let transpose_ms = t.elapsed().as_secs_f64() * 1e3;
    let total_ms = total.elapsed().as_secs_f64() * 1e3;
    println!("expand {} viewers once: {expand_ms:.1} ms", viewers.len());
    println!(
        "matrix {} items x {} viewers: {matrix_ms:.1} ms",
        items.len(),
        viewers.len()
    );
    println!("per-viewer item lists (transpose): {transpose_ms:.1} ms");
    println!(
        "TOTAL what-can-each-user-see: {total_ms:.1} ms (target < 1000 ms); {} visible pairs, \
         {:.1} items per viewer on average",
        matrix.visible_pairs(),
        by_viewer.iter().map(Vec::len).sum::<usize>() as f64 / viewers.len() as f64
    );

    // The explaining path, for comparison: one viewer against every item, and a cross-check.
    let viewer = &viewers[0];
    let t = Instant::now();
    let expansion = graph.expand(viewer);
    let mut disagreements = 0;
    for (i, model) in items.iter().enumerate() {
        let visible =
            explain_expanded(&ctx, model, viewer, &expansion).visibility == Visibility::Visible;
        if visible != matrix.is_visible(i, 0) {
            disagreements += 1;
        }
    }
    println!(
        "explain one viewer x {} items: {:.1} ms ({} disagreements with the matrix)",
        items.len(),
        t.elapsed().as_secs_f64() * 1e3,
        disagreements
    );

    // The same people as querying users (the provider cascading to the Email Security
    // Provider, as Pushdeck creates it): the index over resolved users, and "who can see" one
    // item with every answer explained (the other readings included).
    let providers = Providers::pushdeck([PROVIDER]);
    let analysis = AccessAnalysis::new(&graph, &providers, PROVIDER);
    let people: Vec<QueryingUser> = (0..USERS)
        .map(|u| QueryingUser::named(format!("user{u}@example.com")))
        .chain([QueryingUser::Anonymous])
        .collect();
    let t = Instant::now();
    let people_index = analysis.index(&people);
    let people_matrix = people_index.matrix(&items);
    let differing = (0..items.len())
        .filter(|i| people_matrix.viewers_of(*i) != matrix.viewers_of(*i))
        .count();
    println!(
        "querying users: resolve {} and the whole matrix: {:.1} ms ({differing} items differ \
         from the viewer matrix)",
        people.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let answers = analysis.who_can_see(Some(&items[0]));
    println!(
        "who can see one item, {} people explained: {:.1} ms",
        answers.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
}
