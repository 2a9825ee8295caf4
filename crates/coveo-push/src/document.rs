//! Items as the Push API sees them: a typed builder for the reserved fields and metadata, the
//! validation Coveo would otherwise apply later (or silently), `file:///` URIs from local
//! paths, and the permanentid the official clients compute. Also the index fields
//! ([`FieldSpec`]) an item's metadata needs, which the client lists and creates.

use std::path::{Path, PathBuf};

use md5::Digest as _;
use percent_encoding::{percent_encode, AsciiSet, CONTROLS};
use permissions::PermissionModel;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::compression::CompressionType;
use crate::error::Error;

/// An index field type (Platform API spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldType {
    #[serde(rename = "STRING")]
    String,
    #[serde(rename = "LONG")]
    Long,
    #[serde(rename = "LONG_64")]
    Long64,
    #[serde(rename = "DOUBLE")]
    Double,
    #[serde(rename = "DATE")]
    Date,
    #[serde(other, rename = "UNKNOWN")]
    Other,
}

/// A field to create, or one that exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// For lists of strings (multi-value facet).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multi_value_facet: bool,
}

/// Keys the Push API gives a meaning of its own; metadata may not reuse them in any case
/// (reference §3.2: the DocumentBody keys, the "standard" keys the official clients emit, and
/// those the LABS client also reserves: `author`, `clickableUri`, `compressionType`, `date`).
/// The [`Document`] builder sets the standard ones through its own methods (`title`, `author`,
/// `date`, ...); only metadata under these names is refused. Ask [`is_reserved_key`].
pub const RESERVED_KEYS: &[&str] = &[
    "documentId",
    "orderingId",
    "data",
    "compressedBinaryData",
    "compressedBinaryDataFileId",
    "compressionType",
    "fileExtension",
    "parentId",
    "permissions",
    "permanentid",
    "title",
    "clickableUri",
    "author",
    "date",
    "modifiedDate",
];

/// Whether `name` is one of [`RESERVED_KEYS`], in any letter case (keys are case-insensitive
/// for the Push API): the one check for metadata and configured field names.
pub fn is_reserved_key(name: &str) -> bool {
    RESERVED_KEYS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// The service caps item permissions at 5,000 identity entries; beyond it the item is accepted
/// (202) and rejected later, so we refuse it up front.
pub const MAX_PERMISSIONS_PER_ITEM: usize = 5_000;

/// A metadata value: what an index field can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    String(String),
    Integer(i64),
    Double(f64),
    /// Sent as `"true"`/`"false"` strings would lose type; Coveo maps booleans to String
    /// fields, and we send JSON booleans.
    Boolean(bool),
    Date(OffsetDateTime),
    StringList(Vec<String>),
}

impl From<&str> for MetadataValue {
    fn from(v: &str) -> Self {
        Self::String(v.to_string())
    }
}
impl From<String> for MetadataValue {
    fn from(v: String) -> Self {
        Self::String(v)
    }
}
impl From<i64> for MetadataValue {
    fn from(v: i64) -> Self {
        Self::Integer(v)
    }
}
impl From<f64> for MetadataValue {
    fn from(v: f64) -> Self {
        Self::Double(v)
    }
}
impl From<bool> for MetadataValue {
    fn from(v: bool) -> Self {
        Self::Boolean(v)
    }
}
impl From<OffsetDateTime> for MetadataValue {
    fn from(v: OffsetDateTime) -> Self {
        Self::Date(v)
    }
}
impl From<Vec<String>> for MetadataValue {
    fn from(v: Vec<String>) -> Self {
        Self::StringList(v)
    }
}

impl MetadataValue {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Self::String(s) => serde_json::Value::String(s.clone()),
            Self::Integer(i) => serde_json::Value::from(*i),
            Self::Double(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Self::Boolean(b) => serde_json::Value::Bool(*b),
            Self::Date(d) => serde_json::Value::String(format_date(*d)),
            Self::StringList(l) => serde_json::Value::from(l.clone()),
        }
    }
}

