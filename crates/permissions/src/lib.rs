//! Permission models and explained access: who can see an item, and why.
//!
//! Pure Rust, no IO. Start with [`model`] (the Push API's JSON shapes).

pub mod graph;
pub mod model;
mod wire;

pub use graph::{
    BaseIdentityBody, Chain, ChainLink, Expansion, IdentityBatch, IdentityBody, IdentityGraph,
    IdentityId, IdentityKey, IdentityMapping, MappedIdentityBody, Relation, Viewer,
};
pub use model::{
    Identity, IdentityType, PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet,
};
