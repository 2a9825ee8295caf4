//! Permission models and explained access: who can see an item, and why.
//!
//! Pure Rust, no IO. Start with [`model`] (the Push API's JSON shapes).

pub mod model;
mod wire;

pub use model::{Identity, IdentityType, PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet};
