//! Permission models and explained access: who can see an item, and why.
//!
//! Pure Rust, no IO. Start with [`model`] (the Push API's JSON shapes).

pub mod evaluate;
pub mod graph;
pub mod model;
pub mod rules;
mod wire;

pub use evaluate::{
    diff, explain, explain_expanded, what_can_see, who_can_see, AccessContext, AccessDiff,
    AccessIndex, AccessMatrix, Decision, EntryMatch, Explanation, LevelExplanation, LevelOutcome,
    SetExplanation, SetOutcome, ViewerSet, Visibility,
};
pub use graph::{
    BaseIdentityBody, Chain, ChainLink, Expansion, IdentityBatch, IdentityBody, IdentityGraph,
    IdentityId, IdentityKey, IdentityMapping, MappedIdentityBody, Relation, Viewer,
};
pub use model::{
    Identity, IdentityType, PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet,
};
pub use rules::{
    fingerprint, validate, AccessChoice, CompiledRules, FolderRule, PermissionRules, Problem,
    ResolvedPermissions, RuleMode, RulesError, Severity, ValidationInput, MAX_PERMISSIONS_PER_ITEM,
};
