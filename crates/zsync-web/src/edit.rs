//! The pages and actions that change content. Each action is one commit
//! through [`zsync_server::commit_as`], exactly as a `zsync commit`: the
//! same roles, content checks and optimistic concurrency.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use zsync_format::{CommitOp, CommitRequest, KnownObject, ManifestEntry};
use zsync_model::{BodyHash, BodyHasher, Kind, Props, RepoPath, Role};
use zsync_store::{ObjectRecord, Store, StoreError};
use zsync_types::SNIFF_BYTES;

use crate::diff::TextDiff;
use crate::error::WebError;
use crate::pages::{path_of, text_of, tree};
use crate::session::{Action, Session};
use crate::text::{self, shown};
use crate::view::{DeletePage, EditPage, Links, crumbs};
use crate::{MAX_FORM_BYTES, WebState};

/// The most files one upload may carry.
const MAX_UPLOAD_FILES: usize = 1000;

async fn commit<S: Store>(
    state: &WebState<S>,
    session: &Session,
    message: &str,
    default: impl FnOnce() -> String,
    ops: Vec<CommitOp>,
) -> Result<u64, WebError> {
    let message = match message.trim() {
        "" => default(),
        m => m.to_owned(),
    };
    let response = zsync_server::commit_as(
        &state.server,
        &session.caller,
        CommitRequest {
            message,
            ops,
            id: None,
            keep_locks: false,
        },
    )
    .await?;
    Ok(response.rev)
}

/// After a change: the page of `path`, with the revision in the notice.
fn done(path: &RepoPath, rev: u64) -> Response {
    Redirect::to(&format!("{}?done={rev}", text::url("browse", path))).into_response()
}

async fn current<S: Store>(store: &S, path: &RepoPath) -> Result<ObjectRecord, WebError> {
    store
        .object(path)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is nothing at {}.", shown(path))))
}

async fn put_text<S: Store>(state: &WebState<S>, text: &[u8]) -> Result<BodyHash, WebError> {
    let hash = BodyHash::of(text);
    state
        .server
        .store
        .put_body(hash, text, state.server.config.max_body_bytes)
        .await?;
    Ok(hash)
}

/// Who made the object's newest revision.
async fn author<S: Store>(store: &S, path: &RepoPath) -> Result<String, WebError> {
    Ok(store
        .log(path, Some(1))
        .await?
        .into_iter()
        .next()
        .map(|e| e.user)
        .unwrap_or_else(|| "someone".into()))
}

fn child(parent: &RepoPath, name: &str) -> Result<RepoPath, WebError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(WebError::BadRequest("Please give a name.".into()));
    }
    parent
        .join(name)
        .map_err(|e| WebError::BadRequest(format!("{name:?} cannot be a name: {e}.")))
}

fn target(to: &str) -> Result<RepoPath, WebError> {
    let to = to.trim().trim_matches('/');
    if to.is_empty() {
        return Err(WebError::BadRequest("Please give a path.".into()));
    }
    RepoPath::parse(to)
        .map_err(|e| WebError::BadRequest(format!("/{to} is not a valid path: {e}.")))
}

