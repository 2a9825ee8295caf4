//! Permission models and explained access: who can see an item, and why.
//!
//! This crate is the engine behind Pushdeck's access preview, the emulator's "search as",
//! and the folder rules of the sync engine. It follows Coveo's documentation of permission
//! models and their evaluation (reference §4) and of security identities (reference §5); the
//! sections and their Coveo pages are listed in `docs/push-api-reference.md`.
//!
//! Where to start:
//! - [`model`]: an item's `permissions` as the Push API spells them ([`PermissionModel`],
//!   simple or complete), and security identities ([`Identity`]). Lenient reading (any
//!   letter case, every identity type spelling), canonical writing.
//! - [`graph`]: the security identities of the providers ([`IdentityGraph`]): members,
//!   mappings (aliases), granted identities, built from the Push API identity bodies
//!   ([`IdentityBody`], [`MappedIdentityBody`], [`IdentityBatch`]); a viewer's
//!   [`Expansion`] with the [`Chain`] that reached each identity.
//! - [`evaluate`]: [`explain`] (visible or hidden, level by level, set by set, with the
//!   entries and chains that matched) and [`AccessIndex`] (every viewer expanded once; who
//!   can see an item, what a viewer can see, [`AccessDiff`] between two models, the whole
//!   [`AccessMatrix`]).
//! - [`querying`]: **the querying user** ([`QueryingUser`]: a name, optionally a provider)
//!   resolved once against the graph and the providers' configuration ([`Providers`]:
//!   cascading, the Email Security Provider) into everything the person holds
//!   ([`ResolvedViewer`]), and **the access analysis** every front uses ([`AccessAnalysis`]:
//!   explain, who can see, what a user can see, the index for previews), with chains in words
//!   and the readings chosen where the reference is ambiguous ([`AccessAnswer::uncertain`]).
//! - [`identities_csv`]: the one CSV format for security identities
//!   (`name,kind,members,aliases`), read from a `&str` ([`parse_identities_csv`]) into
//!   identities, per-line problems, and the Push API identity batch.
//! - [`rules`]: folder rules as stored in the configuration ([`PermissionRules`], TOML),
//!   resolved per file to a model and a [`fingerprint`], and [`validate`]d into a list of
//!   [`Problem`]s.
//!
//! What it is not: no IO at all (no files, network, clock or environment) and no knowledge of
//! sources, folders on disk or the Push API client. Callers hand in identities, models and
//! relative paths; everything here is a pure function of its inputs, so the same answers hold
//! in the app, the CLI, the emulator and tests.

pub mod evaluate;
pub mod graph;
pub mod identities_csv;
pub mod model;
pub mod querying;
pub mod rules;
mod wire;

pub use evaluate::{
    diff, explain, explain_expanded, what_can_see, who_can_see, AccessContext, AccessDiff,
    AccessIndex, AccessMatrix, Decision, EntryMatch, Explanation, LevelExplanation, LevelOutcome,
    SetExplanation, SetOutcome, ViewerSet, Visibility,
};
pub use graph::{
    describe_identity, BaseIdentityBody, Chain, ChainLink, Expansion, IdentityBatch, IdentityBody,
    IdentityGraph, IdentityId, IdentityKey, IdentityMapping, MappedIdentityBody, Relation, Viewer,
};
pub use identities_csv::{
    alias_bodies, parse_identities_csv, CsvIdentity, CsvProblem, IdentitiesCsv,
    IDENTITIES_CSV_COLUMNS,
};
pub use model::{
    Identity, IdentityType, PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet,
};
pub use querying::{
    AccessAnalysis, AccessAnswer, Because, OtherReading, ProviderConfig, Providers, QueryingUser,
    ReachedIdentity, Reading, ReadingNote, ResolvedViewer, EMAIL_SECURITY_PROVIDER,
};
pub use rules::{
    fingerprint, validate, AccessChoice, CompiledRules, FolderRule, PermissionRules, Problem,
    ResolvedPermissions, RuleMode, RulesError, Severity, ValidationInput, MAX_PERMISSIONS_PER_ITEM,
};
