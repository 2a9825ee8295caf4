//! Pushdeck's configuration file (sync_engine::config::Config::parse, TOML with folder
//! mappings, filters, metadata, safety brakes and permission rules): reading never panics;
//! what reads writes back (to_toml) to a file that reads again to the same configuration.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sync_engine::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/fuzz/pushdeck.toml");
    let Ok(config) = Config::parse(text, path) else {
        return;
    };
    let written = config.to_toml();
    let again = Config::parse(&written, path).expect("a written configuration reads back");
    assert_eq!(again, config);
});