async fn require_free<S: Store>(store: &S, path: &RepoPath) -> Result<(), WebError> {
    if store.object(path).await?.is_some() {
        return Err(WebError::BadRequest(format!(
            "{} already exists; choose another name.",
            shown(path)
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    message: String,
}

pub async fn mkdir<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<NameForm>,
) -> Result<Response, WebError> {
    let parent = path_of(raw)?;
    session.require(&parent, Role::Editor, "add to")?;
    let path = child(&parent, &form.name)?;
    require_free(&state.server.store, &path).await?;
    let ops = vec![CommitOp::Add {
        path: path.clone(),
        kind: Kind::folder(),
        props: Props::new(),
        hash: None,
    }];
    let rev = commit(
        &state,
        &session,
        &form.message,
        || format!("Add folder {}", shown(&path)),
        ops,
    )
    .await?;
    Ok(done(&path, rev))
}

#[derive(Deserialize)]
pub struct NewDocForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    message: String,
}

/// Browsers send a textarea's lines with CRLF; keep the file's own line
/// ends (LF unless the old text used CRLF).
fn line_ends(text: &str, old: Option<&[u8]>) -> Vec<u8> {
    let crlf = old.is_some_and(|o| o.windows(2).any(|w| w == b"\r\n"));
    if crlf {
        text.as_bytes().to_vec()
    } else {
        text.replace("\r\n", "\n").into_bytes()
    }
}

pub async fn new_document<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<NewDocForm>,
) -> Result<Response, WebError> {
    let parent = path_of(raw)?;
    session.require(&parent, Role::Editor, "add to")?;
    let path = child(&parent, &form.name)?;
    require_free(&state.server.store, &path).await?;
    let body = line_ends(&form.text, None);
    let (kind, props) = state.server.types.guess(path.name(), &body);
    let hash = put_text(&state, &body).await?;
    let ops = vec![CommitOp::Add {
        path: path.clone(),
        kind,
        props,
        hash: Some(hash),
    }];
    let rev = commit(
        &state,
        &session,
        &form.message,
        || format!("Add {}", shown(&path)),
        ops,
    )
    .await?;
    Ok(done(&path, rev))
}

/// One uploaded file, spooled to an anonymous temp file while hashing.
struct Spooled {
    name: String,
    file: tokio::fs::File,
    hash: BodyHash,
    head: Vec<u8>,
}

/// Files are streamed to disk chunk by chunk (never whole in memory), then
/// stored, then committed together as one revision. The CSRF token must
/// be the first field, so nothing is read for a forged request.
pub async fn upload<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    raw: Option<Path<String>>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let parent = path_of(raw)?;
    session.require(&parent, Role::Editor, "add to")?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        WebError::BadRequest(format!("The upload could not be read: {e}."))
    };
    let first = multipart.next_field().await.map_err(bad)?;
    match first {
        Some(field) if field.name() == Some("csrf") => {
            let csrf = field.text().await.map_err(bad)?;
            session.check_csrf(&csrf)?;
        }
        _ => return Err(WebError::Csrf),
    }
    let max = state.server.config.max_body_bytes;
    let mut message = String::new();
    let mut files: Vec<Spooled> = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("message") => {
                message = field.text().await.map_err(bad)?;
                if message.len() > zsync_server::MAX_MESSAGE_BYTES {
                    return Err(WebError::BadRequest("The message is too long.".into()));
                }
            }
            Some("files") => {
                let Some(name) = field.file_name().map(|n| {
                    // Some browsers send a path; only its last part names the file.
                    n.rsplit(['/', '\\']).next().unwrap_or("").to_owned()
                }) else {
                    continue;
                };
                if name.is_empty() {
                    continue; // No file chosen.
                }
                if files.len() >= MAX_UPLOAD_FILES {
                    return Err(WebError::BadRequest(format!(
                        "An upload may carry at most {MAX_UPLOAD_FILES} files."
                    )));
                }
                let std_file = tempfile::tempfile()
                    .map_err(|e| WebError::Internal(format!("no temp file for an upload: {e}")))?;
                let mut file = tokio::fs::File::from_std(std_file);
                let mut hasher = BodyHasher::new();
                let mut head = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    hasher.update(&chunk);
                    if hasher.len() > max {
                        return Err(WebError::BadRequest(format!(
                            "{name} is larger than the limit of {}.",
                            text::size(max)
                        )));
                    }
                    if head.len() < SNIFF_BYTES {
                        let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                        head.extend_from_slice(&chunk[..take]);
                    }
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| WebError::Internal(format!("spooling an upload: {e}")))?;
                }
                files.push(Spooled {
                    name,
                    file,
                    hash: hasher.finish(),
                    head,
                });
            }
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(WebError::BadRequest(
            "Please choose at least one file.".into(),
        ));
    }
    let store = &state.server.store;
    let mut ops = Vec::new();
    let mut names = HashSet::new();
    for mut f in files {
        let path = child(&parent, &f.name)?;
        if !names.insert(path.clone()) {
            return Err(WebError::BadRequest(format!("{} was given twice.", f.name)));
        }
        require_free(store, &path).await?;
        f.file
            .flush()
            .await
            .and(f.file.rewind().await)
            .map_err(|e| WebError::Internal(format!("rereading an upload: {e}")))?;
        store.put_body(f.hash, f.file, max).await?;
        let (kind, props) = state.server.types.guess(&f.name, &f.head);
        ops.push(CommitOp::Add {
            path,
            kind,
            props,
            hash: Some(f.hash),
        });
    }
    let count = ops.len();
    let rev = commit(
        &state,
        &session,
        &message,
        || format!("Upload {count} file(s) to {}", shown(&parent)),
        ops,
    )
    .await?;
    Ok(done(&parent, rev))
}

