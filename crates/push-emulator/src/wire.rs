//! The Push API's request bodies as the emulator reads them, written from the reference
//! (push-api.md §3 and §5), independently of the client crate so that the emulator catches
//! the client's serialization mistakes instead of sharing them.
//!
//! Two stages mirror the service: [`check_document`] is what the service answers
//! synchronously (400/412), [`materialize`] is what the indexing pipeline does later
//! (decoding, metadata values, permissions), whose failures become log entries.

use std::io::Read;

use base64::Engine;
use bytes::Bytes;
use permissions::{
    Identity, IdentityType, PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::json::{canonicalize_keys, get_ci};

/// The service caps the identities named in one item's permissions (push-api.md §3.4).
pub const MAX_PERMISSIONS_PER_ITEM: usize = 5_000;

/// Upper bound on decoded content, so a decompression bomb cannot exhaust memory. Four times
/// the container cap: generous for real documents, small enough for a laptop.
pub const MAX_DECODED_BYTES: u64 = 1024 * 1024 * 1024;

/// The reserved keys of an item body, in their documented spelling.
const RESERVED: [&str; 9] = [
    "documentId",
    "orderingId",
    "data",
    "compressedBinaryData",
    "compressedBinaryDataFileId",
    "compressionType",
    "fileExtension",
    "parentId",
    "permissions",
];

/// How `compressedBinaryData` / `compressedBinaryDataFileId` bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Compression {
    Uncompressed,
    Deflate,
    Gzip,
    Lzma,
    Zlib,
}

impl Compression {
    /// Any letter case: `GZip`, `gzip`, `GZIP` (the reference lists mixed spellings).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "UNCOMPRESSED" => Some(Self::Uncompressed),
            "DEFLATE" => Some(Self::Deflate),
            "GZIP" => Some(Self::Gzip),
            "LZMA" => Some(Self::Lzma),
            "ZLIB" => Some(Self::Zlib),
            _ => None,
        }
    }

    /// Decodes `bytes` into the original content.
    pub fn decode(self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let limit = MAX_DECODED_BYTES + 1;
        let result = match self {
            Self::Uncompressed => {
                out.extend_from_slice(bytes);
                Ok(0)
            }
            Self::Zlib => flate2::read::ZlibDecoder::new(bytes)
                .take(limit)
                .read_to_end(&mut out),
            Self::Gzip => flate2::read::MultiGzDecoder::new(bytes)
                .take(limit)
                .read_to_end(&mut out),
            Self::Deflate => flate2::read::DeflateDecoder::new(bytes)
                .take(limit)
                .read_to_end(&mut out),
            Self::Lzma => {
                let mut reader = std::io::BufReader::new(bytes);
                let lzma = lzma_rs::lzma_decompress(&mut reader, &mut out);
                if lzma.is_err() {
                    out.clear();
                    let mut reader = std::io::BufReader::new(bytes);
                    lzma_rs::xz_decompress(&mut reader, &mut out)
                        .map_err(|e| format!("the data is neither LZMA nor XZ: {e}"))?;
                }
                Ok(0)
            }
        };
        result.map_err(|e| format!("the data is not valid {self:?} data: {e}"))?;
        if out.len() as u64 > MAX_DECODED_BYTES {
            return Err(format!(
                "the decoded data exceeds {MAX_DECODED_BYTES} bytes"
            ));
        }
        Ok(out)
    }
}

/// Where an item's content comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentSource {
    /// `data`: raw text.
    Data(String),
    /// `compressedBinaryData`: base64 of (optionally compressed) bytes.
    CompressedBinaryData(String),
    /// `compressedBinaryDataFileId`: a file container holding the raw bytes.
    CompressedBinaryDataFileId(String),
}

impl ContentSource {
    pub fn key(&self) -> &'static str {
        match self {
            Self::Data(_) => "data",
            Self::CompressedBinaryData(_) => "compressedBinaryData",
            Self::CompressedBinaryDataFileId(_) => "compressedBinaryDataFileId",
        }
    }
}

