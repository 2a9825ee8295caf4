//! The emulator's request parsing (push_emulator::json and push_emulator::wire, the public
//! functions its routes call on request bodies): strict JSON with case-insensitive duplicate
//! keys, item validation (single push and batch entry), identity bodies and identity batches,
//! and content decoding. None may panic, whatever the bytes.
//!
//! The first byte picks the compression the rest is decoded with; the rest is also read as
//! a JSON body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use push_emulator::{json, wire};

fuzz_target!(|data: &[u8]| {
    if let Some((first, rest)) = data.split_first() {
        let compression = match first % 5 {
            0 => wire::Compression::Uncompressed,
            1 => wire::Compression::Deflate,
            2 => wire::Compression::Gzip,
            3 => wire::Compression::Lzma,
            _ => wire::Compression::Zlib,
        };
        let _ = compression.decode(rest);
    }
    let Ok(value) = json::parse_strict(data) else {
        return;
    };
    let _ = wire::check_document(value.clone(), None, None);
    let _ = wire::check_document(value.clone(), Some("file:///fuzz/a.txt"), Some("gzip"));
    if let Some(entries) = value.get("addOrUpdate").and_then(|v| v.as_array()) {
        for entry in entries {
            let _ = wire::check_document(entry.clone(), None, None);
        }
    }
    let _ = wire::parse_identity_body(&value, false);
    let _ = wire::parse_identity_body(&value, true);
    let _ = wire::parse_identity_batch(&value);
});
