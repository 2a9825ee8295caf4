//! The API key never leaves the environment or the keyring: after a full run of the real
//! `pushdeck` binary with a known fake key (sync, rebuild, push, identities, status, delete,
//! login), every file Pushdeck wrote below its isolated HOME (configuration, data folder,
//! state store and its SQLite journal/WAL, Sandbox files, logs) and everything it printed
//! (at -vvv, and with --json) is searched for the key, raw and base64-encoded: zero hits.
//! Also: the emulator refuses a non-loopback address unless asked.

use std::io::BufRead;
use std::time::Duration;

use base64::Engine as _;
use pushdeck_proof::{all_text, run_bounded, World, FAKE_KEY, ORG, PROVIDER, SOURCE};

fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn the_key_is_in_no_file_pushdeck_wrote_and_nothing_it_printed() {
    let w = World::with_config(push_emulator::EmulatorConfig {
        api_key: FAKE_KEY.to_string(),
        ..Default::default()
    });
    assert_eq!(w.emu.api_key(), FAKE_KEY);
    w.write("a.txt", "alpha");
    w.write("HR/pay.txt", "pay");
    std::fs::write(
        w.path().join("people.csv"),
        "name,kind,members,aliases\nHR Team,group,ann@example.com\n",
    )
    .expect("write");
    let url = w.emu.url().to_string();
    let docs = w.docs().display().to_string();
    let file_a = w.docs().join("a.txt").display().to_string();
    let config_path = w.write_config(SOURCE);
    let config_arg = config_path.display().to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["sync", &docs, "--once", "--source", SOURCE, "-vvv"],
        vec!["sync", "--once", "--config", &config_arg, "--json", "-vvv"],
        vec![
            "sync",
            "--once",
            "--config",
            &config_arg,
            "--rebuild",
            "-vvv",
        ],
        vec![
            "push",
            &file_a,
            "--source",
            SOURCE,
            "-vvv",
            "--allow",
            "group:HR Team",
        ],
        vec![
            "identities",
            "push",
            "people.csv",
            "--provider",
            PROVIDER,
            "-vvv",
        ],
        vec!["status", "--source", SOURCE, "-vvv"],
        vec![
            "delete",
            "https://example.com/nothing",
            "--source",
            SOURCE,
            "-vvv",
        ],
        vec!["config", "show", "--config", &config_arg],
    ];
    let mut printed = String::new();
    for args in &runs {
        let mut cmd = w.cmd(args);
        if args[0] != "config" {
            cmd.args(["--api-url", &url, "--org", ORG]);
        }
        cmd.env("COVEO_API_KEY", FAKE_KEY)
            .env("PUSHDECK_LOG", "trace");
        let out = run_bounded(&mut cmd, LIMIT);
        let text = all_text(&out);
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "`pushdeck {}`: {text}",
            args.join(" ")
        );
        printed.push_str(&text);
    }
    // `login` reads the key from standard input (the terminal prompt's fallback); with no
    // keyring reachable it fails, and must not echo the key either.
    let mut cmd = w.cmd(["login", "--org", ORG]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("login starts");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = writeln!(stdin, "{FAKE_KEY}");
    }
    let out = child.wait_with_output().expect("login ends");
    printed.push_str(&all_text(&out));

    // The run did real work: items and identities are there.
    assert!(!w.items(SOURCE).is_empty(), "the sync pushed items");

    let needles = [
        FAKE_KEY.as_bytes().to_vec(),
        encode_base64(FAKE_KEY.as_bytes()).into_bytes(),
        encode_base64(format!("Bearer {FAKE_KEY}").as_bytes()).into_bytes(),
    ];
    let files = w.files_written();
    assert!(
        files.iter().any(|f| f.to_string_lossy().contains("state")),
        "the state store was written below the isolated home: {files:?}"
    );
    let mut hits = Vec::new();
    let mut bytes_searched = 0usize;
    for file in &files {
        let Ok(content) = std::fs::read(file) else {
            continue;
        };
        bytes_searched += content.len();
        for needle in &needles {
            if content
                .windows(needle.len())
                .any(|win| win == needle.as_slice())
            {
                hits.push(file.display().to_string());
            }
        }
    }
    for needle in &needles {
        if printed.contains(&*String::from_utf8_lossy(needle)) {
            hits.push("standard output or error".into());
        }
    }
    println!(
        "searched {} files ({bytes_searched} bytes) and {} bytes of output for the key: {} hits",
        files.len(),
        printed.len(),
        hits.len()
    );
    for f in &files {
        println!("  {}", f.display());
    }
    assert!(hits.is_empty(), "the API key leaked into: {hits:?}");
}

#[test]
fn the_emulator_refuses_a_non_loopback_address_unless_asked() {
    let w = World::new();
    let out = run_bounded(
        &mut w.cmd(["emulator", "--listen", "0.0.0.0:0"]),
        Duration::from_secs(20),
    );
    let text = all_text(&out);
    println!("{text}");
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("--allow-remote"),
        "says how to allow it: {text}"
    );

    // Loopback is fine, and with --allow-remote so is 0.0.0.0 (started, then stopped).
    for args in [
        vec!["emulator", "--listen", "127.0.0.1:0"],
        vec!["emulator", "--listen", "0.0.0.0:0", "--allow-remote"],
    ] {
        let mut child = w
            .cmd(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("emulator starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut first);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            first.starts_with("listening on http://"),
            "{args:?}: {first}"
        );
    }
}
