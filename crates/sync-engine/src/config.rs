//! Pushdeck's configuration file: which folders go to which Push source, and how.
//!
//! The file is TOML, versioned (`version = 1`), and lives in the platform's config directory
//! ([`default_config_path`]) unless a path is given. Every table rejects unknown keys, so a
//! typo is an error that names the file, the line and the keys that are allowed, instead of a
//! setting that silently does nothing.
//!
//! ```toml
//! version = 1
//!
//! [[folder]]
//! name = "policies"                # stable name: the state store keys items by it
//! path = "/srv/share/Policies"
//! organization = "sandbox"
//! source = "documents"
//! provider = "sandbox"             # security identity provider (optional)
//! identities = "identities.json"  # identity batch pushed to the provider first (optional;
//!                                  # relative to this file)
//! filters = ["- drafts/", "+ *.pdf", "+ *.docx", "- *"]   # first match wins
//! watch = true
//! rescan_interval = "1h"
//! owns_source = false              # true: this folder is the source's only writer, so a
//!                                  # rebuild may remove every item it did not push (see
//!                                  # `FolderMapping::owns_source`)
//!
//! [folder.metadata]
//! fields = { department = "HR" }
//! hierarchy_field = "folders"      # ["a", "a/b"] for a/b/file.pdf
//! title = "html-title"             # or "file-name"
//!
//! [folder.safety]
//! max_delete_count = 500
//! max_delete_share = 0.25
//! ```
//!
//! The API key is deliberately absent: it lives in the keyring or `COVEO_API_KEY`
//! (ARCHITECTURE.md, invariant 7), never in this file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::filters::{FilterDecision, Filters, DEFAULT_EXCLUDES};
// `list_matches` and its rows live with the other walk, in `crate::scan`; kept here under
// their first path.
pub use crate::scan::{list_matches, FilterMatch};

/// The only configuration format version this build reads and writes.
pub const CONFIG_VERSION: u32 = 1;

/// Default time between two full reconciles of a folder. Watch events trigger targeted rescans
/// in between; the full rescan only catches what a watcher missed, so an hour keeps disk work
/// low while bounding how stale a missed change can get.
pub const DEFAULT_RESCAN_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Shortest rescan interval accepted: below this a large folder would be rescanned back to back.
pub const MIN_RESCAN_INTERVAL: Duration = Duration::from_secs(10);

/// Default mass-delete brake: a plan deleting more than this many items halts the folder.
pub const DEFAULT_MAX_DELETE_COUNT: u64 = 1000;

/// Default mass-delete brake: a plan deleting more than this share of the folder's items halts.
pub const DEFAULT_MAX_DELETE_SHARE: f64 = 0.5;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Format version; always [`CONFIG_VERSION`] once loaded.
    pub version: u32,
    /// Folder mappings, `[[folder]]` tables in the file.
    #[serde(default, rename = "folder", skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<FolderMapping>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            folders: Vec::new(),
        }
    }
}

/// One local folder kept in sync with one Push source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderMapping {
    /// Stable name of the mapping (the state store keys items by it; renaming it re-pushes).
    pub name: String,
    /// The local folder (absolute).
    pub path: PathBuf,
    pub organization: String,
    pub source: String,
    /// Security identity provider the folder's identities are pushed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Include (`+ PATTERN`) and exclude (`- PATTERN`) rules, gitignore-like patterns relative
    /// to the folder, first match wins; a file no rule matches is included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Whether [`DEFAULT_EXCLUDES`] apply after `filters`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub default_excludes: bool,
    /// Follow symbolic links while scanning (loops are detected and reported either way).
    #[serde(default, skip_serializing_if = "is_false")]
    pub follow_symlinks: bool,
    /// Watch the folder for changes (targeted rescans) between full rescans.
    #[serde(default = "yes")]
    pub watch: bool,
    /// Time between full reconciles, like `"1h"` or `"15m"`.
    #[serde(
        default = "default_rescan_interval",
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    pub rescan_interval: Duration,
    #[serde(default, skip_serializing_if = "MetadataRules::is_default")]
    pub metadata: MetadataRules,
    #[serde(default)]
    pub safety: SafetyLimits,
    /// Permission rules (`[[folder.permission]]` tables, the rules of `permissions::rules`):
    /// which groups and users may see which files. No rule: items carry no permissions and the
    /// source's visibility applies.
    #[serde(default, rename = "permission", skip_serializing_if = "Vec::is_empty")]
    pub permission_rules: Vec<permissions::rules::FolderRule>,
    /// Security identities to push to `provider` before the items (a JSON file in the Push
    /// API identity batch shape, `{"members": [...], "mappings": [...]}`); a relative path is
    /// resolved against the configuration file's folder. Pushed again only when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<PathBuf>,
    /// The person says this folder is the only writer of its source. Only then may a rebuild
    /// end with the source-wide `DELETE documents/olderthan`, which removes every item of the
    /// source the rebuild did not push: other folders' items, test uploads and items other
    /// tools pushed included. Without it (the default) a rebuild deletes only the items this
    /// folder's state store knows and the scan did not find. Pushdeck cannot know who else
    /// writes to a source of an organization, so this is never inferred; the configuration
    /// refuses it when another folder maps the same source. See `docs/safety.md`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub owns_source: bool,
}

