//! `pushdeck`, the command line of Pushdeck: headless sync, push, delete, identities, access
//! previews, Platform setup steps, and the local emulator (the Sandbox).
//!
//! It is a thin front: decisions live in `sync-engine`, `coveo-push`, `permissions` and
//! `push-emulator`; this crate parses arguments ([`args`]), finds the connection and the key
//! ([`connection`], [`keystore`]), prints ([`output`]) and maps outcomes to the documented exit
//! statuses ([`exit`]). It is not a library and keeps no state of its own besides the keyring
//! entry `pushdeck login` writes. Start reading at [`app::main`], then [`commands`].
//!
//! `pushdeck emulator` is `push_emulator::command::{EmulatorArgs, run}`, wired as
//! `Command::Emulator` in [`args`] and dispatched in [`commands`].

mod app;
mod args;
mod commands;
mod connection;
mod exit;
mod identities_file;
mod items;
mod keystore;
mod output;
mod parse;

fn main() -> std::process::ExitCode {
    app::main()
}