/// An item's content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Content {
    /// No content (metadata only).
    #[default]
    None,
    /// Text or HTML, sent as `data` (compressed as binary when larger than the inline limit).
    Text(String),
    /// Binary content in memory.
    Bytes(Vec<u8>),
    /// A file the caller named: read (and compressed) in a streaming way when pushed.
    File(PathBuf),
}

/// One item to add or update. Built with chained setters; checked by [`Document::validate`]
/// (the client calls it before sending anything).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub(crate) id: String,
    pub(crate) title: Option<String>,
    pub(crate) clickable_uri: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) date: Option<OffsetDateTime>,
    pub(crate) modified_date: Option<OffsetDateTime>,
    pub(crate) parent_id: Option<String>,
    pub(crate) permanent_id: Option<String>,
    pub(crate) file_extension: Option<String>,
    pub(crate) permissions: Option<PermissionModel>,
    pub(crate) metadata: Vec<(String, MetadataValue)>,
    pub(crate) content: Content,
    pub(crate) compression: Option<CompressionType>,
    /// The size of a file's content, when the caller knows it (see [`Document::expected_size`]).
    pub(crate) size_hint: Option<u64>,
    /// Whether the encoder reports the SHA-256 of the content it read
    /// ([`ProgressEvent::ContentRead`](crate::ProgressEvent::ContentRead)).
    pub(crate) report_content_hash: bool,
}

