//! Faults at set rates during syncs of a few hundred files by the real `pushdeck` binary:
//! 429 with Retry-After, bursts of 5xx, dropped connections, failing uploads, slow answers.
//! The end state must be exact, every Retry-After respected (read from the emulator's request
//! log: the retry of a throttled request starts no earlier than the time it was given), and the
//! number of requests bounded (no storm).
//!
//! A sync of a few hundred small files is a handful of requests (status, container, upload,
//! batch, status), so the run is several rounds of edits, each a sync, to give the faults
//! enough requests to land on. `PUSHDECK_PROOF_FAULT_FILES` (default 300) and
//! `PUSHDECK_PROOF_FAULT_ROUNDS` (default 8) make it longer.

use std::collections::HashMap;
use std::time::Instant;

use push_emulator::Faults;
use pushdeck_proof::{all_text, env_number, log_time_ms, World, SOURCE};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// The rates held (shares of Push API requests, drawn by the emulator's seeded generator).
const THROTTLE_SHARE: f64 = 0.12;
const RETRY_AFTER_SECONDS: u64 = 1;
const ERROR_BURST_SHARE: f64 = 0.05;
const ERROR_BURST_LENGTH: u32 = 2;
const DROP_SHARE: f64 = 0.05;
const UPLOAD_FAILURE_SHARE: f64 = 0.15;
const LATENCY_MS: u64 = 15;

/// Leeway on Retry-After: the log's times are the emulator's, at millisecond precision, and a
/// request's start is its logged end minus its duration.
const RETRY_AFTER_TOLERANCE_MS: i128 = 20;

/// No storm: every request answered with a fault may be retried, but the total stays under
/// this multiple of the requests that succeeded.
const MAX_REQUESTS_PER_SUCCESS: f64 = 3.0;

fn key(r: &Value) -> String {
    format!(
        "{} {}?{}",
        r["method"].as_str().unwrap_or(""),
        r["path"].as_str().unwrap_or(""),
        r["query"].as_str().unwrap_or("")
    )
}

fn start_ms(r: &Value) -> i128 {
    log_time_ms(r["time"].as_str().unwrap_or("")).unwrap_or(0)
        - r["durationMs"].as_i64().unwrap_or(0) as i128
}

fn end_ms(r: &Value) -> i128 {
    log_time_ms(r["time"].as_str().unwrap_or("")).unwrap_or(0)
}

/// The Retry-After violations in a request log: for each 429, the next request with the same
/// method, path and query (its retry) must start at least Retry-After seconds after the 429
/// was answered. `POST /files` is left out: two container creations may be in flight at once,
/// so "the next identical request" is not necessarily the retry.
fn retry_after_violations(log: &[Value], seconds: u64) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut out = Vec::new();
    for (i, r) in log.iter().enumerate() {
        if r["status"] != 429
            || (r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/files")))
        {
            continue;
        }
        let k = key(r);
        if let Some(next) = log[i + 1..].iter().find(|n| key(n) == k) {
            checked += 1;
            let earliest = end_ms(r) + seconds as i128 * 1000;
            if start_ms(next) + RETRY_AFTER_TOLERANCE_MS < earliest {
                out.push(format!(
                    "{k}: throttled at {}, retried at {} (Retry-After {seconds} s)",
                    r["time"], next["time"]
                ));
            }
        }
    }
    (checked, out)
}

