//! Turning a [`Document`] into what goes on the wire: inline JSON (`data` or base64
//! `compressedBinaryData`), or JSON plus bytes that must go through their own file container.
//!
//! Blocking code (file reads, compression): callers run it in `spawn_blocking`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::compression::{
    compress, compress_stream, worth_compressing, CompressionType, PROBE_BLOCK_BYTES, PROBE_SLICES,
    PROBE_SLICE_BYTES,
};
use crate::document::{Content, Document};
use crate::error::{Error, ErrorKind};

/// Largest `data` or base64 `compressedBinaryData` value sent inline. The service caps both at
/// 5 MB and a single request at 6 MB; content above this goes through a file container.
pub const MAX_INLINE_CONTENT_BYTES: u64 = 5 * 1024 * 1024;
/// Largest file container the service accepts (S3 answers 413 above it). Decimal on purpose:
/// the documentation says "256 MB" without saying which megabyte, so we take the smaller.
pub const MAX_CONTAINER_BYTES: u64 = 256 * 1000 * 1000;
/// Files up to this size are compressed in memory; larger ones are streamed through a temp
/// file so memory stays flat whatever the file size.
pub const IN_MEMORY_COMPRESSION_MAX: u64 = 8 * 1024 * 1024;

/// Bytes to upload to a file container, re-readable for retries.
#[derive(Debug, Clone)]
pub enum UploadSource {
    Memory(Bytes),
    /// A file the caller named, uploaded as is.
    Path(PathBuf),
    /// A temp file we wrote; deleted when the last clone is dropped.
    Temp(Arc<tempfile::TempPath>),
}

impl UploadSource {
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Self::Memory(_) => None,
            Self::Path(p) => Some(p),
            Self::Temp(t) => Some(t),
        }
    }
}

/// Content ready for the wire.
#[derive(Debug)]
pub(crate) enum EncodedContent {
    None,
    Data(String),
    /// Bytes sent base64-encoded in `compressedBinaryData` (encoded when the JSON is written).
    Inline {
        bytes: Vec<u8>,
        compression: CompressionType,
    },
    Container {
        source: UploadSource,
        len: u64,
        compression: CompressionType,
        display: String,
    },
}

/// An item ready for the wire: its JSON fields (without content) and its content.
#[derive(Debug)]
pub(crate) struct EncodedItem {
    pub id: String,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub content: EncodedContent,
    /// SHA-256 (hex) and length of the content as read, when the document asked for it
    /// ([`Document::report_content_hash`]).
    pub content_read: Option<(String, u64)>,
}

impl EncodedItem {
    /// The JSON body once any container is uploaded (`file_id` given for container content).
    /// Consumes the item so the (up to 5 MB) content is moved, not copied.
    pub(crate) fn into_json(self, file_id: Option<&str>) -> Vec<u8> {
        use serde_json::Value;
        let mut m = self.fields;
        let mut inline = None;
        match self.content {
            EncodedContent::None => {}
            EncodedContent::Data(d) => {
                m.insert("data".into(), Value::String(d));
            }
            EncodedContent::Inline { bytes, compression } => {
                m.insert(
                    "compressionType".into(),
                    Value::String(compression.as_str().into()),
                );
                inline = Some(bytes);
            }
            EncodedContent::Container { compression, .. } => {
                if let Some(id) = file_id {
                    m.insert(
                        "compressedBinaryDataFileId".into(),
                        Value::String(id.into()),
                    );
                }
                m.insert(
                    "compressionType".into(),
                    Value::String(compression.as_str().into()),
                );
            }
        }
        let b64_len = inline
            .as_ref()
            .map_or(0, |b| base64_len(b.len() as u64) as usize);
        let mut out = Vec::with_capacity(b64_len + 512);
        // Serializing a map of strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &Value::Object(m));
        if let Some(bytes) = inline {
            // `{...}` becomes `{...,"compressedBinaryData":"<base64>"}`. Base64 needs no JSON
            // escaping, so it is encoded straight into the body instead of going through a
            // string that the serializer would scan again.
            out.pop();
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(b"\"compressedBinaryData\":\"");
            let at = out.len();
            out.resize(at + b64_len, 0);
            let b64 = &base64::engine::general_purpose::STANDARD;
            match b64.encode_slice(&bytes, &mut out[at..]) {
                Ok(written) => out.truncate(at + written),
                // Cannot happen (the room is the exact padded length); never send less.
                Err(_) => {
                    out.truncate(at);
                    out.extend_from_slice(b64.encode(&bytes).as_bytes());
                }
            }
            out.extend_from_slice(b"\"}");
        }
        out
    }

