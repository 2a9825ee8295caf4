//! Rescan with nothing changed, next to `find`.
//!
//! `cargo run --release -p sync-engine --example bench_rescan -- prepare DIR STATE_DB [FILES]`
//! creates FILES (default 100,000) small files under DIR and a state store that knows them;
//! `... -- measure DIR STATE_DB` then times, in a fresh process, what a periodic rescan does:
//! load the known files from the store, walk and stat every file, plan; and times
//! `find DIR -type f -printf '%s %T@\n' > /dev/null` on the same tree.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use sync_engine::config::FolderMapping;
use sync_engine::plan::{plan, PlanMode, PlanRules};
use sync_engine::scan::{scan, ScanRequest, SCAN_THREADS};
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
        eprintln!("usage: bench_rescan prepare|measure DIR STATE_DB [FILES]");
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
            // Warm the page cache for both, then measure each once.
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
            find();
            let find_s = find();
            // In the order (and with the lifetimes) of the engine's run: known files, scan
            // (known dropped), items, plan.
            let t = Instant::now();
            let store = Store::open(state).unwrap();
            let known = store.known_files("bench").unwrap();
            let mut load_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let snapshot = scan(&request(dir, &mapping), &known);
            drop(known);
            let scan_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let items = store.items("bench").unwrap();
            load_s += t.elapsed().as_secs_f64();
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
            let total = load_s + scan_s + plan_s;
            let (cpu, rss) = process_figures();
            println!(
                "files {} hashed {} changes {} | load {load_s:.3}s scan {scan_s:.3}s plan {plan_s:.3}s total {total:.3}s | find {find_s:.3}s | scan/find {:.2}x total/find {:.2}x | cpu {cpu:.2}s peak RSS {rss:.1} MB",
                snapshot.files.len(),
                snapshot.stats.hashed,
                p.pushes.len() + p.deletes.len(),
                scan_s / find_s,
                total / find_s
            );
        }
        other => {
            eprintln!("unknown mode {other}: use prepare or measure");
            std::process::exit(2);
        }
    }
}
