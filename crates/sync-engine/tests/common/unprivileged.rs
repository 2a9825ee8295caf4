//! Running part of a test as uid 65534 when the tests run as root, so that checks of unreadable
//! files (mode 000, which root reads anyway) assert on every run. The one source is
//! pushdeck-proof's `tests/src/unprivileged.rs`, compiled here with `include!` (sync-engine does
//! not depend on pushdeck-proof). Use: `unprivileged::body_runs_here(TEST_NAME)` at the top of
//! the test (returns `false` in the root parent once the child passed), then
//! `unprivileged::make_unreadable(path)` for each mode-000 file or folder.
#![allow(dead_code, unreachable_pub)]

include!("../../../../tests/src/unprivileged.rs");
