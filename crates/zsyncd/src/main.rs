//! `zsyncd`, the zsync content server: serves a store over HTTP, sets up
//! demo content, and manages users.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use zsync_model::Role;
use zsync_store::Store as _;

mod demo;
mod hint;
mod png;
mod serve;
mod store;
mod user;

const DEFAULT_DATA: &str = "./zsync-data";

/// The zsync content server.
#[derive(Parser)]
#[command(name = "zsyncd", version, about, propagate_version = true)]
struct Cli {
    /// The data directory that holds the store.
    #[arg(long, global = true, value_name = "DIR", env = "ZSYNCD_DATA", default_value = DEFAULT_DATA)]
    data: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a demo user (zsync/zsync) and a demo folder if missing, then serve.
    Demo(HttpArgs),
    /// Serve the store.
    Serve(HttpArgs),
    /// Add, change, remove or list users.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(clap::Args)]
struct HttpArgs {
    /// The address to serve HTTP on (port 0 picks a free one).
    #[arg(
        long,
        value_name = "ADDR",
        env = "ZSYNCD_HTTP",
        default_value = "127.0.0.1:8080"
    )]
    http: String,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user.
    Add {
        name: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// Reader (checkout, update, log), Editor (also commit) or Manager (also administration).
        #[arg(long, default_value = "Editor", value_parser = parse_role)]
        role: Role,
    },
    /// Change a user's password (and revoke their login tokens).
    Passwd {
        name: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user.
    Remove { name: String },
    /// List the users with their roles.
    List,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|e: zsync_model::RoleParseError| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Demo(_) | Command::Serve(_));
    init_logging(if serving { "info" } else { "warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            hint::report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `ZSYNCD_LOG`, else `RUST_LOG`, else
/// `default`; stdout is kept for the lines scripts read.
fn init_logging(default: &str) {
    let filter = EnvFilter::try_from_env("ZSYNCD_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(cli: Cli) -> Result<()> {
    let data = cli.data;
    match cli.command {
        Command::Demo(http) => run_demo(&data, &http.http).await,
        Command::Serve(http) => run_serve(&data, &http.http).await,
        Command::User(command) => match command {
            UserCommand::Add {
                name,
                password_stdin,
                role,
            } => user::add(&data, &name, role, password_stdin).await,
            UserCommand::Passwd {
                name,
                password_stdin,
            } => user::passwd(&data, &name, password_stdin).await,
            UserCommand::Remove { name } => user::remove(&data, &name).await,
            UserCommand::List => user::list(&data).await,
        },
    }
}

async fn run_demo(data: &Path, http: &str) -> Result<()> {
    let store = store::open(data).await?;
    let created = demo::ensure(&store).await?;
    if created.user {
        tracing::info!(user = demo::USER, "created the demo user");
    }
    if let Some(rev) = created.rev {
        tracing::info!(rev, folder = demo::FOLDER, "created the demo folder");
    }
    let (listener, local) = serve::bind(http).await?;
    let base = serve::base_url(local);
    let (user, password, folder) = (demo::USER, demo::PASSWORD, demo::FOLDER);
    serve::announce(&[
        format!("zsyncd: listening on http://{local}"),
        format!("zsyncd: demo user '{user}', password '{password}' (Manager)"),
        "zsyncd: check out the demo folder with:".to_owned(),
        format!(
            "  zsync checkout http://{user}:{password}@{}/{folder} ./parts/checkout",
            host(&base)
        ),
    ]);
    serve::run(listener, store).await
}

async fn run_serve(data: &Path, http: &str) -> Result<()> {
    let store = store::open(data).await?;
    if store.list_users().await?.is_empty() {
        let data_arg = if data == Path::new(DEFAULT_DATA) {
            String::new()
        } else {
            format!(" --data {}", data.display())
        };
        eprintln!(
            "zsyncd: no users exist yet, so nobody can log in; \
             add one with `zsyncd user add NAME{data_arg}`"
        );
    }
    let (listener, local) = serve::bind(http).await?;
    serve::announce(&[format!("zsyncd: listening on http://{local}")]);
    serve::run(listener, store).await
}

/// `HOST:PORT` of a base URL.
fn host(base: &str) -> &str {
    base.strip_prefix("http://").unwrap_or(base)
}