pub async fn edit_form<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    raw: Option<Path<String>>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Editor, "edit")?;
    let store = &state.server.store;
    let object = current(store, &path).await?;
    let text = editable_text(store, &object).await?;
    let html = EditPage {
        page: session.page(format!("Edit {}", shown(&path))),
        crumbs: crumbs(&path),
        shown: shown(&path),
        links: Links::of(&path),
        base_rev: object.rev,
        text,
        message: String::new(),
        error: None,
        problems: Vec::new(),
        theirs: None,
        mine: None,
    }
    .render()?;
    Ok(Html(html).into_response())
}

async fn editable_text<S: Store>(store: &S, object: &ObjectRecord) -> Result<String, WebError> {
    let not_text = || {
        WebError::BadRequest(format!(
            "{} is not a text the browser can edit; download it instead.",
            shown(&object.path)
        ))
    };
    let hash = object.hash.ok_or_else(not_text)?;
    if object.size > MAX_FORM_BYTES as u64 / 2 {
        return Err(not_text());
    }
    text_of(store, &hash).await?.ok_or_else(not_text)
}

#[derive(Deserialize)]
pub struct TextForm {
    base_rev: u64,
    #[serde(default)]
    text: String,
    #[serde(default)]
    message: String,
}

pub async fn save_text<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<TextForm>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Editor, "edit")?;
    let store = &state.server.store;
    let object = current(store, &path).await?;
    let old_text = editable_text(store, &object).await?;
    let body = line_ends(&form.text, Some(old_text.as_bytes()));
    if object.rev != form.base_rev {
        return stale_editor(&state, &session, &path, &form, &object, &old_text).await;
    }
    let hash = put_text(&state, &body).await?;
    let ops = vec![CommitOp::Modify {
        path: path.clone(),
        oid: object.oid.clone(),
        base_rev: form.base_rev,
        props: None,
        hash: Some(hash),
    }];
    match commit(
        &state,
        &session,
        &form.message,
        || format!("Edit {}", shown(&path)),
        ops,
    )
    .await
    {
        Ok(rev) => Ok(done(&path, rev)),
        Err(WebError::Server(zsync_server::Error::Stale(_))) => {
            // Someone saved between our check and the commit.
            let object = current(store, &path).await?;
            let old_text = editable_text(store, &object).await?;
            stale_editor(&state, &session, &path, &form, &object, &old_text).await
        }
        Err(e @ WebError::Server(zsync_server::Error::Invalid(_))) => {
            let (error, problems) = e.explain();
            let html = EditPage {
                page: session.page(format!("Edit {}", shown(&path))),
                crumbs: crumbs(&path),
                shown: shown(&path),
                links: Links::of(&path),
                base_rev: form.base_rev,
                text: form.text.clone(),
                message: form.message.clone(),
                error: Some(error),
                problems,
                theirs: None,
                mine: None,
            }
            .render()?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// The editor again, refusing a save based on an old revision: what
/// changed since, the user's text kept, and the newest revision as the
/// new base, so saving again is a deliberate choice.
async fn stale_editor<S: Store>(
    state: &WebState<S>,
    session: &Session,
    path: &RepoPath,
    form: &TextForm,
    object: &ObjectRecord,
    newest: &str,
) -> Result<Response, WebError> {
    let store = &state.server.store;
    let by = author(store, path).await?;
    let base_text = match tree(store, path, Some(form.base_rev)).await {
        Ok(m) => match m.entries[0].hash {
            Some(h) => text_of(store, &h).await?.unwrap_or_default(),
            None => String::new(),
        },
        Err(_) => String::new(),
    };
    let mine = line_ends(&form.text, Some(newest.as_bytes()));
    let html = EditPage {
        page: session.page(format!("Edit {}", shown(path))),
        crumbs: crumbs(path),
        shown: shown(path),
        links: Links::of(path),
        base_rev: object.rev,
        text: form.text.clone(),
        message: form.message.clone(),
        error: Some(format!(
            "{} was changed by {by} since you opened it (revision {} → {}). Nothing was saved. \
             Your text is below; look at their change, then save again to replace it.",
            shown(path),
            form.base_rev,
            object.rev
        )),
        problems: Vec::new(),
        theirs: Some(TextDiff::new(base_text.as_bytes(), newest.as_bytes())),
        mine: Some(TextDiff::new(newest.as_bytes(), &mine)),
    }
    .render()?;
    Ok((axum::http::StatusCode::CONFLICT, Html(html)).into_response())
}

#[derive(Deserialize)]
pub struct PropsForm {
    base_rev: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    custom: String,
    #[serde(default)]
    message: String,
}

fn parse_custom(custom: &str) -> Result<Props, WebError> {
    let mut props = Props::new();
    for (i, line) in custom.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(WebError::BadRequest(format!(
                "Line {} of the other properties is not key = value: {line:?}.",
                i + 1
            )));
        };
        let k = k.trim();
        if k.is_empty() || k.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(WebError::BadRequest(format!(
                "Line {}: {k:?} cannot be a property name.",
                i + 1
            )));
        }
        props.insert(k.to_owned(), v.trim().to_owned());
    }
    Ok(props)
}