    /// Bytes of content that go to their own file container (0 when inline).
    pub(crate) fn content_container_len(&self) -> u64 {
        match &self.content {
            EncodedContent::Container { len, .. } => *len,
            _ => 0,
        }
    }

    pub(crate) fn compression(&self) -> Option<CompressionType> {
        match &self.content {
            EncodedContent::Inline { compression, .. }
            | EncodedContent::Container { compression, .. } => Some(*compression),
            _ => None,
        }
    }
}

/// What a push of one item sends, computed without sending anything: the JSON body with the
/// content replaced by a placeholder that names its size, and how the content travels. Built by
/// the encoder [`PushClient::push_document`] uses, so a preview shows what is sent.
///
/// [`PushClient::push_document`]: crate::client::PushClient::push_document
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentPreview {
    /// The item's JSON body; `data`, `compressedBinaryData` or `compressedBinaryDataFileId`
    /// hold a placeholder such as `<base64 of 4080 bytes of ZLIB-compressed content>`.
    pub body: serde_json::Map<String, serde_json::Value>,
    /// The compression of binary content; `None` for text sent as `data`, or no content.
    pub compression: Option<CompressionType>,
    /// Bytes of content after compression, before base64 (text: its UTF-8 length).
    pub content_bytes: u64,
    /// True when the content goes through its own file container.
    pub container: bool,
}

impl EncodedItem {
    /// The item as [`DocumentPreview`] shows it (the content stays out).
    pub(crate) fn preview(self) -> DocumentPreview {
        use serde_json::Value;
        let mut body = self.fields;
        let described = |compression: CompressionType, n: u64| match compression {
            CompressionType::Uncompressed => {
                format!("<base64 of {n} bytes of content, uncompressed>")
            }
            c => format!("<base64 of {n} bytes of {}-compressed content>", c.as_str()),
        };
        let (compression, content_bytes, container) = match self.content {
            EncodedContent::None => (None, 0, false),
            EncodedContent::Data(d) => {
                let n = d.len() as u64;
                body.insert("data".into(), Value::String(format!("<{n} bytes of text>")));
                (None, n, false)
            }
            EncodedContent::Inline { bytes, compression } => {
                let n = bytes.len() as u64;
                body.insert(
                    "compressedBinaryData".into(),
                    Value::String(described(compression, n)),
                );
                (Some(compression), n, false)
            }
            EncodedContent::Container {
                len, compression, ..
            } => {
                body.insert(
                    "compressedBinaryDataFileId".into(),
                    Value::String(format!(
                        "<the file container that receives {len} bytes of {}-compressed content>",
                        compression.as_str()
                    )),
                );
                (Some(compression), len, true)
            }
        };
        if let Some(c) = compression {
            body.insert("compressionType".into(), Value::String(c.as_str().into()));
        }
        DocumentPreview {
            body,
            compression,
            content_bytes,
            container,
        }
    }
}

/// Options of the encoder.
#[derive(Debug, Clone)]
pub(crate) struct EncodeOptions {
    pub compression: CompressionType,
    pub level: u32,
    pub temp_dir: Option<PathBuf>,
}

