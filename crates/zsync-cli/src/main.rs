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
    if args.receives_bodies() {
        small_pages();
    }
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

/// Turns transparent huge pages off for the rest of this process.
/// mimalloc asks for them (it advises its arena `MADV_HUGEPAGE`) and starts
/// each thread's heap at its own place in the arena, so every thread that
/// allocates touches a 2 MiB page of its own. A command receiving bodies
/// runs a dozen threads (writers, fsyncs, the HTTP client's): with huge
/// pages a 64 MiB checkout peaked at 36–40 MiB RSS instead of 18 (release)
/// and a 20,000-file one at ~165 MiB instead of 97, and neither was faster,
/// as writing files waits on the disk. Commands that mostly decode the
/// index on one thread (status, info, commit) keep them: at 20,000 files
/// status and info take 14x fewer page faults with them, 13–22 ms less
/// (an update pays ~15 ms for its decode). Called before any helper
/// thread starts (only the argument parsing's pages are huge); child
/// processes (ssh) inherit it.
fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory
    // of ours; if it fails (an old kernel), huge pages stay as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
