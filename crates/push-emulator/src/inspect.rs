//! Typed reads of a running emulator, for a program that embeds it (the desktop app's Sandbox
//! browser): what the inspection API under `/_emulator/v1/` answers as JSON, as Rust values,
//! without a loopback request.
//!
//! One implementation for both: the functions here (finding a source, which items a listing
//! shows, "search as" in [`crate::search::evaluate`]) are what the inspection routes call too;
//! the routes only turn their results into JSON. The items are the emulator's own
//! [`Item`] (what `GET .../items` serializes, content bytes included).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use push_emulator::{Emulator, EmulatorConfig, SANDBOX_ORG, SANDBOX_SOURCE};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! // ... push, then `emu.drain().await` ...
//! for item in emu.items(SANDBOX_ORG, SANDBOX_SOURCE)? {
//!     println!("{} {:?} {} bytes", item.document_id, item.title(), item.content.len());
//! }
//! let asmith = permissions::QueryingUser::named("asmith");
//! let seen = emu.search_as(SANDBOX_ORG, SANDBOX_SOURCE, &asmith)?;
//! let visible: Vec<&str> = seen.visible().collect();
//! # Ok(()) }
//! ```

use permissions::QueryingUser;

use crate::clock::{parse_rfc3339_ms, Millis};
use crate::error::ApiError;
pub use crate::search::Seen;
use crate::state::{Item, ItemState, Org, Source, State};
use crate::Emulator;

/// Why a typed read has nothing to read: the organization or the source does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    #[error("organization {0:?} does not exist in this emulator")]
    UnknownOrganization(String),
    #[error("source {source_id:?} does not exist in organization {organization:?}")]
    UnknownSource {
        organization: String,
        source_id: String,
    },
}

/// The inspection routes answer these as the Push API does.
impl From<InspectError> for ApiError {
    fn from(e: InspectError) -> Self {
        match e {
            InspectError::UnknownOrganization(org) => ApiError::organization_not_found(&org),
            InspectError::UnknownSource { source_id, .. } => {
                ApiError::source_does_not_exist(&source_id)
            }
        }
    }
}

/// The organization and the source of `org`/`source`.
pub(crate) fn source_of<'s>(
    state: &'s State,
    org: &str,
    source: &str,
) -> Result<(&'s Org, &'s Source), InspectError> {
    let o = state
        .orgs
        .get(org)
        .ok_or_else(|| InspectError::UnknownOrganization(org.to_owned()))?;
    let s = o
        .sources
        .get(source)
        .ok_or_else(|| InspectError::UnknownSource {
            organization: org.to_owned(),
            source_id: source.to_owned(),
        })?;
    Ok((o, s))
}

/// The items a listing of `source` shows (`GET .../items`): the indexed ones, by documentId;
/// with `include_deleted`, the tombstones of deleted items too.
pub(crate) fn listed_items(source: &Source, include_deleted: bool) -> impl Iterator<Item = &Item> {
    source
        .items
        .values()
        .filter(move |i| include_deleted || i.state == ItemState::Indexed)
}

/// One item of `source` by documentId (`GET .../item?documentId=`), whatever its state (a
/// deleted item is a tombstone with its orderingId).
pub(crate) fn find_item<'s>(source: &'s Source, document_id: &str) -> Option<&'s Item> {
    source.items.get(document_id)
}

impl Item {
    /// The `title` metadata (any letter case), when it is text.
    pub fn title(&self) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("title"))
            .and_then(|(_, v)| v.as_str())
    }

    /// When the item was last written ([`Item::updated`]), in ms since the epoch.
    pub fn updated_ms(&self) -> Option<Millis> {
        parse_rfc3339_ms(&self.updated)
    }
}

/// One indexed item's answer to "search as".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemAccess {
    pub document_id: String,
    pub seen: Seen,
}

impl ItemAccess {
    pub fn is_visible(&self) -> bool {
        self.seen.is_visible()
    }
}

/// What a person sees of a source's indexed items: the answers of
/// `GET .../search?user=...` (without the identities it reached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchAs {
    pub user: QueryingUser,
    /// The provider of a permission that names none (the source's first provider).
    pub default_provider: String,
    /// Every indexed item, by documentId, visible or not.
    pub items: Vec<ItemAccess>,
}

impl SearchAs {
    /// The documentIds the person sees.
    pub fn visible(&self) -> impl Iterator<Item = &str> {
        self.items
            .iter()
            .filter(|i| i.is_visible())
            .map(|i| i.document_id.as_str())
    }
}

impl Emulator {
    /// The indexed items of `org`/`source`, by documentId (what `GET
    /// /_emulator/v1/organizations/{org}/sources/{source}/items` lists). Call
    /// [`Emulator::drain`] first to see every write accepted so far.
    pub fn items(&self, org: &str, source: &str) -> Result<Vec<Item>, InspectError> {
        let state = self.shared.lock_state();
        let (_, src) = source_of(&state, org, source)?;
        Ok(listed_items(src, false).cloned().collect())
    }

    /// One item by documentId, deleted ones included (`GET .../item?documentId=`); `None`
    /// when the source never had it (or it is still queued: see [`Emulator::drain`]).
    pub fn item(
        &self,
        org: &str,
        source: &str,
        document_id: &str,
    ) -> Result<Option<Item>, InspectError> {
        let state = self.shared.lock_state();
        let (_, src) = source_of(&state, org, source)?;
        Ok(find_item(src, document_id).cloned())
    }

    /// What `user` sees of the indexed items of `org`/`source`, and why, through the one
    /// access analysis (`GET .../search?user=...`; `QueryingUser::in_provider` is
    /// `&provider=`).
    pub fn search_as(
        &self,
        org: &str,
        source: &str,
        user: &QueryingUser,
    ) -> Result<SearchAs, InspectError> {
        let state = self.shared.lock_state();
        let (o, src) = source_of(&state, org, source)?;
        let found = crate::search::evaluate(o, src, user);
        Ok(SearchAs {
            user: user.clone(),
            default_provider: found.default_provider,
            items: found
                .items
                .into_iter()
                .map(|(document_id, seen)| ItemAccess { document_id, seen })
                .collect(),
        })
    }
}