/// An item body that passed the synchronous checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedDocument {
    pub document_id: String,
    pub content: ContentSource,
    pub compression_type: Option<Compression>,
    pub file_extension: Option<String>,
    pub parent_id: Option<String>,
    /// Read with the emulator's own wire types (any key case, unknown keys refused); the
    /// identity types and the 5,000 cap are the pipeline's business ([`materialize`]).
    pub permissions: Option<WirePermissions>,
    /// Every non-reserved key, in the letter case it was sent.
    pub metadata: Map<String, Value>,
}

/// `documentId` must be a URI with a scheme (`file://…`, `https://…`).
pub fn check_document_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("documentId is empty".into());
    }
    match url::Url::parse(id) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "documentId {id:?} is not a URI with a scheme ({e}); use e.g. file:///path or https://host/path"
        )),
    }
}

fn as_string(value: Value, key: &str) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(ApiError::invalid_json(format!("{key} must be a string"))),
    }
}

/// The checks the service makes before answering 202. `query_document_id` is the query
/// parameter of a single push (the body's `documentId`, if any, must equal it); in a batch it
/// is `None` and the body's `documentId` is required.
pub fn check_document(
    body: Value,
    query_document_id: Option<&str>,
    query_compression: Option<&str>,
) -> Result<CheckedDocument, ApiError> {
    let Value::Object(obj) = body else {
        return Err(ApiError::invalid_json("an item must be a JSON object"));
    };
    let mut fields = BodyFields::default();
    for (key, value) in obj {
        match reserved_key(&key) {
            Some("documentId") => fields.document_id = Some(as_string(value, "documentId")?),
            Some("orderingId") => return Err(ordering_id_in_body()),
            Some("data") => fields
                .contents
                .push(ContentSource::Data(as_string(value, "data")?)),
            Some("compressedBinaryData") => {
                let text = as_string(value, "compressedBinaryData")?;
                check_base64(&text)?;
                fields
                    .contents
                    .push(ContentSource::CompressedBinaryData(text));
            }
            Some("compressedBinaryDataFileId") => {
                fields
                    .contents
                    .push(ContentSource::CompressedBinaryDataFileId(as_string(
                        value,
                        "compressedBinaryDataFileId",
                    )?))
            }
            Some("compressionType") => {
                fields.compression = Some(body_compression(&as_string(value, "compressionType")?)?);
            }
            Some("fileExtension") => {
                let text = as_string(value, "fileExtension")?;
                check_file_extension(&text)?;
                fields.file_extension = Some(text);
            }
            Some("parentId") => fields.parent_id = Some(as_string(value, "parentId")?),
            Some("permissions") => {
                fields.permissions =
                    Some(WirePermissions::from_value(value).map_err(ApiError::invalid_json)?);
            }
            _ => {
                fields.metadata.insert(key, value);
            }
        }
    }
    fields.check(query_document_id, query_compression)
}

/// The documented spelling of a reserved key of an item body (any letter case), `None` for a
/// metadata key.
fn reserved_key(key: &str) -> Option<&'static str> {
    RESERVED
        .iter()
        .find(|r| r.eq_ignore_ascii_case(key))
        .copied()
}

fn ordering_id_in_body() -> ApiError {
    ApiError::invalid_json(
        "orderingId is reserved: pass it as the orderingId query parameter, not in the item body",
    )
}

fn check_base64(text: &str) -> Result<(), ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(drop)
        .map_err(|e| {
            ApiError::invalid_json(format!("compressedBinaryData is not valid base64: {e}"))
        })
}

fn body_compression(text: &str) -> Result<Compression, ApiError> {
    Compression::parse(text).ok_or_else(|| {
        ApiError::invalid_json(format!(
            "compressionType {text:?} is not one of UNCOMPRESSED, DEFLATE, GZIP, LZMA, ZLIB"
        ))
    })
}

fn check_file_extension(text: &str) -> Result<(), ApiError> {
    if !text.starts_with('.') || text.len() < 2 {
        return Err(ApiError::invalid_json(format!(
            "fileExtension {text:?} must start with a dot, e.g. \".html\""
        )));
    }
    Ok(())
}

