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

pub mod config;
pub mod engine;
pub mod execute;
pub mod keystore;
pub mod plan;
pub mod scan;
pub mod state;
pub mod watch;
