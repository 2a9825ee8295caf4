//! The sync engine: local folders kept in sync with a Coveo Push source, with nothing lost.
//!
//! Work flows through pure and impure steps, each in its own module:
//! [`config`] (which folders, how) → [`scan`] (what is on disk) → [`plan`] (pure: what to send,
//! from the [`state`] store and the scan) → brakes (halt on mass deletes or a vanished folder)
//! → executor (push through `coveo-push`, record only what the API accepted).
//!
//! What it is not: no Tauri, no CLI flags, no API key in the engine (callers pass the key in
//! through their client factory; [`keystore`] is the one keyring wrapper both fronts use to
//! find it), no HTTP of its own beyond reading the Source Logs (everything else goes through `coveo-push`).
//! Start reading at [`engine::Engine::start`] (the handle the CLI and the desktop shell hold),
//! then [`plan::plan`] (the pure heart), then [`execute::execute`].
//!
//! Layering, lowest first: a module uses only modules listed before it, so no two modules use
//! each other, directly or around a circle (`tests/layering.rs` checks it, tests excepted):
//! 1. [`model`]: the plain types several modules share (`FileId`, `KnownFile`, `FileProblem`,
//!    `ProblemKind`) and the item path convention; uses none.
//! 2. [`filters`]: the include/exclude rules, pure; uses none. [`folder_state`]: a folder's
//!    state machine (pure `step`) and the `FolderState` the fronts see; uses none.
//! 3. [`state`]: the SQLite state store; uses `model`.
//! 4. [`scan`]: the walks (the sync's parallel scan, and `list_matches`, the filters'
//!    preview); uses `model`, `filters`, `state`.
//! 5. [`config`]: the TOML folder mappings; uses `filters`, and `scan` only to re-export
//!    `list_matches` under its first path.
//! 6. [`watch`]: directory hints from file events; uses `model`.
//! 7. [`plan`]: the pure planner and the brakes; uses `model`, `config`, `scan`, `state`.
//! 8. [`execute`]: the executor; uses `model`, `config`, `plan`, `state`.
//! 9. [`error`]: the engine's errors by meaning, their causes kept typed; uses `config`,
//!    `execute`, `state`.
//! 10. [`engine`]: the handle and its loop; uses all of the above (a folder's state only
//!     through `folder_state::step`).
//!
//! [`keystore`] (the keyring wrapper) stands apart and uses none.

pub mod config;
pub mod engine;
pub mod error;
pub mod execute;
pub mod filters;
pub mod folder_state;
pub mod keystore;
pub mod model;
pub mod plan;
pub mod scan;
pub mod state;
pub mod watch;
