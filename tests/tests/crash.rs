//! kill -9 of the real `pushdeck sync --once` (and `--rebuild`) at seeded random points,
//! then a restart that must converge: the emulator holds exactly the folder (documentIds,
//! SHA-256 of the content, and the permissions a clean reference run gives), nothing missing,
//! nothing stale, no item left with older content.
//!
//! `PUSHDECK_PROOF_KILLS` (default 8) kill points; `PUSHDECK_PROOF_SEED` the seed of the edits
//! and kill delays. Each kill point prints where it landed (how many Push requests the killed
//! process had completed, and the last one), so a run shows that the points spread over
//! before, during and after batches and over a rebuild's delete-older-than.
//!
//! The sync engine's own crash test (crates/sync-engine/tests/crash.rs) kills an example
//! binary; this one kills the shipped command, with its configuration file, permission rules
//! and state store location.

use std::time::Instant;

use push_emulator::Faults;
use pushdeck_proof::{all_text, env_number, World, SOURCE};
use rand::{Rng, SeedableRng};

/// Latency added to every Push request: stretches each request so that kill points land
/// inside requests, not only between them. Higher makes the default run slower.
const LATENCY_MS: u64 = 40;

/// Files of the starting corpus; `HR/` ones carry the restricted permission set.
const START_FILES: usize = 80;

fn edit_folder(w: &World, rng: &mut impl Rng, round: usize) {
    let existing: Vec<_> = pushdeck_proof::expected_items(&w.docs())
        .into_keys()
        .collect();
    // Update a few files, add a few, delete a few (deletes only when there is room).
    for _ in 0..rng.gen_range(1..6) {
        let n = rng.gen_range(0..START_FILES + round * 3);
        let dir = if n % 5 == 0 { "HR" } else { "team" };
        w.write(
            &format!("{dir}/f{n}.txt"),
            format!(
                "round {round} file {n} {}",
                "x".repeat(rng.gen_range(10..3000))
            ),
        );
    }
    if existing.len() > 20 {
        for _ in 0..rng.gen_range(0..4) {
            let n = rng.gen_range(0..START_FILES + round * 3);
            let _ = std::fs::remove_file(w.docs().join(format!("team/f{n}.txt")));
        }
    }
}

#[test]
fn kill_9_at_random_points_then_restart_converges() {
    let kills: usize = env_number("PUSHDECK_PROOF_KILLS", 8);
    let seed: u64 = env_number("PUSHDECK_PROOF_SEED", 2026);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let w = World::new();
    for n in 0..START_FILES {
        let dir = if n % 5 == 0 { "HR" } else { "team" };
        w.write(
            &format!("{dir}/f{n}.txt"),
            format!("start {n} ").repeat(50 + n * 7),
        );
    }
    w.emu.set_faults(Faults {
        latency_ms: LATENCY_MS,
        ..Default::default()
    });

    // The length of one uninterrupted sync (into the reference source): kill delays are drawn
    // within it, a little past its end too, to hit "after the last batch, before exit".
    let started = Instant::now();
    let out = w.run(&mut w.config_sync_cmd("probe", &[]));
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    let full = started.elapsed();

    let mut landed = Vec::new();
    for point in 0..kills {
        if point > 0 {
            edit_folder(&w, &mut rng, point);
        }
        // Every fourth kill point interrupts a rebuild (push everything, then
        // delete-older-than).
        let rebuild = point % 4 == 3;
        let extra: &[&str] = if rebuild { &["--rebuild"] } else { &[] };
        w.clear_requests();
        let mut child = w
            .config_sync_cmd(SOURCE, extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pushdeck starts");
        // A rebuild's points lean to its end, where its delete-older-than is sent.
        let delay = if rebuild {
            full.mul_f64(rng.gen_range(0.5..1.4))
        } else {
            full.mul_f64(rng.gen_range(0.0..1.2))
        };
        std::thread::sleep(delay);
        let exited_before = matches!(child.try_wait(), Ok(Some(_)));
        // Child::kill sends SIGKILL on Unix: no handler runs, nothing is flushed.
        let _ = child.kill();
        let _ = child.wait();
        let log = w.requests();
        let last = log
            .last()
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap_or(""),
                    r["path"].as_str().unwrap_or("")
                )
            })
            .unwrap_or_else(|| "none".into());
        let phase = if exited_before {
            "after exit".to_string()
        } else {
            format!("after {} request(s), last {last}", log.len())
        };
        println!(
            "kill point {point}: {}{} ms, {phase}",
            if rebuild { "rebuild, " } else { "" },
            delay.as_millis()
        );
        landed.push(phase);

        // Restart: a plain sync must converge.
        let out = w.run(&mut w.config_sync_cmd(SOURCE, &[]));
        assert_eq!(
            out.status.code(),
            Some(0),
            "restart after kill point {point} failed:\n{}",
            all_text(&out)
        );
        if rebuild {
            // The delete-older-than of a rebuild runs after its queueDelay.
            w.run_queued_deletes();
        }
        // The reference source gets the same folder through a clean run, for permissions.
        let out = w.run(&mut w.config_sync_cmd("probe", &[]));
        assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
        let diff = w.differences(SOURCE, Some("probe"));
        assert!(
            diff.is_empty(),
            "after kill point {point} ({}) and a restart, the source differs from the folder:\n{}",
            landed[point],
            diff.join("\n")
        );
    }
    println!(
        "{kills} kill points (seed {seed}), one sync takes {} ms",
        full.as_millis()
    );
    // Make sure the permissions really differ between HR and the rest (the comparison above
    // would pass trivially if no item had permissions).
    let items = w.items(SOURCE);
    let hr = items
        .iter()
        .find(|(id, _)| id.contains("/HR/"))
        .map(|(_, it)| it["permissions"].to_string())
        .unwrap_or_default();
    assert!(
        hr.contains("HR Team"),
        "HR items carry the HR Team group: {hr}"
    );
}