impl Document {
    /// An item whose documentId is `uri` (must be a URI with a scheme, e.g. `https://...` or
    /// `file:///...`).
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            id: uri.into(),
            ..Self::default()
        }
    }

    /// An item for a local file: documentId is its `file:///` URI, content is the file
    /// (streamed when pushed), fileExtension and title come from its name.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let uri = file_uri_from_path(path)?;
        let mut doc = Self::new(uri).content(Content::File(path.to_path_buf()));
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            doc = doc.title(name);
        }
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            doc = doc.file_extension(format!(".{}", ext.to_ascii_lowercase()));
        }
        Ok(doc)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn content_ref(&self) -> &Content {
        &self.content
    }
    pub fn file_extension_ref(&self) -> Option<&str> {
        self.file_extension.as_deref()
    }

    pub fn title(mut self, v: impl Into<String>) -> Self {
        self.title = Some(v.into());
        self
    }
    pub fn clickable_uri(mut self, v: impl Into<String>) -> Self {
        self.clickable_uri = Some(v.into());
        self
    }
    pub fn author(mut self, v: impl Into<String>) -> Self {
        self.author = Some(v.into());
        self
    }
    pub fn date(mut self, v: OffsetDateTime) -> Self {
        self.date = Some(v);
        self
    }
    pub fn modified_date(mut self, v: OffsetDateTime) -> Self {
        self.modified_date = Some(v);
        self
    }
    pub fn parent_id(mut self, v: impl Into<String>) -> Self {
        self.parent_id = Some(v.into());
        self
    }
    /// Overrides the computed permanentid.
    pub fn permanent_id(mut self, v: impl Into<String>) -> Self {
        self.permanent_id = Some(v.into());
        self
    }
    /// With its leading dot, e.g. `.pdf`.
    pub fn file_extension(mut self, v: impl Into<String>) -> Self {
        self.file_extension = Some(v.into());
        self
    }
    pub fn permissions(mut self, v: PermissionModel) -> Self {
        self.permissions = Some(v);
        self
    }
    /// Adds a metadata key (mapped by the source to the index field of the same name).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<MetadataValue>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }
    pub fn content(mut self, content: Content) -> Self {
        self.content = content;
        self
    }
    pub fn text(self, text: impl Into<String>) -> Self {
        self.content(Content::Text(text.into()))
    }
    pub fn bytes(self, bytes: impl Into<Vec<u8>>) -> Self {
        self.content(Content::Bytes(bytes.into()))
    }
    pub fn file(self, path: impl Into<PathBuf>) -> Self {
        self.content(Content::File(path.into()))
    }
    /// Forces a compression type for binary content (default: ZLIB, or UNCOMPRESSED for
    /// already-compressed formats).
    pub fn compression(mut self, ty: CompressionType) -> Self {
        self.compression = Some(ty);
        self
    }
    /// Asks the encoder to hash the content while it reads it, and to report the SHA-256
    /// with [`ProgressEvent::ContentRead`](crate::ProgressEvent::ContentRead) before the item
    /// is sent: a caller that records what it pushed then never reads a file twice.
    pub fn report_content_hash(mut self) -> Self {
        self.report_content_hash = true;
        self
    }
    /// Tells the size of a file's content, when the caller knows it already (from a scan):
    /// the batcher bounds the memory of the items it encodes at once by their sizes.
    pub fn file_size_hint(mut self, bytes: u64) -> Self {
        self.size_hint = Some(bytes);
        self
    }

    /// The content bytes encoding will read: the length of text or bytes; for a file, the
    /// size given to [`Document::file_size_hint`], if any.
    pub fn expected_size(&self) -> Option<u64> {
        match &self.content {
            Content::None => Some(0),
            Content::Text(t) => Some(t.len() as u64),
            Content::Bytes(b) => Some(b.len() as u64),
            Content::File(_) => self.size_hint,
        }
    }

    /// The permanentid sent: the one set, or the one computed from the documentId.
    pub fn effective_permanent_id(&self) -> String {
        self.permanent_id
            .clone()
            .unwrap_or_else(|| permanent_id(&self.id))
    }

    /// The index fields its metadata needs (Push sources map a metadata key only to a field
    /// of the same name that exists): strings, booleans → STRING; integers → LONG_64;
    /// numbers → DOUBLE; dates → DATE; lists of strings → multi-value STRING.
    pub fn field_specs(&self) -> Vec<FieldSpec> {
        self.metadata
            .iter()
            .map(|(key, value)| {
                let (field_type, multi_value_facet) = match value {
                    MetadataValue::String(_) | MetadataValue::Boolean(_) => {
                        (FieldType::String, false)
                    }
                    MetadataValue::Integer(_) => (FieldType::Long64, false),
                    MetadataValue::Double(_) => (FieldType::Double, false),
                    MetadataValue::Date(_) => (FieldType::Date, false),
                    MetadataValue::StringList(_) => (FieldType::String, true),
                };
                FieldSpec {
                    name: key.to_lowercase(),
                    field_type,
                    multi_value_facet,
                }
            })
            .collect()
    }

    /// Checks every rule Coveo applies to an item body, with a message naming the item.
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |msg: String| Err(Error::invalid_input(format!("item {:?}: {msg}", self.id)));
        if let Err(why) = check_uri(&self.id) {
            return fail(format!("the documentId must be a URI ({why}); for a local file use Document::from_path or file_uri"));
        }
        if let Some(parent) = &self.parent_id {
            if let Err(why) = check_uri(parent) {
                return fail(format!("the parentId {parent:?} must be a URI ({why})"));
            }
        }
        if let Some(ext) = &self.file_extension {
            if !ext.starts_with('.') || ext.len() < 2 {
                return fail(format!(
                    "the fileExtension {ext:?} must start with a dot, like \".pdf\""
                ));
            }
            if ext.contains(['/', '\\', ' ']) {
                return fail(format!(
                    "the fileExtension {ext:?} contains a character a file extension cannot have"
                ));
            }
        }
        let mut seen: Vec<String> = Vec::with_capacity(self.metadata.len());
        for (key, value) in &self.metadata {
            let lower = key.to_lowercase();
            if let Some(reserved) = RESERVED_KEYS.iter().find(|r| r.eq_ignore_ascii_case(key)) {
                return fail(format!(
                    "the metadata key {key:?} is the reserved field {reserved:?}; set it with its own method instead"
                ));
            }
            if !is_valid_field_name(&lower) {
                return fail(format!(
                    "the metadata key {key:?} is not a valid field name: it must start with a letter and hold only letters, digits and underscores"
                ));
            }
            if seen.contains(&lower) {
                return fail(format!(
                    "the metadata key {key:?} appears twice (keys are case-insensitive)"
                ));
            }
            if let MetadataValue::Double(f) = value {
                if !f.is_finite() {
                    return fail(format!(
                        "the metadata key {key:?} has a value that is not a finite number"
                    ));
                }
            }
            seen.push(lower);
        }
        if let Some(p) = &self.permissions {
            let n = p.permission_count();
            if n > MAX_PERMISSIONS_PER_ITEM {
                return fail(format!(
                    "it names {n} identities in its permissions; Coveo accepts at most {MAX_PERMISSIONS_PER_ITEM} (use groups)"
                ));
            }
        }
        if let Content::File(path) = &self.content {
            if path.as_os_str().is_empty() {
                return fail("its content file path is empty".into());
            }
        }
        Ok(())
    }

    /// The JSON object of the item without its content keys (`data`, `compressedBinaryData*`,
    /// `compressionType`), which the encoder adds.
    pub(crate) fn fields_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        m.insert("documentId".into(), Value::String(self.id.clone()));
        m.insert(
            "permanentid".into(),
            Value::String(self.effective_permanent_id()),
        );
        let mut opt = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.clone()));
            }
        };
        opt("title", &self.title);
        opt("clickableUri", &self.clickable_uri);
        opt("author", &self.author);
        opt("parentId", &self.parent_id);
        opt("fileExtension", &self.file_extension);
        if let Some(d) = self.date {
            m.insert("date".into(), Value::String(format_date(d)));
        }
        if let Some(d) = self.modified_date {
            m.insert("modifiedDate".into(), Value::String(format_date(d)));
        }
        if let Some(p) = &self.permissions {
            m.insert(
                "permissions".into(),
                serde_json::to_value(p).unwrap_or(Value::Array(vec![])),
            );
        }
        for (k, v) in &self.metadata {
            m.insert(k.clone(), v.to_json());
        }
        m
    }
}