impl FolderMapping {
    /// A mapping with every optional setting at its default.
    pub fn new(
        name: impl Into<String>,
        path: impl Into<PathBuf>,
        organization: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            organization: organization.into(),
            source: source.into(),
            provider: None,
            filters: Vec::new(),
            default_excludes: true,
            follow_symlinks: false,
            watch: true,
            rescan_interval: DEFAULT_RESCAN_INTERVAL,
            metadata: MetadataRules::default(),
            safety: SafetyLimits::default(),
            permission_rules: Vec::new(),
            identities: None,
            owns_source: false,
        }
    }

    /// The compiled permission rules, `None` when the folder has none.
    pub fn compiled_permissions(
        &self,
    ) -> Result<Option<permissions::rules::CompiledRules>, String> {
        if self.permission_rules.is_empty() {
            return Ok(None);
        }
        permissions::rules::PermissionRules {
            rules: self.permission_rules.clone(),
        }
        .compile()
        .map(Some)
        .map_err(|e| e.to_string())
    }

    /// The compiled filter rules of this folder (its own, then the default excludes).
    pub fn compiled_filters(&self) -> Result<Filters, String> {
        let mut rules: Vec<&str> = self.filters.iter().map(String::as_str).collect();
        if self.default_excludes {
            rules.extend(DEFAULT_EXCLUDES.iter().copied());
        }
        Filters::new(&rules)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let hint_name = "write a short name such as name = \"policies\"";
        if self.name.trim().is_empty() {
            return Err(("the folder name is empty".into(), hint_name.into()));
        }
        if !self.path.is_absolute() {
            return Err((
                format!("path {:?} is relative", self.path.display().to_string()),
                "write the folder's absolute path, such as path = \"/srv/share/Policies\"".into(),
            ));
        }
        if let Some(identities) = &self.identities {
            if self.provider.is_none() {
                return Err((
                    "identities are set but no provider receives them".into(),
                    "add provider = \"NAME\" (the folder's security identity provider)".into(),
                ));
            }
            if !identities.is_absolute() {
                return Err((
                    format!("identities {:?} is relative", identities.display().to_string()),
                    "write the identities file's absolute path, or a path relative to the configuration file".into(),
                ));
            }
        }
        for (what, value) in [
            ("organization", &self.organization),
            ("source", &self.source),
        ] {
            if value.trim().is_empty() {
                return Err((
                    format!("{what} is empty"),
                    format!("write the Coveo {what} id, such as {what} = \"myorg\""),
                ));
            }
        }
        if self.rescan_interval < MIN_RESCAN_INTERVAL {
            return Err((
                format!(
                    "rescan_interval {} is shorter than the minimum {}",
                    humantime::format_duration(self.rescan_interval),
                    humantime::format_duration(MIN_RESCAN_INTERVAL)
                ),
                "write rescan_interval = \"15m\" or longer".into(),
            ));
        }
        self.compiled_filters().map_err(|e| {
            (
                e,
                "write each filter as \"+ PATTERN\" (include) or \"- PATTERN\" (exclude)".into(),
            )
        })?;
        self.metadata.validate()?;
        self.safety.validate()?;
        self.compiled_permissions().map_err(|e| {
            (
                format!("permission rules: {e}"),
                "fix the [[folder.permission]] tables as the message says".into(),
            )
        })?;
        Ok(())
    }
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn default_rescan_interval() -> Duration {
    DEFAULT_RESCAN_INTERVAL
}

