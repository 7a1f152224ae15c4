//! The options of `zsync diff`, GNU diff's where they exist.

use std::path::PathBuf;

use clap::{ArgGroup, Args};
use zsync_client::diff::{DiffFormat, DiffMode, DiffSettings, TextOptions};

const AFTER_HELP: &str = "\
Which versions are compared:
  -1  base -> working copy: your local changes (default; offline)
  -2  server's newest -> working copy: how yours differs from the newest
  -3  base -> server's newest: what the next update brings in
  -r N:M  revision N -> revision M on the server (M may be HEAD), diffed by
          the server; objects are matched by id, so a moved file diffs
          against its old self

Files added on one side only are shown in full against (nonexistent), as svn
does, and so are files scheduled for deletion. -N/--new-file (GNU's option)
also treats working files missing from disk (status !) as empty, so they show
as all-removed instead of being skipped.

--brief prints `Files X and Y differ` per changed body and `Properties of X and
Y differ` per item with property changes. -b, -B and -i count for text bodies
only (properties are always compared exactly).

The exit status is 0 whether or not there are differences (as in svn), 1 on
errors, 2 on bad options.";

#[derive(Args)]
#[command(
    after_help = AFTER_HELP,
    group(ArgGroup::new("mode").args(["base_to_working", "server_to_working", "base_to_server"])),
)]
pub struct DiffArgs {
    /// Base -> working copy (default; offline).
    #[arg(short = '1')]
    base_to_working: bool,
    /// Server's newest -> working copy (online).
    #[arg(short = '2')]
    server_to_working: bool,
    /// Base -> server's newest (online).
    #[arg(short = '3')]
    base_to_server: bool,
    /// Unified format with N lines of context (default 3).
    #[arg(
        short = 'U',
        long = "unified",
        value_name = "N",
        conflicts_with_all = ["context_format", "context_lines"]
    )]
    unified_lines: Option<usize>,
    /// Unified format (the default).
    #[arg(short = 'u', conflicts_with_all = ["context_format", "context_lines"])]
    unified_format: bool,
    /// Context format with 3 lines of context.
    #[arg(short = 'c')]
    context_format: bool,
    /// Context format with N lines of context.
    #[arg(short = 'C', long = "context", value_name = "N")]
    context_lines: Option<usize>,
    /// Also show working files missing from disk, as all removed.
    #[arg(short = 'N', long = "new-file")]
    new_file: bool,
    /// Only say which files differ.
    #[arg(short = 'q', long)]
    brief: bool,
    /// Ignore changes in the amount of white space.
    #[arg(short = 'b', long = "ignore-space-change")]
    ignore_space_change: bool,
    /// Ignore changes whose lines are all blank.
    #[arg(short = 'B', long = "ignore-blank-lines")]
    ignore_blank_lines: bool,
    /// Ignore case differences in text.
    #[arg(short = 'i', long = "ignore-case")]
    ignore_case: bool,
    /// Compare two revisions on the server (N:M, M may be HEAD) instead
    /// of the working copy.
    #[arg(
        short = 'r',
        long = "revision",
        value_name = "N:M",
        conflicts_with_all = ["base_to_working", "server_to_working", "base_to_server"]
    )]
    pub revisions: Option<String>,
    /// Show text changes with this command instead (run as `CMD -u -L OLD
    /// -L NEW OLDFILE NEWFILE`; overrides the config file's `diff-cmd`).
    #[arg(long, value_name = "CMD")]
    pub diff_cmd: Option<String>,
    pub paths: Vec<PathBuf>,
}

impl DiffArgs {
    pub fn settings(&self) -> DiffSettings {
        let mode = if self.server_to_working {
            DiffMode::ServerToWorking
        } else if self.base_to_server {
            DiffMode::BaseToServer
        } else {
            DiffMode::BaseToWorking
        };
        let context_style = self.context_format || self.context_lines.is_some();
        let format = if context_style {
            DiffFormat::Context
        } else {
            DiffFormat::Unified
        };
        let context = self.context_lines.or(self.unified_lines).unwrap_or(3);
        DiffSettings {
            mode,
            format,
            text: TextOptions {
                context,
                ignore_space_change: self.ignore_space_change,
                ignore_blank_lines: self.ignore_blank_lines,
                ignore_case: self.ignore_case,
            },
            brief: self.brief,
            new_file: self.new_file,
        }
    }
}