async fn stale_refusal<S: Store>(
    store: &S,
    path: &RepoPath,
    base: u64,
    now: u64,
) -> Result<WebError, WebError> {
    let by = author(store, path).await?;
    Ok(WebError::Server(zsync_server::Error::Conflict(format!(
        "{} was changed by {by} since you opened it (revision {base} → {now}); nothing was \
         saved. Open it again to see the change.",
        shown(path)
    ))))
}

pub async fn save_props<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<PropsForm>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Editor, "change")?;
    let store = &state.server.store;
    let object = current(store, &path).await?;
    if object.rev != form.base_rev {
        return Err(stale_refusal(store, &path, form.base_rev, object.rev).await?);
    }
    let mut props = parse_custom(&form.custom)?;
    for (key, value) in [("title", &form.title), ("content_type", &form.content_type)] {
        props.remove(key);
        if !value.trim().is_empty() {
            props.insert(key.to_owned(), value.trim().to_owned());
        }
    }
    // With the body named again, the server derives its read-only
    // properties (an image's size) afresh instead of dropping them.
    let ops = vec![CommitOp::Modify {
        path: path.clone(),
        oid: object.oid.clone(),
        base_rev: form.base_rev,
        props: Some(props),
        hash: object.hash,
    }];
    let rev = commit(
        &state,
        &session,
        &form.message,
        || format!("Change the properties of {}", shown(&path)),
        ops,
    )
    .await?;
    Ok(done(&path, rev))
}

#[derive(Deserialize)]
pub struct MoveForm {
    base_rev: u64,
    #[serde(default)]
    to: String,
    #[serde(default)]
    message: String,
}

pub async fn move_to<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<MoveForm>,
) -> Result<Response, WebError> {
    let from = path_of(raw)?;
    if from.is_root() {
        return Err(WebError::BadRequest("The root folder cannot move.".into()));
    }
    session.require(&from, Role::Editor, "move")?;
    let to = target(&form.to)?;
    if to == from {
        return Err(WebError::BadRequest(format!(
            "{} is where it is already.",
            shown(&to)
        )));
    }
    let store = &state.server.store;
    let object = current(store, &from).await?;
    if object.rev != form.base_rev {
        return Err(stale_refusal(store, &from, form.base_rev, object.rev).await?);
    }
    require_free(store, &to).await?;
    let ops = vec![CommitOp::Move {
        from: from.clone(),
        to: to.clone(),
        oid: object.oid,
        base_rev: form.base_rev,
        props: None,
        hash: None,
    }];
    let rev = commit(
        &state,
        &session,
        &form.message,
        || format!("Move {} to {}", shown(&from), shown(&to)),
        ops,
    )
    .await?;
    Ok(done(&to, rev))
}

#[derive(Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    message: String,
}

