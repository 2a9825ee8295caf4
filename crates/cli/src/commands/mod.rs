//! One module per command; [`run`] dispatches. Each command returns an [`Outcome`] (with the
//! number of items that failed, already listed) or a [`CliError`] that stops it.

mod access;
mod config;
mod fields;
mod identities;
mod login;
mod meta;
mod push;
mod service;
mod simple;
mod sync;

use std::sync::Arc;

use crate::args::{Cli, Command};
use crate::exit::{CliError, Outcome};
use crate::output::Output;

pub async fn run(cli: Cli, out: &Arc<Output>) -> Result<Outcome, CliError> {
    let global = &cli.global;
    match &cli.command {
        Command::Sync(args) => sync::run(args, global, out).await,
        Command::Push(args) => push::run(args, global, out).await,
        Command::Delete(args) => simple::delete(args, global, out).await,
        Command::Status(args) => simple::status(args, global, out).await,
        Command::Identities(command) => identities::run(command, global, out).await,
        Command::Source(crate::args::SourceCommand::Create(args)) => {
            simple::source_create(args, global, out).await
        }
        Command::Provider(crate::args::ProviderCommand::Create(args)) => {
            simple::provider_create(args, global, out).await
        }
        Command::Fields(crate::args::FieldsCommand::Sync(args)) => {
            fields::run(args, global, out).await
        }
        Command::Config(command) => config::run(command, global, out),
        Command::Access(command) => access::run(command, global, out),
        Command::Completions(args) => meta::completions(args),
        Command::Man(args) => meta::man(args),
        Command::Login(args) => login::login(args, out).await,
        Command::Logout(args) => login::logout(args, out).await,
        Command::Emulator(args) => emulator(args.clone()).await,
        Command::Service(command) => service::run(command, global, out),
    }
}

async fn emulator(args: push_emulator::command::EmulatorArgs) -> Result<Outcome, CliError> {
    use push_emulator::command::CommandError;
    push_emulator::command::run(args)
        .await
        .map_err(|e| match e {
            CommandError::RemoteRefused(_) => CliError::usage("remote_refused", e.to_string()),
            CommandError::Flags(_) => CliError::usage("invalid_flags", e.to_string()),
            CommandError::Start(_) => CliError::usage("emulator_start", e.to_string()),
            CommandError::Stdout(_) => CliError::usage("stdout", e.to_string()),
        })?;
    Ok(Outcome::ok())
}