fn base64_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How much of small content (up to the probe's 64 KB sample) the probe looks at before the
/// whole content is compressed: enough to tell text from media or archives, a fraction of the
/// cost of compressing what is not worth it.
pub const SMALL_PROBE_BYTES: usize = 4 * 1024;

/// The compression of binary content: the document's own choice if it made one, else the
/// configured type when the content's first block is worth compressing
/// ([`worth_compressing`]), else `UNCOMPRESSED`. The file's extension plays no part.
fn choose_compression(
    forced: Option<CompressionType>,
    configured: CompressionType,
    first_block: &[u8],
) -> CompressionType {
    match forced {
        Some(ty) => ty,
        None if configured == CompressionType::Uncompressed => configured,
        None if worth_compressing(first_block) => configured,
        None => CompressionType::Uncompressed,
    }
}

/// Validates and encodes one document (blocking). Takes the document, so content held in
/// memory is sent (or compressed) without a copy.
pub(crate) fn encode(doc: Document, opts: &EncodeOptions) -> Result<EncodedItem, Error> {
    doc.validate()?;
    let fields = doc.fields_json();
    let Document {
        id,
        content,
        compression,
        report_content_hash: hash,
        ..
    } = doc;
    let read = |bytes: &[u8]| hash.then(|| (sha256_hex(bytes), bytes.len() as u64));
    let (content, content_read) = match content {
        Content::None => (EncodedContent::None, None),
        Content::Text(t) if t.len() as u64 <= MAX_INLINE_CONTENT_BYTES => {
            let read = read(t.as_bytes());
            (EncodedContent::Data(t), read)
        }
        Content::Text(t) => {
            let ty = compression.unwrap_or(opts.compression);
            (
                encode_bytes(t.as_bytes(), ty, opts, &id)?,
                read(t.as_bytes()),
            )
        }
        Content::Bytes(b) => {
            let read = read(&b);
            (encode_probed(b, compression, opts, &id)?, read)
        }
        Content::File(path) => encode_file(&path, compression, opts, hash)?,
    };
    Ok(EncodedItem {
        id,
        fields,
        content,
        content_read,
    })
}

fn too_large(what: &str, len: u64) -> Error {
    Error::invalid_input(format!(
        "{what} is {:.1} MB after compression; Coveo accepts at most 256 MB per item, so leave it out or split it",
        len as f64 / 1e6
    ))
}

/// Encodes bytes in memory, compressed or not as [`choose_compression`] decides. Small
/// content (up to the probe's 64 KB sample) is probed on its first [`SMALL_PROBE_BYTES`]; when
/// that is worth compressing, the whole content is compressed once and kept compressed
/// whenever that is smaller: the same decision, without deflating small files twice, and
/// without sending more bytes than the content itself.
fn encode_probed(
    bytes: Vec<u8>,
    forced: Option<CompressionType>,
    opts: &EncodeOptions,
    id: &str,
) -> Result<EncodedContent, Error> {
    let configured = opts.compression;
    if forced.is_none()
        && configured != CompressionType::Uncompressed
        && bytes.len() <= PROBE_SLICES * PROBE_SLICE_BYTES
    {
        if worth_compressing(&bytes[..bytes.len().min(SMALL_PROBE_BYTES)]) {
            let compressed = compress(&bytes, configured, opts.level);
            if compressed.len() < bytes.len() {
                return Ok(EncodedContent::Inline {
                    bytes: compressed,
                    compression: configured,
                });
            }
        }
        return Ok(EncodedContent::Inline {
            bytes,
            compression: CompressionType::Uncompressed,
        });
    }
    let ty = choose_compression(forced, configured, &bytes);
    if ty == CompressionType::Uncompressed {
        // Sent from the bytes read, without a copy.
        return in_memory(bytes, ty, id);
    }
    encode_bytes(&bytes, ty, opts, id)
}

fn encode_bytes(
    bytes: &[u8],
    ty: CompressionType,
    opts: &EncodeOptions,
    id: &str,
) -> Result<EncodedContent, Error> {
    in_memory(compress(bytes, ty, opts.level), ty, id)
}

/// Content in memory, already compressed with `ty` (or not, for `UNCOMPRESSED`): inline, or
/// (above 5 MB of base64) from memory through its own container, up to the container limit.
fn in_memory(bytes: Vec<u8>, ty: CompressionType, id: &str) -> Result<EncodedContent, Error> {
    let len = bytes.len() as u64;
    if base64_len(len) <= MAX_INLINE_CONTENT_BYTES {
        return Ok(EncodedContent::Inline {
            bytes,
            compression: ty,
        });
    }
    if len > MAX_CONTAINER_BYTES {
        return Err(too_large(&format!("the content of item {id:?}"), len));
    }
    Ok(EncodedContent::Container {
        source: UploadSource::Memory(Bytes::from(bytes)),
        len,
        compression: ty,
        display: id.to_string(),
    })
}

/// Whether a file changed while it was read: its size or modification time differ between
/// `before` and `after` (its metadata taken around the read), or `read` (the bytes read) is
/// not its size. The one rule for content caught mid-write: the push does not send it, and
/// the sync engine's scan does not record its hash.
pub fn changed_while_read(
    before: &std::fs::Metadata,
    after: &std::fs::Metadata,
    read: u64,
) -> bool {
    read != before.len()
        || after.len() != before.len()
        || after.modified().ok() != before.modified().ok()
}

/// Fails when the file at `path` changed since `before` was taken, `read` bytes ago.
fn check_unchanged(path: &Path, before: &std::fs::Metadata, read: u64) -> Result<(), Error> {
    let after = std::fs::metadata(path).map_err(|e| Error::local_file(path, e))?;
    if changed_while_read(before, &after, read) {
        return Err(Error::changed_while_read(path));
    }
    Ok(())
}

/// A reader that hashes what passes through it (SHA-256), when asked to.
struct Hashing<R> {
    inner: R,
    hasher: Option<Sha256>,
    read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.read += n as u64;
        Ok(n)
    }
}

