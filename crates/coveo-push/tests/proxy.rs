//! Proxies: an explicit proxy, and the system convention (HTTP_PROXY / HTTPS_PROXY / NO_PROXY).
//! One test in its own binary, because environment variables are process-wide.

mod support;

use std::time::Duration;

use coveo_push::{
    ApiKey, ClientConfig, Endpoint, ErrorKind, ProxyConfig, PushClient, RetryPolicy, SourceStatus,
};
use support::Server;
use tokio::io::AsyncReadExt;

fn client(endpoint: Endpoint, proxy: ProxyConfig) -> PushClient {
    let mut config = ClientConfig::new("my-org", ApiKey::new("k"))
        .with_endpoint(endpoint)
        .with_proxy(proxy)
        .with_retry(RetryPolicy::none());
    config.connect_timeout = Duration::from_secs(5);
    PushClient::new(config).unwrap()
}

#[tokio::test]
async fn proxies_are_honoured() {
    let proxy = Server::start().await;
    // A raw listener standing in for an HTTPS proxy: records the CONNECT line, then hangs up.
    let tls_proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls_proxy_url = format!("http://{}", tls_proxy.local_addr().unwrap());
    let connect_line = tokio::spawn(async move {
        let (mut sock, _) = tls_proxy.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = sock.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    });
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", &proxy.url);
    std::env::set_var("HTTPS_PROXY", &tls_proxy_url);
    std::env::set_var("NO_PROXY", "direct.example.invalid");

    // 1. Explicit proxy, whatever the environment says.
    let explicit = client(
        Endpoint::custom("http://push.example.invalid").unwrap(),
        ProxyConfig::Explicit {
            url: proxy.url.clone(),
            no_proxy: None,
        },
    );
    explicit
        .set_source_status("src", SourceStatus::Idle)
        .await
        .unwrap();
    let r = &proxy.requests()[0];
    assert_eq!(r.header("host"), Some("push.example.invalid"));
    assert_eq!(r.path, "/push/v1/organizations/my-org/sources/src/status");
    proxy.clear();

    // 2. System: HTTP_PROXY for an http origin.
    let system = client(
        Endpoint::custom("http://push.example.invalid").unwrap(),
        ProxyConfig::System,
    );
    system
        .set_source_status("src", SourceStatus::Idle)
        .await
        .unwrap();
    assert_eq!(
        proxy.requests()[0].header("host"),
        Some("push.example.invalid")
    );
    proxy.clear();

    // 3. System: HTTPS_PROXY for Coveo's real host (a CONNECT tunnel).
    let coveo = client(Endpoint::default(), ProxyConfig::System);
    let e = coveo
        .set_source_status("src", SourceStatus::Idle)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Transport { .. }), "{e:?}");
    let line = connect_line.await.unwrap();
    assert!(
        line.starts_with("CONNECT api.cloud.coveo.com:443 "),
        "{line}"
    );

    // 4. NO_PROXY: goes direct (and fails to resolve), the proxy sees nothing.
    let direct = client(
        Endpoint::custom("http://direct.example.invalid").unwrap(),
        ProxyConfig::System,
    );
    let e = direct
        .set_source_status("src", SourceStatus::Idle)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Transport { .. }), "{e:?}");
    assert!(proxy.requests().is_empty());

    // 5. Direct ignores the environment.
    let off = client(
        Endpoint::custom("http://push.example.invalid").unwrap(),
        ProxyConfig::Direct,
    );
    off.set_source_status("src", SourceStatus::Idle)
        .await
        .unwrap_err();
    assert!(proxy.requests().is_empty());
}
