//! `pushdeck-app`: Pushdeck's desktop app crate.
//!
//! For now it holds only the **DTOs** that cross between the Rust shell and the web UI
//! ([`dto`]): plain serde structs whose TypeScript twins are generated with `ts-rs` into
//! `ui/src/ipc/bindings/`. A test (`tests::bindings_are_current`) regenerates them and fails
//! when the committed files differ, so Rust and TypeScript cannot drift.
//!
//! What it is not (yet): the Tauri shell. Commands, managed state, events, the keyring and the
//! native dialogs come once the sync engine lands; they will be thin functions from these DTOs to
//! the engine handle and back. Domain crates (`permissions`, `sync-engine`) stay free of these
//! wire formats: conversions live here, at the boundary.
//!
//! Start with [`dto::HostError`] (the `{code, message}` error shape) and [`dto::HostEvent`] (every
//! event the UI listens to), then [`dto::HOST_CALLS`] (the list of commands the shell must
//! implement).
//!
//! To refresh the TypeScript bindings after changing a DTO:
//! `UPDATE_BINDINGS=1 cargo test -p pushdeck-app bindings_are_current`.

pub mod dto;

#[cfg(test)]
mod tests;
