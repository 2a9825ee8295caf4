//! Process setup around a command: panic hook, logging, runtime, and the exit status.

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::exit::Exit;
use crate::output::{init_tracing, Output};

pub fn main() -> ExitCode {
    install_panic_hook();
    // clap prints its own usage errors and exits with status 2 (help and version: 0), which is
    // the documented status for usage errors.
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let out = std::sync::Arc::new(Output::new(&cli.global));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime ({e}); the system may be out of threads or memory");
            return Exit::Usage.into();
        }
    };
    let result = runtime.block_on(crate::commands::run(cli, &out));
    // Background tasks (watchers, an in-process Sandbox) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(outcome) => outcome.exit().into(),
        Err(err) => {
            out.error(&err);
            err.exit.into()
        }
    }
}

/// A panic is always our bug, never the user's mistake: print one short line without the
/// panic message (it could quote user data) and without a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "pushdeck: internal error{place}. This is a bug in Pushdeck, not something you did; \
             please report it with the command you ran (leave out your API key)."
        );
    }));
}
