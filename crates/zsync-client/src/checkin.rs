//! `zsync checkin [-m MSG] URL [DIR]`: creates a new server folder at URL
//! from a local directory tree in one commit, and makes DIR a working copy
//! of it.

use std::path::Path;

use zsync_format::{CommitOp, CommitRequest};
use zsync_model::{BodyHash, Kind, RepoPath, Rev};

use crate::commit::upload_missing;
use crate::error::{ClientError, Result};
use crate::ignore_rules::IgnoreRules;
use crate::index::{Entry, StatData};
use crate::schedule::walk_new_tree;
use crate::session::Context;
use crate::transport::Transport;
use crate::ui::Notification;
use crate::url::ServerUrl;
use crate::wc::{self, WorkingCopy};

struct Item {
    rel: RepoPath,
    kind: Kind,
    props: zsync_model::Props,
    body: Option<(BodyHash, u64, StatData)>,
}

pub fn checkin(ctx: &Context, url: &str, dir: Option<&Path>, message: &str) -> Result<Rev> {
    let url = ServerUrl::parse(url)?;
    if url.path.is_root() {
        return Err(ClientError::refused(
            url.redacted(),
            "names the server's root; name the new folder to create (http://HOST/PARENT/NEW)",
        ));
    }
    let dir = wc::absolute(&ctx.cwd, dir.unwrap_or(Path::new(".")));
    if !dir.is_dir() {
        return Err(ClientError::refused(
            ctx.display(&dir),
            "is not a directory",
        ));
    }
    if let Some(root) = wc::find_root(&dir) {
        return Err(ClientError::refused(
            ctx.display(&dir),
            format!(
                "is inside the working copy {}; use `zsync add` and `zsync commit` there",
                ctx.display(&root)
            ),
        ));
    }
    let mut found = Vec::new();
    let rules = IgnoreRules::new(&dir, true);
    walk_new_tree(ctx, &rules, &dir, &RepoPath::root(), &mut found)?;
    let items = found
        .into_iter()
        .map(|n| Item {
            rel: n.rel,
            kind: n.kind,
            props: n.props,
            body: None,
        })
        .collect();
    let transport = ctx.connect(&url)?;

    let mut wc = WorkingCopy::create(&dir, &url, 0)?;
    let result = send(ctx, &transport, &mut wc, &url, items, message);
    if result.is_err() {
        // All or nothing: DIR goes back to being a plain directory.
        drop(wc);
        let _ = std::fs::remove_dir_all(WorkingCopy::admin_dir_of(&dir));
    }
    result
}

fn send(
    ctx: &Context,
    transport: &dyn Transport,
    wc: &mut WorkingCopy,
    url: &ServerUrl,
    mut items: Vec<Item>,
    message: &str,
) -> Result<Rev> {
    let mut ops = Vec::with_capacity(items.len());
    for item in &mut items {
        let abs = wc.abs(&item.rel);
        if !item.kind.is_folder() {
            let meta = std::fs::metadata(&abs).map_err(ClientError::io(&abs))?;
            let stat = StatData::of(&meta);
            let (hash, size) = wc.pristine.insert_file(&abs)?;
            item.body = Some((hash, size, stat));
        }
        let path = url
            .path
            .join_path(&item.rel)
            .map_err(|e| ClientError::refused(ctx.display(&abs), e.to_string()))?;
        ops.push(CommitOp::Add {
            path,
            kind: item.kind.clone(),
            props: item.props.clone(),
            hash: item.body.map(|b| b.0),
        });
    }
    upload_missing(
        transport,
        wc,
        items.iter().filter_map(|i| i.body.map(|b| b.0)),
    )?;
    for item in &items {
        if !item.rel.is_root() {
            ctx.ui.notify(Notification::Commit {
                action: "Adding",
                path: ctx.display(&wc.abs(&item.rel)),
            });
        }
    }
    let response = transport
        .commit(&CommitRequest {
            message: message.to_owned(),
            ops,
            id: None,
            keep_locks: false,
        })
        .map_err(|e| match e {
            ClientError::Stale { .. } => ClientError::refused(
                url.redacted(),
                "already exists on the server; check it out instead, or choose another name",
            ),
            other => other,
        })?;
    let author = transport.user_name().to_owned();
    for (item, obj) in items.into_iter().zip(&response.objects) {
        let mut entry = Entry::added(item.kind, Default::default());
        entry.oid = Some(obj.oid.clone());
        entry.rev = response.rev;
        entry.author = author.clone();
        entry.props = obj.props.clone().unwrap_or(item.props);
        entry.new_props = None;
        entry.schedule = crate::index::Schedule::Normal;
        if let Some((hash, size, stat)) = item.body {
            entry.hash = Some(hash);
            entry.size = size;
            entry.stat = Some(stat);
        }
        wc.index.entries.insert(item.rel.to_string(), entry);
    }
    wc.index.rev = response.rev;
    wc.save()?;
    Ok(response.rev)
}
