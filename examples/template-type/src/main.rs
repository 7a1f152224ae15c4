//! `zsyncd-template`: a zsync server that knows the `template` type.
//!
//! ```sh
//! cargo run -p zsync-example-template -- --data DIR --http 127.0.0.1:8090 --user zsync:zsync
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use zsync_model::Role;
use zsync_server::{ServerConfig, ServerState, hash_password};
use zsync_store::{SqlStore, Store, UserRecord};

#[tokio::main]
async fn main() -> Result<()> {
    let mut data = PathBuf::from("./zsync-template-data");
    let mut http = "127.0.0.1:8090".to_owned();
    let mut user = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next().context("--data needs a directory")?.into(),
            "--http" => http = args.next().context("--http needs an address")?,
            "--user" => user = Some(args.next().context("--user needs NAME:PASSWORD")?),
            other => bail!(
                "unknown argument {other:?}; use --data DIR --http ADDR [--user NAME:PASSWORD]"
            ),
        }
    }
    let store = SqlStore::open(&data)
        .await
        .with_context(|| format!("cannot open the store in {}", data.display()))?;
    if let Some(spec) = user {
        let (name, password) = spec.split_once(':').context("--user takes NAME:PASSWORD")?;
        if store.user(name).await?.is_none() {
            store
                .add_user(&UserRecord {
                    name: name.to_owned(),
                    password_hash: hash_password(password)?,
                    role: Some(Role::Manager),
                    disabled: false,
                })
                .await?;
        }
    }
    let state = ServerState::new(store, ServerConfig::default())
        .with_types(zsync_example_template::registry());
    let listener = tokio::net::TcpListener::bind(&http)
        .await
        .with_context(|| format!("cannot listen on {http}"))?;
    println!("zsyncd: listening on http://{}", listener.local_addr()?);
    zsync_server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
