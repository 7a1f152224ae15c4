//! `zsync checkin [-m MSG] URL [DIR]`: creates a new server folder at URL
//! from a local directory tree in one commit, and makes DIR a working copy
//! of it.

use std::path::Path;

use zsync_format::{CommitOp, CommitRequest};
use zsync_model::{BodyHash, CommitId, Kind, RepoPath, Rev};

use crate::commit::{upload_missing, upload_missing_with};
use crate::error::{ClientError, Result};
use crate::ignore_rules::IgnoreRules;
use crate::index::{Entry, PendingCommit, PendingItem, StatData};
use crate::schedule::walk_new_tree;
use crate::session::Context;
use crate::transport::Transport;
use crate::ui::{Notification, Phase, Progress};
use crate::url::ServerUrl;
use crate::wc::{self, WorkingCopy};

/// Files hashed into the pristine store at once.
const SCAN_THREADS: usize = 4;

/// Items per segment of a big checkin's scan: each finished segment is
/// uploaded while the next is hashed.
const SEGMENT_ITEMS: usize = 2000;

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
    let rules = IgnoreRules::with_globals(&dir, true, &ctx.config.global_ignores);
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
    // All or nothing: DIR goes back to being a plain directory, unless the
    // commit may have landed (its answer was lost): then DIR stays a
    // working copy whose next `commit` or `update` finds out.
    if result.is_err() && wc.index.pending_commit.is_none() {
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
    // Every file is hashed into the pristine store, a few at once: reading
    // and writing wait on the filesystem. A big tree is hashed in segments,
    // and each finished segment's bodies go up while the next is hashed,
    // so the server stores while the client reads.
    let scanning = Progress::start(ctx.ui, Phase::Scanning, items.len() as u64, 0);
    let scan = |item: &Item| -> Result<Option<(BodyHash, u64, StatData)>> {
        if item.kind.is_folder() {
            scanning.advance(1, 0);
            return Ok(None);
        }
        let abs = wc.abs(&item.rel);
        let meta = std::fs::metadata(&abs).map_err(ClientError::io(&abs))?;
        let stat = StatData::of(&meta);
        let (hash, size) = wc.pristine.insert_file(&abs)?;
        scanning.advance(1, size);
        Ok(Some((hash, size, stat)))
    };
    let shared: &WorkingCopy = wc;
    let bodies = std::thread::scope(|scope| -> Result<Vec<_>> {
        let (segments, scanned) = std::sync::mpsc::sync_channel::<Vec<(BodyHash, u64)>>(1);
        let uploader = scope.spawn(move || -> Result<()> {
            for segment in scanned {
                upload_missing_with(None, transport, shared, segment.into_iter())?;
            }
            Ok(())
        });
        let mut bodies = Vec::with_capacity(items.len());
        let mut scan_result = Ok(());
        let count = items.len().div_ceil(SEGMENT_ITEMS);
        for (i, segment) in items.chunks(SEGMENT_ITEMS).enumerate() {
            let found = match crate::fsutil::parallel_map(segment, SCAN_THREADS, scan) {
                Ok(found) => found,
                Err(e) => {
                    scan_result = Err(e);
                    break;
                }
            };
            // The last segment goes up with the rest, after the scan.
            let last = i + 1 == count;
            let up: Vec<(BodyHash, u64)> = found.iter().flatten().map(|b| (b.0, b.1)).collect();
            bodies.extend(found);
            // A refused send means the uploader stopped: its error says why.
            if !last && segments.send(up).is_err() {
                break;
            }
        }
        drop(segments);
        let uploaded = uploader.join().unwrap_or_else(|_| {
            Err(ClientError::Io {
                path: std::path::PathBuf::new(),
                source: std::io::Error::other("an upload thread panicked"),
            })
        });
        scan_result?;
        uploaded?;
        Ok(bodies)
    })?;
    for (item, body) in items.iter_mut().zip(bodies) {
        item.body = body;
        let path = url
            .path
            .join_path(&item.rel)
            .map_err(|e| ClientError::refused(ctx.display(&wc.abs(&item.rel)), e.to_string()))?;
        ops.push(CommitOp::Add {
            path,
            kind: item.kind.clone(),
            props: item.props.clone(),
            hash: item.body.map(|b| b.0),
        });
    }
    drop(scanning);
    upload_missing(
        ctx.ui,
        transport,
        wc,
        items
            .iter()
            .filter_map(|i| i.body.map(|(h, size, _)| (h, size))),
    )?;
    for item in &items {
        if !item.rel.is_root() {
            ctx.ui.notify(Notification::Commit {
                action: "Adding",
                path: ctx.display(&wc.abs(&item.rel)),
            });
        }
    }
    // The tree goes into the index as scheduled adds with the commit
    // pending, before the commit goes out: if its answer is lost, the next
    // `commit` or `update` asks the server by the id and records it (or
    // sends the adds again), so a checkin is never done twice.
    let id = CommitId::random();
    let mut pending = Vec::with_capacity(items.len());
    for item in items {
        // The body's hash and stat data go in when the commit is recorded.
        let entry = Entry::added(item.kind, item.props);
        wc.index.entries.insert(item.rel.to_string(), entry);
        pending.push(PendingItem {
            key: item.rel.to_string(),
            rel: item.rel,
            body: item.body,
            moved: false,
        });
    }
    wc.index.pending_commit = Some(PendingCommit {
        id: id.clone(),
        items: pending,
    });
    wc.save()?;
    crate::fault::point("client-checkin-sent");
    let sent = transport.commit(&CommitRequest {
        message: message.to_owned(),
        ops,
        id: Some(id),
        keep_locks: false,
    });
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.answer_lost() => {
            ctx.ui.notify(Notification::Warning(format!(
                "the checkin may or may not have reached the server; `zsync commit` in {} \
                 will find out, and record it or send it again",
                ctx.display(&wc.root)
            )));
            return Err(e);
        }
        Err(e) => {
            // A refusal: nothing was committed.
            wc.index.pending_commit = None;
            return Err(match e {
                ClientError::Stale { .. } => ClientError::refused(
                    url.redacted(),
                    "already exists on the server; check it out instead, or choose another name",
                ),
                other => other,
            });
        }
    };
    crate::fault::point("client-checkin-answered");
    crate::commit::record(wc, transport.user_name(), &response)?;
    wc.index.rev = response.rev;
    wc.save()?;
    Ok(response.rev)
}