/// Field names Coveo accepts, on the lowercased key: `^[a-z][a-z0-9_]*$`.
pub fn is_valid_field_name(lowercased: &str) -> bool {
    let mut chars = lowercased.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

fn check_uri(text: &str) -> Result<(), String> {
    if text.trim() != text || text.is_empty() {
        return Err("it is empty or has spaces around it".into());
    }
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if url.scheme().len() < 2 {
        return Err("it looks like a Windows path, not a URI".into());
    }
    if url.cannot_be_a_base() && url.path().is_empty() {
        return Err("it has a scheme but nothing after it".into());
    }
    if url.host().is_none() && (url.path().is_empty() || url.path() == "/") {
        return Err("it names no host and no path".into());
    }
    Ok(())
}

/// Dates as the JS client sends them: ISO-8601 in UTC with milliseconds
/// (`2017-11-08T12:18:41.666Z`).
pub fn format_date(d: OffsetDateTime) -> String {
    let d = d.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.millisecond()
    )
}

/// permanentid as Coveo's clients compute it: the first 30 hex digits of MD5(uri), then the
/// first 30 of SHA-1(uri).
pub fn permanent_id(uri: &str) -> String {
    let md5 = hex::encode(md5::Md5::digest(uri.as_bytes()));
    let sha1 = hex::encode(sha1::Sha1::digest(uri.as_bytes()));
    format!("{}{}", &md5[..30], &sha1[..30])
}

/// Characters escaped in a `file:` URI path segment: controls, space, and the characters that
/// would end or confuse the path (`#`, `?`, `%`) or that URIs do not allow unescaped.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'|')
    .add(b'\\')
    .add(b'/');