/// An item body's keys as [`check_document`] reads them one by one; [`BodyFields::check`]
/// makes the checks that need them all.
#[derive(Debug, Default)]
struct BodyFields {
    document_id: Option<String>,
    contents: Vec<ContentSource>,
    compression: Option<Compression>,
    file_extension: Option<String>,
    parent_id: Option<String>,
    permissions: Option<WirePermissions>,
    metadata: Map<String, Value>,
}

impl BodyFields {
    fn check(
        self,
        query_document_id: Option<&str>,
        query_compression: Option<&str>,
    ) -> Result<CheckedDocument, ApiError> {
        let Self {
            document_id,
            mut contents,
            mut compression,
            file_extension,
            parent_id,
            permissions,
            metadata,
        } = self;
        let document_id = match (query_document_id, document_id) {
            (Some(q), Some(b)) if q != b => {
                return Err(ApiError::invalid_parameter(format!(
                    "the documentId of the body ({b:?}) differs from the documentId query parameter ({q:?})"
                )))
            }
            (Some(q), _) => q.to_owned(),
            (None, Some(b)) => b,
            (None, None) => {
                return Err(ApiError::invalid_json("the item has no documentId"));
            }
        };
        check_document_id(&document_id).map_err(|m| {
            if query_document_id.is_some() {
                ApiError::invalid_parameter(m)
            } else {
                ApiError::invalid_json(m)
            }
        })?;
        if let Some(q) = query_compression {
            let parsed = Compression::parse(q).ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "compressionType {q:?} is not one of UNCOMPRESSED, DEFLATE, GZIP, LZMA, ZLIB"
                ))
            })?;
            match compression {
                Some(body) if body != parsed => {
                    return Err(ApiError::invalid_parameter(format!(
                        "compressionType differs between the query ({parsed:?}) and the body ({body:?})"
                    )))
                }
                _ => compression = Some(parsed),
            }
        }
        if contents.len() != 1 {
            return Err(ApiError::invalid_json(format!(
                "an item needs exactly one of data, compressedBinaryData, compressedBinaryDataFileId (found {})",
                if contents.is_empty() {
                    "none".to_owned()
                } else {
                    contents.iter().map(ContentSource::key).collect::<Vec<_>>().join(", ")
                }
            )));
        }
        let content = contents.remove(0);
        Ok(CheckedDocument {
            document_id,
            content,
            compression_type: compression,
            file_extension,
            parent_id,
            permissions,
            metadata,
        })
    }
}

/// What the indexing pipeline keeps of an item.
#[derive(Debug, Clone)]
pub struct Materialized {
    pub content: Bytes,
    pub permissions: Option<PermissionModel>,
    /// Which key carried the content (data, compressedBinaryData, compressedBinaryDataFileId).
    pub content_key: &'static str,
    pub sha256: String,
}

/// The pipeline stage: decodes the content, checks metadata values and permissions.
/// `container` is the content of the `compressedBinaryDataFileId` container, when used.
pub fn materialize(
    doc: &mut CheckedDocument,
    container: Option<&[u8]>,
) -> Result<Materialized, String> {
    for (key, value) in &doc.metadata {
        check_metadata_value(key, value)?;
    }
    check_inline_size(&doc.content)?;
    let permissions = match doc.permissions.take() {
        None => None,
        Some(wire) => {
            let count = wire.permission_count();
            if count > MAX_PERMISSIONS_PER_ITEM {
                return Err(format!(
                    "the item names {count} identities in its permissions; the limit is {MAX_PERMISSIONS_PER_ITEM}"
                ));
            }
            Some(wire.into_model()?)
        }
    };
    let compression = doc.compression_type.unwrap_or(Compression::Zlib);
    let content_key = doc.content.key();
    let content = match std::mem::replace(&mut doc.content, ContentSource::Data(String::new())) {
        ContentSource::Data(text) => Bytes::from(text.into_bytes()),
        ContentSource::CompressedBinaryData(b64) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| format!("compressedBinaryData is not valid base64: {e}"))?;
            Bytes::from(compression.decode(&raw)?)
        }
        ContentSource::CompressedBinaryDataFileId(id) => {
            let raw = container.ok_or_else(|| format!("file container {id:?} has no content"))?;
            Bytes::from(compression.decode(raw)?)
        }
    };
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&content))
    };
    Ok(Materialized {
        content,
        permissions,
        content_key,
        sha256,
    })
}

