//! Who the client talks to and how: organization, API key, hosts, proxy, timeouts, retries.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::error::Error;
use crate::retry::RetryPolicy;

/// A Coveo API key (or OAuth token). Its `Debug` and `Display` print `***`, so it cannot leak
/// through a log line, an error message or a `{:?}` of a config.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A Coveo deployment region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Region {
    #[default]
    Us,
    Eu,
    Au,
    Ca,
}

impl Region {
    /// Reads `us`, `eu`, `au`, `ca` in any letter case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "us" => Some(Self::Us),
            "eu" => Some(Self::Eu),
            "au" => Some(Self::Au),
            "ca" => Some(Self::Ca),
            _ => None,
        }
    }

    fn host_suffix(self) -> &'static str {
        match self {
            Self::Us => "",
            Self::Eu => "-eu",
            Self::Au => "-au",
            Self::Ca => "-ca",
        }
    }
}

/// A Coveo environment. Customers use `Prod` (or `Hipaa`); the others are Coveo's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Environment {
    #[default]
    Prod,
    Hipaa,
    Dev,
    Stg,
}

impl Environment {
    /// Reads `prod`, `hipaa`, `dev`, `stg` in any letter case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "prod" | "production" => Some(Self::Prod),
            "hipaa" => Some(Self::Hipaa),
            "dev" => Some(Self::Dev),
            "stg" | "staging" => Some(Self::Stg),
            _ => None,
        }
    }

    fn host_infix(self) -> &'static str {
        match self {
            Self::Prod => "",
            Self::Hipaa => "hipaa",
            Self::Dev => "dev",
            Self::Stg => "stg",
        }
    }
}

/// Where requests go: Coveo's hosts for a region and environment, or one origin that replaces
/// both the Push API host and the Platform host (the emulator, a reverse proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Coveo {
        region: Region,
        environment: Environment,
    },
    /// `scheme://host[:port]` with no path; Push calls go to `ORIGIN/push/v1/...`, Platform
    /// calls to `ORIGIN/rest/...`, Source Logs to `ORIGIN/logs/v1/...`.
    Custom(Url),
}

impl Default for Endpoint {
    fn default() -> Self {
        Self::Coveo {
            region: Region::Us,
            environment: Environment::Prod,
        }
    }
}