pub async fn copy_to<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<CopyForm>,
) -> Result<Response, WebError> {
    let from = path_of(raw)?;
    session.require(&from, Role::Reader, "copy")?;
    let to = target(&form.to)?;
    let store = &state.server.store;
    let manifest = tree(store, &from, None).await?;
    require_free(store, &to).await?;
    let mut ops = Vec::new();
    for e in &manifest.entries {
        let source = from
            .join_path(&e.path)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        if !session.may(&source, Role::Reader) {
            return Err(WebError::Forbidden(format!(
                "You may not read everything in {}, so it cannot be copied.",
                shown(&from)
            )));
        }
        let path = to.join_path(&e.path).map_err(|err| {
            WebError::BadRequest(format!("{} cannot be copied there: {err}.", shown(&source)))
        })?;
        let mut props = e.props.clone();
        props.insert("copied_from".into(), format!("/{source}@{}", manifest.head));
        ops.push(CommitOp::Add {
            path,
            kind: e.kind.clone(),
            props,
            hash: e.hash,
        });
    }
    let rev = commit(
        &state,
        &session,
        &form.message,
        || format!("Copy {} to {}", shown(&from), shown(&to)),
        ops,
    )
    .await?;
    Ok(done(&to, rev))
}

pub async fn delete_form<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    raw: Option<Path<String>>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    if path.is_root() {
        return Err(WebError::BadRequest(
            "The root folder cannot be deleted.".into(),
        ));
    }
    session.require(&path, Role::Editor, "delete")?;
    let manifest = tree(&state.server.store, &path, None).await?;
    let html = DeletePage {
        page: session.page(format!("Delete {}", shown(&path))),
        crumbs: crumbs(&path),
        shown: shown(&path),
        links: Links::of(&path),
        head: manifest.head,
        count: manifest.entries.len() - 1,
        is_folder: manifest.entries[0].kind.is_folder(),
    }
    .render()?;
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
pub struct DeleteForm {
    /// The revision the confirmation page showed: anything changed in the
    /// subtree since makes the delete stale.
    head: u64,
    #[serde(default)]
    message: String,
}

pub async fn delete<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<DeleteForm>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    if path.is_root() {
        return Err(WebError::BadRequest(
            "The root folder cannot be deleted.".into(),
        ));
    }
    session.require(&path, Role::Editor, "delete")?;
    let store = &state.server.store;
    let seen = tree(store, &path, Some(form.head)).await?;
    let root = &seen.entries[0];
    let known = seen.entries[1..]
        .iter()
        .map(|e| KnownObject {
            oid: e.oid.clone(),
            rev: e.rev,
        })
        .collect();
    let ops = vec![CommitOp::Delete {
        path: path.clone(),
        oid: root.oid.clone(),
        base_rev: root.rev,
        known,
    }];
    let rev = commit(
        &state,
        &session,
        &form.message,
        || format!("Delete {}", shown(&path)),
        ops,
    )
    .await?;
    Ok(done(&path.parent().unwrap_or_else(RepoPath::root), rev))
}

#[derive(Deserialize)]
pub struct RestoreForm {
    rev: u64,
    #[serde(default)]
    message: String,
}

