//! The command's contract: the first line of standard output is exactly
//! `listening on http://HOST:PORT`, and the server behind it answers with the printed key.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_first_line_is_the_listening_address_and_the_key_works() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_push-emulator"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs"),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let url = first
        .trim_end()
        .strip_prefix("listening on ")
        .expect("first line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first:?}");
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    let key = second
        .trim_end()
        .strip_prefix("api key: ")
        .expect("second line names the key")
        .to_owned();
    let http = reqwest::Client::new();
    let r = http
        .post(format!(
            "{url}/push/v1/organizations/sandbox/sources/documents/status?statusType=IDLE"
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .get(format!("{url}/_emulator/v1/organizations"))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["organizations"][0]["id"], "sandbox");
    assert_eq!(body["organizations"][0]["sources"][0]["id"], "documents");
}

#[test]
fn a_remote_address_is_refused_without_consent() {
    let out = Command::new(env!("CARGO_BIN_EXE_push-emulator"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
    assert!(out.stdout.is_empty());
}