fn serialize_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

fn deserialize_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration ({e}); write it like \"30m\", \"1h\" or \"1day\""
        ))
    })
}

/// Where an item's title comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TitleRule {
    /// The file name (`Leave policy.pdf`).
    #[default]
    FileName,
    /// The document's own `<title>` for HTML files (read from the first bytes only), the file
    /// name otherwise.
    HtmlTitle,
}

/// A static metadata value as TOML spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetadataValue {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    List(Vec<String>),
}

impl MetadataValue {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::Integer(i) => serde_json::Value::from(*i),
            Self::Float(f) => serde_json::Value::from(*f),
            Self::Text(t) => serde_json::Value::from(t.clone()),
            Self::List(l) => serde_json::Value::from(l.clone()),
        }
    }
}

/// Metadata the folder adds to each of its items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataRules {
    /// Static fields set on every item of the folder.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, MetadataValue>,
    /// A field receiving the folder hierarchy of the item: `["a", "a/b"]` for `a/b/file.pdf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy_field: Option<String>,
    #[serde(default)]
    pub title: TitleRule,
}

fn valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl MetadataRules {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let names = self.fields.keys().chain(self.hierarchy_field.iter());
        let mut seen = BTreeSet::new();
        for name in names {
            if !valid_field_name(name) {
                return Err((
                    format!("metadata field name {name:?} is not a valid Coveo field name"),
                    "use a lowercase letter then lowercase letters, digits or _, such as \"department\"".into(),
                ));
            }
            // One list of reserved keys, the client core's: what it refuses at push time is
            // refused here, before any file is read.
            if coveo_push::RESERVED_KEYS
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
            {
                return Err((
                    format!("metadata field {name:?} is reserved by the Push API"),
                    format!("pick another name, such as \"x{name}\""),
                ));
            }
            if !seen.insert(name) {
                return Err((
                    format!("metadata field {name:?} is set twice"),
                    "keep one of the two".into(),
                ));
            }
        }
        Ok(())
    }

    /// The metadata of the item at `rel_path` (a `/`-separated path relative to the folder),
    /// title excluded (see [`TitleRule`]).
    pub fn metadata_for(&self, rel_path: &str) -> BTreeMap<String, serde_json::Value> {
        let mut out: BTreeMap<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        if let Some(field) = &self.hierarchy_field {
            let parts: Vec<&str> = rel_path.split('/').collect();
            let mut levels = Vec::new();
            for i in 1..parts.len() {
                levels.push(serde_json::Value::from(parts[..i].join("/")));
            }
            out.insert(field.clone(), serde_json::Value::Array(levels));
        }
        out
    }
}

/// Mass-delete brake thresholds (like rclone's `--max-delete`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyLimits {
    /// Halt when a plan deletes more than this many items.
    #[serde(default = "default_max_delete_count")]
    pub max_delete_count: u64,
    /// Halt when a plan deletes more than this share (0..=1) of the folder's known items.
    #[serde(default = "default_max_delete_share")]
    pub max_delete_share: f64,
}

fn default_max_delete_count() -> u64 {
    DEFAULT_MAX_DELETE_COUNT
}
fn default_max_delete_share() -> f64 {
    DEFAULT_MAX_DELETE_SHARE
}

impl Default for SafetyLimits {
    fn default() -> Self {
        Self {
            max_delete_count: DEFAULT_MAX_DELETE_COUNT,
            max_delete_share: DEFAULT_MAX_DELETE_SHARE,
        }
    }
}

impl SafetyLimits {
    fn validate(&self) -> Result<(), (String, String)> {
        if !(0.0..=1.0).contains(&self.max_delete_share) {
            return Err((
                format!(
                    "max_delete_share {} is not between 0 and 1",
                    self.max_delete_share
                ),
                "write a share such as max_delete_share = 0.25 (a quarter of the items)".into(),
            ));
        }
        Ok(())
    }
}

/// A configuration file that cannot be used: names the file, the line when known, what is
/// wrong and what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}: {source}; check that it exists and is readable", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the configuration file {}: {source}; check the folder's permissions and free space", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}; {hint}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        message: String,
        hint: String,
    },
    #[error("no configuration directory is known for this platform; pass the configuration file's path explicitly")]
    NoConfigDir,
}

