//! `pushdeck emulator`: the emulator as a command. The first line on standard output is
//! exactly `listening on http://HOST:PORT` (scripts wait for it); the second names the API
//! key it accepts. It runs until interrupted (Ctrl-C).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Emulator, EmulatorConfig, Faults, OrgConfig};

/// Flags of `pushdeck emulator`. The contract (`docs/contracts.md`): `[--listen ADDR]
/// [--data DIR] [--org ORG --source SOURCE --provider PROVIDER]... [--api-key KEY]`.
#[derive(Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port. Loopback only unless --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Accept a non-loopback --listen address (anyone who can reach it can push with the key).
    #[arg(long)]
    pub allow_remote: bool,
    /// Keep everything in DIR (SQLite) so the Sandbox survives restarts; in memory without it.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// An organization to serve (repeatable; the i-th --source and --provider belong to the
    /// i-th --org). Default: sandbox.
    #[arg(long = "org", value_name = "ORG")]
    pub orgs: Vec<String>,
    /// A Push source of the matching --org (default: documents).
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// A security identity provider of the matching --org (default: sandbox).
    #[arg(long = "provider", value_name = "PROVIDER")]
    pub providers: Vec<String>,
    /// The API key to accept (default: a new random key, printed at start).
    #[arg(
        long,
        value_name = "KEY",
        env = "PUSHDECK_EMULATOR_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Milliseconds between accepting a write and processing it.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub processing_delay_ms: u64,
    /// queueDelay (minutes) of delete-older-than requests that name none.
    #[arg(long, value_name = "MINUTES", default_value_t = crate::DEFAULT_QUEUE_DELAY_MINUTES)]
    pub default_queue_delay: u64,
    #[command(flatten)]
    pub faults: FaultArgs,
}

impl std::fmt::Debug for EmulatorArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorArgs")
            .field("listen", &self.listen)
            .field("allow_remote", &self.allow_remote)
            .field("data", &self.data)
            .field("orgs", &self.orgs)
            .field("sources", &self.sources)
            .field("providers", &self.providers)
            .field("api_key", &self.api_key.as_ref().map(|_| "****"))
            .field("processing_delay_ms", &self.processing_delay_ms)
            .field("default_queue_delay", &self.default_queue_delay)
            .field("faults", &self.faults)
            .finish()
    }
}

/// Fault injection flags (see `POST /_emulator/v1/faults` for the same settings at run time).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FaultArgs {
    /// Seed of the fault draws (the same seed replays the same faults).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fault_seed: u64,
    /// Share (0..1) of Push API requests answered 429 TOO_MANY_REQUESTS.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub fault_throttle_share: f64,
    /// Retry-After seconds of injected 429 answers.
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    pub fault_retry_after: u64,
    /// Chance (0..1) that a request starts a burst of 503 answers.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub fault_error_burst_share: f64,
    /// Length of a burst of server errors.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub fault_error_burst_length: u32,
    /// Added latency per Push API request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub fault_latency_ms: u64,
    /// Share (0..1) of requests whose connection is dropped before an answer.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub fault_drop_share: f64,
    /// Share (0..1) of file container uploads that fail with 500.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub fault_upload_failure_share: f64,
    /// Items per organization per UTC day before 429 TOO_MANY_DOCUMENTS_DAILY.
    #[arg(long, value_name = "N")]
    pub fault_daily_item_quota: Option<u64>,
    /// Items per source before 412 DOCUMENT_LIMIT_EXCEEDED.
    #[arg(long, value_name = "N")]
    pub fault_item_limit: Option<u64>,
}

impl FaultArgs {
    pub fn to_faults(&self) -> Faults {
        Faults {
            seed: self.fault_seed,
            throttle_share: self.fault_throttle_share,
            retry_after_seconds: self.fault_retry_after,
            error_burst_share: self.fault_error_burst_share,
            error_burst_length: self.fault_error_burst_length,
            error_status: None,
            latency_ms: self.fault_latency_ms,
            drop_share: self.fault_drop_share,
            upload_failure_share: self.fault_upload_failure_share,
            daily_item_quota: self.fault_daily_item_quota,
            item_limit: self.fault_item_limit,
            reject_items: Vec::new(),
        }
    }
}

/// Why the command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("refusing to listen on {0}: it is not a loopback address, so other machines could push to this emulator; pass --allow-remote to accept that, or use 127.0.0.1")]
    RemoteRefused(SocketAddr),
    #[error("{0}")]
    Flags(String),
    #[error(transparent)]
    Start(#[from] crate::StartError),
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}

