//! Where the store is (a SQLite store in the data directory, or a
//! PostgreSQL database), and opening it.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Deserialize;
use zsync_store::{PgStore, SqlStore};

use crate::hint::{HintExt as _, hinted};

/// The configuration file read from the data directory unless `--config`
/// names another.
pub const CONFIG_FILE: &str = "zsyncd.toml";

/// `zsyncd.toml`. Command-line options and environment variables win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `postgres://…` to keep the store in PostgreSQL instead of the data
    /// directory.
    pub database: Option<String>,
    /// The SSH host key file (OpenSSH format); every node behind one name
    /// needs the same key.
    pub ssh_host_key: Option<PathBuf>,
}

impl Config {
    /// Reads `explicit`, or `DATA/zsyncd.toml` if it exists, or nothing.
    pub fn load(data: &Path, explicit: Option<&Path>) -> Result<Config> {
        let default = data.join(CONFIG_FILE);
        let path = match explicit {
            Some(p) => p,
            None if default.is_file() => &default,
            None => return Ok(Config::default()),
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            hinted(
                format!("{}: {e}", path.display()),
                "the known settings are database = \"postgres://…\" and ssh_host_key = \"FILE\"",
            )
        })
    }
}

/// Where the store is.
#[derive(Clone, Debug)]
pub enum Location {
    /// A SQLite store in this data directory.
    Data(PathBuf),
    /// A PostgreSQL database; uploads are spooled in `data/tmp`.
    Postgres { url: String, data: PathBuf },
}

impl Location {
    /// The database URL if one is given, else the data directory.
    pub fn new(data: &Path, database: Option<&str>) -> Result<Location> {
        match database {
            None => Ok(Location::Data(data.to_owned())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Location::Postgres {
                    url: url.to_owned(),
                    data: data.to_owned(),
                })
            }
            Some(other) => Err(hinted(
                format!("unsupported database {:?}", redact(other)),
                "give a postgres://USER@HOST:PORT/DBNAME URL, or no --database for the \
                 SQLite store in the data directory",
            )),
        }
    }

    /// Opens the store, creating it if `create` (a data directory must
    /// exist otherwise; a database always must).
    pub async fn open(&self, create: bool) -> Result<Opened> {
        match self {
            Location::Data(data) if create => open(data).await.map(Opened::Sqlite),
            Location::Data(data) => open_existing(data).await.map(Opened::Sqlite),
            Location::Postgres { url, data } => PgStore::connect(url, &data.join("tmp"))
                .await
                .with_context(|| format!("cannot open the store in {}", redact(url)))
                .hint(
                    "is the PostgreSQL server running, and may this user connect and create \
                     tables in that database?",
                )
                .map(Opened::Postgres),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Data(data) => write!(f, "{}", data.display()),
            Location::Postgres { url, .. } => write!(f, "{}", redact(url)),
        }
    }
}

/// A URL with its password left out, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// An open store of either kind.
pub enum Opened {
    Sqlite(SqlStore),
    Postgres(PgStore),
}

/// Runs `$body` with `$store` bound to the opened store, whatever its kind
/// (the body is compiled once per kind).
#[macro_export]
macro_rules! with_store {
    ($opened:expr, |$store:ident| $body:expr) => {
        match $opened {
            $crate::store::Opened::Sqlite($store) => $body,
            $crate::store::Opened::Postgres($store) => $body,
        }
    };
}

/// Opens the store in `data`, creating both if they are new.
pub async fn open(data: &Path) -> Result<SqlStore> {
    SqlStore::open(data).await.hint(format!(
        "is {} a zsyncd data directory that this user may write?",
        data.display()
    ))
}

/// Opens the store in `data`, which must exist already.
pub async fn open_existing(data: &Path) -> Result<SqlStore> {
    if !data.is_dir() {
        return Err(hinted(
            format!("no data directory at {}", data.display()),
            "name the data directory with --data DIR (or ZSYNCD_DATA), \
             or create a store with `zsyncd user add NAME`",
        ));
    }
    open(data).await
}
