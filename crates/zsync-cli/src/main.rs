//! `zsync`: an svn-like client for zsyncd content servers. A thin layer over
//! `zsync-client`: parse arguments, print what the library reports, map
//! errors to exit codes (0 ok, 1 failed or conflicts remain, 2 usage).

mod cli;
mod diff_args;
mod output;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let ui = if args.wants_json() {
        terminal::TerminalUi::recording()
    } else {
        terminal::TerminalUi::new()
    };
    match cli::run(args, &ui) {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(1)
        }
    }
}