#[test]
fn faults_at_set_rates_end_exact_respect_retry_after_and_do_not_storm() {
    let files: usize = env_number("PUSHDECK_PROOF_FAULT_FILES", 300);
    let rounds: usize = env_number("PUSHDECK_PROOF_FAULT_ROUNDS", 8);
    let mut rng = rand::rngs::StdRng::seed_from_u64(env_number("PUSHDECK_PROOF_SEED", 7));
    let w = World::new();
    for n in 0..files {
        w.write(
            &format!("d{}/f{n}.txt", n % 9),
            format!("file {n} ").repeat(20 + n % 200),
        );
    }
    w.emu.set_faults(Faults {
        seed: 42,
        throttle_share: THROTTLE_SHARE,
        retry_after_seconds: RETRY_AFTER_SECONDS,
        error_burst_share: ERROR_BURST_SHARE,
        error_burst_length: ERROR_BURST_LENGTH,
        drop_share: DROP_SHARE,
        upload_failure_share: UPLOAD_FAILURE_SHARE,
        latency_ms: LATENCY_MS,
        ..Default::default()
    });
    w.clear_requests();
    let started = Instant::now();
    let mut log: Vec<Value> = Vec::new();
    for round in 0..rounds {
        if round > 0 {
            for _ in 0..(files / 20).max(1) {
                let n = rng.gen_range(0..files + rounds * 5);
                w.write(
                    &format!("d{}/f{n}.txt", n % 9),
                    format!("round {round} {n}"),
                );
            }
            for _ in 0..3 {
                let n = rng.gen_range(0..files);
                let _ = std::fs::remove_file(w.docs().join(format!("d{}/f{n}.txt", n % 9)));
            }
        }
        let mut cmd = w.sync_cmd(SOURCE, &["--max-attempts", "10"]);
        let out = w.run(&mut cmd);
        let text = all_text(&out);
        assert!(!text.contains("panicked"), "{text}");
        // One run may give up on a file after its attempts; the next round retries it. Only
        // a clean exit or "some files failed" is acceptable, never a crash or a hang.
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "round {round}: {text}"
        );
        log.extend(w.requests());
        w.clear_requests();
    }
    // A last sync without faults finishes whatever a round left behind; then exact.
    w.emu.set_faults(Faults::default());
    let out = w.run(&mut w.sync_cmd(SOURCE, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    w.check_exact(SOURCE, None);

    let mut by_status: HashMap<u64, usize> = HashMap::new();
    for r in &log {
        *by_status
            .entry(r["status"].as_u64().unwrap_or(0))
            .or_default() += 1;
    }
    let ok = log
        .iter()
        .filter(|r| {
            r["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s))
        })
        .count();
    let mut statuses: Vec<_> = by_status.into_iter().collect();
    statuses.sort();
    let (checked, violations) = retry_after_violations(&log, RETRY_AFTER_SECONDS);
    println!(
        "{files} files, {rounds} rounds in {:.1} s: {} requests under faults ({ok} succeeded), by status {statuses:?}; \
         rates: throttle {THROTTLE_SHARE} (Retry-After {RETRY_AFTER_SECONDS} s), 5xx bursts {ERROR_BURST_SHARE} x {ERROR_BURST_LENGTH}, \
         drops {DROP_SHARE}, upload failures {UPLOAD_FAILURE_SHARE}, latency {LATENCY_MS} ms; {checked} retries after a 429 checked",
        started.elapsed().as_secs_f64(),
        log.len()
    );
    assert!(
        ok > 0,
        "no request succeeded: the log is not what this test expects"
    );
    assert!(
        violations.is_empty(),
        "Retry-After not respected:\n{}",
        violations.join("\n")
    );
    assert!(
        (log.len() as f64) <= ok as f64 * MAX_REQUESTS_PER_SUCCESS,
        "request storm: {} requests for {ok} successes",
        log.len()
    );
}

#[test]
fn a_long_retry_after_is_waited_for_not_hammered() {
    // Every request throttled with Retry-After 2 s, and three attempts: the command must take
    // at least the two waits, send exactly three requests, and say it was throttled.
    let w = World::new();
    w.write("a.txt", "hello");
    w.emu.set_faults(Faults {
        throttle_share: 1.0,
        retry_after_seconds: 2,
        ..Default::default()
    });
    w.clear_requests();
    let started = Instant::now();
    let out = w.run(&mut w.sync_cmd(SOURCE, &["--max-attempts", "3"]));
    let elapsed = started.elapsed();
    let text = all_text(&out);
    let log = w.requests();
    println!(
        "all throttled: exit {:?}, {} requests in {:.1} s",
        out.status.code(),
        log.len(),
        elapsed.as_secs_f64()
    );
    for r in &log {
        println!(
            "  {} {} {} {}?{} {} ms",
            r["time"], r["status"], r["method"], r["path"], r["query"], r["durationMs"]
        );
    }
    println!("{text}");
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        text.to_lowercase().contains("throttl")
            || text.contains("429")
            || text.to_lowercase().contains("too many"),
        "the message says the API throttled: {text}"
    );
    let push: Vec<_> = log
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/push/")))
        .collect();
    assert!(
        push.len() <= 3 * 2,
        "no storm: {} Push requests for 3 attempts",
        push.len()
    );
    let (_, violations) = retry_after_violations(&log, 2);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