impl ConfigError {
    /// A stable code for the UI (ARCHITECTURE.md, invariant 10).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "config_read",
            Self::Write { .. } => "config_write",
            Self::Invalid { .. } => "config_invalid",
            Self::NoConfigDir => "config_no_dir",
        }
    }
}

/// The platform's configuration file: `~/.config/pushdeck/config.toml` on Linux, the
/// Application Support folder on macOS, `%APPDATA%` on Windows.
/// A mapping name for a folder: its last path component ("folder" when it has none), made
/// unique with "-2", "-3"... among the names `is_taken` reports.
pub fn unique_folder_name(path: &Path, is_taken: impl Fn(&str) -> bool) -> String {
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "folder".into());
    let mut name = base.clone();
    let mut n = 2;
    while is_taken(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

pub fn default_config_path() -> Result<PathBuf, ConfigError> {
    directories::ProjectDirs::from("com", "Pushdeck", "Pushdeck")
        .map(|d| d.config_dir().join("config.toml"))
        .ok_or(ConfigError::NoConfigDir)
}

/// The platform's data directory for the state store (`~/.local/share/pushdeck` on Linux).
pub fn default_data_dir() -> Result<PathBuf, ConfigError> {
    directories::ProjectDirs::from("com", "Pushdeck", "Pushdeck")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or(ConfigError::NoConfigDir)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of the `n`-th `[[folder]]` header, for errors about one folder.
fn folder_line(text: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[folder]]"))
        .nth(n)
        .map(|(i, _)| i + 1)
}

impl Config {
    /// Reads the file at `path`. A missing file is an error (use [`Config::load_or_default`]
    /// for first runs).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Reads the file at `path`, or returns an empty configuration when it does not exist yet.
    pub fn load_or_default(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses configuration text; `path` names the file in errors, and relative `identities`
    /// paths are resolved against its folder.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |line: Option<usize>, message: String, hint: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
            hint,
        };
        // First the version alone, so a file from a newer Pushdeck gets a version message
        // rather than complaints about keys this build does not know.
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            invalid(
                e.span().map(|s| line_of(text, s.start)),
                e.message().to_string(),
                "fix the TOML syntax at that place (strings in double quotes, one key = value per line)".into(),
            )
        })?;
        let version_line = text
            .lines()
            .position(|l| l.trim_start().starts_with("version"))
            .map(|i| i + 1);
        match table.get("version") {
            None => {
                return Err(invalid(
                    Some(1),
                    "the file has no version".into(),
                    format!("write `version = {CONFIG_VERSION}` as the first line"),
                ))
            }
            Some(toml::Value::Integer(v)) if *v == i64::from(CONFIG_VERSION) => {}
            Some(other) => {
                return Err(invalid(
                    version_line,
                    format!("configuration version {other} is not supported by this Pushdeck"),
                    format!(
                        "this Pushdeck reads version {CONFIG_VERSION}; update Pushdeck or write `version = {CONFIG_VERSION}`"
                    ),
                ))
            }
        }
        let mut config: Config = toml::from_str(text).map_err(|e| {
            invalid(
                e.span().map(|s| line_of(text, s.start)),
                e.message().trim_end_matches('\n').to_string(),
                "write one of the keys listed, with a value of the expected type".into(),
            )
        })?;
        let base = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        for folder in &mut config.folders {
            if let Some(identities) = &mut folder.identities {
                if identities.is_relative() {
                    *identities = base.join(&*identities);
                }
            }
        }
        config.validate_with(|n, m, h| invalid(folder_line(text, n), m, h))?;
        Ok(config)
    }

    fn validate_with(
        &self,
        err: impl Fn(usize, String, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let mut names = BTreeSet::new();
        for (n, folder) in self.folders.iter().enumerate() {
            folder
                .validate()
                .map_err(|(m, h)| err(n, format!("folder {:?}: {m}", folder.name), h))?;
            if !names.insert(folder.name.as_str()) {
                return Err(err(
                    n,
                    format!("two folders are named {:?}", folder.name),
                    "give each [[folder]] its own name".into(),
                ));
            }
        }
        // A folder that owns its source may remove, at a rebuild, every item of the source it
        // did not push: no other folder may write there.
        for (n, owner) in self.folders.iter().enumerate() {
            if !owner.owns_source {
                continue;
            }
            if let Some(other) = self.folders.iter().find(|f| {
                f.name != owner.name
                    && f.organization == owner.organization
                    && f.source == owner.source
            }) {
                return Err(err(
                    n,
                    format!(
                        "folder {:?} owns source {:?}, but folder {:?} pushes to it too; a rebuild of {:?} would delete {:?}'s items",
                        owner.name, owner.source, other.name, owner.name, other.name
                    ),
                    format!(
                        "remove owns_source = true from {:?}, or give {:?} its own source",
                        owner.name, other.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks the configuration as [`Config::load`] would, without a file.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_with(|_, message, hint| ConfigError::Invalid {
            path: PathBuf::from("<configuration>"),
            line: None,
            message,
            hint,
        })
    }

    /// The configuration as TOML text.
    pub fn to_toml(&self) -> String {
        // Serializing these plain structs cannot fail (no maps with non-string keys).
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the configuration to `path` atomically (a temporary file then a rename), creating
    /// the directory if needed. The version written is the one loaded ([`CONFIG_VERSION`]).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.validate()?;
        let write_err = |source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, self.to_toml()).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)?;
        Ok(())
    }

    pub fn folder(&self, name: &str) -> Option<&FolderMapping> {
        self.folders.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"version = 1

[[folder]]
name = "policies"
path = "/srv/policies"
organization = "sandbox"
source = "documents"
provider = "sandbox"
filters = ["- drafts/", "+ *.pdf", "- *.bin"]
rescan_interval = "15m"

[folder.metadata]
fields = { department = "HR", year = 2024, tags = ["a", "b"] }
hierarchy_field = "folders"
title = "html-title"

[folder.safety]
max_delete_count = 10

[[folder.permission]]
path = ""
access = "everyone"

[[folder.permission]]
path = "HR"
access = "only"
groups = ["HR Team"]
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/pushdeck.toml"))
    }

    #[test]
    fn identities_resolve_against_the_config_file_and_need_a_provider() {
        let folder = "version = 1\n[[folder]]\nname = \"p\"\npath = \"/srv/p\"\norganization = \"o\"\nsource = \"s\"\n";
        let config = parse(&format!(
            "{folder}provider = \"sandbox\"\nidentities = \"ids/identities.json\"\n"
        ))
        .unwrap();
        assert_eq!(
            config.folders[0].identities.as_deref(),
            Some(Path::new("/etc/ids/identities.json"))
        );
        let err = parse(&format!("{folder}identities = \"/x.json\"\n")).unwrap_err();
        assert!(err.to_string().contains("provider"), "{err}");
    }

    #[test]
    fn parses_a_full_file_and_round_trips() {
        let config = parse(GOOD).unwrap();
        let folder = &config.folders[0];
        assert_eq!(folder.rescan_interval, Duration::from_secs(900));
        assert_eq!(folder.metadata.title, TitleRule::HtmlTitle);
        assert_eq!(folder.safety.max_delete_count, 10);
        assert_eq!(folder.safety.max_delete_share, DEFAULT_MAX_DELETE_SHARE);
        assert!(folder.watch);
        let rules = folder.compiled_permissions().unwrap().unwrap();
        assert!(
            rules.resolve("HR/pay.pdf").unwrap().fingerprint
                != rules.resolve("a.pdf").unwrap().fingerprint
        );
        let again = parse(&config.to_toml()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn save_then_load_keeps_version_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let config = parse(GOOD).unwrap();
        config.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("version = 1\n"), "{text}");
        assert_eq!(Config::load(&path).unwrap(), config);
        assert_eq!(
            Config::load_or_default(&dir.path().join("none.toml")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_allowed_keys() {
        let text = GOOD.replace("rescan_interval = \"15m\"", "rescan_intervall = \"15m\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with("/etc/pushdeck.toml line 10:"), "{err}");
        assert!(err.contains("unknown field `rescan_intervall`"), "{err}");
        assert!(err.contains("rescan_interval"), "{err}");
    }

    #[test]
    fn errors_say_what_to_write() {
        let cases: &[(&str, &str, &str)] = &[
            ("version = 1", "version = 2", "write `version = 1`"),
            ("version = 1\n", "", "write `version = 1` as the first line"),
            ("\"15m\"", "\"soon\"", "write it like \"30m\""),
            ("\"- *.bin\"", "\"*.bin\"", "\"+ PATTERN\""),
            (
                "path = \"/srv/policies\"",
                "path = \"policies\"",
                "absolute path",
            ),
            ("department = ", "title = ", "reserved by the Push API"),
            // The client core refuses these at push time (every file would fail): refused here.
            ("department = ", "author = ", "reserved by the Push API"),
            ("department = ", "date = ", "reserved by the Push API"),
            (
                "department = ",
                "clickableuri = ",
                "reserved by the Push API",
            ),
            (
                "max_delete_count = 10",
                "max_delete_share = 3.0",
                "between 0 and 1",
            ),
            (
                "organization = \"sandbox\"",
                "organization = sandbox",
                "TOML syntax",
            ),
            ("groups = [\"HR Team\"]", "", "permission rules"),
        ];
        for (from, to, expected) in cases {
            let text = GOOD.replacen(from, to, 1);
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{from} -> {to}: {err}");
            assert!(err.contains("line "), "{from} -> {to}: no line in {err}");
        }
    }

    #[test]
    fn duplicate_folder_names_are_rejected_at_the_second_folder() {
        let second = GOOD.split("\n[[folder]]").nth(1).unwrap();
        let second = second.split("\n[folder.metadata]").next().unwrap();
        let text = format!("{GOOD}\n[[folder]]{second}");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("two folders are named"), "{err}");
        assert!(err.contains("line 29"), "{err}");
    }

    #[test]
    fn a_source_owned_by_one_folder_takes_no_other_folder() {
        let second = "\n[[folder]]\nname = \"other\"\npath = \"/srv/other\"\norganization = \"sandbox\"\nsource = \"documents\"\n";
        // Two folders sharing a source: fine while neither owns it.
        let shared = format!("{GOOD}{second}");
        assert!(parse(&shared).is_ok());
        let owned = shared.replacen(
            "rescan_interval = \"15m\"",
            "rescan_interval = \"15m\"\nowns_source = true",
            1,
        );
        let err = parse(&owned).unwrap_err().to_string();
        assert!(err.contains("owns source \"documents\""), "{err}");
        assert!(err.contains("folder \"other\" pushes to it too"), "{err}");
        assert!(err.contains("remove owns_source = true"), "{err}");
        // The other folder on another source: the owner is alone again.
        let mut elsewhere = owned.clone();
        let last = elsewhere.rfind("source = \"documents\"").unwrap();
        elsewhere.replace_range(
            last..last + "source = \"documents\"".len(),
            "source = \"archive\"",
        );
        let config = parse(&elsewhere).unwrap();
        assert!(config.folders[0].owns_source);
        assert_eq!(parse(&config.to_toml()).unwrap(), config);
    }

    #[test]
    fn list_matches_reports_the_deciding_rule() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("drafts")).unwrap();
        std::fs::write(dir.path().join("a.pdf"), "x").unwrap();
        std::fs::write(dir.path().join("b.tmp"), "x").unwrap();
        std::fs::write(dir.path().join("drafts/c.pdf"), "x").unwrap();
        let mut mapping = FolderMapping::new("f", dir.path(), "o", "s");
        mapping.filters = vec!["- drafts/".into()];
        let list = list_matches(dir.path(), &mapping.compiled_filters().unwrap()).unwrap();
        let summary: Vec<String> = list
            .iter()
            .map(|m| format!("{} {}", m.path, m.decision))
            .collect();
        assert_eq!(
            summary,
            vec![
                "a.pdf included (no rule matched)",
                "b.tmp excluded by \"- *.tmp\"",
                "drafts/c.pdf excluded by \"- drafts/\"",
            ]
        );
    }

    #[test]
    fn metadata_from_path() {
        let config = parse(GOOD).unwrap();
        let meta = config.folders[0].metadata.metadata_for("a/b/c.pdf");
        assert_eq!(meta["folders"], serde_json::json!(["a", "a/b"]));
        assert_eq!(meta["department"], serde_json::json!("HR"));
        assert_eq!(meta["year"], serde_json::json!(2024));
        assert_eq!(meta["tags"], serde_json::json!(["a", "b"]));
    }
}
