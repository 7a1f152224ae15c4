//! Command-line syntax (clap) and dispatch to `zsync-client`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use zsync_client::schedule::Accept;
use zsync_client::status::StatusOptions;
use zsync_client::{Context, ServerUrl, Ui};
use zsync_model::Kind;

use crate::output;

/// zsync: work on the content of a zsyncd server as ordinary files.
///
/// Check out a folder, edit its files with your own tools, see what changed
/// with `status` and `diff`, bring in others' changes with `update`, and
/// send yours with `commit`.
#[derive(Parser)]
#[command(
    name = "zsync",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check out a server folder into TARGETDIR/<its name>.
    #[command(visible_alias = "co")]
    Checkout {
        /// http://USER[:PASSWORD]@HOST:PORT/PATH (or https://)
        url: String,
        /// Where to put the working copy (default: the current directory).
        targetdir: Option<PathBuf>,
        /// The user to log in as (instead of the URL's).
        #[arg(short, long)]
        user: Option<String>,
    },
    /// Bring in changes from the server, merging them with local edits.
    #[command(visible_alias = "up")]
    Update { paths: Vec<PathBuf> },
    /// Show what changed in the working copy (offline).
    #[command(visible_aliases = ["st", "stat"])]
    Status {
        /// List every item, with its revisions and last author.
        #[arg(short, long)]
        verbose: bool,
        /// Hide unversioned items.
        #[arg(short, long)]
        quiet: bool,
        paths: Vec<PathBuf>,
    },
    /// Show local changes as unified diffs against the base (offline).
    #[command(visible_alias = "di")]
    Diff {
        /// Lines of context.
        #[arg(short = 'U', long = "unified", default_value_t = 3, value_name = "N")]
        context: usize,
        paths: Vec<PathBuf>,
    },
    /// Schedule files and folders (recursively) for addition.
    Add {
        /// The content type (document, image, file, ...); guessed if omitted.
        #[arg(short = 't', long = "type", value_name = "KIND")]
        kind: Option<String>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Delete items and schedule their deletion on the server.
    #[command(visible_aliases = ["rm", "del", "delete"])]
    Remove {
        /// Remove items with local changes too (the changes are lost).
        #[arg(long)]
        force: bool,
        /// Schedule the deletion but keep the files on disk.
        #[arg(long)]
        keep_local: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Create folders and schedule them for addition.
    Mkdir {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Undo local changes (recursively): edits, additions, removals, conflicts.
    Revert {
        /// Accepted for svn compatibility; revert always recurses.
        #[arg(short = 'R', long, hide = true)]
        recursive: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Settle conflicts by choosing a version.
    Resolve {
        /// working, base, mine-full or theirs-full
        #[arg(long, value_name = "ARG")]
        accept: Accept,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Mark conflicts as settled, keeping the files as they are.
    Resolved {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Send local changes to the server as one revision.
    #[command(visible_alias = "ci")]
    Commit {
        /// The log message.
        #[arg(short, long, conflicts_with = "file")]
        message: Option<String>,
        /// Read the log message from a file.
        #[arg(short = 'F', long)]
        file: Option<PathBuf>,
        paths: Vec<PathBuf>,
    },
    /// Show the revisions that changed a path.
    Log {
        /// Show at most N revisions.
        #[arg(short, long, value_name = "N")]
        limit: Option<u32>,
        path: Option<PathBuf>,
    },
    /// Store a login token for a server, so no password is needed later.
    Login {
        #[arg(short, long)]
        user: Option<String>,
        url: String,
    },
    /// Revoke and forget the stored login for a server.
    Logout {
        #[arg(short, long)]
        user: Option<String>,
        url: String,
    },
    /// Release the lock and temp files left by an interrupted command.
    Cleanup { paths: Vec<PathBuf> },
}

fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ZSYNC_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("zsync");
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".config").join("zsync")
}

pub fn run(cli: Cli, ui: &dyn Ui) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let ctx = Context::new(ui, cwd, config_dir());
    match cli.command {
        Command::Checkout {
            url,
            targetdir,
            user,
        } => {
            let done = zsync_client::checkout::checkout(
                &ctx,
                &url,
                targetdir.as_deref(),
                user.as_deref(),
            )?;
            println!("Checked out revision {}.", done.rev);
        }
        Command::Update { paths } => {
            let mut total = zsync_client::update::UpdateSummary::default();
            for target in ctx.targets(&paths)? {
                let s = zsync_client::update::update(&ctx, &target)?;
                println!("Updated to revision {}.", s.rev);
                total.add(&s);
            }
            if total.has_conflicts() {
                println!("Summary of conflicts:");
                if total.text_conflicts > 0 {
                    println!("  Text conflicts: {}", total.text_conflicts);
                }
                if total.tree_conflicts > 0 {
                    println!("  Tree conflicts: {}", total.tree_conflicts);
                }
            }
            if total.remaining > 0 {
                eprintln!(
                    "zsync: {} conflict(s) remain; fix them and run `zsync resolved PATH`, or `zsync revert PATH`",
                    total.remaining
                );
                return Ok(ExitCode::from(1));
            }
        }
        Command::Status {
            verbose,
            quiet,
            paths,
        } => {
            let mut out = std::io::stdout().lock();
            for target in ctx.targets(&paths)? {
                let items =
                    zsync_client::status::status(&ctx, &target, StatusOptions { verbose, quiet })?;
                for item in &items {
                    writeln!(
                        out,
                        "{}",
                        output::status_line(item, &ctx.display(&item.abs), verbose)
                    )?;
                }
            }
        }
        Command::Diff { context, paths } => {
            let mut out = std::io::stdout().lock();
            for target in ctx.targets(&paths)? {
                out.write_all(zsync_client::diff::diff(&ctx, &target, context)?.as_bytes())?;
            }
        }
        Command::Add { kind, paths } => {
            let kind = kind
                .map(|k| Kind::new(&k))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            zsync_client::schedule::add(&ctx, &paths, kind.as_ref())?;
        }
        Command::Remove {
            force,
            keep_local,
            paths,
        } => {
            zsync_client::schedule::remove(&ctx, &paths, force, keep_local)?;
        }
        Command::Mkdir { paths } => zsync_client::schedule::mkdir(&ctx, &paths)?,
        Command::Revert { paths, .. } => zsync_client::schedule::revert(&ctx, &paths)?,
        Command::Resolve { accept, paths } => {
            zsync_client::schedule::resolve(&ctx, &paths, accept)?
        }
        Command::Resolved { paths } => {
            zsync_client::schedule::resolve(&ctx, &paths, Accept::Working)?
        }
        Command::Commit {
            message,
            file,
            paths,
        } => {
            let message = match (message, file) {
                (Some(m), _) => m,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read the log message from {}", f.display()))?,
                (None, None) => edit_message()?,
            };
            for target in ctx.targets(&paths)? {
                if let Some(rev) = zsync_client::commit::commit(&ctx, &target, &message)? {
                    println!("Committed revision {rev}.");
                }
            }
        }
        Command::Log { limit, path } => {
            let paths: Vec<PathBuf> = path.into_iter().collect();
            for target in ctx.targets(&paths)? {
                for entry in zsync_client::log::log(&ctx, &target, limit)? {
                    output::log_entry(&entry);
                }
            }
        }
        Command::Login { user, url } => {
            let url = with_user(&url, user)?;
            let user = ctx.login(&url)?;
            println!("Logged in to {} as {user}.", url.server());
        }
        Command::Logout { user, url } => {
            let url = with_user(&url, user)?;
            let user = ctx.logout(&url)?;
            println!("Logged out {user} from {}.", url.server());
        }
        Command::Cleanup { paths } => {
            for target in ctx.targets(&paths)? {
                zsync_client::WorkingCopy::cleanup(&target.root)?;
                println!("Cleaned up {}.", ctx.display(&target.root));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn with_user(url: &str, user: Option<String>) -> Result<ServerUrl> {
    let mut url = ServerUrl::parse(url)?;
    if let Some(u) = user {
        if url.user.as_ref().is_some_and(|x| x != &u) {
            bail!("-u {u} and the URL's user disagree");
        }
        url.user = Some(u);
    }
    Ok(url)
}

/// Without -m or -F: ask $VISUAL/$EDITOR on a terminal, as svn does;
/// elsewhere commit with an empty message.
fn edit_message() -> Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .ok();
    let (Some(editor), true) = (editor, std::io::stdin().is_terminal()) else {
        return Ok(String::new());
    };
    let dir = tempfile::tempdir().context("cannot create a temp file for the log message")?;
    let file = dir.path().join("zsync-commit.txt");
    std::fs::write(&file, "\n--This line, and those below, will be ignored--\n")?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file)
        .status()
        .with_context(|| format!("cannot run the editor {editor:?}"))?;
    if !status.success() {
        bail!("the editor exited with {status}; nothing was committed");
    }
    let text = std::fs::read_to_string(Path::new(&file))?;
    let message = text
        .split("--This line, and those below, will be ignored--")
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    Ok(message)
}