/// The service's cap on content sent inside an item body (push-api.md §3.4): `data` is at most
/// 5 MB of (uncompressed) text and `compressedBinaryData` at most 5 MB, measured here as the
/// base64 text sent. Larger content goes to a file container named by
/// `compressedBinaryDataFileId` (256 MB).
pub const MAX_INLINE_CONTENT_BYTES: usize = 5 * 1024 * 1024;

/// The pipeline's check of [`MAX_INLINE_CONTENT_BYTES`]; the message names the limit.
fn check_inline_size(content: &ContentSource) -> Result<(), String> {
    let (key, len) = match content {
        ContentSource::Data(text) => ("data", text.len()),
        ContentSource::CompressedBinaryData(b64) => ("compressedBinaryData", b64.len()),
        ContentSource::CompressedBinaryDataFileId(_) => return Ok(()),
    };
    if len > MAX_INLINE_CONTENT_BYTES {
        return Err(format!(
            "{key} is {len} bytes, over the 5 MB limit on {key} ({MAX_INLINE_CONTENT_BYTES} bytes); \
             push larger content through a file container (compressedBinaryDataFileId)"
        ));
    }
    Ok(())
}

/// The property names of permission JSON in their documented spelling, so any letter case
/// reads (push-api.md §3.3: property names are case-insensitive).
const PERMISSION_KEYS: [&str; 8] = [
    "allowAnonymous",
    "allowedPermissions",
    "deniedPermissions",
    "identity",
    "identityType",
    "securityProvider",
    "permissionSets",
    "name",
];

/// Reads an identity type as the reference documents it: `User`, `Group`, `VirtualGroup`,
/// `Unknown` (Swagger) or `USER`, `GROUP`, `VIRTUAL_GROUP`, `UNKNOWN` (older docs), in any
/// letter case (push-api.md §4.1, §5). `None` for anything else.
pub fn parse_identity_type(text: &str) -> Option<IdentityType> {
    match text.to_ascii_uppercase().as_str() {
        "USER" => Some(IdentityType::User),
        "GROUP" => Some(IdentityType::Group),
        "VIRTUALGROUP" | "VIRTUAL_GROUP" => Some(IdentityType::VirtualGroup),
        "UNKNOWN" => Some(IdentityType::Unknown),
        _ => None,
    }
}

/// An item's `permissions` as the Push API reads them (push-api.md §4.1; Swagger
/// `PermissionSetsModel` and `PermissionIdentityModel`): an array of permission sets (the
/// simplified model) or of permission levels (the complete model; an element with
/// `permissionSets` is a level, as the JS client reads it). Property names match in any
/// letter case; any other property is refused, so a misspelt key (`allowedPermission`) is
/// caught instead of silently dropping a restriction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum WirePermissions {
    Simple(Vec<WirePermissionSet>),
    Complete(Vec<WirePermissionLevel>),
}

/// A level of the complete model: `{"name", "permissionSets"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WirePermissionLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub permission_sets: Vec<WirePermissionSet>,
}

/// A permission set: `{"allowAnonymous", "allowedPermissions", "deniedPermissions"}`, each
/// optional (`null` reads as absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WirePermissionSet {
    #[serde(default, deserialize_with = "null_as_default")]
    pub allow_anonymous: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub allowed_permissions: Vec<WirePermissionIdentity>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub denied_permissions: Vec<WirePermissionIdentity>,
}

