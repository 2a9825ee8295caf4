//! Compression of binary content before it is base64-encoded or uploaded.

use std::io::{self, Read, Write};

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;

/// How `compressedBinaryData` / `compressedBinaryDataFileId` content is compressed.
/// (LZMA is accepted by the service but not produced here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompressionType {
    #[default]
    Zlib,
    Gzip,
    Deflate,
    Uncompressed,
}

impl CompressionType {
    /// The spelling the Push API documents (`ZLIB`, `GZIP`, `DEFLATE`, `UNCOMPRESSED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zlib => "ZLIB",
            Self::Gzip => "GZIP",
            Self::Deflate => "DEFLATE",
            Self::Uncompressed => "UNCOMPRESSED",
        }
    }
}

/// The zlib level used for content. Level 1 compresses text and office XML to within about
/// 10-15% of level 6 at roughly three times the speed; on a desktop pushing thousands of files,
/// CPU time is what the user waits for, and the Push API's limits are on requests and items,
/// not bytes.
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 1;

/// File extensions (lowercase, with the dot) whose content is already compressed: compressing
/// again costs CPU and saves nothing, so they are sent `UNCOMPRESSED` (still base64 inline).
pub const ALREADY_COMPRESSED_EXTENSIONS: &[&str] = &[
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".avif", ".zip", ".gz", ".tgz", ".bz2",
    ".xz", ".zst", ".7z", ".rar", ".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm", ".odt",
    ".ods", ".odp", ".epub", ".jar", ".apk", ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi",
    ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac", ".woff", ".woff2",
];

/// Whether a file extension (with or without the dot, any case) names an already-compressed
/// format.
pub fn is_already_compressed(extension: &str) -> bool {
    let ext = extension.trim_start_matches('.').to_ascii_lowercase();
    ALREADY_COMPRESSED_EXTENSIONS.iter().any(|e| e[1..] == ext)
}

/// A writer that compresses into `inner` with the given type.
pub(crate) enum Compressor<W: Write> {
    Zlib(ZlibEncoder<W>),
    Gzip(GzEncoder<W>),
    Deflate(DeflateEncoder<W>),
    Plain(W),
}

impl<W: Write> Compressor<W> {
    pub(crate) fn new(inner: W, ty: CompressionType, level: u32) -> Self {
        let level = Compression::new(level.min(9));
        match ty {
            CompressionType::Zlib => Self::Zlib(ZlibEncoder::new(inner, level)),
            CompressionType::Gzip => Self::Gzip(GzEncoder::new(inner, level)),
            CompressionType::Deflate => Self::Deflate(DeflateEncoder::new(inner, level)),
            CompressionType::Uncompressed => Self::Plain(inner),
        }
    }

    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Self::Zlib(e) => e.finish(),
            Self::Gzip(e) => e.finish(),
            Self::Deflate(e) => e.finish(),
            Self::Plain(mut w) => {
                w.flush()?;
                Ok(w)
            }
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Zlib(e) => e.write(buf),
            Self::Gzip(e) => e.write(buf),
            Self::Deflate(e) => e.write(buf),
            Self::Plain(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Zlib(e) => e.flush(),
            Self::Gzip(e) => e.flush(),
            Self::Deflate(e) => e.flush(),
            Self::Plain(w) => w.flush(),
        }
    }
}

/// Compresses a byte slice in memory.
pub fn compress(bytes: &[u8], ty: CompressionType, level: u32) -> Vec<u8> {
    if ty == CompressionType::Uncompressed {
        return bytes.to_vec();
    }
    let mut c = Compressor::new(Vec::with_capacity(bytes.len() / 3 + 64), ty, level);
    // Writing into a Vec cannot fail.
    let _ = c.write_all(bytes);
    c.finish().unwrap_or_default()
}

/// Streams `reader` through the compressor into `writer`; returns the bytes read.
pub(crate) fn compress_stream<R: Read, W: Write>(
    mut reader: R,
    writer: W,
    ty: CompressionType,
    level: u32,
) -> io::Result<(u64, W)> {
    let mut c = Compressor::new(writer, ty, level);
    let read = io::copy(&mut reader, &mut c)?;
    Ok((read, c.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};

    #[test]
    fn every_type_round_trips() {
        let input = b"hello hello hello hello world".repeat(50);
        let mut out = Vec::new();
        ZlibDecoder::new(&compress(&input, CompressionType::Zlib, 1)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, input);
        out.clear();
        GzDecoder::new(&compress(&input, CompressionType::Gzip, 6)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, input);
        out.clear();
        DeflateDecoder::new(&compress(&input, CompressionType::Deflate, 9)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, input);
        assert_eq!(compress(&input, CompressionType::Uncompressed, 1), input);
        assert!(compress(&input, CompressionType::Zlib, 1).len() < input.len() / 5);
    }

    #[test]
    fn already_compressed_formats() {
        for ext in [
            ".jpg", "PNG", ".docx", "xlsx", ".pptx", ".mp4", ".zip", ".gz", ".7z", ".mp3", ".gif",
        ] {
            assert!(is_already_compressed(ext), "{ext}");
        }
        for ext in [".txt", ".pdf", ".html", ".doc", ""] {
            assert!(!is_already_compressed(ext), "{ext}");
        }
    }
}
