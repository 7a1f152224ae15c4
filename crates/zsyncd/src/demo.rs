//! The demo: a Manager `zsync`/`zsync` and a `demo` folder with a few
//! documents, a subfolder and an image, created once and left alone after.

use anyhow::{Context as _, Result};
use zsync_format::{CommitOp, CommitRequest};
use zsync_model::{BodyHash, Kind, Props, RepoPath, Role};
use zsync_server::ServerConfig;
use zsync_store::{Store, UserRecord};

use crate::png;

pub const USER: &str = "zsync";
pub const PASSWORD: &str = "zsync";
pub const FOLDER: &str = "demo";

const INDEX_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Welcome to zsync</title>
</head>
<body>
  <h1><img src="images/logo.png" alt=""> Welcome to zsync</h1>
  <p>This folder lives on a zsyncd server. Check it out, change a file,
  then try <code>zsync status</code>, <code>zsync diff</code> and
  <code>zsync commit -m "My first change"</code>.</p>
  <p>More in <a href="pages/about.html">About this demo</a>.</p>
</body>
</html>
"#;

const ABOUT_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>About this demo</title>
</head>
<body>
  <h1>About this demo</h1>
  <p>zsyncd created this content the first time it ran <code>zsyncd demo</code>.
  Every change you commit becomes a new revision; nothing is ever lost.</p>
  <p><a href="../index.html">Back to the start</a></p>
</body>
</html>
"#;

const README_MD: &str = "# The zsync demo

A small folder to try zsync with:

- `index.html` and `pages/about.html`: HTML documents
- `notes.txt`: plain text
- `images/logo.png`: an image (binary bodies never merge)

Edit something, then run `zsync status` and `zsync commit -m \"...\"`.
Run `zsync update` to get what others committed.
";

const NOTES_TXT: &str = "Notes
=====

Two people can edit this file at once: if their changes touch different
lines, `zsync update` merges them.

If they change the same lines, the file gets conflict markers and
`zsync resolve` tells zsync which version wins.

Each line here is a good place to try that.
";

/// What [`ensure`] created; nothing on a restart.
#[derive(Debug, Default)]
pub struct Created {
    pub user: bool,
    pub rev: Option<u64>,
}

/// Creates the demo user and folder if they are missing. Whatever already
/// exists is left as it is, so restarts keep every change.
pub async fn ensure<S: Store>(store: &S) -> Result<Created> {
    let mut created = Created::default();
    if store.user(USER).await?.is_none() {
        let password_hash = tokio::task::spawn_blocking(|| zsync_server::hash_password(PASSWORD))
            .await
            .context("hashing the demo password failed")??;
        store
            .add_user(&UserRecord {
                name: USER.into(),
                password_hash,
                role: Some(Role::Manager),
                disabled: false,
            })
            .await
            .context("creating the demo user failed")?;
        created.user = true;
    }
    let folder = RepoPath::parse(FOLDER)?;
    if store.object(&folder).await?.is_none() {
        created.rev = Some(create_folder(store).await?);
    }
    Ok(created)
}

/// One object of the demo folder: path below it, kind, properties, body.
struct Item {
    path: &'static str,
    kind: Kind,
    props: Props,
    body: Option<Vec<u8>>,
}

fn props(content_type: &str, title: &str) -> Props {
    Props::from([
        ("content_type".to_owned(), content_type.to_owned()),
        ("title".to_owned(), title.to_owned()),
    ])
}

fn folder(path: &'static str, title: &str) -> Item {
    Item {
        path,
        kind: Kind::folder(),
        props: Props::from([("title".to_owned(), title.to_owned())]),
        body: None,
    }
}

fn document(path: &'static str, content_type: &str, title: &str, text: &str) -> Item {
    Item {
        path,
        kind: Kind::document(),
        props: props(content_type, title),
        body: Some(text.as_bytes().to_vec()),
    }
}

fn items() -> Vec<Item> {
    vec![
        folder("", "zsync demo"),
        document("index.html", "text/html", "Welcome to zsync", INDEX_HTML),
        document("README.md", "text/markdown", "The zsync demo", README_MD),
        document("notes.txt", "text/plain", "Notes", NOTES_TXT),
        folder("pages", "Pages"),
        document(
            "pages/about.html",
            "text/html",
            "About this demo",
            ABOUT_HTML,
        ),
        folder("images", "Images"),
        Item {
            path: "images/logo.png",
            kind: Kind::image(),
            props: props("image/png", "zsync logo"),
            body: Some(logo()),
        },
    ]
}

/// A 16x16 logo: a "Z" on a blue tile with rounded-off corners.
pub fn logo() -> Vec<u8> {
    const SIZE: u32 = 16;
    let mut pixels = Vec::with_capacity((SIZE * SIZE) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let corner = (x == 0 || x == SIZE - 1) && (y == 0 || y == SIZE - 1);
            let inside = (3..=12).contains(&x) && (3..=12).contains(&y);
            let stroke = inside && (y == 3 || y == 12 || x + y == 15);
            pixels.push(match (corner, stroke) {
                (true, _) => [0, 0, 0, 0],
                (_, true) => [255, 255, 255, 255],
                _ => [30, 90, 200, 255],
            });
        }
    }
    png::encode_rgba(SIZE, SIZE, &pixels)
}

async fn create_folder<S: Store>(store: &S) -> Result<u64> {
    let root = RepoPath::parse(FOLDER)?;
    let max_size = ServerConfig::default().max_body_bytes;
    let mut ops = Vec::new();
    for item in items() {
        let path = root.join_path(&RepoPath::parse(item.path)?)?;
        let hash = match &item.body {
            Some(body) => {
                let hash = BodyHash::of(body);
                store
                    .put_body(hash, &body[..], max_size)
                    .await
                    .with_context(|| format!("storing the body of /{path} failed"))?;
                Some(hash)
            }
            None => None,
        };
        ops.push(CommitOp::Add {
            path,
            kind: item.kind,
            props: item.props,
            hash,
        });
    }
    let request = CommitRequest {
        message: "Demo content".into(),
        ops,
        id: None,
        keep_locks: false,
    };
    let response = store
        .commit(USER, &request)
        .await
        .context("committing the demo content failed")?;
    Ok(response.rev)
}