impl<R> Hashing<R> {
    fn new(inner: R, hash: bool) -> Self {
        Self {
            inner,
            hasher: hash.then(Sha256::new),
            read: 0,
        }
    }

    fn finish(self) -> Option<(String, u64)> {
        let read = self.read;
        self.hasher.map(|h| (hex::encode(h.finalize()), read))
    }
}

/// Encodes a file's content, and with `hash`, the SHA-256 and length of what was read. Each
/// byte is read once to decide, hash and encode (the probe looks at bytes already read): a
/// file up to `IN_MEMORY_COMPRESSION_MAX` is read whole and probed in memory; a larger one is
/// probed on its first [`PROBE_BLOCK_BYTES`], which then go through the compressor ahead of
/// the rest of the file, or, when it is not worth compressing, the file is uploaded from its
/// path as it is (then, and only then, a file whose hash is asked is read twice: once here to
/// hash it, once by the upload).
fn encode_file(
    path: &Path,
    forced: Option<CompressionType>,
    opts: &EncodeOptions,
    hash: bool,
) -> Result<(EncodedContent, Option<(String, u64)>), Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::local_file(path, e))?;
    if !meta.is_file() {
        return Err(Error::local_file(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "it is not a regular file"),
        ));
    }
    let size = meta.len();
    let display = path.display().to_string();
    if size <= IN_MEMORY_COMPRESSION_MAX {
        let bytes = std::fs::read(path).map_err(|e| Error::local_file(path, e))?;
        check_unchanged(path, &meta, bytes.len() as u64)?;
        let read = hash.then(|| (sha256_hex(&bytes), bytes.len() as u64));
        let content = match encode_probed(bytes, forced, opts, &display) {
            Err(_) => return Err(too_large(&format!("the file {display}"), size)),
            Ok(content) => content,
        };
        return Ok((content, read));
    }
    let file = File::open(path).map_err(|e| Error::local_file(path, e))?;
    let mut file = Hashing::new(file, hash);
    let mut first_block = Vec::with_capacity(PROBE_BLOCK_BYTES);
    (&mut file)
        .take(PROBE_BLOCK_BYTES as u64)
        .read_to_end(&mut first_block)
        .map_err(|e| Error::local_file(path, e))?;
    let ty = choose_compression(forced, opts.compression, &first_block);
    if ty == CompressionType::Uncompressed {
        // Above 8 MB, base64 is always above the inline limit: the file goes as it is.
        if size > MAX_CONTAINER_BYTES {
            return Err(too_large(&format!("the file {display}"), size));
        }
        if hash {
            std::io::copy(&mut file, &mut std::io::sink())
                .map_err(|e| Error::local_file(path, e))?;
            check_unchanged(path, &meta, file.read)?;
        }
        let content = EncodedContent::Container {
            source: UploadSource::Path(path.to_path_buf()),
            len: size,
            compression: ty,
            display,
        };
        return Ok((content, file.finish()));
    }
    // Stream through a temp file: memory stays at a few buffers whatever the file size.
    let temp = match &opts.temp_dir {
        Some(dir) => tempfile::NamedTempFile::new_in(dir),
        None => tempfile::NamedTempFile::new(),
    }
    .map_err(|e| {
        Error::new(
            ErrorKind::LocalFile {
                path: path.to_path_buf(),
            },
            "compress file",
            format!("cannot create a temp file to compress {display}: {e}"),
        )
    })?;
    let (temp_file, temp_path) = temp.into_parts();
    // The probed block first, then the rest of the same open file: nothing is read twice.
    let mut reader = Cursor::new(first_block).chain(BufReader::with_capacity(256 * 1024, file));
    let writer = BufWriter::with_capacity(256 * 1024, temp_file);
    let (_, writer) = compress_stream(&mut reader, writer, ty, opts.level)
        .map_err(|e| Error::local_file(path, e))?;
    let (_, rest) = reader.into_inner();
    let rest = rest.into_inner();
    check_unchanged(path, &meta, rest.read)?;
    let read = rest.finish();
    let file = writer
        .into_inner()
        .map_err(|e| Error::local_file(path, e.into_error()))?;
    let len = file
        .metadata()
        .map_err(|e| Error::local_file(path, e))?
        .len();
    drop(file);
    if len > MAX_CONTAINER_BYTES {
        return Err(too_large(&format!("the file {display}"), len));
    }
    if base64_len(len) <= MAX_INLINE_CONTENT_BYTES {
        let mut bytes = Vec::with_capacity(len as usize);
        File::open(&temp_path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::local_file(path, e))?;
        return Ok((
            EncodedContent::Inline {
                bytes,
                compression: ty,
            },
            read,
        ));
    }
    Ok((
        EncodedContent::Container {
            source: UploadSource::Temp(Arc::new(temp_path)),
            len,
            compression: ty,
            display,
        },
        read,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn opts() -> EncodeOptions {
        EncodeOptions {
            compression: CompressionType::Zlib,
            level: 1,
            temp_dir: None,
        }
    }

    #[test]
    fn text_is_data() {
        let item = encode(Document::new("https://x/1").text("hello"), &opts()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&item.into_json(None)).unwrap();
        assert_eq!(v["data"], "hello");
        assert!(v.get("compressionType").is_none());
    }

    const ABC: &[u8] = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc";

    #[test]
    fn bytes_are_zlib_base64() {
        let item = encode(Document::new("https://x/1").bytes(ABC.to_vec()), &opts()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&item.into_json(None)).unwrap();
        assert_eq!(v["compressionType"], "ZLIB");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v["compressedBinaryData"].as_str().unwrap())
            .unwrap();
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, ABC);
    }

    #[test]
    fn incompressible_content_is_sent_uncompressed_whatever_its_name() {
        let doc = Document::new("https://x/a.png")
            .file_extension(".png")
            .bytes(vec![1, 2, 3]);
        let item = encode(doc, &opts()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&item.into_json(None)).unwrap();
        assert_eq!(v["compressionType"], "UNCOMPRESSED");
        assert_eq!(v["compressedBinaryData"], "AQID");
        // The name no longer decides: compressible bytes named .png are compressed.
        let named = Document::new("https://x/b.png")
            .file_extension(".png")
            .bytes(ABC.to_vec());
        assert_eq!(
            encode(named, &opts()).unwrap().compression(),
            Some(CompressionType::Zlib)
        );
        let gz = Document::new("https://x/a.bin")
            .bytes(vec![1, 2, 3])
            .compression(CompressionType::Gzip);
        assert_eq!(
            encode(gz, &opts()).unwrap().compression(),
            Some(CompressionType::Gzip)
        );
    }

    /// The content an item carries, decoded as the service would: base64 (or the container's
    /// bytes), then decompressed by its `compressionType`.
    fn decoded(item: EncodedItem) -> (CompressionType, Vec<u8>) {
        let ty = item.compression().expect("binary content");
        let raw = match &item.content {
            EncodedContent::Inline { bytes, .. } => bytes.clone(),
            EncodedContent::Container { source, .. } => match source {
                UploadSource::Memory(b) => b.to_vec(),
                other => std::fs::read(other.path().unwrap()).unwrap(),
            },
            other => panic!("{other:?}"),
        };
        let mut out = Vec::new();
        match ty {
            CompressionType::Uncompressed => out = raw,
            CompressionType::Zlib => {
                flate2::read::ZlibDecoder::new(&raw[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            other => panic!("{other:?}"),
        }
        (ty, out)
    }

    #[test]
    fn the_probe_decides_and_every_case_round_trips() {
        use crate::compression::tests::{docx, noise, office_xml, words, zip};
        use CompressionType::{Uncompressed, Zlib};
        let dir = tempfile::tempdir().unwrap();
        let o = EncodeOptions {
            temp_dir: Some(dir.path().to_path_buf()),
            ..opts()
        };
        let stored_zip = zip(
            &[("a.txt", words(30_000, 1)), ("b.txt", words(30_000, 2))],
            false,
        );
        let cases: Vec<(&str, Vec<u8>, CompressionType)> = vec![
            ("random.bin", noise(200_000, 1), Uncompressed),
            ("notes.txt", words(200_000, 2), Zlib),
            ("page.xml", office_xml(50_000, 3), Zlib),
            ("stored.docx", docx(80_000, false), Zlib),
            ("stored.zip", stored_zip, Zlib),
            ("real.docx", docx(80_000, true), Uncompressed),
            ("empty.txt", Vec::new(), Uncompressed),
            ("ten.txt", b"0123456789".to_vec(), Uncompressed),
            // At most the probe's sample: compressed once, kept only if it saved enough.
            ("small.txt", words(3_000, 8), Zlib),
            ("small-random.bin", noise(3_000, 8), Uncompressed),
            (
                "small-stored.zip",
                zip(&[("a.txt", words(20_000, 9))], false),
                Zlib,
            ),
            ("small.docx", docx(30_000, true), Uncompressed),
            // Text first, then mostly random: the first 4 KB ask for compression, and the
            // whole, though it shrinks little, is kept compressed since it is smaller.
            (
                "small-mixed.bin",
                [words(9_000, 10), noise(50_000, 10)].concat(),
                Zlib,
            ),
            // Above the inline limit: through a container, from memory.
            ("big-random.bin", noise(4_500_000, 4), Uncompressed),
            // Above the in-memory limit: probed on the first block, then streamed.
            ("huge-random.bin", noise(9_000_000, 5), Uncompressed),
            ("huge.txt", words(9_000_000, 6), Zlib),
        ];
        for (name, content, expected) in cases {
            let from_bytes =
                encode(Document::new("https://x/b").bytes(content.clone()), &o).unwrap();
            assert_eq!(
                decoded(from_bytes),
                (expected, content.clone()),
                "{name} as bytes"
            );
            let path = dir.path().join(name);
            std::fs::write(&path, &content).unwrap();
            let from_file = encode(Document::from_path(&path).unwrap(), &o).unwrap();
            assert_eq!(from_file.content_read, None, "{name}: no hash unless asked");
            assert_eq!(
                decoded(from_file),
                (expected, content.clone()),
                "{name} as a file"
            );
            // Asked for, the hash is of exactly the bytes read, on every path (in memory,
            // streamed through the compressor, uploaded from the file as it is).
            let hashed = Document::from_path(&path).unwrap().report_content_hash();
            let item = encode(hashed, &o).unwrap();
            let expected_read = Some((sha256_hex(&content), content.len() as u64));
            assert_eq!(item.content_read, expected_read, "{name}: hash of the file");
            assert_eq!(decoded(item), (expected, content.clone()), "{name} hashed");
            let item = encode(
                Document::new("https://x/b")
                    .bytes(content.clone())
                    .report_content_hash(),
                &o,
            )
            .unwrap();
            assert_eq!(
                item.content_read, expected_read,
                "{name}: hash of the bytes"
            );
        }
        // The hash is SHA-256 (hex), as the state store records it.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A forced type is kept, probe or not.
        let forced = Document::new("https://x/f")
            .bytes(noise(1000, 7))
            .compression(Zlib);
        assert_eq!(encode(forced, &o).unwrap().compression(), Some(Zlib));
    }

    #[test]
    fn large_file_streams_to_temp_container() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let mut f = File::create(&path).unwrap();
        // 12 MB, each MB half pseudo-random bytes and half text: worth compressing, but still
        // above the inline limit once compressed; above the in-memory limit.
        for i in 0..12 {
            f.write_all(&crate::compression::tests::noise(512 * 1024, i + 1))
                .unwrap();
            f.write_all(&crate::compression::tests::words(512 * 1024, i + 1))
                .unwrap();
        }
        drop(f);
        let o = EncodeOptions {
            temp_dir: Some(dir.path().to_path_buf()),
            ..opts()
        };
        let item = encode(Document::from_path(&path).unwrap(), &o).unwrap();
        match &item.content {
            EncodedContent::Container {
                source: UploadSource::Temp(t),
                len,
                compression,
                ..
            } => {
                assert_eq!(*compression, CompressionType::Zlib);
                assert_eq!(std::fs::metadata(&**t).unwrap().len(), *len);
            }
            other => panic!("{other:?}"),
        }
        let v: serde_json::Value = serde_json::from_slice(&item.into_json(Some("fid"))).unwrap();
        assert_eq!(v["compressedBinaryDataFileId"], "fid");
        assert!(v.get("compressedBinaryData").is_none());
    }

    #[test]
    fn preview_names_the_content_instead_of_sending_it() {
        let text = encode(Document::new("https://x/1").text("hello"), &opts()).unwrap();
        let p = text.preview();
        assert_eq!(p.body["data"], "<5 bytes of text>");
        assert_eq!(
            (p.compression, p.content_bytes, p.container),
            (None, 5, false)
        );
        let bytes = encode(Document::new("https://x/2").bytes(ABC.to_vec()), &opts()).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(
            &encode(Document::new("https://x/2").bytes(ABC.to_vec()), &opts())
                .unwrap()
                .into_json(None),
        )
        .unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sent["compressedBinaryData"].as_str().unwrap())
            .unwrap();
        let p = bytes.preview();
        assert_eq!(p.compression, Some(CompressionType::Zlib));
        assert_eq!(p.content_bytes, raw.len() as u64);
        assert_eq!(p.body["compressionType"], "ZLIB");
        assert_eq!(
            p.body["compressedBinaryData"],
            format!("<base64 of {} bytes of ZLIB-compressed content>", raw.len())
        );
        assert_eq!(p.body["documentId"], sent["documentId"]);
        assert_eq!(p.body["permanentid"], sent["permanentid"]);
    }

    #[test]
    fn a_file_written_while_it_is_read_is_not_sent() {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Read whole in memory, and streamed through the compressor (above the in-memory
        // limit): either way, content caught mid-write is refused, hashed or not, and the
        // same file once stable is sent.
        for (name, size) in [("small.log", 1024 * 1024), ("large.log", 9 * 1024 * 1024)] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            std::fs::write(&path, vec![b'x'; size]).unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let writer = {
                let (path, stop) = (path.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                    while !stop.load(Ordering::Relaxed) {
                        f.write_all(b"more\n").unwrap();
                    }
                })
            };
            // Once it has begun, the writer appends without pause, so a read sees the size
            // change.
            while std::fs::metadata(&path).unwrap().len() == size as u64 {
                std::thread::yield_now();
            }
            // A read the writer's thread slept through (a busy machine) is a stable read and is
            // sent: reads go on, hashed or not in turn, until one is refused, for at most 10 s.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut refused = None;
            for attempt in 0.. {
                let doc = Document::from_path(&path).unwrap();
                let doc = if attempt % 2 == 0 {
                    doc
                } else {
                    doc.report_content_hash()
                };
                if let Err(e) = encode(doc, &opts()) {
                    refused = Some(e);
                    break;
                }
                if std::time::Instant::now() > deadline {
                    break;
                }
            }
            stop.store(true, Ordering::Relaxed);
            writer.join().unwrap();
            let e =
                refused.unwrap_or_else(|| panic!("{name}: every read of a growing file was sent"));
            assert!(
                e.to_string().contains("changed while it was read"),
                "{name}: {e}"
            );
            assert!(
                matches!(e.kind(), ErrorKind::LocalFile { .. }),
                "{name}: {e}"
            );
            let stable = encode(
                Document::from_path(&path).unwrap().report_content_hash(),
                &opts(),
            )
            .unwrap();
            let len = std::fs::metadata(&path).unwrap().len();
            assert_eq!(stable.content_read.map(|(_, n)| n), Some(len), "{name}");
        }
    }

    #[test]
    fn missing_file_names_it() {
        let e = encode(
            Document::new("https://x/1").file("/nonexistent/dir/x.pdf"),
            &opts(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/dir/x.pdf"), "{e}");
        assert!(matches!(e.kind(), ErrorKind::LocalFile { .. }));
    }
}
