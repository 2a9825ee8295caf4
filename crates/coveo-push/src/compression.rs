//! Compression of binary content before it is base64-encoded or uploaded.

use std::cell::RefCell;
use std::io::{self, Read, Write};

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::{Compress, Compression, FlushCompress, Status};

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

/// The zlib level content starts at. With zlib-rs, level 1 is a "quick" deflate that leaves
/// text about 40% larger than level 2, for half of level 2's CPU time; level 2 comes within
/// about 30% of level 6 (zlib's default, what Coveo's own clients use) at a fifth of its CPU
/// time. When the uplink is the bottleneck, the batcher raises the level to 6, where CPU time
/// costs nothing (see `batcher::next_level`); when the machine's cores are, this level keeps
/// them on what the person waits for.
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 2;

/// File extensions (lowercase, with the dot) of formats that are usually already compressed.
/// The encoder no longer decides by extension (a `.docx` or `.zip` may hold stored entries,
/// a `.bin` may be random): it asks [`worth_compressing`] about the bytes. Kept for callers
/// that want a hint from a name alone.
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

/// Largest first block the encoder hands to [`worth_compressing`] for content it streams (files
/// above `IN_MEMORY_COMPRESSION_MAX`); smaller content is probed whole, as it is in memory.
pub const PROBE_BLOCK_BYTES: usize = 1024 * 1024;
/// The probe deflates at most this many slices of [`PROBE_SLICE_BYTES`], spread evenly over
/// the block (64 KB in all), so its cost does not grow with the content.
pub const PROBE_SLICES: usize = 16;
pub const PROBE_SLICE_BYTES: usize = 4 * 1024;
/// Content is compressed when the probe's sample deflates below this share of its size.
pub const PROBE_MAX_RATIO: f64 = 0.9;

/// Whether content whose first block is `first_block` is worth compressing: deflates a sample
/// of it at level 1 (the whole block up to 64 KB, else 16 slices of 4 KB spread over it) and
/// says yes when the sample shrinks below [`PROBE_MAX_RATIO`]. Decided by the bytes, not the
/// file's name: a `.docx` or `.zip` whose entries are stored is compressed, random data named
/// `.bin` is not, an Office file (deflated XML inside) is not. Empty or tiny content (which
/// compression would make larger) is not. Pure; costs about a 64 KB level-1 deflate at most.
pub fn worth_compressing(first_block: &[u8]) -> bool {
    let sample = PROBE_SLICES * PROBE_SLICE_BYTES;
    let len = first_block.len();
    if len == 0 {
        return false;
    }
    let (slices, step) = if len <= sample {
        (1, 0)
    } else {
        (PROBE_SLICES, (len - PROBE_SLICE_BYTES) / (PROBE_SLICES - 1))
    };
    let slice_len = if slices == 1 { len } else { PROBE_SLICE_BYTES };
    with_compressor(false, 1, |c| {
        // The output is only counted (`total_out`), so one scratch buffer is enough.
        let mut scratch = [0u8; 16 * 1024];
        for i in 0..slices {
            let mut input = &first_block[i * step..i * step + slice_len];
            while !input.is_empty() {
                let before = c.total_in();
                if c.compress(input, &mut scratch, FlushCompress::None)
                    .is_err()
                {
                    return true;
                }
                input = &input[(c.total_in() - before) as usize..];
            }
        }
        loop {
            match c.compress(&[], &mut scratch, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {}
                Err(_) => return true,
            }
        }
        (c.total_out() as f64) < PROBE_MAX_RATIO * c.total_in() as f64
    })
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

thread_local! {
    /// The zlib and raw-deflate compressors this thread used (the probe's and the content's),
    /// by (zlib header, level), reset between uses: an encoder thread compresses thousands of
    /// small files, and a fresh compressor would allocate and zero its window and hash tables
    /// (a few hundred KB) for each one.
    static COMPRESSORS: RefCell<Vec<((bool, u32), Compress)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's compressor for (zlib header, level), freshly reset.
fn with_compressor<T>(zlib_header: bool, level: u32, f: impl FnOnce(&mut Compress) -> T) -> T {
    COMPRESSORS.with(|cell| {
        let mut all = cell.borrow_mut();
        let key = (zlib_header, level);
        let index = match all.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                all.push((key, Compress::new(Compression::new(level), zlib_header)));
                all.len() - 1
            }
        };
        let c = &mut all[index].1;
        c.reset();
        f(c)
    })
}

