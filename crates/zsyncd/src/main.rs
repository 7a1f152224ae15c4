//! `zsyncd`, the zsync content server: serves a store over HTTP, sets up
//! demo content, and manages users.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use zsync_model::Role;

mod check;
mod demo;
mod git_export;
mod hint;
mod keys;
mod migrate;
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

    /// Keep the store in this PostgreSQL database (`postgres://…`) instead
    /// of the data directory; several servers may share one.
    #[arg(long, global = true, value_name = "URL", env = "ZSYNCD_DATABASE")]
    database: Option<String>,

    /// The configuration file (default: zsyncd.toml in the data directory,
    /// if it exists).
    #[arg(long, global = true, value_name = "FILE", env = "ZSYNCD_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a demo user (zsync/zsync) and a demo folder if missing, then serve.
    Demo(HttpArgs),
    /// Serve the store.
    Serve(ServeArgs),
    /// Add, list or remove the SSH public keys users log in with.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Add, change, remove or list users.
    #[command(subcommand)]
    User(UserCommand),
    /// Give USER (or `anonymous`) ROLE on PATH and everything below it.
    Grant {
        /// Reader (checkout, update, log), Editor (also commit) or Manager.
        #[arg(value_parser = parse_role)]
        role: Role,
        user: String,
        /// A server path such as /demo/pages; / is everything.
        path: String,
    },
    /// Take back what USER was granted on exactly PATH.
    Revoke { user: String, path: String },
    /// List the grants, of one user or of all.
    Grants { user: Option<String> },
    /// Copy the SQLite store in DATA_DIR, with its whole history, users,
    /// grants, keys and tokens, into an empty PostgreSQL database, then
    /// verify the copy.
    MigrateStore {
        /// The data directory of the SQLite store.
        #[arg(long, value_name = "DATA_DIR")]
        from: PathBuf,
        /// The PostgreSQL database (`postgres://…`), which must be empty.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Check the store's integrity (revisions, objects, history, bodies);
    /// exits non-zero and lists every problem found.
    Check,
    /// Write the history of PATH into a git repository in DIR (created if
    /// new; later runs add only the newer revisions): one commit per
    /// revision, properties in .zsync/props/PATH.toml.
    GitExport {
        /// The server path to export, such as /demo.
        #[arg(long, value_name = "PATH")]
        path: String,
        /// The git repository: new, empty, or written by git-export before.
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
}

/// The SSH address `zsyncd demo` uses unless told otherwise.
const DEMO_SSH: &str = "127.0.0.1:2200";

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    http: HttpArgs,
    /// Serve one connection on stdin/stdout as --user instead of listening
    /// (for an OpenSSH forced command in authorized_keys).
    #[arg(long, requires = "user")]
    stdio: bool,
    /// The user the --stdio connection acts as.
    #[arg(long, value_name = "NAME", requires = "stdio")]
    user: Option<String>,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Let USER log in over SSH with the public key in FILE (a .pub file).
    Add { user: String, file: PathBuf },
    /// List the keys, of one user or of all.
    List { user: Option<String> },
    /// Take back a key of USER, named by its SHA256 fingerprint.
    Remove { user: String, fingerprint: String },
}

#[derive(clap::Args)]
struct HttpArgs {
    /// Also serve SSH on this address (port 0 picks a free one; `off`
    /// for none). `zsyncd demo` uses 127.0.0.1:2200 by default.
    #[arg(long, value_name = "ADDR", env = "ZSYNCD_SSH")]
    ssh: Option<String>,
    /// The address to serve HTTP on (port 0 picks a free one).
    #[arg(
        long,
        value_name = "ADDR",
        env = "ZSYNCD_HTTP",
        default_value = "127.0.0.1:8080"
    )]
    http: String,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(
        long,
        value_name = "FILE",
        env = "ZSYNCD_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The most objects one checkout or update request may return.
    #[arg(
        long,
        value_name = "N",
        env = "ZSYNCD_MAX_MANIFEST_ENTRIES",
        default_value_t = 1_000_000
    )]
    max_manifest_entries: usize,
    /// Seconds a request may take before its response starts (uploads
    /// included).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "ZSYNCD_REQUEST_TIMEOUT",
        default_value_t = 900
    )]
    request_timeout: u64,
    /// The SSH host key file (created if missing; default: in the data
    /// directory). Servers behind one name need the same key.
    #[arg(long, value_name = "FILE", env = "ZSYNCD_SSH_HOST_KEY")]
    ssh_host_key: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        env = "ZSYNCD_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
}

