//! Who to talk to, and with which key: flags first, then the configuration file, then the
//! Sandbox.
//!
//! Resolution, for every command that talks to Coveo:
//! 1. `--org` (else the one organization the configuration file's folders name);
//! 2. no organization and no `--api-url`: the **Sandbox**, an in-process `push_emulator`
//!    whose data (SQLite) lives in `DATA_DIR/sandbox` (the platform data folder, e.g.
//!    `~/.local/share/pushdeck/sandbox`); it lives as long as the command;
//! 3. the key: `COVEO_API_KEY`, else the keyring entry of `pushdeck login --org ORG`, else
//!    exit 3 with how to provide one. The Sandbox uses its own key.
//!
//! A command that hosts the Sandbox announces it in `SANDBOX_DIR/sandbox.json` (URL, its
//! per-process key, pid; mode 0600) and removes the file when it ends; a second command
//! finds it, checks `/_emulator/v1/health`, and joins that Sandbox instead of opening the same
//! data twice (e.g. `pushdeck push` while `pushdeck sync --watch` runs). A separately started
//! `pushdeck emulator` is reached with `--api-url` and `--org`.

use std::path::PathBuf;

use coveo_push::{
    ApiKey, ClientConfig, Endpoint, Environment, ErrorKind, NotFoundTarget, PushClient, Region,
    RetryPolicy,
};
use sync_engine::config::Config;

use crate::args::{ConnectionArgs, EnvironmentArg, GlobalArgs, RegionArg};
use crate::exit::{CliError, Exit};
use crate::keystore;

/// The environment variable holding the API key for headless use (`docs/contracts.md`).
pub const API_KEY_ENV: &str = "COVEO_API_KEY";
/// The Sandbox's organization, source and provider: the emulator's defaults, one copy for
/// the CLI and the app.
pub use push_emulator::{SANDBOX_ORG, SANDBOX_PROVIDER, SANDBOX_SOURCE};

/// A resolved connection. Keeps the in-process Sandbox alive while it exists.
#[derive(Debug)]
pub struct Connection {
    pub client: PushClient,
    pub organization: String,
    pub source: Option<String>,
    pub provider: Option<String>,
    /// `sandbox`, `custom` or `coveo`, for people and `--json`.
    pub target: &'static str,
    /// The Push API origin requests go to.
    pub origin: String,
    /// Where the key came from (`COVEO_API_KEY`, `keyring`, `sandbox`); never the key.
    pub key_from: &'static str,
    sandbox: Option<Sandbox>,
}

/// The Sandbox this command talks to: hosted in this process, or joined (another pushdeck
/// process hosts it, e.g. a `sync --watch`), so two commands never open its data twice.
#[derive(Debug)]
enum Sandbox {
    Hosted {
        emulator: push_emulator::Emulator,
        file: PathBuf,
    },
    Joined {
        url: String,
    },
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Sandbox::Hosted { file, .. } = self {
            // Only our own announcement: a later host may have replaced a stale one.
            if read_sandbox_file(file).is_some_and(|f| f.pid == std::process::id()) {
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// Announces the running Sandbox (`SANDBOX_DIR/sandbox.json`, readable by its owner only).
const SANDBOX_FILE: &str = "sandbox.json";

/// How long joining a running Sandbox waits for its health answer before hosting one instead.
const SANDBOX_HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// No `Debug`: it holds the Sandbox's key.
#[derive(serde::Serialize, serde::Deserialize)]
struct SandboxFile {
    url: String,
    api_key: String,
    pid: u32,
}

fn read_sandbox_file(path: &std::path::Path) -> Option<SandboxFile> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn write_sandbox_file(path: &std::path::Path, file: &SandboxFile) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&tmp)?;
    out.write_all(serde_json::to_string(file).unwrap_or_default().as_bytes())?;
    drop(out);
    std::fs::rename(&tmp, path)
}

/// The announced Sandbox, if it answers.
async fn running_sandbox(path: &std::path::Path) -> Option<SandboxFile> {
    let file = read_sandbox_file(path)?;
    let client = reqwest::Client::builder()
        .timeout(SANDBOX_HEALTH_TIMEOUT)
        .no_proxy()
        .build()
        .ok()?;
    let answer = client
        .get(format!("{}/_emulator/v1/health", file.url))
        .send()
        .await
        .ok()?;
    answer.status().is_success().then_some(file)
}

impl Connection {
    /// The source, or a usage error saying how to name one.
    pub fn source(&self) -> Result<&str, CliError> {
        self.source.as_deref().ok_or_else(|| {
            CliError::usage(
                "no_source",
                "no source is named; pass --source SOURCE (the Push source ID)",
            )
        })
    }

