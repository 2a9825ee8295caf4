//! `push-emulator`: the emulator as a stand-alone binary (the same flags as
//! `pushdeck emulator`), used by this crate's tests of the command's output.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "push-emulator",
    version,
    about = "A local Coveo Push API emulator (the Pushdeck Sandbox)."
)]
struct Cli {
    #[command(flatten)]
    args: push_emulator::command::EmulatorArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match push_emulator::command::run(Cli::parse().args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("push-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