impl HttpArgs {
    fn config(&self) -> zsync_server::ServerConfig {
        zsync_server::ServerConfig {
            max_manifest_entries: self.max_manifest_entries,
            request_timeout: std::time::Duration::from_secs(self.request_timeout.max(1)),
            ..zsync_server::ServerConfig::default()
        }
    }

    fn tls(&self) -> Result<Option<zsync_server::TlsConfig>> {
        use anyhow::Context as _;
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => zsync_server::TlsConfig::from_pem_files(cert, key)
                .map(Some)
                .context("cannot set up HTTPS"),
            _ => Ok(None),
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user.
    Add {
        name: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// The role on everything: Reader (checkout, update, log), Editor
        /// (also commit), Manager (also administration), or none (grant
        /// roles on folders with `zsyncd grant`).
        #[arg(long, default_value = "Editor", value_parser = parse_root_role)]
        role: RootRole,
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
    /// Stop a user from logging in (and revoke their login tokens).
    Disable { name: String },
    /// Let a disabled user log in again.
    Enable { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|e: zsync_model::RoleParseError| e.to_string())
}

/// A role on everything, or none. A newtype, because clap would take an
/// `Option` field for an optional argument.
#[derive(Clone, Copy, Debug)]
struct RootRole(Option<Role>);

fn parse_root_role(s: &str) -> Result<RootRole, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(RootRole(None));
    }
    parse_role(s).map(|r| RootRole(Some(r)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // With --stdio, stdout is the protocol and logs only warn.
    let serving = match &cli.command {
        Command::Demo(_) => true,
        Command::Serve(args) => !args.stdio,
        _ => false,
    };
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
    let config = store::Config::load(&data, cli.config.as_deref())?;
    let database = cli.database.or(config.database);
    let at = store::Location::new(&data, database.as_deref())?;
    let host_key = config.ssh_host_key;
    match cli.command {
        Command::Demo(http) => run_demo(&at, &data, &http, host_key).await,
        Command::Serve(args) if args.stdio => {
            let user = args.user.as_deref().unwrap_or_default();
            with_store!(at.open(false).await?, |store| {
                serve::stdio(store, user, args.http.config()).await
            })
        }
        Command::Serve(args) => run_serve(&at, &data, &args.http, host_key).await,
        Command::MigrateStore { from, to } => migrate::run(&from, &to).await,
        Command::Key(command) => with_store!(at.open(false).await?, |store| match &command {
            KeyCommand::Add { user, file } => keys::add(&store, user, file).await,
            KeyCommand::List { user } => keys::list(&store, user.as_deref()).await,
            KeyCommand::Remove { user, fingerprint } => {
                keys::remove(&store, user, fingerprint).await
            }
        }),
        Command::Grant { role, user, path } => with_store!(at.open(false).await?, |store| {
            user::grant(&store, role, &user, &path).await
        }),
        Command::Revoke { user, path } => with_store!(at.open(false).await?, |store| {
            user::revoke(&store, &user, &path).await
        }),
        Command::Grants { user } => with_store!(at.open(false).await?, |store| {
            user::list_grants(&store, user.as_deref()).await
        }),
        Command::Check => with_store!(at.open(false).await?, |store| {
            check::run(&store, &at.to_string()).await
        }),
        Command::GitExport { path, to } => with_store!(at.open(false).await?, |store| {
            git_export::run(&store, &path, &to).await
        }),
        Command::User(UserCommand::Add {
            name,
            password_stdin,
            role,
        }) => {
            zsync_server::validate_user_name(&name)?;
            with_store!(at.open(true).await?, |store| {
                user::add(&store, &name, role.0, password_stdin).await
            })
        }
        Command::User(command) => with_store!(at.open(false).await?, |store| match &command {
            // Matched above, where the store may be created.
            UserCommand::Add { name, .. } => Err(anyhow::anyhow!("cannot add user {name} here")),
            UserCommand::Passwd {
                name,
                password_stdin,
            } => user::passwd(&store, name, *password_stdin).await,
            UserCommand::Remove { name } => user::remove(&store, name).await,
            UserCommand::List => user::list(&store).await,
            UserCommand::Disable { name } => user::set_disabled(&store, name, true).await,
            UserCommand::Enable { name } => user::set_disabled(&store, name, false).await,
        }),
    }
}

async fn run_demo(
    at: &store::Location,
    data: &Path,
    args: &HttpArgs,
    host_key: Option<PathBuf>,
) -> Result<()> {
    with_store!(at.open(true).await?, |store| {
        demo(store, data, args, host_key).await
    })
}

async fn demo<S: zsync_store::Store>(
    store: S,
    data: &Path,
    args: &HttpArgs,
    host_key: Option<PathBuf>,
) -> Result<()> {
    let tls = args.tls()?;
    let created = demo::ensure(&store).await?;
    if created.user {
        tracing::info!(user = demo::USER, "created the demo user");
    }
    if let Some(rev) = created.rev {
        tracing::info!(rev, folder = demo::FOLDER, "created the demo folder");
    }
    let (listener, local) = serve::bind(&args.http).await?;
    let host_key = args.ssh_host_key.clone().or(host_key);
    let ssh = serve::bind_ssh(
        data,
        host_key.as_deref(),
        args.ssh.as_deref(),
        Some(DEMO_SSH),
    )
    .await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = serve::base_url(local);
    let (user, password, folder) = (demo::USER, demo::PASSWORD, demo::FOLDER);
    serve::announce(&[
        format!("zsyncd: listening on {scheme}://{local}"),
        format!("zsyncd: demo user '{user}', password '{password}' (Manager)"),
        "zsyncd: check out the demo folder with:".to_owned(),
        format!(
            "  zsync checkout {scheme}://{user}:{password}@{}/{folder} ./parts/checkout",
            host(&base)
        ),
        format!(
            "zsyncd: manage content in a browser at {scheme}://{local}/manage (log in as {user}/{password})"
        ),
    ]);
    if let Some(ssh) = &ssh {
        serve::announce(&[
            format!("zsyncd: ssh listening on {}", ssh.local),
            format!("zsyncd: ssh host key {}", ssh.key.fingerprint()),
            format!(
                "  zsync checkout zsync+ssh://{user}@{}/{folder} ./parts/checkout",
                host(&serve::base_url(ssh.local))
            ),
        ]);
    }
    serve::run(listener, store, args.config(), tls, ssh).await
}

async fn run_serve(
    at: &store::Location,
    data: &Path,
    args: &HttpArgs,
    host_key: Option<PathBuf>,
) -> Result<()> {
    with_store!(at.open(true).await?, |store| {
        serve(store, data, args, host_key).await
    })
}

async fn serve<S: zsync_store::Store>(
    store: S,
    data: &Path,
    args: &HttpArgs,
    host_key: Option<PathBuf>,
) -> Result<()> {
    let tls = args.tls()?;
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
    let (listener, local) = serve::bind(&args.http).await?;
    let host_key = args.ssh_host_key.clone().or(host_key);
    let ssh = serve::bind_ssh(data, host_key.as_deref(), args.ssh.as_deref(), None).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    serve::announce(&[format!("zsyncd: listening on {scheme}://{local}")]);
    if let Some(ssh) = &ssh {
        serve::announce(&[
            format!("zsyncd: ssh listening on {}", ssh.local),
            format!("zsyncd: ssh host key {}", ssh.key.fingerprint()),
        ]);
    }
    serve::run(listener, store, args.config(), tls, ssh).await
}

/// `HOST:PORT` of a base URL.
fn host(base: &str) -> &str {
    base.strip_prefix("http://").unwrap_or(base)
}
