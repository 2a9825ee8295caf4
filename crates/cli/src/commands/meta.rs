//! Commands about the command line itself: shell completions and man pages.

use std::io::Write;

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{CliError, Outcome};

pub fn completions(args: &CompletionsArgs) -> Result<Outcome, CliError> {
    let mut command = Cli::command();
    // Rendered into memory first: clap_complete panics on a write error, and a closed pipe
    // (`pushdeck completions bash | head`) is not a bug.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "pushdeck", &mut script);
    write_stdout(&script)
}

/// Writes to standard output; a reader that went away (broken pipe) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<Outcome, CliError> {
    match std::io::stdout().lock().write_all(bytes) {
        Ok(()) => Ok(Outcome::ok()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::ok()),
        Err(e) => Err(CliError::usage(
            "write_failed",
            format!("cannot write to standard output: {e}"),
        )),
    }
}

pub fn man(args: &ManArgs) -> Result<Outcome, CliError> {
    let command = Cli::command();
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            render(command, &mut page)?;
            std::io::stdout().lock().write_all(&page).map_err(|e| {
                CliError::usage("write_failed", format!("cannot write the man page: {e}"))
            })?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                CliError::usage(
                    "write_failed",
                    format!(
                        "cannot create {}: {e}; pick a folder you can write to",
                        dir.display()
                    ),
                )
            })?;
            clap_mangen::generate_to(command, dir).map_err(|e| {
                CliError::usage(
                    "write_failed",
                    format!("cannot write man pages into {}: {e}", dir.display()),
                )
            })?;
        }
    }
    Ok(Outcome::ok())
}

fn render(command: clap::Command, page: &mut Vec<u8>) -> Result<(), CliError> {
    let man = clap_mangen::Man::new(command);
    man.render(page)
        .map_err(|e| CliError::usage("write_failed", format!("cannot render the man page: {e}")))
}
