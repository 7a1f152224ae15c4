//! The pages that only read: folders, objects, bodies, histories, diffs.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures_util::TryStreamExt;
use serde::Deserialize;
use zsync_format::{ChangeAction, Manifest, ManifestEntry};
use zsync_model::{BodyHash, Kind, Oid, RepoPath, Role};
use zsync_store::{Store, StoreError};

use crate::diff::TextDiff;
use crate::error::WebError;
use crate::session::Session;
use crate::text::{self, encode_query, parse_path, shown, when};
use crate::view::{
    Column, DiffPage, FileDiff, FolderPage, HistoryPage, Links, LockView, LogRow, ObjectPage, Row,
    crumbs, icon,
};
use crate::{PREFIX, WebState};

/// Bodies up to this size are shown as text and diffed.
pub const TEXT_LIMIT: u64 = 4 << 20;

pub async fn home() -> Redirect {
    Redirect::to(&format!("{PREFIX}/browse/"))
}

#[derive(Deserialize, Default)]
pub struct BrowseQuery {
    rev: Option<u64>,
    sort: Option<String>,
    #[serde(default)]
    desc: bool,
    /// The revision a change just made, for the notice.
    done: Option<u64>,
}

pub fn path_of(raw: Option<Path<String>>) -> Result<RepoPath, WebError> {
    parse_path(raw.as_ref().map(|p| p.0.as_str())).map_err(WebError::BadRequest)
}

/// The subtree at `path`, now or at `rev`; a missing path is "not found".
pub async fn tree<S: Store>(
    store: &S,
    path: &RepoPath,
    rev: Option<u64>,
) -> Result<Manifest, WebError> {
    let found = match rev {
        Some(rev) => store.manifest_at(path, rev).await,
        None => store.manifest(path).await,
    };
    match found {
        Ok(m) if !m.entries.is_empty() => Ok(m),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(WebError::NotFound(match rev {
            Some(r) => format!("There was nothing at {} at revision {r}.", shown(path)),
            None => format!("There is nothing at {}.", shown(path)),
        })),
        Err(e) => Err(e.into()),
    }
}

/// A body's first `limit` bytes, and whether that is all of it.
pub async fn read_head<S: Store>(
    store: &S,
    hash: &BodyHash,
    limit: u64,
) -> Result<(Vec<u8>, bool), WebError> {
    let size = store.body_size(hash).await?.unwrap_or(0);
    let mut stream = store.read_body(hash).await?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.try_next().await? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 >= limit {
            break;
        }
    }
    body.truncate(limit as usize);
    Ok((body, size <= limit))
}

/// The body as text, if it is small enough and not binary.
pub async fn text_of<S: Store>(store: &S, hash: &BodyHash) -> Result<Option<String>, WebError> {
    let (body, whole) = read_head(store, hash, TEXT_LIMIT).await?;
    if !whole || zsync_merge::is_binary(&body) {
        return Ok(None);
    }
    Ok(String::from_utf8(body).ok())
}

/// When each revision was made, for the revisions the log of `path` knows.
async fn times<S: Store>(store: &S, path: &RepoPath) -> Result<HashMap<u64, i64>, WebError> {
    Ok(store
        .log(path, Some(1000))
        .await?
        .into_iter()
        .map(|e| (e.rev, e.time))
        .collect())
}