impl EmulatorArgs {
    /// The configuration these flags describe.
    pub fn to_config(&self) -> Result<EmulatorConfig, CommandError> {
        if !self.listen.ip().is_loopback() && !self.allow_remote {
            return Err(CommandError::RemoteRefused(self.listen));
        }
        for share in [
            self.faults.fault_throttle_share,
            self.faults.fault_error_burst_share,
            self.faults.fault_drop_share,
            self.faults.fault_upload_failure_share,
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(CommandError::Flags(format!(
                    "fault shares are between 0 and 1 (got {share})"
                )));
            }
        }
        let orgs = if self.orgs.is_empty() {
            vec!["sandbox".to_owned()]
        } else {
            self.orgs.clone()
        };
        if self.sources.len() > orgs.len() || self.providers.len() > orgs.len() {
            return Err(CommandError::Flags(
                "each --source and --provider belongs to the --org at the same position: give one --org per --source/--provider".into(),
            ));
        }
        let mut organizations: Vec<OrgConfig> = Vec::new();
        for (i, org) in orgs.iter().enumerate() {
            let source = self
                .sources
                .get(i)
                .cloned()
                .unwrap_or_else(|| "documents".into());
            let provider = self
                .providers
                .get(i)
                .cloned()
                .unwrap_or_else(|| "sandbox".into());
            match organizations.iter_mut().find(|o| o.id == *org) {
                Some(o) => {
                    if !o.sources.contains(&source) {
                        o.sources.push(source);
                    }
                    if !o.providers.contains(&provider) {
                        o.providers.push(provider);
                    }
                }
                None => organizations.push(OrgConfig::new(org, &source, &provider)),
            }
        }
        let api_key = match &self.api_key {
            Some(k) if !k.trim().is_empty() => k.trim().to_owned(),
            _ => format!("xx{}", uuid::Uuid::new_v4().simple()),
        };
        Ok(EmulatorConfig {
            listen: self.listen,
            api_key,
            organizations,
            processing_delay: Duration::from_millis(self.processing_delay_ms),
            data_dir: self.data.clone(),
            faults: self.faults.to_faults(),
            clock: crate::Clock::system(),
            default_queue_delay_minutes: self.default_queue_delay,
            container_limit: crate::CONTAINER_LIMIT,
        })
    }
}

/// Runs the emulator until Ctrl-C. Prints `listening on http://HOST:PORT`, then the API key
/// and what it serves.
pub async fn run(args: EmulatorArgs) -> Result<(), CommandError> {
    use std::io::Write;
    let config = args.to_config()?;
    let orgs = config.organizations.clone();
    let emulator = Emulator::start(config).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", emulator.url()).map_err(CommandError::Stdout)?;
    // The emulator's own key, printed on purpose: it is how a local user or script learns it.
    writeln!(out, "api key: {}", emulator.api_key()).map_err(CommandError::Stdout)?;
    for org in &orgs {
        writeln!(
            out,
            "organization {}: sources {}; providers {}",
            org.id,
            org.sources.join(", "),
            org.providers.join(", ")
        )
        .map_err(CommandError::Stdout)?;
    }
    writeln!(
        out,
        "inspection: {}/_emulator/v1/organizations",
        emulator.url()
    )
    .map_err(CommandError::Stdout)?;
    out.flush().map_err(CommandError::Stdout)?;
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
    emulator.drain().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    #[test]
    fn flags_group_by_position_and_remote_needs_consent() {
        let cli = Cli::parse_from([
            "x",
            "--org",
            "a",
            "--source",
            "s1",
            "--org",
            "b",
            "--provider",
            "p",
        ]);
        let config = cli.args.to_config().unwrap();
        assert_eq!(config.organizations[0], OrgConfig::new("a", "s1", "p"));
        assert_eq!(
            config.organizations[1],
            OrgConfig::new("b", "documents", "sandbox")
        );
        let remote = Cli::parse_from(["x", "--listen", "0.0.0.0:0"]);
        assert!(matches!(
            remote.args.to_config(),
            Err(CommandError::RemoteRefused(_))
        ));
        let allowed = Cli::parse_from(["x", "--listen", "0.0.0.0:0", "--allow-remote"]);
        assert!(allowed.args.to_config().is_ok());
        let keyed = Cli::parse_from(["x", "--api-key", "secret-key-1"]);
        assert!(!format!("{keyed:?}").contains("secret-key-1"));
        assert!(!format!("{:?}", keyed.args.to_config().unwrap()).contains("secret-key-1"));
        let default = Cli::parse_from(["x"]).args.to_config().unwrap();
        assert_eq!(
            default.organizations,
            vec![OrgConfig::new("sandbox", "documents", "sandbox")]
        );
    }
}