/// The `file:///` URI of an absolute path written in Unix (`/srv/a b.pdf`) or Windows
/// (`C:\share\a b.pdf`, `\\server\share\a.pdf`, or either with the verbatim `\\?\` prefix
/// that `canonicalize` returns on Windows) form. Pure: works for either form on any OS.
pub fn file_uri(path: &str) -> Result<String, Error> {
    let verbatim = strip_verbatim_prefix(path);
    let path: &str = &verbatim;
    let bad = || {
        Error::invalid_input(format!(
            "the path {path:?} is not absolute; give the full path of the file"
        ))
    };
    let bytes = path.as_bytes();
    let encode = |segments: &mut dyn Iterator<Item = &str>| -> String {
        segments
            .map(|s| percent_encode(s.as_bytes(), PATH_SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/")
    };
    if bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes[2] == b'\\' || bytes[2] == b'/')
    {
        // Windows drive path: C:\share\a b.pdf -> file:///C:/share/a%20b.pdf
        let drive = (bytes[0] as char).to_ascii_uppercase();
        let rest = &path[3..];
        let mut segments = rest.split(['\\', '/']);
        return Ok(format!("file:///{drive}:/{}", encode(&mut segments)));
    }
    if let Some(unc) = path
        .strip_prefix("\\\\")
        .or_else(|| path.strip_prefix("//"))
    {
        // UNC path: \\server\share\a.pdf -> file://server/share/a.pdf
        let mut parts = unc.splitn(2, ['\\', '/']);
        let server = parts.next().filter(|s| !s.is_empty()).ok_or_else(bad)?;
        let rest = parts.next().unwrap_or("");
        let mut segments = rest.split(['\\', '/']);
        return Ok(format!(
            "file://{}/{}",
            server.to_ascii_lowercase(),
            encode(&mut segments)
        ));
    }
    if let Some(rest) = path.strip_prefix('/') {
        let mut segments = rest.split('/');
        return Ok(format!("file:///{}", encode(&mut segments)));
    }
    Err(bad())
}

/// A Windows path without its verbatim (`\\?\`) prefix: `\\?\C:\x` is `C:\x`,
/// `\\?\UNC\server\share` is `\\server\share`; any other path as it is.
pub fn strip_verbatim_prefix(path: &str) -> std::borrow::Cow<'_, str> {
    let Some(rest) = path.strip_prefix(r"\\?\") else {
        return path.into();
    };
    match rest.get(..4) {
        Some(unc) if unc.eq_ignore_ascii_case(r"UNC\") => format!(r"\\{}", &rest[4..]).into(),
        _ => rest.into(),
    }
}

/// The `file:///` URI of a local path (absolute).
pub fn file_uri_from_path(path: &Path) -> Result<String, Error> {
    match path.to_str() {
        Some(text) => file_uri(text),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStrExt;
                let raw = path.as_os_str().as_bytes();
                if raw.first() != Some(&b'/') {
                    return Err(Error::invalid_input(format!(
                        "the path {} is not absolute",
                        path.display()
                    )));
                }
                let segments: Vec<String> = raw[1..]
                    .split(|b| *b == b'/')
                    .map(|s| percent_encode(s, PATH_SEGMENT).to_string())
                    .collect();
                Ok(format!("file:///{}", segments.join("/")))
            }
            #[cfg(not(unix))]
            {
                Err(Error::invalid_input(format!(
                    "the path {} is not valid Unicode",
                    path.display()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verbatim_windows_paths_give_the_same_uri_as_plain_ones() {
        for (verbatim, plain) in [
            (r"\\?\C:\Share\a b.pdf", r"C:\Share\a b.pdf"),
            (r"\\?\UNC\Server\share\x.txt", r"\\Server\share\x.txt"),
            (r"\\?\unc\server\share\x.txt", r"\\server\share\x.txt"),
        ] {
            assert_eq!(
                file_uri(verbatim).unwrap(),
                file_uri(plain).unwrap(),
                "{verbatim}"
            );
        }
        assert_eq!(
            file_uri(r"\\?\C:\Share\a b.pdf").unwrap(),
            "file:///C:/Share/a%20b.pdf"
        );
        assert_eq!(strip_verbatim_prefix("/srv/a"), "/srv/a");
    }

    use super::*;
    use permissions::{PermissionIdentity, PermissionSet};
    use time::macros::datetime;

    #[test]
    fn permanent_id_matches_coveo_clients() {
        assert_eq!(
            permanent_id("https://foo.com"),
            "aa2e0510b66edff7f05e2b30d4f1b3a4b5481c06b69f41751c54675c5afb"
        );
        assert_eq!(
            permanent_id("http://some.url"),
            "427e281a23a7766e03c22fb60649b171cabc701b6e49f1323c4cbbe597f1"
        );
    }

    #[test]
    fn file_uris() {
        let cases = [
            ("/srv/docs/a b.pdf", "file:///srv/docs/a%20b.pdf"),
            ("/srv/100%/#1?.txt", "file:///srv/100%25/%231%3F.txt"),
            ("/srv/été/ü.txt", "file:///srv/%C3%A9t%C3%A9/%C3%BC.txt"),
            ("C:\\share\\a b.pdf", "file:///C:/share/a%20b.pdf"),
            ("c:/share/x.txt", "file:///C:/share/x.txt"),
            ("\\\\Server\\share\\a.pdf", "file://server/share/a.pdf"),
        ];
        for (path, uri) in cases {
            assert_eq!(file_uri(path).unwrap(), uri, "{path}");
        }
        assert!(file_uri("relative/x.txt").is_err());
        assert!(file_uri("x").is_err());
    }

    fn err(doc: Document) -> String {
        doc.validate().unwrap_err().to_string()
    }

    #[test]
    fn valid_document() {
        let doc = Document::new("https://x.com/1")
            .title("T")
            .file_extension(".html")
            .metadata("Category", "hr")
            .metadata("size_kb", 12i64)
            .metadata("score", 1.5)
            .metadata("public", true)
            .metadata("tags", vec!["a".to_string(), "b".to_string()])
            .metadata("created", datetime!(2024-05-06 07:08:09.123 +02:00));
        doc.validate().unwrap();
        let json = serde_json::Value::Object(doc.fields_json());
        assert_eq!(json["created"], "2024-05-06T05:08:09.123Z");
        assert_eq!(json["tags"], serde_json::json!(["a", "b"]));
        assert_eq!(json["public"], true);
        assert_eq!(json["size_kb"], 12);
        assert_eq!(json["permanentid"], permanent_id("https://x.com/1"));
    }

    #[test]
    fn reserved_names_in_any_case() {
        for key in [
            "title",
            "TITLE",
            "DocumentId",
            "permanentId",
            "data",
            "compressionType",
            "FILEEXTENSION",
            "orderingid",
        ] {
            let e = err(Document::new("https://x/1").metadata(key, "v"));
            assert!(e.contains("reserved"), "{key}: {e}");
        }
    }

    #[test]
    fn every_reserved_key_of_the_reference_is_refused_as_metadata() {
        // Reference §3.2: the DocumentBody keys, the standard keys, and LABS' extra ones.
        let reference = [
            "documentId",
            "orderingId",
            "data",
            "compressedBinaryData",
            "compressedBinaryDataFileId",
            "compressionType",
            "fileExtension",
            "parentId",
            "permissions",
            "title",
            "clickableUri",
            "author",
            "date",
            "modifiedDate",
            "permanentid",
        ];
        for key in reference {
            for spelling in [key.to_string(), key.to_uppercase(), key.to_lowercase()] {
                assert!(is_reserved_key(&spelling), "{spelling}");
                let e = err(Document::new("https://x/1").metadata(spelling.as_str(), "v"));
                assert!(e.contains("reserved"), "{spelling}: {e}");
            }
        }
        for free in [
            "department",
            "titles",
            "author_name",
            "dates",
            "createdDate",
            "",
        ] {
            assert!(!is_reserved_key(free), "{free}");
        }
        // The builder's own methods set the standard keys.
        let doc = Document::new("https://x/1")
            .title("T")
            .author("Ann")
            .date(datetime!(2024-05-06 07:08:09 UTC))
            .clickable_uri("https://x/1");
        doc.validate().unwrap();
        let json = serde_json::Value::Object(doc.fields_json());
        assert_eq!(json["title"], "T");
        assert_eq!(json["author"], "Ann");
        assert_eq!(json["date"], "2024-05-06T07:08:09.000Z");
        assert_eq!(json["clickableUri"], "https://x/1");
    }

    #[test]
    fn invalid_field_names() {
        for key in ["1abc", "_x", "a-b", "a b", "é", "", "a.b"] {
            let e = err(Document::new("https://x/1").metadata(key, "v"));
            assert!(e.contains("not a valid field name"), "{key}: {e}");
        }
        Document::new("https://x/1")
            .metadata("MyField_2", "v")
            .validate()
            .unwrap();
    }

    #[test]
    fn duplicate_keys_in_any_case() {
        let e = err(Document::new("https://x/1")
            .metadata("dept", "a")
            .metadata("DEPT", "b"));
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn file_extension_needs_dot() {
        assert!(err(Document::new("https://x/1").file_extension("pdf"))
            .contains("must start with a dot"));
        assert!(
            err(Document::new("https://x/1").file_extension(".")).contains("must start with a dot")
        );
        Document::new("https://x/1")
            .file_extension(".pdf")
            .validate()
            .unwrap();
    }

    #[test]
    fn document_id_must_be_uri() {
        for id in [
            "not a uri",
            "C:\\share\\a.pdf",
            "/srv/a.txt",
            "",
            "relative/x",
            "file:///",
            " https://x/1",
        ] {
            assert!(err(Document::new(id)).contains("must be a URI"), "{id}");
        }
        for id in [
            "https://x.com",
            "file:///srv/a.txt",
            "file://server/share/a.pdf",
            "mailto:a@b.c",
        ] {
            Document::new(id).validate().unwrap();
        }
    }

    #[test]
    fn field_specs_from_metadata() {
        let doc = Document::new("https://x/1")
            .metadata("Dept", "hr")
            .metadata("n", 1i64)
            .metadata("x", 0.5)
            .metadata("ok", true)
            .metadata("at", datetime!(2024-01-01 0:00 UTC))
            .metadata("tags", vec!["a".to_string()]);
        let specs: Vec<(String, FieldType, bool)> = doc
            .field_specs()
            .into_iter()
            .map(|f| (f.name, f.field_type, f.multi_value_facet))
            .collect();
        assert_eq!(
            specs,
            vec![
                ("dept".into(), FieldType::String, false),
                ("n".into(), FieldType::Long64, false),
                ("x".into(), FieldType::Double, false),
                ("ok".into(), FieldType::String, false),
                ("at".into(), FieldType::Date, false),
                ("tags".into(), FieldType::String, true),
            ]
        );
    }

    #[test]
    fn non_finite_numbers_refused() {
        assert!(err(Document::new("https://x/1").metadata("n", f64::NAN)).contains("finite"));
    }

    #[test]
    fn too_many_permissions() {
        let set = PermissionSet {
            allow_anonymous: false,
            allowed_permissions: (0..5001)
                .map(|i| PermissionIdentity::user(format!("u{i}")))
                .collect(),
            denied_permissions: vec![],
        };
        assert!(
            err(Document::new("https://x/1").permissions(PermissionModel::Simple(vec![set])))
                .contains("5000")
        );
    }

    #[test]
    fn from_path_sets_uri_title_and_extension() {
        let doc = Document::from_path("/srv/Docs/Report 1.PDF").unwrap();
        assert_eq!(doc.id(), "file:///srv/Docs/Report%201.PDF");
        assert_eq!(doc.file_extension_ref(), Some(".pdf"));
        assert_eq!(doc.title.as_deref(), Some("Report 1.PDF"));
        doc.validate().unwrap();
    }
}
