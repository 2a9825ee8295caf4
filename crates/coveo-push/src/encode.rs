//! Turning a [`Document`] into what goes on the wire: inline JSON (`data` or base64
//! `compressedBinaryData`), or JSON plus bytes that must go through their own file container.
//!
//! Blocking code (file reads, compression): callers run it in `spawn_blocking`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;

use crate::compression::{compress, compress_stream, is_already_compressed, CompressionType};
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
    Inline {
        base64: String,
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
}

impl EncodedItem {
    /// The JSON body once any container is uploaded (`file_id` given for container content).
    /// Consumes the item so the (up to 5 MB) content is moved, not copied.
    pub(crate) fn into_json(self, file_id: Option<&str>) -> Vec<u8> {
        use serde_json::Value;
        let mut m = self.fields;
        match self.content {
            EncodedContent::None => {}
            EncodedContent::Data(d) => {
                m.insert("data".into(), Value::String(d));
            }
            EncodedContent::Inline {
                base64,
                compression,
            } => {
                m.insert("compressedBinaryData".into(), Value::String(base64));
                m.insert(
                    "compressionType".into(),
                    Value::String(compression.as_str().into()),
                );
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
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
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
            EncodedContent::Inline {
                base64,
                compression,
            } => {
                let padding = base64.bytes().rev().take_while(|b| *b == b'=').count() as u64;
                let n = (base64.len() as u64 / 4 * 3).saturating_sub(padding);
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

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

/// Validates and encodes one document (blocking).
pub(crate) fn encode(doc: &Document, opts: &EncodeOptions) -> Result<EncodedItem, Error> {
    doc.validate()?;
    let ext = doc
        .file_extension
        .clone()
        .or_else(|| match &doc.content {
            Content::File(p) => p
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| format!(".{e}")),
            _ => None,
        })
        .unwrap_or_default();
    let compression = doc.compression.unwrap_or(if is_already_compressed(&ext) {
        CompressionType::Uncompressed
    } else {
        opts.compression
    });
    let content = match &doc.content {
        Content::None => EncodedContent::None,
        Content::Text(t) if t.len() as u64 <= MAX_INLINE_CONTENT_BYTES => {
            EncodedContent::Data(t.clone())
        }
        Content::Text(t) => {
            let ty = doc.compression.unwrap_or(opts.compression);
            encode_bytes(t.as_bytes(), ty, opts, &doc.id)?
        }
        Content::Bytes(b) => encode_bytes(b, compression, opts, &doc.id)?,
        Content::File(path) => encode_file(path, compression, opts)?,
    };
    Ok(EncodedItem {
        id: doc.id.clone(),
        fields: doc.fields_json(),
        content,
    })
}

fn too_large(what: &str, len: u64) -> Error {
    Error::invalid_input(format!(
        "{what} is {:.1} MB after compression; Coveo accepts at most 256 MB per item, so leave it out or split it",
        len as f64 / 1e6
    ))
}

fn encode_bytes(
    bytes: &[u8],
    ty: CompressionType,
    opts: &EncodeOptions,
    id: &str,
) -> Result<EncodedContent, Error> {
    let compressed = compress(bytes, ty, opts.level);
    let len = compressed.len() as u64;
    if base64_len(len) <= MAX_INLINE_CONTENT_BYTES {
        return Ok(EncodedContent::Inline {
            base64: b64(&compressed),
            compression: ty,
        });
    }
    if len > MAX_CONTAINER_BYTES {
        return Err(too_large(&format!("the content of item {id:?}"), len));
    }
    Ok(EncodedContent::Container {
        source: UploadSource::Memory(Bytes::from(compressed)),
        len,
        compression: ty,
        display: id.to_string(),
    })
}

fn encode_file(
    path: &Path,
    ty: CompressionType,
    opts: &EncodeOptions,
) -> Result<EncodedContent, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::local_file(path, e))?;
    if !meta.is_file() {
        return Err(Error::local_file(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "it is not a regular file"),
        ));
    }
    let size = meta.len();
    let display = path.display().to_string();
    if ty == CompressionType::Uncompressed {
        if base64_len(size) <= MAX_INLINE_CONTENT_BYTES {
            let bytes = std::fs::read(path).map_err(|e| Error::local_file(path, e))?;
            return Ok(EncodedContent::Inline {
                base64: b64(&bytes),
                compression: ty,
            });
        }
        if size > MAX_CONTAINER_BYTES {
            return Err(too_large(&format!("the file {display}"), size));
        }
        return Ok(EncodedContent::Container {
            source: UploadSource::Path(path.to_path_buf()),
            len: size,
            compression: ty,
            display,
        });
    }
    if size <= IN_MEMORY_COMPRESSION_MAX {
        let bytes = std::fs::read(path).map_err(|e| Error::local_file(path, e))?;
        return match encode_bytes(&bytes, ty, opts, &display) {
            Err(_) => Err(too_large(&format!("the file {display}"), size)),
            ok => ok,
        };
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
    let (file, temp_path) = temp.into_parts();
    let reader = BufReader::with_capacity(
        256 * 1024,
        File::open(path).map_err(|e| Error::local_file(path, e))?,
    );
    let writer = BufWriter::with_capacity(256 * 1024, file);
    let (_, writer) =
        compress_stream(reader, writer, ty, opts.level).map_err(|e| Error::local_file(path, e))?;
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
        return Ok(EncodedContent::Inline {
            base64: b64(&bytes),
            compression: ty,
        });
    }
    Ok(EncodedContent::Container {
        source: UploadSource::Temp(Arc::new(temp_path)),
        len,
        compression: ty,
        display,
    })
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
        let item = encode(&Document::new("https://x/1").text("hello"), &opts()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&item.into_json(None)).unwrap();
        assert_eq!(v["data"], "hello");
        assert!(v.get("compressionType").is_none());
    }

