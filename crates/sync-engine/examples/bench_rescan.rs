//! Rescan with nothing changed, next to `find`.
//!
//! `cargo run --release -p sync-engine --example bench_rescan -- prepare DIR STATE_DB [FILES]`
//! creates FILES (default 100,000) small files under DIR and a state store that knows them;
//! `... -- measure DIR STATE_DB [ROUNDS]` then times, in a fresh process, what a periodic
//! rescan does (open the store, walk and stat every file while the store's items load on
//! another thread, compare, plan), alternating ROUNDS times (default 5) with
//! `find DIR -type f -printf '%s %T@\n' > /dev/null` on the same tree, and prints each
//! round (with the process's resident set after it, so growth across rounds shows), the
//! median ratio and the process's peak resident set after all rounds (VmHWM).
//! `... -- measure DIR STATE_DB ROUNDS thread` runs each round's scan on a new thread, as the
//! engine's `spawn_blocking` may (its blocking threads end when idle): each new thread takes
//! one of the allocator's arenas, so what one scan left behind in an arena shows here.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use sync_engine::config::FolderMapping;
use sync_engine::plan::{plan, PlanMode, PlanRules};
use sync_engine::scan::{scan, scan_with_items, ScanRequest, SCAN_THREADS};
use sync_engine::state::{AcceptedItem, Store};

include!("support/figures.rs");

fn request(dir: &Path, mapping: &FolderMapping) -> ScanRequest {
    ScanRequest {
        root: dir.to_path_buf(),
        filters: mapping.compiled_filters().expect("default filters compile"),
        follow_symlinks: false,
        scope: Vec::new(),
        threads: SCAN_THREADS,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bench_rescan prepare DIR STATE_DB [FILES] | measure DIR STATE_DB [ROUNDS [thread]]");
        std::process::exit(2);
    }
    let dir = Path::new(&args[2]);
    let state = Path::new(&args[3]);
    let mapping = FolderMapping::new("bench", dir, "sandbox", "documents");
    match args[1].as_str() {
        "prepare" => {
            let files: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(100_000);
            for i in 0..files {
                let sub = dir.join(format!("d{:03}/e{:02}", i % 1000, (i / 1000) % 10));
                std::fs::create_dir_all(&sub).unwrap();
                std::fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n")).unwrap();
            }
            let snapshot = scan(&request(dir, &mapping), &Default::default());
            let p = plan(
                &[],
                &snapshot,
                &PlanRules {
                    folder: &mapping,
                    permissions: None,
                    mode: PlanMode::Incremental,
                },
            );
            let accepted: Vec<AcceptedItem> = p
                .pushes
                .iter()
                .map(|i| AcceptedItem {
                    path: i.path.clone(),
                    document_id: i.document_id.clone(),
                    content_hash: i.content_hash.clone(),
                    size: i.size,
                    mtime_ns: i.mtime_ns,
                    file_id: i.file_id,
                    permission_fp: i.permission_fp.clone(),
                    metadata_fp: i.metadata_fp.clone(),
                })
                .collect();
            let mut store = Store::open(state).unwrap();
            store.record_accepted("bench", &accepted, Some(1)).unwrap();
            println!(
                "prepared {} files in {} and {}",
                accepted.len(),
                dir.display(),
                state.display()
            );
        }
        "measure" => {
            let rounds: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(5);
            let own_thread = match args.get(5).map(String::as_str) {
                None => false,
                Some("thread") => true,
                Some(other) => {
                    eprintln!("unknown option {other}: the fifth argument may only be `thread`");
                    std::process::exit(2);
                }
            };
            let find = || {
                let t = Instant::now();
                let status = Command::new("find")
                    .arg(dir)
                    .args(["-type", "f", "-printf", "%s %T@\\n"])
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success());
                t.elapsed().as_secs_f64()
            };
            // Warm the page cache for both, then alternate: find, ours, find, ours...
            find();
            let mut ratios = Vec::new();
            for round in 1..=rounds {
                let find_s = find();
                // What the engine's run does (`engine::scan_and_plan`): open the store, walk
                // while the items load on another thread, compare, plan.
                let t = Instant::now();
                let mut store = Store::open(state).unwrap();
                let open_s = t.elapsed().as_secs_f64();
                let loader = &mut store;
                let mut load_s = 0.0;
                let load_time = &mut load_s;
                let request = request(dir, &mapping);
                let scan = || {
                    scan_with_items(&request, move || {
                        let t = Instant::now();
                        let items = loader.items("bench");
                        *load_time = t.elapsed().as_secs_f64();
                        items
                    })
                    .unwrap()
                };
                let (snapshot, items) = if own_thread {
                    std::thread::scope(|s| s.spawn(scan).join().unwrap())
                } else {
                    scan()
                };
                let scan_s = t.elapsed().as_secs_f64() - open_s;
                let t = Instant::now();
                let p = plan(
                    &items,
                    &snapshot,
                    &PlanRules {
                        folder: &mapping,
                        permissions: None,
                        mode: PlanMode::Incremental,
                    },
                );
                let plan_s = t.elapsed().as_secs_f64();
                let total = open_s + scan_s + plan_s;
                let changes = p.pushes.len() + p.deletes.len();
                let (files, hashed) = (snapshot.files.len(), snapshot.stats.hashed);
                // Everything of the round is dropped before the resident set is read, as the
                // engine drops it when the run ends.
                drop((p, snapshot, items, store));
                ratios.push(total / find_s);
                println!(
                    "round {round}: files {files} hashed {hashed} changes {changes} | open {open_s:.3}s scan+load {scan_s:.3}s (load alone {load_s:.3}s, beside the walk) plan {plan_s:.3}s total {total:.3}s | find {find_s:.3}s | total/find {:.2}x | RSS {:.1} MB (peak so far {:.1} MB)",
                    total / find_s,
                    status_mb("VmRSS:"),
                    process_figures().1
                );
            }
            ratios.sort_by(f64::total_cmp);
            let (cpu, rss) = process_figures();
            println!(
                "median total/find {:.2}x (min {:.2}x, max {:.2}x) over {rounds} rounds | cpu {cpu:.2}s peak RSS {rss:.1} MB (VmHWM after all rounds)",
                ratios[ratios.len() / 2],
                ratios[0],
                ratios[ratios.len() - 1]
            );
        }
        other => {
            eprintln!("unknown mode {other}: use prepare or measure");
            std::process::exit(2);
        }
    }
}