/// Compresses a byte slice in memory.
pub fn compress(bytes: &[u8], ty: CompressionType, level: u32) -> Vec<u8> {
    let zlib_header = match ty {
        CompressionType::Uncompressed => return bytes.to_vec(),
        CompressionType::Gzip => {
            let mut c = Compressor::new(Vec::with_capacity(bytes.len() / 3 + 64), ty, level);
            // Writing into a Vec cannot fail.
            let _ = c.write_all(bytes);
            return c.finish().unwrap_or_default();
        }
        CompressionType::Zlib => true,
        CompressionType::Deflate => false,
    };
    let level = level.min(9);
    with_compressor(zlib_header, level, |c| deflate_all(c, bytes, ty, level))
}

/// Runs `c` (freshly reset) over all of `input` and returns its whole output.
fn deflate_all(c: &mut Compress, input: &[u8], ty: CompressionType, level: u32) -> Vec<u8> {
    // Text shrinks to about a quarter; the Vec grows for content that does not.
    let mut out = Vec::with_capacity(input.len() / 4 + 64);
    loop {
        let read = c.total_in() as usize;
        match c.compress_vec(&input[read..], &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return out,
            Ok(_) => out.reserve(out.capacity().max(4096)),
            // Cannot happen with Finish and room to write; a fresh encoder rather than a
            // truncated stream.
            Err(_) => {
                let mut fresh = Compressor::new(Vec::new(), ty, level);
                let _ = fresh.write_all(input);
                return fresh.finish().unwrap_or_default();
            }
        }
    }
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
pub(crate) mod tests {
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
    fn reused_compressors_start_clean() {
        // One thread, the same compressors reset between inputs of every kind and size, in
        // turn with other types and levels: each output stands alone and round-trips, and
        // equals what a fresh compressor writes for the same input.
        let inputs = [
            words(100_000, 1),
            noise(70_000, 2),
            Vec::new(),
            b"x".to_vec(),
            words(3_000, 3),
            office_xml(40_000, 4),
        ];
        for round in 0..2 {
            for (i, input) in inputs.iter().enumerate() {
                for (ty, level) in [
                    (CompressionType::Zlib, 1),
                    (CompressionType::Deflate, 6),
                    (CompressionType::Zlib, 6),
                ] {
                    let ours = compress(input, ty, level);
                    let mut fresh =
                        Compress::new(Compression::new(level), ty == CompressionType::Zlib);
                    let fresh = deflate_all(&mut fresh, input, ty, level);
                    assert!(
                        ours == fresh,
                        "round {round}, input {i}, {ty:?} {level}: not what a fresh compressor writes"
                    );
                    let mut out = Vec::new();
                    match ty {
                        CompressionType::Zlib => ZlibDecoder::new(&ours[..]).read_to_end(&mut out),
                        _ => DeflateDecoder::new(&ours[..]).read_to_end(&mut out),
                    }
                    .unwrap();
                    assert!(&out == input, "round {round}, input {i}: no round trip");
                }
            }
        }
    }

    /// Deterministic incompressible bytes (xorshift).
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Text of realistic repetitiveness: words from a small vocabulary, in a pseudo-random order.
    pub(crate) fn words(n: usize, seed: u64) -> Vec<u8> {
        const W: &[&str] = &[
            "policy",
            "search",
            "index",
            "item",
            "folder",
            "permission",
            "group",
            "user",
            "document",
            "report",
            "budget",
            "meeting",
            "quarter",
            "review",
            "contract",
            "travel",
        ];
        let r = noise(n / 3 + 1, seed);
        let mut out = Vec::with_capacity(n + 16);
        for b in r {
            if out.len() >= n {
                break;
            }
            out.extend_from_slice(W[(b % 16) as usize].as_bytes());
            out.push(b' ');
        }
        out.truncate(n);
        out
    }

    /// Office-like XML (a `word/document.xml`): runs of repeated markup around words.
    pub(crate) fn office_xml(n: usize, seed: u64) -> Vec<u8> {
        let mut out =
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document><w:body>"
                .to_vec();
        let mut i = 0;
        while out.len() < n {
            out.extend_from_slice(b"<w:p><w:r><w:rPr><w:rFonts w:ascii=\"Calibri\"/></w:rPr><w:t>");
            out.extend_from_slice(&words(40 + (i % 50), seed + i as u64));
            out.extend_from_slice(b"</w:t></w:r></w:p>");
            i += 1;
        }
        out.extend_from_slice(b"</w:body></w:document>");
        out
    }

    /// A minimal, valid zip archive (local headers, central directory), each entry STORED or
    /// DEFLATED at the default level (as Office writes them).
    pub(crate) fn zip(entries: &[(&str, Vec<u8>)], deflated: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let body = if deflated {
                compress(data, CompressionType::Deflate, 6)
            } else {
                data.clone()
            };
            let method: u16 = if deflated { 8 } else { 0 };
            let offset = out.len() as u32;
            let mut fields = Vec::new();
            fields.extend_from_slice(&20u16.to_le_bytes()); // version needed
            fields.extend_from_slice(&0u16.to_le_bytes()); // flags
            fields.extend_from_slice(&method.to_le_bytes());
            fields.extend_from_slice(&[0, 0, 0x21, 0]); // time, date
            fields.extend_from_slice(&crc.sum().to_le_bytes());
            fields.extend_from_slice(&(body.len() as u32).to_le_bytes());
            fields.extend_from_slice(&(data.len() as u32).to_le_bytes());
            fields.extend_from_slice(&(name.len() as u16).to_le_bytes());
            fields.extend_from_slice(&0u16.to_le_bytes()); // extra length
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&fields);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&body);
            central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes()); // version made by
            central.extend_from_slice(&fields);
            central.extend_from_slice(&[0; 8]); // comment length, disk, internal attributes
            central.extend_from_slice(&[0; 4]); // external attributes
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let (cd_offset, cd_len, n) = (out.len() as u32, central.len() as u32, entries.len() as u16);
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&cd_len.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    /// A `.docx`-shaped package: the parts every Word file has and a main part of `xml` bytes.
    pub(crate) fn docx(xml_bytes: usize, deflated: bool) -> Vec<u8> {
        zip(
            &[
                ("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_vec()),
                ("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_vec()),
                ("word/document.xml", office_xml(xml_bytes, 7)),
            ],
            deflated,
        )
    }

    #[test]
    fn the_probe_decides_by_the_bytes() {
        // Random bytes: not worth it, whatever their size.
        for n in [100, 4_000, 64 * 1024, 300_000, PROBE_BLOCK_BYTES] {
            assert!(!worth_compressing(&noise(n, 3)), "noise {n}");
        }
        // Text and office XML: worth it.
        for n in [200, 4_000, 64 * 1024, 300_000, PROBE_BLOCK_BYTES] {
            assert!(worth_compressing(&words(n, 5)), "text {n}");
            assert!(worth_compressing(&office_xml(n, 5)), "xml {n}");
        }
        // A .docx or .zip whose entries are STORED holds plain text: worth it.
        for xml in [3_000, 40_000, 600_000] {
            assert!(worth_compressing(&docx(xml, false)), "stored docx {xml}");
        }
        let stored_zip = zip(
            &[("a.txt", words(50_000, 1)), ("b.txt", words(50_000, 2))],
            false,
        );
        assert!(worth_compressing(&stored_zip));
        // A real-shaped .docx (DEFLATED entries): not worth it.
        for xml in [20_000, 100_000, 2_000_000] {
            let d = docx(xml, true);
            assert!(
                !worth_compressing(&d),
                "deflated docx {xml} ({} bytes)",
                d.len()
            );
        }
        // Empty and tiny content: compression would only add its header.
        assert!(!worth_compressing(b""));
        assert!(!worth_compressing(b"0123456789"));
        // Slices spread over the block: noise first, text after (like a PDF) is still seen.
        let mut mixed = noise(400_000, 9);
        mixed.extend_from_slice(&words(400_000, 9));
        assert!(worth_compressing(&mixed));
    }

    #[test]
    fn the_zip_helper_writes_valid_archives() {
        // The fixtures above are real zips: entries read back through their own method.
        let d = docx(5_000, true);
        assert_eq!(&d[..4], b"PK\x03\x04");
        assert_eq!(&d[d.len() - 22..d.len() - 18], b"PK\x05\x06");
        let name_len = u16::from_le_bytes([d[26], d[27]]) as usize;
        let csize = u32::from_le_bytes([d[18], d[19], d[20], d[21]]) as usize;
        let start = 30 + name_len;
        let mut out = Vec::new();
        DeflateDecoder::new(&d[start..start + csize])
            .read_to_end(&mut out)
            .unwrap();
        assert!(out.starts_with(b"<?xml"));
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
