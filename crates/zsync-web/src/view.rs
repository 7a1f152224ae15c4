//! The pages' templates (askama, in `templates/`) and what they show.
//! Everything is computed in Rust; the templates only lay it out, and
//! askama escapes every value.

use askama::Template;
use zsync_model::RepoPath;

use crate::PREFIX;
use crate::diff::TextDiff;
use crate::text::{encode_path, url};

/// What every page shows around its content.
pub struct Page {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    pub manager: bool,
    /// A success message ("Saved as revision 7.").
    pub notice: Option<String>,
}

impl Page {
    pub fn anonymous(title: &str) -> Page {
        Page {
            title: title.to_owned(),
            user: None,
            csrf: String::new(),
            manager: false,
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Page {
        self.notice = notice;
        self
    }
}

/// One step of the breadcrumbs.
pub struct Crumb {
    pub name: String,
    pub url: String,
}

pub fn crumbs(path: &RepoPath) -> Vec<Crumb> {
    let mut out = vec![Crumb {
        name: "Home".into(),
        url: format!("{PREFIX}/browse/"),
    }];
    let mut at = String::new();
    for part in path.components() {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        out.push(Crumb {
            name: part.to_owned(),
            url: format!("{PREFIX}/browse/{}", encode_path(&at)),
        });
    }
    out
}

/// The URLs of one object's pages.
pub struct Links {
    pub browse: String,
    pub raw: String,
    pub history: String,
    pub edit: String,
    pub props: String,
    pub mkdir: String,
    pub newdoc: String,
    pub upload: String,
    pub move_to: String,
    pub copy_to: String,
    pub delete: String,
    pub restore: String,
    pub diff: String,
    pub unlock: String,
}

impl Links {
    pub fn of(path: &RepoPath) -> Links {
        Links {
            browse: url("browse", path),
            raw: url("raw", path),
            history: url("history", path),
            edit: url("edit", path),
            props: url("props", path),
            mkdir: url("mkdir", path),
            newdoc: url("newdoc", path),
            upload: url("upload", path),
            move_to: url("move", path),
            copy_to: url("copy", path),
            delete: url("delete", path),
            restore: url("restore", path),
            diff: url("diff", path),
            unlock: url("unlock", path),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: Page,
    pub status: u16,
    pub message: String,
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub page: Page,
    pub next: String,
    pub nonce: String,
    pub user: String,
    pub error: Option<String>,
}

/// One child in a folder listing.
pub struct Row {
    pub name: String,
    pub url: String,
    pub kind: String,
    pub icon: &'static str,
    pub size: String,
    pub rev: u64,
    pub author: String,
    pub when: String,
}

/// A sortable column header.
pub struct Column {
    pub label: &'static str,
    pub url: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub sort: &'static str,
}

#[derive(Template)]
#[template(path = "folder.html")]
pub struct FolderPage {
    pub page: Page,
    pub crumbs: Vec<Crumb>,
    pub shown: String,
    pub links: Links,
    /// Viewing an old state: its revision.
    pub at_rev: Option<u64>,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub omitted: u64,
    pub can_edit: bool,
    pub is_root: bool,
    pub rev: u64,
    pub title: String,
}

#[derive(Template)]
#[template(path = "object.html")]
pub struct ObjectPage {
    pub page: Page,
    pub crumbs: Vec<Crumb>,
    pub shown: String,
    pub name: String,
    pub links: Links,
    pub at_rev: Option<u64>,
    pub kind: String,
    pub icon: &'static str,
    pub size: String,
    pub rev: u64,
    pub author: String,
    pub props: Vec<(String, String)>,
    /// Custom properties as `key = value` lines, for the form.
    pub custom: String,
    pub title: String,
    pub content_type: String,
    pub text: Option<String>,
    pub image: bool,
    pub raw_url: String,
    pub can_edit: bool,
    /// The object's lock, if it is locked.
    pub lock: Option<LockView>,
    /// The user may break the lock (Manager here).
    pub can_break: bool,
}

/// A lock as the object page shows it.
pub struct LockView {
    pub owner: String,
    pub since: String,
    pub comment: String,
}

#[derive(Template)]
#[template(path = "edit.html")]
pub struct EditPage {
    pub page: Page,
    pub crumbs: Vec<Crumb>,
    pub shown: String,
    pub links: Links,
    pub base_rev: u64,
    pub text: String,
    pub message: String,
    /// Set when a save was refused.
    pub error: Option<String>,
    pub problems: Vec<String>,
    /// What changed since the editor was opened (a stale save).
    pub theirs: Option<TextDiff>,
    /// The refused text against the newest one.
    pub mine: Option<TextDiff>,
}

/// One revision in a history.
pub struct LogRow {
    pub rev: u64,
    pub when: String,
    pub user: String,
    pub message: String,
    pub changes: Vec<String>,
    pub view: String,
    pub checked_from: bool,
    pub checked_to: bool,
}

#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub page: Page,
    pub crumbs: Vec<Crumb>,
    pub shown: String,
    pub links: Links,
    pub rows: Vec<LogRow>,
    pub can_edit: bool,
}

/// The difference in one object between two revisions.
pub struct FileDiff {
    pub path: String,
    /// `added`, `removed`, `changed`, `moved`.
    pub status: String,
    pub props: Vec<String>,
    pub note: Option<String>,
    pub text: Option<TextDiff>,
}

#[derive(Template)]
#[template(path = "diff.html")]
pub struct DiffPage {
    pub page: Page,
    pub crumbs: Vec<Crumb>,
    pub shown: String,
    pub links: Links,
    pub from: u64,
    pub to: u64,
    pub side: bool,
    pub unified_url: String,
    pub side_url: String,
    pub files: Vec<FileDiff>,
}

#[derive(Template)]
#[template(path = "delete.html")]
pub struct DeletePage {
    pub page: Page,
    pub crumbs: Vec<Crumb>,
    pub shown: String,
    pub links: Links,
    pub head: u64,
    pub count: usize,
    pub is_folder: bool,
}

pub struct UserRow {
    pub name: String,
    pub role: String,
    pub disabled: bool,
}

pub struct GrantRow {
    pub user: String,
    pub path: String,
    pub role: String,
}

pub struct KeyRow {
    pub user: String,
    pub fingerprint: String,
    pub added: String,
}

pub struct SessionRow {
    pub user: String,
    /// The start of the token's hash: enough to tell sessions apart.
    pub id: String,
    pub hash: String,
    pub created: String,
    pub expires: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub page: Page,
    pub users: Vec<UserRow>,
    pub grants: Vec<GrantRow>,
    pub keys: Vec<KeyRow>,
    pub sessions: Vec<SessionRow>,
    pub tokens: Vec<SessionRow>,
}

/// The symbol shown for a kind (decorative: the kind is also written).
pub fn icon(kind: &str) -> &'static str {
    match kind {
        "folder" => "📁",
        "document" => "📄",
        "image" => "🖼",
        _ => "📦",
    }
}
