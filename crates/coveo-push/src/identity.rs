//! Security identity bodies as the Push API reads them (push-api.md §5).
//!
//! The types live in `permissions`, which also builds the identity graph from them: one
//! definition for what the client sends, what the emulator reads and what the preview shows.
//! Reading is lenient (any letter case, both `deleted` forms); writing is canonical camelCase.

pub use permissions::{
    BaseIdentityBody as DeletedIdentity, IdentityBatch, IdentityBody, IdentityMapping as Mapping,
    MappedIdentityBody,
};