    #[test]
    fn bytes_are_zlib_base64() {
        let item = encode(
            &Document::new("https://x/1").bytes(b"abcabcabc".to_vec()),
            &opts(),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&item.into_json(None)).unwrap();
        assert_eq!(v["compressionType"], "ZLIB");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v["compressedBinaryData"].as_str().unwrap())
            .unwrap();
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abcabcabc");
    }

    #[test]
    fn already_compressed_is_sent_uncompressed() {
        let doc = Document::new("https://x/a.png")
            .file_extension(".png")
            .bytes(vec![1, 2, 3]);
        let item = encode(&doc, &opts()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&item.into_json(None)).unwrap();
        assert_eq!(v["compressionType"], "UNCOMPRESSED");
        assert_eq!(v["compressedBinaryData"], "AQID");
        let gz = Document::new("https://x/a.bin")
            .bytes(vec![1, 2, 3])
            .compression(CompressionType::Gzip);
        assert_eq!(
            encode(&gz, &opts()).unwrap().compression(),
            Some(CompressionType::Gzip)
        );
    }

    #[test]
    fn large_file_streams_to_temp_container() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let mut f = File::create(&path).unwrap();
        // 12 MB of pseudo-random bytes: compresses poorly, above the in-memory limit.
        let mut x: u64 = 1;
        let mut buf = vec![0u8; 1024 * 1024];
        for _ in 0..12 {
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            f.write_all(&buf).unwrap();
        }
        drop(f);
        let o = EncodeOptions {
            temp_dir: Some(dir.path().to_path_buf()),
            ..opts()
        };
        let item = encode(&Document::from_path(&path).unwrap(), &o).unwrap();
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
        let text = encode(&Document::new("https://x/1").text("hello"), &opts()).unwrap();
        let p = text.preview();
        assert_eq!(p.body["data"], "<5 bytes of text>");
        assert_eq!(
            (p.compression, p.content_bytes, p.container),
            (None, 5, false)
        );
        let bytes = encode(
            &Document::new("https://x/2").bytes(b"abcabcabc".to_vec()),
            &opts(),
        )
        .unwrap();
        let sent: serde_json::Value = serde_json::from_slice(
            &encode(
                &Document::new("https://x/2").bytes(b"abcabcabc".to_vec()),
                &opts(),
            )
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
    fn missing_file_names_it() {
        let e = encode(
            &Document::new("https://x/1").file("/nonexistent/dir/x.pdf"),
            &opts(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/dir/x.pdf"), "{e}");
        assert!(matches!(e.kind(), ErrorKind::LocalFile { .. }));
    }
}