/// The operations that turn the subtree `now` (if any) back into `then`:
/// objects added since are deleted, changed ones get their old body and
/// properties, moved ones move back, deleted ones come back as new objects.
fn restore_ops(
    path: &RepoPath,
    then: &[ManifestEntry],
    now: &[ManifestEntry],
) -> Result<Vec<CommitOp>, WebError> {
    let full = |rel: &RepoPath| {
        path.join_path(rel)
            .map_err(|e| WebError::Internal(e.to_string()))
    };
    let then_by_oid: HashMap<_, _> = then.iter().map(|e| (&e.oid, e)).collect();
    let now_by_oid: HashMap<_, _> = now.iter().map(|e| (&e.oid, e)).collect();
    let then_by_path: HashMap<_, _> = then.iter().map(|e| (&e.path, e)).collect();
    let now_by_path: HashMap<_, _> = now.iter().map(|e| (&e.path, e)).collect();
    fn parent_oid<'a>(
        by_path: &HashMap<&RepoPath, &'a ManifestEntry>,
        e: &ManifestEntry,
    ) -> Option<&'a zsync_model::Oid> {
        let parent = e.path.parent()?;
        by_path.get(&parent).map(|p| &p.oid)
    }
    let mut deletes = Vec::new();
    let mut moves = Vec::new();
    let mut modifies = Vec::new();
    let mut adds = Vec::new();
    // Deleted: the topmost objects that did not exist then.
    let gone: Vec<&ManifestEntry> = now
        .iter()
        .filter(|e| !then_by_oid.contains_key(&e.oid))
        .collect();
    for e in &gone {
        let under_another = gone
            .iter()
            .any(|o| o.path != e.path && o.path.contains(&e.path));
        if under_another {
            continue;
        }
        let known = now
            .iter()
            .filter(|d| d.path != e.path && e.path.contains(&d.path))
            .map(|d| KnownObject {
                oid: d.oid.clone(),
                rev: d.rev,
            })
            .collect();
        deletes.push(CommitOp::Delete {
            path: full(&e.path)?,
            oid: e.oid.clone(),
            base_rev: e.rev,
            known,
        });
    }
    for old in then {
        match now_by_oid.get(&old.oid) {
            None => adds.push(CommitOp::Add {
                path: full(&old.path)?,
                kind: old.kind.clone(),
                props: old.props.clone(),
                hash: old.hash,
            }),
            Some(cur) => {
                // Moved back only if it moved other than with its folder,
                // which moves back as one (`then` lists folders first).
                let moved_itself = cur.path != old.path
                    && (cur.path.name() != old.path.name()
                        || parent_oid(&now_by_path, cur) != parent_oid(&then_by_path, old));
                if moved_itself {
                    moves.push(CommitOp::Move {
                        from: full(&cur.path)?,
                        to: full(&old.path)?,
                        oid: cur.oid.clone(),
                        base_rev: cur.rev,
                        props: None,
                        hash: None,
                    });
                }
                if cur.hash != old.hash || cur.props != old.props {
                    // Named where it is now: the store checks every
                    // operation against the tree before the commit.
                    modifies.push(CommitOp::Modify {
                        path: full(&cur.path)?,
                        oid: cur.oid.clone(),
                        base_rev: cur.rev,
                        props: Some(old.props.clone()),
                        hash: old.hash,
                    });
                }
            }
        }
    }
    Ok(deletes
        .into_iter()
        .chain(moves)
        .chain(modifies)
        .chain(adds)
        .collect())
}

pub async fn restore<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, form }: Action<RestoreForm>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Editor, "restore")?;
    let store = &state.server.store;
    let then = tree(store, &path, Some(form.rev)).await?.entries;
    let now = match store.manifest(&path).await {
        Ok(m) => m.entries,
        Err(StoreError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if now.first().is_some_and(|r| r.oid != then[0].oid) {
        return Err(WebError::BadRequest(format!(
            "{} is another object now than at revision {}; delete or rename it first.",
            shown(&path),
            form.rev
        )));
    }
    let ops = restore_ops(&path, &then, &now)?;
    if ops.is_empty() {
        return Err(WebError::BadRequest(format!(
            "{} is already as it was at revision {}.",
            shown(&path),
            form.rev
        )));
    }
    let rev = commit(
        &state,
        &session,
        &form.message,
        || format!("Restore {} as of revision {}", shown(&path), form.rev),
        ops,
    )
    .await?;
    Ok(done(&path, rev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_properties_parse() {
        let p = parse_custom("a = 1\n\n b=two words \n").unwrap();
        assert_eq!(p.get("a").map(String::as_str), Some("1"));
        assert_eq!(p.get("b").map(String::as_str), Some("two words"));
        assert!(parse_custom("no equals sign").is_err());
        assert!(parse_custom("bad key = 1").is_err());
    }

    #[test]
    fn textarea_line_ends_follow_the_file() {
        assert_eq!(line_ends("a\r\nb\r\n", None), b"a\nb\n");
        assert_eq!(line_ends("a\r\nb\r\n", Some(b"x\r\n")), b"a\r\nb\r\n");
    }
}

/// A form with nothing but the CSRF token (checked by [`Action`]).
#[derive(Deserialize)]
pub struct EmptyForm {}

/// Breaks the lock on an object (Manager), as `zsync unlock --force` does.
pub async fn break_lock<S: Store>(
    State(state): State<WebState<S>>,
    raw: Option<Path<String>>,
    Action { session, .. }: Action<EmptyForm>,
) -> Result<Response, WebError> {
    let path = path_of(raw)?;
    session.require(&path, Role::Manager, "break the lock on")?;
    let broken = state
        .server
        .store
        .unlock(std::slice::from_ref(&path), None)
        .await?;
    if broken.is_empty() {
        return Err(WebError::NotFound(format!(
            "{} is not locked (any more).",
            shown(&path)
        )));
    }
    tracing::info!(user = %session.caller.name, path = %path, "lock broken in the web UI");
    Ok(Redirect::to(&text::url("browse", &path)).into_response())
}