    /// The provider, or a usage error saying how to name one.
    pub fn provider(&self) -> Result<&str, CliError> {
        self.provider.as_deref().ok_or_else(|| {
            CliError::usage(
                "no_provider",
                "no security identity provider is named; pass --provider PROVIDER",
            )
        })
    }

    /// Waits until the in-process Sandbox has processed everything accepted so far, so that a
    /// later command (or the inspection API) sees it. No-op against Coveo.
    pub async fn settle(&self) {
        match &self.sandbox {
            Some(Sandbox::Hosted { emulator, .. }) => emulator.drain().await,
            Some(Sandbox::Joined { url }) => {
                if let Ok(client) = reqwest::Client::builder().no_proxy().build() {
                    let _ = client
                        .post(format!("{url}/_emulator/v1/drain"))
                        .send()
                        .await;
                }
            }
            None => {}
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// Opens (and closes) one TCP connection to the Push API host, so that a run whose every
    /// item would fail for want of a network stops at once with exit 4 instead of listing
    /// each file. Used by `sync`, whose engine treats transport failures as per-file problems.
    pub async fn check_reachable(&self) -> Result<(), CliError> {
        let unreachable = |why: String| {
            CliError::new(
                Exit::Unreachable,
                "unreachable",
                format!("Pushdeck could not reach {} ({why}); check the network connection, the proxy settings, the region or --api-url", self.origin),
            )
        };
        let url = url::Url::parse(&self.origin).map_err(|e| unreachable(e.to_string()))?;
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        match tokio::time::timeout(
            coveo_push::DEFAULT_CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(unreachable(e.to_string())),
            Err(_) => Err(unreachable("no answer in time".into())),
        }
    }
}

/// The configuration file path: `--config`/`PUSHDECK_CONFIG`, else the platform's.
pub fn config_path(global: &GlobalArgs) -> Result<PathBuf, CliError> {
    match &global.config {
        Some(path) => Ok(path.clone()),
        None => sync_engine::config::default_config_path()
            .map_err(|e| CliError::usage(e.code(), e.to_string())),
    }
}

/// The configuration, or an empty one when the file does not exist (an invalid file is exit 2).
pub fn load_config(global: &GlobalArgs) -> Result<(PathBuf, Config), CliError> {
    let path = config_path(global)?;
    let config =
        Config::load_or_default(&path).map_err(|e| CliError::usage(e.code(), e.to_string()))?;
    Ok((path, config))
}

/// The one value the configuration's folders agree on (for `field`), if they agree.
fn agreed<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Option<String> {
    let mut found: Option<&str> = None;
    for value in values {
        let value = value?;
        match found {
            None => found = Some(value),
            Some(v) if v == value => {}
            Some(_) => return None,
        }
    }
    found.map(str::to_string)
}

pub async fn connect(args: &ConnectionArgs, global: &GlobalArgs) -> Result<Connection, CliError> {
    let (_, config) = load_config(global)?;
    let org = args
        .org
        .clone()
        .or_else(|| agreed(config.folders.iter().map(|f| Some(f.organization.as_str()))));
    let from_config = |pick: fn(&sync_engine::config::FolderMapping) -> Option<&str>| {
        let org = org.as_deref();
        agreed(
            config
                .folders
                .iter()
                .filter(|f| Some(f.organization.as_str()) == org)
                .map(pick),
        )
    };
    let source = args
        .source
        .clone()
        .or_else(|| from_config(|f| Some(f.source.as_str())));
    let provider = args
        .provider
        .clone()
        .or_else(|| from_config(|f| f.provider.as_deref()));

    let Some(org) = org else {
        if args.api_url.is_some() {
            return Err(CliError::usage(
                "no_org",
                "--api-url needs --org: name the organization the server serves (the emulator's default is --org sandbox)",
            ));
        }
        return sandbox(args, source, provider).await;
    };
    let org = org.trim().to_string();
    if org.is_empty() {
        return Err(CliError::usage(
            "no_org",
            "the organization ID is empty; pass --org ORG",
        ));
    }
    let (endpoint, target) = match &args.api_url {
        Some(url) => (
            Endpoint::custom(url)
                .map_err(|e| CliError::usage("invalid_api_url", e.explanation()))?,
            "custom",
        ),
        None => (
            Endpoint::Coveo {
                region: region(args.region),
                environment: environment(args.environment),
            },
            "coveo",
        ),
    };
    let (key, key_from) = api_key(&org).await?;
    let client = client(&org, key, endpoint.clone(), args)?;
    Ok(Connection {
        client,
        organization: org,
        source,
        provider,
        target,
        origin: endpoint.push_origin(),
        key_from,
        sandbox: None,
    })
}

async fn api_key(org: &str) -> Result<(ApiKey, &'static str), CliError> {
    if let Ok(key) = std::env::var(API_KEY_ENV) {
        if !key.trim().is_empty() {
            return Ok((ApiKey::new(key.trim()), API_KEY_ENV));
        }
    }
    if let Some(key) = keystore::load(org).await? {
        return Ok((ApiKey::new(key), "keyring"));
    }
    Err(CliError::auth(
        "no_api_key",
        format!(
            "no API key for organization {org}: set the environment variable {API_KEY_ENV}, or store one with `pushdeck login --org {org}`"
        ),
    ))
}

fn client(
    org: &str,
    key: ApiKey,
    endpoint: Endpoint,
    args: &ConnectionArgs,
) -> Result<PushClient, CliError> {
    let mut retry = RetryPolicy::default();
    if let Some(n) = args.max_attempts {
        retry.max_attempts = n;
    }
    let config = ClientConfig::new(org, key)
        .with_endpoint(endpoint)
        .with_retry(retry);
    PushClient::new(config).map_err(|e| CliError::usage(e.code(), e.explanation()))
}

fn region(arg: Option<RegionArg>) -> Region {
    match arg {
        None | Some(RegionArg::Us) => Region::Us,
        Some(RegionArg::Eu) => Region::Eu,
        Some(RegionArg::Au) => Region::Au,
        Some(RegionArg::Ca) => Region::Ca,
    }
}

fn environment(arg: Option<EnvironmentArg>) -> Environment {
    match arg {
        None | Some(EnvironmentArg::Prod) => Environment::Prod,
        Some(EnvironmentArg::Hipaa) => Environment::Hipaa,
        Some(EnvironmentArg::Dev) => Environment::Dev,
        Some(EnvironmentArg::Stg) => Environment::Stg,
    }
}

/// The Sandbox's data folder: `PUSHDECK_SANDBOX_DIR`, else `DATA_DIR/sandbox`.
pub fn sandbox_dir() -> Result<PathBuf, CliError> {
    if let Some(dir) = std::env::var_os("PUSHDECK_SANDBOX_DIR") {
        return Ok(PathBuf::from(dir));
    }
    sync_engine::config::default_data_dir()
        .map(|d| d.join("sandbox"))
        .map_err(|e| CliError::usage(e.code(), e.to_string()))
}

async fn sandbox(
    args: &ConnectionArgs,
    source: Option<String>,
    provider: Option<String>,
) -> Result<Connection, CliError> {
    if args.region.is_some() || args.environment.is_some() {
        return Err(CliError::usage(
            "no_org",
            "--region and --environment pick Coveo hosts, which need --org ORG; without an organization Pushdeck uses the local Sandbox",
        ));
    }
    let dir = sandbox_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::usage(
            "sandbox_dir",
            format!("cannot create the Sandbox folder {}: {e}", dir.display()),
        )
    })?;
    let announce = dir.join(SANDBOX_FILE);
    let (sandbox, url, key) = match running_sandbox(&announce).await {
        Some(running) => {
            tracing::info!(
                "joining the Sandbox of process {} at {}",
                running.pid,
                running.url
            );
            (
                Sandbox::Joined {
                    url: running.url.clone(),
                },
                running.url,
                running.api_key,
            )
        }
        None => {
            let config = push_emulator::EmulatorConfig {
                listen: ([127, 0, 0, 1], 0).into(),
                // A fresh key per host: other local users must not push into the Sandbox.
                api_key: format!("xx-sandbox-{}", uuid::Uuid::new_v4().simple()),
                data_dir: Some(dir.clone()),
                organizations: vec![push_emulator::OrgConfig::new(
                    SANDBOX_ORG,
                    SANDBOX_SOURCE,
                    SANDBOX_PROVIDER,
                )],
                ..push_emulator::EmulatorConfig::default()
            };
            let emulator = push_emulator::Emulator::start(config).await.map_err(|e| {
                CliError::usage(
                    "sandbox_start",
                    format!("cannot start the Sandbox on {}: {e}", dir.display()),
                )
            })?;
            let (url, key) = (emulator.url().to_string(), emulator.api_key().to_string());
            let file = SandboxFile {
                url: url.clone(),
                api_key: key.clone(),
                pid: std::process::id(),
            };
            if let Err(e) = write_sandbox_file(&announce, &file) {
                tracing::warn!("cannot announce the Sandbox in {}: {e}", announce.display());
            }
            (
                Sandbox::Hosted {
                    emulator,
                    file: announce,
                },
                url,
                key,
            )
        }
    };
    let endpoint =
        Endpoint::custom(&url).map_err(|e| CliError::usage("sandbox_start", e.explanation()))?;
    let client = client(SANDBOX_ORG, ApiKey::new(key), endpoint.clone(), args)?;
    Ok(Connection {
        client,
        organization: SANDBOX_ORG.into(),
        source: Some(source.unwrap_or_else(|| SANDBOX_SOURCE.into())),
        provider: Some(provider.unwrap_or_else(|| SANDBOX_PROVIDER.into())),
        target: "sandbox",
        origin: endpoint.push_origin(),
        key_from: "sandbox",
        sandbox: Some(sandbox),
    })
}

/// Maps a client error that stops a command to its exit status, with one sentence of what to
/// do and the technical line (operation and HTTP status; never a URL with a signature, never
/// the key: `coveo_push::Error` is built without them).
pub fn api_error(err: &coveo_push::Error) -> CliError {
    let (exit, code) = classify(err);
    if matches!(err.kind(), ErrorKind::InvalidInput) {
        // Nothing was sent, and the technical line would only repeat the sentence.
        return CliError::new(exit, code, err.explanation());
    }
    CliError::new(exit, code, format!("{} ({err})", err.explanation()))
}

/// A date the client core refuses for a delete-older-than (`PushClient::check_older_than`,
/// `check_identities_older_than`: later than now plus `coveo_push::OLDER_THAN_FUTURE_TOLERANCE`):
/// a usage error (exit 2, code `future_date`) with the core's one sentence of why and what to
/// do. The rule lives in the client core only.
pub fn future_date(err: &coveo_push::Error) -> CliError {
    CliError::usage("future_date", err.explanation())
}

/// The exit status and stable code of a client error.
pub fn classify(err: &coveo_push::Error) -> (Exit, &'static str) {
    match err.kind() {
        ErrorKind::Unauthorized => (Exit::Auth, "unauthorized"),
        ErrorKind::Forbidden => (Exit::Auth, "forbidden"),
        ErrorKind::NotFound { target } => (
            Exit::Usage,
            match target {
                NotFoundTarget::Organization => "unknown_organization",
                NotFoundTarget::Source => "unknown_source",
                NotFoundTarget::Provider => "unknown_provider",
                _ => "not_found",
            },
        ),
        ErrorKind::Transport { .. }
        | ErrorKind::ServerError { .. }
        | ErrorKind::Throttled { .. } => (Exit::Unreachable, "unreachable"),
        ErrorKind::QuotaReached { .. } => (Exit::Unreachable, "quota_reached"),
        _ => (Exit::Usage, err.code()),
    }
}

/// Whether an error stops everything (wrong key, unknown source, API unreachable) rather than
/// failing one item: then the command stops instead of trying every other item in vain.
pub fn is_fatal(err: &coveo_push::Error) -> bool {
    classify(err).0 != Exit::Usage
        || matches!(
            err.kind(),
            ErrorKind::NotFound { .. } | ErrorKind::UnsupportedSource { .. }
        )
}
