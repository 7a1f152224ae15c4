//! Command-line syntax (clap) and dispatch to `zsync-client`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use zsync_client::config::Config;
use zsync_client::conflict::Accept;
use zsync_client::status::StatusOptions;
use zsync_client::{Context, ServerUrl};
use zsync_model::Kind;

use crate::output;
use crate::terminal::TerminalUi;

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
    /// Trust this PEM CA certificate for HTTPS, besides the system's
    /// (also ZSYNC_CA_CERT).
    #[arg(long, global = true, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Do not verify HTTPS certificates at all (unsafe; warns every time).
    #[arg(long, global = true)]
    insecure: bool,
    /// For zsync+ssh://: log in with this private key (instead of
    /// ~/.ssh/id_ed25519, id_ecdsa, id_rsa). Long form only: `diff -i`
    /// means ignore case.
    #[arg(long = "identity", global = true, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// For zsync+ssh://: trust an unknown host key if its SHA256
    /// fingerprint is exactly this (for scripts; it is remembered).
    #[arg(long, global = true, value_name = "FINGERPRINT")]
    accept_host_key: Option<String>,
    /// The editor for log messages, `propedit` and conflicts (before
    /// ZSYNC_EDITOR, the config file's `editor`, VISUAL and EDITOR).
    #[arg(long, global = true, value_name = "CMD")]
    editor_cmd: Option<String>,
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
        /// How much to check out: empty, files, immediates or infinity.
        #[arg(long, value_name = "DEPTH", default_value = "infinity")]
        depth: zsync_client::depth::Depth,
    },
    /// Create a new server folder at URL from a local directory tree, in
    /// one commit; DIR then is a working copy of it.
    Checkin {
        /// The log message.
        #[arg(short, long, default_value = "")]
        message: String,
        /// http://USER[:PASSWORD]@HOST:PORT/PARENT/NEW
        url: String,
        /// The tree to send (default: the current directory).
        dir: Option<PathBuf>,
    },
    // --- bundles (issue 12) ---
    /// Write the subtree at URL (bodies, properties, kinds) to FILE, one
    /// compressed, versioned bundle.
    Export {
        /// Also keep the subtree's log (revisions, users, times, messages).
        #[arg(long)]
        history: bool,
        url: String,
        file: PathBuf,
    },
    /// Create the subtree in bundle FILE at URL, in one commit.
    Import {
        /// Overwrite objects that exist at URL and in the bundle.
        #[arg(long)]
        replace: bool,
        /// The log message (default: "Import FILE").
        #[arg(short, long)]
        message: Option<String>,
        file: PathBuf,
        url: String,
    },
    // --- end bundles ---
    /// Bring in changes from the server, merging them with local edits.
    ///
    /// On a terminal, each new conflict asks what to do; `--accept` answers
    /// for scripts (postpone, base, working, mine-conflict, theirs-conflict,
    /// mine-full, theirs-full).
    #[command(visible_alias = "up")]
    Update {
        #[arg(long, value_name = "ARG")]
        accept: Option<Accept>,
        /// Make each folder PATH hold this much (empty, files, immediates,
        /// infinity); narrowing refuses if it would drop local changes.
        #[arg(long, value_name = "DEPTH")]
        set_depth: Option<zsync_client::depth::Depth>,
        /// Print the result as JSON (docs/json.md); never asks about conflicts.
        #[arg(long)]
        json: bool,
        paths: Vec<PathBuf>,
    },
    /// Show what changed in the working copy (offline; with -u, also what
    /// is newer on the server).
    #[command(visible_aliases = ["st", "stat"])]
    Status {
        /// List every item, with its revisions and last author.
        #[arg(short, long)]
        verbose: bool,
        /// Ask the server's change feed what is newer there: marked `*`.
        #[arg(short = 'u', long = "show-updates")]
        show_updates: bool,
        /// Hide unversioned items.
        #[arg(short, long)]
        quiet: bool,
        /// Show ignored items too, marked `I`.
        #[arg(long)]
        no_ignore: bool,
        /// Print JSON for scripts (docs/json.md).
        #[arg(long)]
        json: bool,
        paths: Vec<PathBuf>,
    },
    /// Show changes as diffs: local ones (-1, offline), against the
    /// server's newest (-2), or the server's since the base (-3).
    #[command(visible_alias = "di")]
    Diff(crate::diff_args::DiffArgs),
    /// Schedule files and folders (recursively) for addition.
    Add {
        /// The content type (document, image, file, ...); guessed if omitted.
        #[arg(short = 't', long = "type", value_name = "KIND")]
        kind: Option<String>,
        /// Add ignored files too (`.zsyncignore` and the default list).
        #[arg(long)]
        no_ignore: bool,
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
    /// Schedule a copy of a versioned item as new objects, recording where
    /// it came from in the `copied_from` property (PATH@REV).
    #[command(visible_alias = "cp")]
    Copy {
        /// Copy only the item itself (for a folder: without its contents).
        #[arg(short = 'l', long = "local", conflicts_with = "recursive")]
        local: bool,
        /// Copy folders with everything below them (the default).
        #[arg(short = 'R', long)]
        recursive: bool,
        source: PathBuf,
        /// The new path, or an existing folder to copy into; defaults to
        /// the current directory.
        target: Option<PathBuf>,
    },
    /// Move or rename a versioned item within the working copy, keeping
    /// its object id so that its history follows it.
    #[command(visible_aliases = ["mv", "rename"])]
    Move {
        source: PathBuf,
        /// The new path, or an existing folder to move into.
        target: PathBuf,
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
        /// working, base, mine-conflict, theirs-conflict, mine-full or theirs-full
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
        /// Print the result as JSON (docs/json.md).
        #[arg(long)]
        json: bool,
        /// Keep your locks on the committed files (by default a commit
        /// releases them).
        #[arg(long)]
        no_unlock: bool,
        paths: Vec<PathBuf>,
    },
    /// Apply the changes made in another working copy to this one.
    ///
    /// Three-way, with update's conflict handling; never commits. What was
    /// merged is remembered, so merging again applies only newer changes.
    Merge {
        /// Settle conflicts for scripts (like update --accept).
        #[arg(long, value_name = "ARG")]
        accept: Option<Accept>,
        /// With a URL SOURCE: the revisions whose changes to apply, N:M
        /// (M may be HEAD). Without it, those since the last merge of SOURCE.
        #[arg(short = 'r', long = "revision", value_name = "N:M")]
        revisions: Option<String>,
        /// A working copy whose changes to apply, or a server folder's URL.
        source: String,
        /// The working copy to change (default: the current directory).
        target: Option<PathBuf>,
    },
    /// Show what the working copy knows about items (offline).
    Info {
        /// Print JSON for scripts (docs/json.md).
        #[arg(long)]
        json: bool,
        paths: Vec<PathBuf>,
    },
    /// Set a property on items (local until committed).
    #[command(visible_alias = "pset")]
    #[command(
        override_usage = "zsync propset NAME VALUE PATH...\n       zsync propset NAME -F FILE PATH..."
    )]
    Propset {
        name: String,
        /// Read the value from a file instead of the first argument.
        #[arg(short = 'F', long)]
        file: Option<PathBuf>,
        /// VALUE then PATH..., or only PATH... with -F.
        #[arg(required = true, value_name = "VALUE|PATH")]
        args: Vec<String>,
    },
    /// Print a property's value.
    #[command(visible_alias = "pget")]
    Propget {
        name: String,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Delete a property from items.
    #[command(visible_alias = "pdel")]
    Propdel {
        name: String,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Edit an item's properties in your editor (--editor-cmd,
    /// ZSYNC_EDITOR, the config file, VISUAL, EDITOR), as TOML (local until
    /// committed; derived ones are shown but cannot be changed).
    #[command(visible_alias = "pedit")]
    Propedit { path: PathBuf },
    /// List properties (with -v, their values and any conflicts).
    #[command(visible_alias = "plist")]
    Proplist {
        #[arg(short, long)]
        verbose: bool,
        /// Print JSON for scripts, values included (docs/json.md).
        #[arg(long)]
        json: bool,
        paths: Vec<PathBuf>,
    },
    /// Show the revisions that changed a path.
    Log {
        /// Show at most N revisions.
        #[arg(short, long, value_name = "N")]
        limit: Option<u32>,
        /// Only revisions N to M (N:M, oldest first when N < M).
        #[arg(short = 'r', long = "revision", value_name = "N:M")]
        revisions: Option<String>,
        /// List the changed paths of each revision (A, M, D).
        #[arg(short, long)]
        verbose: bool,
        /// Print JSON for scripts (docs/json.md).
        #[arg(long)]
        json: bool,
        path: Option<PathBuf>,
    },
    /// Print a file's base text, or its text in revision N.
    Cat {
        #[arg(short = 'r', long = "revision", value_name = "N")]
        rev: Option<u64>,
        path: PathBuf,
    },
    /// Make files what they were in revision N, as a local change to commit.
    Restore {
        #[arg(short = 'r', long = "revision", value_name = "N")]
        rev: u64,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
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
    // Locks (issue 12): lock, unlock, locks.
    /// Lock files on the server, so only you can commit them until you
    /// commit or unlock.
    Lock {
        /// Why you lock them (shown to others).
        #[arg(short, long, default_value = "")]
        message: String,
        /// Steal the lock from whoever holds it (needs Manager).
        #[arg(long)]
        force: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Release your locks, or with --force break anyone's (needs Manager).
    Unlock {
        #[arg(long)]
        force: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List the locks on the server at and below a path.
    Locks {
        /// Print JSON for scripts (docs/json.md).
        #[arg(long)]
        json: bool,
        path: Option<PathBuf>,
    },
    /// Print a shell completion script: `zsync completions bash >
    /// /etc/bash_completion.d/zsync` (or zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Write the man pages (zsync.1 and zsync-COMMAND.1) into DIR.
    Man { dir: PathBuf },
    // Live mode (issue 12): watch.
    /// Commit each save as it settles and merge others' commits as they
    /// land, until Ctrl-C. Only versioned changes are committed (new files
    /// too with --add); a path in conflict waits for `zsync resolved`.
    Watch {
        /// Milliseconds a file must stay untouched before its save is
        /// committed.
        #[arg(long, value_name = "MS", default_value_t = 500)]
        settle: u64,
        /// Seconds between full scans for changes the file events missed.
        #[arg(long, value_name = "SECS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..))]
        rescan: u64,
        /// Also add and commit new files (ignore rules apply).
        #[arg(long)]
        add: bool,
        /// The working copy, or a folder in it (default: the current one).
        path: Option<PathBuf>,
    },
}

impl Cli {
    /// `--editor-cmd`, if given.
    pub fn editor_cmd(&self) -> Option<&str> {
        self.editor_cmd.as_deref()
    }

    /// Whether the command receives bodies into a working copy, through
    /// the pool of writer threads and the fsync threads (see
    /// `small_pages` in main.rs).
    pub fn receives_bodies(&self) -> bool {
        matches!(
            self.command,
            Command::Checkout { .. }
                | Command::Update { .. }
                | Command::Merge { .. }
                | Command::Restore { .. }
        )
    }

    /// Whether the command prints one JSON document (so notifications are
    /// collected into it rather than printed).
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Command::Update { json, .. }
            | Command::Status { json, .. }
            | Command::Commit { json, .. }
            | Command::Info { json, .. }
            | Command::Proplist { json, .. }
            | Command::Log { json, .. }
            | Command::Locks { json, .. } => *json,
            _ => false,
        }
    }
}

/// The client's config file: `ZSYNC_CONFIG`, else `config.toml` in the
/// config directory (a missing file means the defaults).
pub fn load_config() -> std::result::Result<Config, zsync_client::config::ConfigError> {
    let path = std::env::var_os("ZSYNC_CONFIG")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| config_dir().join(zsync_client::config::FILE_NAME));
    Config::load(&path)
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

pub fn run(cli: Cli, ui: &TerminalUi, config: Config) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut ctx = Context::new(ui, cwd, config_dir());
    ctx.config = config;
    ctx.tls.ca_certs = cli
        .ca_cert
        .or_else(|| {
            std::env::var_os("ZSYNC_CA_CERT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .into_iter()
        .collect();
    ctx.tls.insecure = cli.insecure;
    ctx.ssh.identity = cli.identity;
    ctx.ssh.accept_host_key = cli.accept_host_key;
    if cli.insecure {
        eprintln!(
            "zsync: warning: --insecure: server certificates are not verified, so anyone \
             between you and the server can read and change what is sent"
        );
    }
    match cli.command {
        Command::Checkout {
            url,
            targetdir,
            user,
            depth,
        } => {
            let done = zsync_client::checkout::checkout_depth(
                &ctx,
                &url,
                targetdir.as_deref(),
                user.as_deref(),
                depth,
            )?;
            println!("Checked out revision {}.", done.rev);
        }
        Command::Checkin { message, url, dir } => {
            let rev = zsync_client::checkin::checkin(&ctx, &url, dir.as_deref(), &message)?;
            println!("Committed revision {rev}.");
        }
        Command::Update {
            accept,
            set_depth,
            json: true,
            paths,
        } => {
            let mut total = zsync_client::update::UpdateSummary::default();
            let mut updates = Vec::new();
            for target in ctx.targets(&paths)? {
                if let Some(depth) = set_depth {
                    zsync_client::depth::set_depth(&ctx, &target, depth)?;
                }
                let s = zsync_client::update::update(&ctx, &target, accept)?;
                updates.push(serde_json::json!({
                    "working_copy": ctx.display(&target.root),
                    "revision": s.rev,
                    "unchanged": s.unchanged,
                    "changes": output::json::notes(ui.take_recorded()),
                }));
                total.add(&s);
            }
            output::json::print(&serde_json::json!({
                "updates": updates,
                "conflicts": {
                    "text": total.text_conflicts,
                    "properties": total.prop_conflicts,
                    "tree": total.tree_conflicts,
                    "remaining": total.remaining,
                },
            }))?;
            if total.remaining > 0 {
                eprintln!(
                    "zsync: {} conflict(s) remain; fix them and run `zsync resolved PATH`, or `zsync revert PATH`",
                    total.remaining
                );
                return Ok(ExitCode::from(1));
            }
        }
        // --- bundles (issue 12) ---
        Command::Export { history, url, file } => {
            let s = zsync_client::bundle::export(&ctx, &url, &file, history)?;
            if s.omitted > 0 {
                eprintln!(
                    "warning: {} item(s) you may not read were left out of the bundle",
                    s.omitted
                );
            }
            println!(
                "Exported {} object(s) and {} bod{} ({} bytes) at revision {} to {}{}.",
                s.objects,
                s.bodies,
                if s.bodies == 1 { "y" } else { "ies" },
                s.bytes,
                s.head,
                file.display(),
                if history {
                    format!(", with {} revision(s) of history", s.revisions)
                } else {
                    String::new()
                }
            );
        }
        Command::Import {
            replace,
            message,
            file,
            url,
        } => {
            let message = message.unwrap_or_else(|| format!("Import {}", file.display()));
            let s = zsync_client::bundle::import(&ctx, &file, &url, replace, &message)?;
            if s.added + s.replaced == 0 {
                println!("Nothing to import: the server already holds the bundle's content.");
            } else {
                println!(
                    "Imported {} new and {} replaced object(s) as revision {}.",
                    s.added, s.replaced, s.rev
                );
            }
            if s.history > 0 {
                println!(
                    "The bundle's history ({} revision(s)) was not replayed: \
                     the import is one new revision with the latest state.",
                    s.history
                );
            }
        }
        // --- end bundles ---
        Command::Update {
            accept,
            set_depth,
            paths,
            ..
        } => {
            let mut total = zsync_client::update::UpdateSummary::default();
            for target in ctx.targets(&paths)? {
                if let Some(depth) = set_depth {
                    zsync_client::depth::set_depth(&ctx, &target, depth)?;
                }
                let s = zsync_client::update::update(&ctx, &target, accept)?;
                if s.unchanged {
                    println!("At revision {}.", s.rev);
                } else {
                    println!("Updated to revision {}.", s.rev);
                }
                total.add(&s);
            }
            if total.has_conflicts() {
                println!("Summary of conflicts:");
                if total.text_conflicts > 0 {
                    println!("  Text conflicts: {}", total.text_conflicts);
                }
                if total.prop_conflicts > 0 {
                    println!("  Property conflicts: {}", total.prop_conflicts);
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
            show_updates,
            quiet,
            no_ignore,
            json,
            paths,
        } => {
            let mut out = std::io::stdout().lock();
            let opts = StatusOptions {
                verbose,
                quiet,
                no_ignore,
            };
            let mut json_items = Vec::new();
            let mut against = None;
            for target in ctx.targets(&paths)? {
                let (items, head) = if show_updates {
                    let (items, head) =
                        zsync_client::status::status_with_updates(&ctx, &target, opts)?;
                    (items, Some(head))
                } else {
                    (zsync_client::status::status(&ctx, &target, opts)?, None)
                };
                if json {
                    json_items.extend(items.iter().map(|item| {
                        output::json::status_item(item, &ctx.display(&item.abs), |p| ctx.display(p))
                    }));
                    against = head.or(against);
                    continue;
                }
                for item in &items {
                    writeln!(
                        out,
                        "{}",
                        output::status_line(item, &ctx.display(&item.abs), verbose, show_updates)
                    )?;
                    if let Some(zsync_client::index::Conflict::Tree { reason, .. }) = &item.conflict
                    {
                        writeln!(out, "      >   {reason}")?;
                    }
                    if let Some(from) = &item.moved_from {
                        writeln!(out, "        > moved from {}", ctx.display(from))?;
                    }
                    if let Some(to) = &item.moved_to {
                        writeln!(out, "        > moved to {}", ctx.display(to))?;
                    }
                }
                if let Some(head) = head {
                    writeln!(out, "Status against revision: {head:>6}")?;
                }
            }
            if json {
                output::json::print(&serde_json::json!({
                    "items": json_items,
                    "against_revision": against,
                }))?;
            }
        }
        Command::Diff(args) if args.revisions.is_some() => {
            let (from, to) = match args.revisions.as_deref().map(parse_range).transpose() {
                Ok(Some((Some(from), to))) => (from, to),
                Ok(_) => return Ok(usage_error("-r needs N:M")),
                Err(e) => return Ok(usage_error(&e)),
            };
            let paths = if args.paths.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                args.paths.clone()
            };
            let mut out = std::io::stdout().lock();
            for path in &paths {
                let text = zsync_client::history::diff_revisions(&ctx, path, from, to)?;
                if ui.color {
                    out.write_all(output::colored_diff(&text).as_bytes())?;
                } else {
                    out.write_all(text.as_bytes())?;
                }
            }
        }
        Command::Diff(args) => {
            let settings = args.settings();
            if args.diff_cmd.is_some() {
                ctx.config.diff_cmd = args.diff_cmd.clone();
            }
            let external = ctx.config.diff_cmd.is_some();
            let mut out = std::io::stdout().lock();
            for target in ctx.targets(&args.paths)? {
                let text = zsync_client::diff::diff_with(&ctx, &target, &settings)?;
                if ui.color && !external {
                    out.write_all(output::colored_diff(&text).as_bytes())?;
                } else {
                    out.write_all(text.as_bytes())?;
                }
            }
        }
        Command::Add {
            kind,
            no_ignore,
            paths,
        } => {
            let kind = kind
                .map(|k| Kind::new(&k))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            zsync_client::schedule::add(&ctx, &paths, kind.as_ref(), no_ignore)?;
        }
        Command::Remove {
            force,
            keep_local,
            paths,
        } => {
            zsync_client::schedule::remove(&ctx, &paths, force, keep_local)?;
        }
        Command::Mkdir { paths } => zsync_client::schedule::mkdir(&ctx, &paths)?,
        Command::Copy {
            local,
            source,
            target,
            ..
        } => zsync_client::copy::copy(&ctx, &source, target.as_deref(), !local)?,
        Command::Move { source, target } => zsync_client::moves::move_item(&ctx, &source, &target)?,
        Command::Revert { paths, .. } => zsync_client::schedule::revert(&ctx, &paths)?,
        Command::Resolve { accept, paths } => {
            zsync_client::conflict::resolve(&ctx, &paths, accept)?
        }
        Command::Resolved { paths } => {
            zsync_client::conflict::resolve(&ctx, &paths, Accept::Working)?
        }
        Command::Merge {
            accept,
            revisions,
            source,
            target,
        } => {
            let target = target.unwrap_or_else(|| PathBuf::from("."));
            let summary = if source.contains("://") {
                let range = match revisions.as_deref().map(parse_range).transpose() {
                    Ok(range) => range.unwrap_or((None, None)),
                    Err(message) => return Ok(usage_error(&message)),
                };
                zsync_client::merge::merge_url(&ctx, &source, range, &target, accept)?
            } else {
                if revisions.is_some() {
                    return Ok(usage_error(
                        "-r applies to a URL source, not a working copy",
                    ));
                }
                zsync_client::merge::merge(&ctx, Path::new(&source), &target, accept)?
            };
            if summary.changed == 0 {
                println!("Nothing to merge.");
            }
            if summary.conflicts > 0 {
                eprintln!(
                    "zsync: {} conflict(s) remain; fix them and run `zsync resolved PATH`, or `zsync revert PATH`",
                    summary.conflicts
                );
                return Ok(ExitCode::from(1));
            }
        }
        Command::Info { json, paths } => {
            let infos = zsync_client::info::info(&ctx, &paths)?;
            if json {
                let all: Vec<_> = infos.iter().map(output::json::info).collect();
                output::json::print(&serde_json::Value::Array(all))?;
            } else {
                for info in &infos {
                    output::info(info);
                }
            }
        }
        Command::Propset { name, file, args } => {
            let mut args = args.into_iter();
            let value = match file {
                Some(f) => {
                    let bytes = std::fs::read(&f)
                        .with_context(|| format!("cannot read the value from {}", f.display()))?;
                    // Values are text: binary data belongs in a file object.
                    String::from_utf8(bytes).map_err(|_| {
                        anyhow::anyhow!(
                            "{}: not UTF-8 text; a property value is text (keep binary data in a file and add it)",
                            f.display()
                        )
                    })?
                }
                None => args.next().unwrap_or_default(),
            };
            let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
            if paths.is_empty() {
                return Ok(usage_error("propset needs a PATH after the value"));
            }
            zsync_client::props::set(&ctx, &name, Some(&value), &paths)?;
        }
        Command::Propdel { name, paths } => zsync_client::props::set(&ctx, &name, None, &paths)?,
        Command::Propget { name, paths } => {
            let lists = zsync_client::props::list(&ctx, &paths)?;
            let several = lists.len() > 1;
            for l in lists {
                let value = l
                    .props
                    .get(&name)
                    .ok_or_else(|| anyhow::anyhow!("{}: has no property {name:?}", l.shown))?;
                if several {
                    println!("{} - {value}", l.shown);
                } else {
                    println!("{value}");
                }
            }
        }
        Command::Propedit { path } => {
            if zsync_client::props::edit(&ctx, &path)? == zsync_client::props::Edited::Unchanged {
                println!("No changes to properties on '{}'.", path.display());
            }
        }
        Command::Proplist {
            verbose,
            json,
            paths,
        } => {
            let lists = zsync_client::props::list(&ctx, &paths)?;
            if json {
                let all: Vec<_> = lists.iter().map(output::json::proplist).collect();
                output::json::print(&serde_json::Value::Array(all))?;
            } else {
                for l in &lists {
                    output::proplist(l, verbose);
                }
            }
        }
        Command::Commit {
            message,
            file,
            json,
            no_unlock,
            paths,
        } => {
            let message = match (message, file) {
                (Some(m), _) => m,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read the log message from {}", f.display()))?,
                (None, None) => edit_message(ui.editor.as_deref())?,
            };
            let mut commits = Vec::new();
            for target in ctx.targets(&paths)? {
                let rev = zsync_client::commit::commit_with(&ctx, &target, &message, no_unlock)?;
                if json {
                    let changes = output::json::notes(ui.take_recorded());
                    if let Some(rev) = rev {
                        commits.push(serde_json::json!({
                            "working_copy": ctx.display(&target.root),
                            "revision": rev,
                            "changes": changes,
                        }));
                    }
                } else if let Some(rev) = rev {
                    println!("Committed revision {rev}.");
                }
            }
            if json {
                output::json::print(&serde_json::json!({ "commits": commits }))?;
            }
        }
        Command::Log {
            limit,
            revisions,
            verbose,
            json,
            path,
        } => {
            let range = match revisions.as_deref().map(parse_range).transpose() {
                Ok(Some((Some(a), b))) => Some((a, b.unwrap_or(u64::MAX))),
                Ok(_) => None,
                Err(message) => return Ok(usage_error(&message)),
            };
            let paths: Vec<PathBuf> = path.into_iter().collect();
            let mut all = Vec::new();
            for target in ctx.targets(&paths)? {
                all.extend(zsync_client::history::log(&ctx, &target, range, limit)?);
            }
            if json {
                output::json::print(&serde_json::to_value(&all)?)?;
            } else {
                for entry in &all {
                    output::log_entry(entry, verbose);
                }
                if !all.is_empty() {
                    println!("{}", "-".repeat(72));
                }
            }
        }
        Command::Cat { rev, path } => {
            let mut out = std::io::stdout().lock();
            zsync_client::history::cat(&ctx, &path, rev, &mut out)?;
        }
        Command::Restore { rev, paths } => zsync_client::history::restore(&ctx, &paths, rev)?,
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
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "zsync", &mut std::io::stdout());
        }
        Command::Man { dir } => {
            for page in man_pages()? {
                let path = dir.join(&page.0);
                write_file(&path, &page.1)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("{}", path.display());
            }
        }
        Command::Cleanup { paths } => {
            for target in ctx.targets(&paths)? {
                zsync_client::WorkingCopy::cleanup(&target.root)?;
                println!("Cleaned up {}.", ctx.display(&target.root));
            }
        }
        Command::Lock {
            message,
            force,
            paths,
        } => zsync_client::locks::lock(&ctx, &paths, &message, force)?,
        Command::Unlock { force, paths } => zsync_client::locks::unlock(&ctx, &paths, force)?,
        Command::Locks { json, path } => {
            let paths: Vec<PathBuf> = path.into_iter().collect();
            let mut all = Vec::new();
            for target in ctx.targets(&paths)? {
                for listed in zsync_client::locks::list(&ctx, &target)? {
                    if json {
                        all.push(output::json::lock(&listed));
                    } else {
                        output::lock_line(&listed.shown, &listed.lock);
                    }
                }
            }
            if json {
                output::json::print(&serde_json::Value::Array(all))?;
            }
        }
        Command::Watch {
            settle,
            rescan,
            add,
            path,
        } => {
            let paths: Vec<PathBuf> = path.into_iter().collect();
            let mut targets = ctx.targets(&paths)?;
            if targets.len() != 1 {
                bail!("watch takes one working copy; name it (or a folder in it)");
            }
            let target = targets.remove(0);
            let options = zsync_client::watch::WatchOptions {
                settle: std::time::Duration::from_millis(settle),
                rescan: std::time::Duration::from_secs(rescan),
                add,
                ..Default::default()
            };
            let stop = zsync_client::watch::StopFlag::new();
            crate::terminal::stop_on_signals(stop.clone())?;
            zsync_client::watch::watch(&ctx, &target, &options, &stop)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every man page as (file name, roff): `zsync.1`, then one per visible
/// subcommand, all from the clap definitions above.
fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    let mut render = |c: clap::Command| -> Result<()> {
        let man = clap_mangen::Man::new(c);
        let mut roff = Vec::new();
        man.render(&mut roff)?;
        pages.push((man.get_filename(), roff));
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render(sub.clone())?;
    }
    render(cmd)?;
    pages.rotate_right(1);
    Ok(pages)
}

/// Writes a file through a temp name in its directory, then renames it.
fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new(".")))?;
    tmp.write_all(data)?;
    tmp.persist(path)?;
    Ok(())
}

/// `N:M` or `N:HEAD` as (from, to); `HEAD` is the server's newest.
fn parse_range(text: &str) -> std::result::Result<(Option<u64>, Option<u64>), String> {
    let bad = || format!("-r {text:?}: give two revisions as N:M (M may be HEAD)");
    let (a, b) = text.split_once(':').ok_or_else(bad)?;
    let from = a.parse().map_err(|_| bad())?;
    let to = match b {
        "HEAD" | "head" => None,
        n => Some(n.parse().map_err(|_| bad())?),
    };
    Ok((Some(from), to))
}

/// A usage problem found after parsing: message, hint, exit status 2.
fn usage_error(message: &str) -> ExitCode {
    eprintln!("zsync: {message}");
    eprintln!("zsync: see `zsync help`");
    ExitCode::from(2)
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

/// Without -m or -F: ask the editor (`--editor-cmd`, `ZSYNC_EDITOR`, the
/// config file, `VISUAL`, `EDITOR`) on a terminal, as svn does; elsewhere
/// commit with an empty message.
fn edit_message(editor: Option<&str>) -> Result<String> {
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