/// One entry of `allowedPermissions` / `deniedPermissions`:
/// `{"identity", "identityType", "securityProvider"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WirePermissionIdentity {
    pub identity: String,
    /// As sent: an unknown type is rejected by the pipeline (202, then REJECTED), not by the
    /// HTTP answer.
    pub identity_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_provider: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl WirePermissions {
    /// Reads the value of an item's `permissions` key. The error says which element and
    /// which property is wrong (the caller turns it into 400 `INVALID_JSON`, or a batch
    /// entry's rejection).
    pub fn from_value(mut value: Value) -> Result<Self, String> {
        if !value.is_array() {
            return Err(
                "permissions must be an array of permission sets or permission levels".into(),
            );
        }
        canonicalize_keys(&mut value, &PERMISSION_KEYS);
        let Value::Array(elements) = value else {
            return Err("permissions must be an array".into());
        };
        let mut levels = 0;
        for (i, e) in elements.iter().enumerate() {
            let obj = e.as_object().ok_or_else(|| {
                format!(
                    "permissions[{i}] must be an object (a permission set or a permission level)"
                )
            })?;
            levels += usize::from(obj.contains_key("permissionSets"));
        }
        let invalid = |i: usize, e: serde_json::Error| format!("invalid permissions[{i}]: {e}");
        if levels == 0 {
            let sets = elements
                .into_iter()
                .enumerate()
                .map(|(i, e)| serde_json::from_value(e).map_err(|err| invalid(i, err)))
                .collect::<Result<_, _>>()?;
            Ok(Self::Simple(sets))
        } else if levels == elements.len() {
            let levels = elements
                .into_iter()
                .enumerate()
                .map(|(i, e)| serde_json::from_value(e).map_err(|err| invalid(i, err)))
                .collect::<Result<_, _>>()?;
            Ok(Self::Complete(levels))
        } else {
            Err(
                "permissions mix permission levels (objects with permissionSets) and bare \
                 permission sets; use one model: all sets (simplified) or all levels (complete)"
                    .into(),
            )
        }
    }

    fn sets(&self) -> Box<dyn Iterator<Item = &WirePermissionSet> + '_> {
        match self {
            Self::Simple(sets) => Box::new(sets.iter()),
            Self::Complete(levels) => Box::new(levels.iter().flat_map(|l| &l.permission_sets)),
        }
    }

    /// How many identity entries the permissions name (the service caps this at 5,000).
    pub fn permission_count(&self) -> usize {
        self.sets()
            .map(|s| s.allowed_permissions.len() + s.denied_permissions.len())
            .sum()
    }

    /// The pipeline's reading: identity types parsed (an unknown one rejects the item), then
    /// the `permissions` crate's model, which stores and evaluates it.
    pub fn into_model(self) -> Result<PermissionModel, String> {
        Ok(match self {
            Self::Simple(sets) => PermissionModel::Simple(
                sets.into_iter()
                    .map(WirePermissionSet::into_model)
                    .collect::<Result<_, _>>()?,
            ),
            Self::Complete(levels) => PermissionModel::Complete(
                levels
                    .into_iter()
                    .map(|l| {
                        Ok(PermissionLevel {
                            name: l.name,
                            permission_sets: l
                                .permission_sets
                                .into_iter()
                                .map(WirePermissionSet::into_model)
                                .collect::<Result<_, String>>()?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

impl WirePermissionSet {
    fn into_model(self) -> Result<PermissionSet, String> {
        let entries = |list: Vec<WirePermissionIdentity>| {
            list.into_iter()
                .map(WirePermissionIdentity::into_model)
                .collect::<Result<Vec<_>, String>>()
        };
        Ok(PermissionSet {
            allow_anonymous: self.allow_anonymous,
            allowed_permissions: entries(self.allowed_permissions)?,
            denied_permissions: entries(self.denied_permissions)?,
        })
    }
}

impl WirePermissionIdentity {
    fn into_model(self) -> Result<PermissionIdentity, String> {
        let identity_type = parse_identity_type(&self.identity_type).ok_or_else(|| {
            format!(
                "permission entry {:?} has an unknown identityType {:?}: expected User, Group, \
                 VirtualGroup or Unknown (any letter case; VIRTUAL_GROUP also reads)",
                self.identity, self.identity_type
            )
        })?;
        Ok(PermissionIdentity {
            identity: self.identity,
            identity_type,
            security_provider: self.security_provider,
        })
    }
}

/// The journal stores a checked item with its permissions; they read back through the same
/// strict reading as a request.
impl<'de> Deserialize<'de> for WirePermissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_value(value).map_err(serde::de::Error::custom)
    }
}

fn is_primitive(v: &Value) -> bool {
    matches!(
        v,
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
    )
}

fn is_primitive_or_list(v: &Value) -> bool {
    is_primitive(v) || v.as_array().is_some_and(|a| a.iter().all(is_primitive))
}

/// Metadata values: string, number, boolean, or an array of those; a dictionary of those
/// is accepted for dictionary fields (push-api.md §3.3 [CONFLICT], read leniently). Deeper
/// nesting is rejected by the pipeline.
fn check_metadata_value(key: &str, value: &Value) -> Result<(), String> {
    let ok = match value {
        Value::Object(dict) => dict.values().all(is_primitive_or_list),
        other => is_primitive_or_list(other),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "metadata {key:?} has an invalid value: nested objects and arrays of arrays or objects are not allowed"
        ))
    }
}

/// A security identity as sent, its type still unparsed (an unknown type is rejected by the
/// pipeline, not by the HTTP answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawIdentity {
    pub name: String,
    #[serde(rename = "type")]
    pub identity_type: String,
    #[serde(default, rename = "additionalInfo")]
    pub additional_info: std::collections::BTreeMap<String, String>,
    /// Only for mappings (`MappedIdentity.provider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl RawIdentity {
    pub fn parse_type(&self) -> Result<Identity, String> {
        let t = parse_identity_type(&self.identity_type).ok_or_else(|| {
            format!(
                "identity {:?} has an unknown type {:?}: expected USER, GROUP, VIRTUAL_GROUP or UNKNOWN",
                self.name, self.identity_type
            )
        })?;
        Ok(Identity {
            name: self.name.clone(),
            identity_type: t,
            additional_info: self.additional_info.clone(),
        })
    }
}

/// `IdentityBody` or `MappedIdentityBody` (push-api.md §5), any key letter case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityBody {
    pub identity: Option<RawIdentity>,
    #[serde(default)]
    pub members: Vec<RawIdentity>,
    #[serde(default)]
    pub well_knowns: Vec<RawIdentity>,
    #[serde(default)]
    pub mappings: Vec<RawIdentity>,
}

const IDENTITY_KEYS: [&str; 8] = [
    "identity",
    "members",
    "wellKnowns",
    "mappings",
    "name",
    "type",
    "additionalInfo",
    "provider",
];

fn parse_raw_identity(value: &Value, what: &str) -> Result<RawIdentity, String> {
    let obj = value
        .as_object()
        .ok_or_else(|| format!("{what} must be an object"))?;
    let name = get_ci(obj, "name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what} has no name"))?;
    let identity_type = match get_ci(obj, "type") {
        Some(Value::String(t)) => t.clone(),
        Some(_) => return Err(format!("{what} has a type that is not a string")),
        None => return Err(format!("{what} has no type")),
    };
    let mut additional_info = std::collections::BTreeMap::new();
    if let Some(info) = get_ci(obj, "additionalInfo") {
        let info = info
            .as_object()
            .ok_or_else(|| format!("{what}.additionalInfo must be an object"))?;
        for (k, v) in info {
            let v = v
                .as_str()
                .ok_or_else(|| format!("{what}.additionalInfo values must be strings"))?;
            additional_info.insert(k.clone(), v.to_owned());
        }
    }
    let provider = get_ci(obj, "provider")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(RawIdentity {
        name: name.to_owned(),
        identity_type,
        additional_info,
        provider,
    })
}

fn parse_list(obj: &Map<String, Value>, key: &str) -> Result<Vec<RawIdentity>, String> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| parse_raw_identity(v, key)).collect(),
        // platform-client types `mappings` as a single object (push-api.md §5 [CONFLICT]).
        Some(single @ Value::Object(_)) if key == "mappings" => {
            Ok(vec![parse_raw_identity(single, key)?])
        }
        Some(_) => Err(format!("{key} must be an array")),
    }
}

