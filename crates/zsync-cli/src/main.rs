//! `zsync`: an svn-like client for zsyncd content servers. A thin layer over
//! `zsync-client`: parse arguments, print what the library reports, map
//! errors to exit codes (0 ok, 1 failed or conflicts remain, 2 usage).

/// A large working copy's index is tens of thousands of small allocations
/// made and freed once per command; mimalloc does that in less time than
/// the system allocator (measured in docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod diff_args;
mod output;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let config = match cli::load_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("zsync: bad config file: {e}");
            eprintln!("zsync: {}", e.hint());
            return ExitCode::from(1);
        }
    };
    let mut ui = if args.wants_json() {
        terminal::TerminalUi::recording()
    } else {
        terminal::TerminalUi::new()
    };
    let env = |name: &str| std::env::var(name).ok();
    ui.editor = config.editor_command(args.editor_cmd(), env);
    ui.color = config.use_color(std::io::IsTerminal::is_terminal(&std::io::stdout()), env);
    match cli::run(args, &ui, config) {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(1)
        }
    }
}