pub async fn browse<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    raw: Option<Path<String>>,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    if path.is_root() && q.rev.is_none() && !session.may(&path, Role::Reader) {
        return places(&state, &session).await;
    }
    session.require(&path, Role::Reader, "read")?;
    let store = &state.server.store;
    let manifest = tree(store, &path, q.rev).await?;
    let notice = q.done.map(|r| format!("Saved as revision {r}."));
    let root = &manifest.entries[0];
    let links = Links::of(&path);
    let page = session.page(shown(&path)).with_notice(notice);
    let can_edit = session.may(&path, Role::Editor);
    let times = times(store, &path).await?;
    let title = root.props.get("title").cloned().unwrap_or_default();
    if root.kind.is_folder() {
        let mut omitted = manifest.omitted;
        let mut rows: Vec<(Row, u64, i64)> = Vec::new();
        for e in &manifest.entries[1..] {
            if e.path.components().count() != 1 {
                continue;
            }
            let full = path
                .join_path(&e.path)
                .map_err(|e| WebError::Internal(e.to_string()))?;
            if !session.may(&full, Role::Reader) {
                omitted += 1;
                continue;
            }
            let time = times.get(&e.rev).copied().unwrap_or(0);
            let mut url = text::url("browse", &full);
            if let Some(r) = q.rev {
                url.push_str(&format!("?rev={r}"));
            }
            rows.push((
                Row {
                    name: e.path.name().to_owned(),
                    url,
                    kind: e.kind.to_string(),
                    icon: icon(e.kind.as_str()),
                    size: if e.kind.is_folder() {
                        String::new()
                    } else {
                        text::size(e.size)
                    },
                    rev: e.rev,
                    author: e.author.clone(),
                    when: if time > 0 { when(time) } else { String::new() },
                },
                e.size,
                time,
            ));
        }
        let sort = q.sort.as_deref().unwrap_or("name");
        rows.sort_by(|(a, asize, atime), (b, bsize, btime)| {
            let by = match sort {
                "kind" => a.kind.cmp(&b.kind),
                "size" => asize.cmp(bsize),
                "rev" => a.rev.cmp(&b.rev),
                "author" => a.author.cmp(&b.author),
                "when" => atime.cmp(btime),
                _ => (a.kind != "folder")
                    .cmp(&(b.kind != "folder"))
                    .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())),
            };
            let by = by.then_with(|| a.name.cmp(&b.name));
            if q.desc { by.reverse() } else { by }
        });
        let columns = [
            ("name", "Name"),
            ("kind", "Kind"),
            ("size", "Size"),
            ("rev", "Revision"),
            ("author", "Who"),
            ("when", "When"),
        ]
        .into_iter()
        .map(|(key, label)| {
            let current = key == sort;
            let desc = current && !q.desc;
            let mut url = format!("{}?sort={key}", links.browse);
            if desc {
                url.push_str("&desc=true");
            }
            if let Some(r) = q.rev {
                url.push_str(&format!("&rev={r}"));
            }
            Column {
                label,
                url,
                sort: match (current, q.desc) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect();
        let html = FolderPage {
            page,
            crumbs: crumbs(&path),
            shown: shown(&path),
            links,
            at_rev: q.rev,
            columns,
            rows: rows.into_iter().map(|(r, _, _)| r).collect(),
            omitted,
            can_edit,
            is_root: path.is_root(),
            rev: root.rev,
            title,
        }
        .render()?;
        return Ok(Html(html).into_response());
    }
    let text = match &root.hash {
        Some(h) if root.kind != Kind::image() => text_of(store, h).await?,
        _ => None,
    };
    let read_only: &[&str] = state
        .server
        .types
        .get(&root.kind)
        .map_or(&[], |t| t.read_only_props());
    let custom = root
        .props
        .iter()
        .filter(|(k, _)| {
            !matches!(k.as_str(), "title" | "content_type") && !read_only.contains(&k.as_str())
        })
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    let mut raw_url = links.raw.clone();
    if let Some(r) = q.rev {
        raw_url.push_str(&format!("?rev={r}"));
    }
    let lock = if q.rev.is_none() {
        store
            .locks(&path)
            .await?
            .into_iter()
            .find(|l| l.path == path)
            .map(|l| LockView {
                owner: l.user,
                since: when(l.created),
                comment: l.comment,
            })
    } else {
        None
    };
    let html = ObjectPage {
        can_break: lock.is_some() && session.may(&path, Role::Manager),
        lock,
        page,
        crumbs: crumbs(&path),
        shown: shown(&path),
        name: path.name().to_owned(),
        at_rev: q.rev,
        kind: root.kind.to_string(),
        icon: icon(root.kind.as_str()),
        size: text::size(root.size),
        rev: root.rev,
        author: root.author.clone(),
        props: root
            .props
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        custom,
        content_type: root.props.get("content_type").cloned().unwrap_or_default(),
        title,
        image: root.kind == Kind::image(),
        text,
        raw_url,
        can_edit,
        links,
    }
    .render()?;
    Ok(Html(html).into_response())
}

/// The home page of a user who may not read the root: the places they
/// were given a role on.
async fn places<S: Store>(state: &WebState<S>, session: &Session) -> Result<Response, WebError> {
    let store = &state.server.store;
    let mut paths: Vec<RepoPath> = Vec::new();
    for user in [session.name(), zsync_server::auth::ANONYMOUS] {
        for g in store.grants(Some(user)).await? {
            if !paths.contains(&g.path) {
                paths.push(g.path);
            }
        }
    }
    paths.sort();
    let mut rows = Vec::new();
    for path in paths {
        let Some(o) = store.object(&path).await? else {
            continue;
        };
        rows.push(Row {
            name: shown(&path),
            url: text::url("browse", &path),
            kind: o.kind.to_string(),
            icon: icon(o.kind.as_str()),
            size: if o.kind.is_folder() {
                String::new()
            } else {
                text::size(o.size)
            },
            rev: o.rev,
            author: String::new(),
            when: String::new(),
        });
    }
    let root = RepoPath::root();
    let links = Links::of(&root);
    let columns = ["Name", "Kind", "Size", "Revision", "Who", "When"]
        .into_iter()
        .map(|label| Column {
            label,
            url: links.browse.clone(),
            sort: "none",
        })
        .collect();
    let html = FolderPage {
        page: session.page("Home"),
        crumbs: crumbs(&root),
        shown: "your places".into(),
        links,
        at_rev: None,
        columns,
        rows,
        omitted: 0,
        can_edit: false,
        is_root: true,
        rev: 0,
        title: "the places you were given a role on".into(),
    }
    .render()?;
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
pub struct RevQuery {
    rev: Option<u64>,
}

/// A body, as a download (or inline for images), never as a page of this
/// site: uploaded HTML must not run with the UI's cookies.
pub async fn raw<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    raw: Option<Path<String>>,
    Query(q): Query<RevQuery>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Reader, "read")?;
    let store = &state.server.store;
    let manifest = tree(store, &path, q.rev).await?;
    let entry = &manifest.entries[0];
    let Some(hash) = entry.hash else {
        return Err(WebError::BadRequest(format!(
            "{} is a folder; it has no body.",
            shown(&path)
        )));
    };
    let stream = store.read_body(&hash).await?;
    let content_type = entry.props.get("content_type").map(String::as_str);
    let image = entry.kind == Kind::image()
        && matches!(
            content_type,
            Some("image/png" | "image/jpeg" | "image/gif" | "image/webp")
        );
    let (content_type, disposition) = if image {
        (content_type.unwrap_or("application/octet-stream"), "inline")
    } else {
        ("application/octet-stream", "attachment")
    };
    let disposition = format!(
        "{disposition}; filename*=UTF-8''{}",
        encode_query(path.name())
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, entry.size.to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

pub async fn history<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    raw: Option<Path<String>>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Reader, "read the history of")?;
    let store = &state.server.store;
    let log = store.log(&path, Some(500)).await?;
    if log.is_empty() {
        return Err(WebError::NotFound(format!(
            "{} has no history.",
            shown(&path)
        )));
    }
    let rows = log
        .iter()
        .enumerate()
        .map(|(i, e)| LogRow {
            rev: e.rev,
            when: when(e.time),
            user: e.user.clone(),
            message: e.message.clone(),
            changes: e
                .changes
                .iter()
                .take(20)
                .map(|c| match (c.action, &c.from) {
                    (ChangeAction::R, Some(from)) => format!("R /{} (from /{from})", c.path),
                    (a, _) => format!("{a:?} /{}", c.path),
                })
                .chain(
                    (e.changes.len() > 20).then(|| format!("… and {} more", e.changes.len() - 20)),
                )
                .collect(),
            view: format!("{}?rev={}", text::url("browse", &path), e.rev),
            checked_from: i == 1 || log.len() == 1,
            checked_to: i == 0,
        })
        .collect();
    let html = HistoryPage {
        page: session.page(format!("History of {}", shown(&path))),
        crumbs: crumbs(&path),
        shown: shown(&path),
        links: Links::of(&path),
        rows,
        can_edit: session.may(&path, Role::Editor),
    }
    .render()?;
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
pub struct DiffQuery {
    from: u64,
    to: u64,
    #[serde(default)]
    view: Option<String>,
}

async fn entries_at<S: Store>(
    store: &S,
    path: &RepoPath,
    rev: u64,
) -> Result<Vec<ManifestEntry>, WebError> {
    match store.manifest_at(path, rev).await {
        Ok(m) => Ok(m.entries),
        Err(StoreError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

fn props_changes(old: &ManifestEntry, new: &ManifestEntry) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> =
        old.props.keys().chain(new.props.keys()).collect();
    keys.into_iter()
        .filter_map(|k| match (old.props.get(k), new.props.get(k)) {
            (Some(a), Some(b)) if a != b => Some(format!("{k}: {a} → {b}")),
            (Some(a), None) => Some(format!("{k}: {a} removed")),
            (None, Some(b)) => Some(format!("{k}: set to {b}")),
            _ => None,
        })
        .collect()
}

pub async fn diff<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    raw: Option<Path<String>>,
    Query(q): Query<DiffQuery>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Reader, "read")?;
    let store = &state.server.store;
    let (from, to) = (q.from.min(q.to), q.from.max(q.to));
    let old = entries_at(store, &path, from).await?;
    let new = entries_at(store, &path, to).await?;
    if old.is_empty() && new.is_empty() {
        return Err(WebError::NotFound(format!(
            "There was nothing at {} at revisions {from} and {to}.",
            shown(&path)
        )));
    }
    let old_by_oid: HashMap<&Oid, &ManifestEntry> = old.iter().map(|e| (&e.oid, e)).collect();
    let new_oids: std::collections::HashSet<&Oid> = new.iter().map(|e| &e.oid).collect();
    let readable = |rel: &RepoPath| {
        path.join_path(rel)
            .is_ok_and(|full| session.may(&full, Role::Reader))
    };
    let mut files: BTreeMap<String, FileDiff> = BTreeMap::new();
    let full = |rel: &RepoPath| shown(&path.join_path(rel).unwrap_or_else(|_| path.clone()));
    for e in &new {
        if !readable(&e.path) {
            continue;
        }
        let before = old_by_oid.get(&e.oid).copied();
        let (status, props, old_hash) = match before {
            None => ("added", Vec::new(), None),
            Some(b) if b.path != e.path => ("moved", props_changes(b, e), b.hash),
            Some(b) if b.hash != e.hash || b.props != e.props || b.kind != e.kind => {
                ("changed", props_changes(b, e), b.hash)
            }
            Some(_) => continue,
        };
        let mut note = before
            .filter(|b| b.path != e.path)
            .map(|b| format!("moved from {}", full(&b.path)));
        let mut text = None;
        if e.hash.is_some() && e.hash != old_hash {
            let old_text = match &old_hash {
                Some(h) => text_of(store, h).await?,
                None => Some(String::new()),
            };
            let new_text = match &e.hash {
                Some(h) => text_of(store, h).await?,
                None => Some(String::new()),
            };
            match (old_text, new_text) {
                (Some(a), Some(b)) => {
                    text = Some(TextDiff::new(a.as_bytes(), b.as_bytes())).filter(|d| !d.is_empty())
                }
                _ => note = Some("The body changed (binary or large; not shown).".into()),
            }
        }
        files.insert(
            full(&e.path),
            FileDiff {
                path: full(&e.path),
                status: status.into(),
                props,
                note,
                text,
            },
        );
    }
    for e in &old {
        if new_oids.contains(&e.oid) || !readable(&e.path) {
            continue;
        }
        let text = match &e.hash {
            Some(h) => text_of(store, h)
                .await?
                .map(|t| TextDiff::new(t.as_bytes(), b"")),
            None => None,
        };
        files.insert(
            full(&e.path),
            FileDiff {
                path: full(&e.path),
                status: "removed".into(),
                props: Vec::new(),
                note: None,
                text,
            },
        );
    }
    let side = q.view.as_deref() == Some("side");
    let base = format!("{}?from={from}&to={to}", text::url("diff", &path));
    let html = DiffPage {
        page: session.page(format!("{}: r{from} → r{to}", shown(&path))),
        crumbs: crumbs(&path),
        shown: shown(&path),
        links: Links::of(&path),
        from,
        to,
        side,
        unified_url: format!("{base}&view=unified"),
        side_url: format!("{base}&view=side"),
        files: files.into_values().collect(),
    }
    .render()?;
    Ok(Html(html).into_response())
}