/// Reads an identity body. With `allow_bare`, a bare Identity (no `identity` wrapper) is
/// read as the identity itself (delete bodies, and JAVA's batch `deleted` entries).
pub fn parse_identity_body(value: &Value, allow_bare: bool) -> Result<IdentityBody, String> {
    let mut value = value.clone();
    canonicalize_keys(&mut value, &IDENTITY_KEYS);
    let obj = value.as_object().ok_or("the body must be a JSON object")?;
    let identity = match get_ci(obj, "identity") {
        Some(inner) => parse_raw_identity(inner, "identity")?,
        None if allow_bare => parse_raw_identity(&value, "identity")?,
        None => return Err("the body has no identity".into()),
    };
    Ok(IdentityBody {
        identity: Some(identity),
        members: parse_list(obj, "members")?,
        well_knowns: parse_list(obj, "wellKnowns")?,
        mappings: parse_list(obj, "mappings")?,
    })
}

/// A batch of security identities (`{"members", "mappings", "deleted"}`).
#[derive(Debug, Clone, Default)]
pub struct IdentityBatch {
    pub members: Vec<Result<IdentityBody, String>>,
    pub mappings: Vec<Result<IdentityBody, String>>,
    pub deleted: Vec<Result<IdentityBody, String>>,
}

pub fn parse_identity_batch(value: &Value) -> Result<IdentityBatch, String> {
    let obj = value
        .as_object()
        .ok_or("the batch file must be a JSON object")?;
    let list = |key: &str, bare: bool| -> Result<Vec<Result<IdentityBody, String>>, String> {
        match get_ci(obj, key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                Ok(items.iter().map(|v| parse_identity_body(v, bare)).collect())
            }
            Some(_) => Err(format!("{key} must be an array")),
        }
    };
    Ok(IdentityBatch {
        members: list("members", false)?,
        mappings: list("mappings", false)?,
        deleted: list("deleted", true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn every_compression_type_decodes_to_the_original() {
        let original = b"hello hello hello world".to_vec();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&original).unwrap();
        let zlib = z.finish().unwrap();
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        g.write_all(&original).unwrap();
        let gzip = g.finish().unwrap();
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(&original).unwrap();
        let deflate = d.finish().unwrap();
        let mut lzma = Vec::new();
        lzma_rs::lzma_compress(&mut std::io::Cursor::new(&original), &mut lzma).unwrap();
        for (c, bytes) in [
            (Compression::Zlib, zlib),
            (Compression::Gzip, gzip),
            (Compression::Deflate, deflate),
            (Compression::Lzma, lzma),
            (Compression::Uncompressed, original.clone()),
        ] {
            assert_eq!(c.decode(&bytes).unwrap(), original, "{c:?}");
        }
        assert!(Compression::Zlib.decode(b"not zlib").is_err());
        assert_eq!(Compression::parse("GZip"), Some(Compression::Gzip));
    }

    #[test]
    fn reserved_keys_match_in_any_case() {
        let body = serde_json::json!({"DocumentId": "file:///a", "DATA": "x", "Title": "t"});
        let doc = check_document(body, None, None).unwrap();
        assert_eq!(doc.document_id, "file:///a");
        assert!(matches!(doc.content, ContentSource::Data(_)));
        assert_eq!(doc.metadata.len(), 1);
        let two = serde_json::json!({"documentId": "file:///a", "data": "x", "compressedBinaryData": "eA=="});
        assert_eq!(
            check_document(two, None, None).unwrap_err().code,
            "INVALID_JSON"
        );
        let bad_ext =
            serde_json::json!({"documentId": "file:///a", "data": "x", "fileExtension": "html"});
        assert!(check_document(bad_ext, None, None).is_err());
        let not_uri = serde_json::json!({"documentId": "a/b", "data": "x"});
        assert!(check_document(not_uri, None, None).is_err());
    }
}