impl Endpoint {
    /// A custom origin; a trailing slash is tolerated, a path or query is refused.
    pub fn custom(origin: &str) -> Result<Self, Error> {
        let url = Url::parse(origin.trim_end_matches('/')).map_err(|e| {
            Error::invalid_input(format!("the API URL {origin:?} is not a valid URL ({e})"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(Error::invalid_input(format!(
                "the API URL {origin:?} must start with http:// or https:// and name a host"
            )));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(Error::invalid_input(format!(
                "the API URL {origin:?} must be an origin only (like https://host:port), without a path"
            )));
        }
        Ok(Self::Custom(url))
    }

    /// The origin of the Push API (`https://api{env}{-region}.cloud.coveo.com`), no trailing slash.
    pub fn push_origin(&self) -> String {
        match self {
            Self::Coveo {
                region,
                environment,
            } => format!(
                "https://api{}{}.cloud.coveo.com",
                environment.host_infix(),
                region.host_suffix()
            ),
            Self::Custom(url) => origin_of(url),
        }
    }

    /// The origin of the Platform API (`https://platform{env}{-region}.cloud.coveo.com`).
    pub fn platform_origin(&self) -> String {
        match self {
            Self::Coveo {
                region,
                environment,
            } => format!(
                "https://platform{}{}.cloud.coveo.com",
                environment.host_infix(),
                region.host_suffix()
            ),
            Self::Custom(url) => origin_of(url),
        }
    }
}

fn origin_of(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// How outgoing requests find a proxy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxyConfig {
    /// The operating system's convention: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
    /// `NO_PROXY` (any letter case), read by reqwest when the client is built. This is the one
    /// place the crate lets the environment in, and only because the caller chose it; it is the
    /// default because corporate desktops rely on it.
    #[default]
    System,
    /// No proxy at all, whatever the environment says.
    Direct,
    /// One proxy for every request, except hosts matched by `no_proxy` (the `NO_PROXY` syntax:
    /// comma-separated hosts, domains, IPs or CIDR ranges).
    Explicit {
        url: String,
        no_proxy: Option<String>,
    },
}

/// Upper bound for the connection handshake (TCP + TLS). Short, because a host that does not
/// answer in 10 s is down or blocked, and retries handle the rest.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for one JSON API call. Push API calls answer quickly (202 = queued); a minute
/// covers slow networks without hiding a hung server for long.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for silence during a file container upload (no chunk taken by the connection,
/// or no answer after the last one) and while reading an answer's body. Uploads have no total
/// timeout (a 200 MB batch on a slow uplink may take many minutes); they fail only when the
/// connection stalls this long.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Everything a [`crate::PushClient`] needs; nothing is read from files or the environment
/// (except the proxy variables when `proxy` is [`ProxyConfig::System`]).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub organization: String,
    pub api_key: ApiKey,
    pub endpoint: Endpoint,
    pub proxy: ProxyConfig,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub read_timeout: Duration,
    /// Where large items are compressed before upload; `None` = the system temp directory.
    pub temp_dir: Option<PathBuf>,
    /// Sent as `User-Agent`.
    pub user_agent: String,
}

impl ClientConfig {
    /// Coveo's US production hosts, system proxy, default retries and timeouts.
    pub fn new(organization: impl Into<String>, api_key: ApiKey) -> Self {
        Self {
            organization: organization.into(),
            api_key,
            endpoint: Endpoint::default(),
            proxy: ProxyConfig::default(),
            retry: RetryPolicy::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            temp_dir: None,
            user_agent: format!("Pushdeck/{} (coveo-push)", env!("CARGO_PKG_VERSION")),
        }
    }

    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = proxy;
        self
    }

    pub fn with_temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = Some(dir.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_for_every_region_and_environment() {
        let cases = [
            (
                Region::Us,
                Environment::Prod,
                "https://api.cloud.coveo.com",
                "https://platform.cloud.coveo.com",
            ),
            (
                Region::Eu,
                Environment::Prod,
                "https://api-eu.cloud.coveo.com",
                "https://platform-eu.cloud.coveo.com",
            ),
            (
                Region::Au,
                Environment::Prod,
                "https://api-au.cloud.coveo.com",
                "https://platform-au.cloud.coveo.com",
            ),
            (
                Region::Ca,
                Environment::Prod,
                "https://api-ca.cloud.coveo.com",
                "https://platform-ca.cloud.coveo.com",
            ),
            (
                Region::Us,
                Environment::Hipaa,
                "https://apihipaa.cloud.coveo.com",
                "https://platformhipaa.cloud.coveo.com",
            ),
            (
                Region::Us,
                Environment::Dev,
                "https://apidev.cloud.coveo.com",
                "https://platformdev.cloud.coveo.com",
            ),
            (
                Region::Eu,
                Environment::Stg,
                "https://apistg-eu.cloud.coveo.com",
                "https://platformstg-eu.cloud.coveo.com",
            ),
            (
                Region::Au,
                Environment::Dev,
                "https://apidev-au.cloud.coveo.com",
                "https://platformdev-au.cloud.coveo.com",
            ),
        ];
        for (region, environment, push, platform) in cases {
            let e = Endpoint::Coveo {
                region,
                environment,
            };
            assert_eq!(e.push_origin(), push);
            assert_eq!(e.platform_origin(), platform);
        }
    }

    #[test]
    fn custom_origin_replaces_both_hosts() {
        let e = Endpoint::custom("http://127.0.0.1:8080/").unwrap();
        assert_eq!(e.push_origin(), "http://127.0.0.1:8080");
        assert_eq!(e.platform_origin(), "http://127.0.0.1:8080");
        assert!(Endpoint::custom("http://127.0.0.1:8080/push/v1").is_err());
        assert!(Endpoint::custom("ftp://x").is_err());
        assert!(Endpoint::custom("not a url").is_err());
    }

    #[test]
    fn region_and_environment_parse() {
        assert_eq!(Region::parse("EU"), Some(Region::Eu));
        assert_eq!(Region::parse("xx"), None);
        assert_eq!(Environment::parse("Hipaa"), Some(Environment::Hipaa));
        assert_eq!(Environment::parse("qa"), None);
    }

    #[test]
    fn api_key_is_masked() {
        let key = ApiKey::new("xx-secret-123");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        let config = ClientConfig::new("org", key);
        assert!(!format!("{config:?}").contains("secret"));
    }
}
