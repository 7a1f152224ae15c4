//! How results and errors are printed.

use zsync_client::ClientError;
use zsync_client::status::StatusItem;

pub fn print_error(e: &anyhow::Error) {
    let mut text = format!("zsync: {e}");
    let mut hint = None;
    if let Some(client) = e.downcast_ref::<ClientError>() {
        match client {
            ClientError::Stale { paths } => {
                text.push(':');
                for p in paths {
                    text.push_str(&format!("\n  {p}"));
                }
            }
            ClientError::Invalid { problems }
            | ClientError::ForbiddenPaths { problems, .. }
            | ClientError::LockedPaths { problems, .. } => {
                text.push(':');
                for p in problems {
                    text.push_str(&format!("\n  {p}"));
                }
            }
            _ => {}
        }
        hint = client.hint();
    }
    for cause in e.chain().skip(1) {
        text.push_str(&format!(": {cause}"));
    }
    eprintln!("{text}");
    if let Some(h) = hint {
        eprintln!("zsync: {h}");
    }
}

/// One `status` line in svn's layout: seven status columns, then the path;
/// with `verbose`, the working and last-changed revisions and the author;
/// with `updates` (`-u`), column 9 (`*`: newer on the server) and the
/// working revision.
pub fn status_line(item: &StatusItem, shown: &str, verbose: bool, updates: bool) -> String {
    let cols = format!(
        "{}{} {} {}{}",
        item.text,
        item.props,
        if item.copied { '+' } else { ' ' },
        item.lock,
        if item.tree_conflict { 'C' } else { ' ' }
    );
    let star = if item.out_of_date { '*' } else { ' ' };
    if !verbose {
        if updates {
            let wrev = item.working_rev.map(|w| w.to_string()).unwrap_or_default();
            return format!("{cols} {star}   {wrev:>6}   {shown}");
        }
        return format!("{cols} {shown}");
    }
    let (rev, author) = match (&item.base, item.working_rev) {
        (Some((rev, _, author)), Some(_)) => (rev.to_string(), author.as_str()),
        (Some(_), None) => ("-".to_string(), ""),
        _ => (String::new(), ""),
    };
    let wrev = match (item.working_rev, &item.base) {
        (Some(w), _) => w.to_string(),
        (None, Some(_)) => "-".to_string(),
        (None, None) => String::new(),
    };
    format!("{cols} {star}   {wrev:>6}   {rev:>6} {author:<12} {shown}")
}

/// A diff with colour: removed lines red, added green, hunk headers cyan,
/// `Index:` lines bold (only when the config and `NO_COLOR` allow).
pub fn colored_diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("+++") || body.starts_with("---") || body.starts_with("***")
        {
            "1"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with("@@") || body.starts_with("##") {
            "36"
        } else if body.starts_with("Index: ") {
            "1"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m{end}"));
        }
    }
    out
}

/// One lock: path, owner, since when (UTC), and the comment.
pub fn lock_line(shown: &str, lock: &zsync_format::LockInfo) {
    let when = utc_time(lock.created);
    let comment = lock.comment.lines().next().unwrap_or("");
    println!("{shown}  {}  {when}  {comment}", lock.owner);
}

/// A `log` entry in svn's layout.
pub fn log_entry(entry: &zsync_format::LogEntry, verbose: bool) {
    let rule = "-".repeat(72);
    let when = utc_time(entry.time);
    let lines = entry.message.lines().count();
    println!("{rule}");
    println!(
        "r{} | {} | {} | {} line{}",
        entry.rev,
        entry.user,
        when,
        lines,
        if lines == 1 { "" } else { "s" }
    );
    if verbose {
        println!("Changed paths:");
        for change in &entry.changes {
            match &change.from {
                // svn's layout for a copy source; a move keeps its oid.
                Some(from) => println!("   {:?} /{} (from /{})", change.action, change.path, from),
                None => println!("   {:?} /{}", change.action, change.path),
            }
        }
    }
    println!();
    println!("{}", entry.message);
}

/// `zsync info` for one item, in svn's layout.
pub fn info(info: &zsync_client::info::Info) {
    use zsync_client::index::{Conflict, Schedule};
    let e = &info.entry;
    println!("Path: {}", info.shown);
    println!("Working Copy Root Path: {}", info.wc_root);
    println!("URL: {}", info.url);
    println!("Kind: {}", e.kind);
    if let Some(oid) = &e.oid {
        println!("Object ID: {oid}");
    }
    let schedule = match e.schedule {
        Schedule::Normal => "normal",
        Schedule::Add => "add",
        Schedule::Delete => "delete",
    };
    println!("Schedule: {schedule}");
    // svn's "Copied From URL"/"Copied From Rev", as one PATH@REV.
    if let Some(from) = e.working_props().get(zsync_client::copy::COPIED_FROM) {
        println!("Copied From: {from}");
    }
    if e.oid.is_some() {
        println!("Revision: {}", info.wc_rev.max(e.rev));
        println!("Last Changed Author: {}", e.author);
        println!("Last Changed Rev: {}", e.rev);
    }
    match e.conflict.as_deref() {
        Some(Conflict::Text { mine, old, new, .. }) => {
            println!("Conflict Previous Base File: {old}");
            println!("Conflict Previous Working File: {mine}");
            println!("Conflict Current Base File: {new}");
        }
        Some(Conflict::Binary { new, .. }) => {
            println!("Conflict Current Base File: {new}");
        }
        Some(Conflict::Tree { reason, .. }) => println!("Tree conflict: {reason}"),
        None => {}
    }
    for name in e.prop_conflicts.keys() {
        println!("Property conflict: {name}");
    }
    println!();
}

/// `zsync proplist` for one item.
pub fn proplist(list: &zsync_client::props::PropList, verbose: bool) {
    println!("Properties on '{}':", list.shown);
    for (name, value) in &list.props {
        if verbose {
            println!("  {name}");
            println!("    {value}");
        } else {
            println!("  {name}");
        }
    }
    if verbose {
        for (name, clash) in &list.conflicts {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
            println!("Property conflict on '{name}':");
            println!("  base:   {}", show(&clash.base));
            println!("  mine:   {}", show(&clash.mine));
            println!("  theirs: {}", show(&clash.theirs));
        }
    }
}

/// `--json` documents: one per command on stdout, with the field names
/// documented in docs/json.md (a change there is a change of interface).
pub mod json {
    use serde_json::{Value, json};
    use zsync_client::Notification;
    use zsync_client::index::{Conflict, Schedule};
    use zsync_client::status::StatusItem;
    use zsync_client::watch::WatchEvent;

    fn item_word(c: char) -> &'static str {
        match c {
            ' ' => "normal",
            'A' => "added",
            'D' => "deleted",
            'M' => "modified",
            'R' => "replaced",
            'C' => "conflicted",
            '?' => "unversioned",
            '!' => "missing",
            '~' => "obstructed",
            'I' => "ignored",
            _ => "unknown",
        }
    }

    fn props_word(c: char) -> &'static str {
        match c {
            'M' => "modified",
            'C' => "conflicted",
            _ => "none",
        }
    }

    fn conflict(c: Option<&Conflict>) -> Value {
        match c {
            None => Value::Null,
            Some(Conflict::Text { mine, old, new, .. }) => {
                json!({"kind": "text", "mine": mine, "old": old, "new": new})
            }
            Some(Conflict::Binary { new, .. }) => json!({"kind": "binary", "new": new}),
            Some(Conflict::Tree { reason, .. }) => json!({"kind": "tree", "reason": reason}),
        }
    }

    pub fn status_item(
        item: &StatusItem,
        shown: &str,
        display: impl Fn(&std::path::Path) -> String,
    ) -> Value {
        // An item not yet committed has a kind but no last change.
        let (last_rev, kind, author) = match (&item.base, item.working_rev) {
            (Some((rev, kind, author)), Some(_)) => {
                (json!(rev), json!(kind.to_string()), json!(author))
            }
            (Some((_, kind, _)), None) => (Value::Null, json!(kind.to_string()), Value::Null),
            (None, _) => (Value::Null, Value::Null, Value::Null),
        };
        json!({
            "path": shown,
            "item": item_word(item.text),
            "props": props_word(item.props),
            "tree_conflict": item.tree_conflict,
            "lock": if item.lock == ' ' { Value::Null } else { json!(item.lock.to_string()) },
            "copied": item.copied,
            "out_of_date": item.out_of_date,
            "kind": kind,
            "working_rev": item.working_rev,
            "last_changed_rev": last_rev,
            "last_changed_author": author,
            "moved_from": item.moved_from.as_deref().map(&display),
            "moved_to": item.moved_to.as_deref().map(&display),
            "conflict": conflict(item.conflict.as_ref()),
        })
    }

    pub fn info(info: &zsync_client::info::Info) -> Value {
        let e = &info.entry;
        let committed = e.oid.is_some();
        json!({
            "path": info.shown,
            "working_copy_root": info.wc_root,
            "url": info.url,
            "kind": e.kind.to_string(),
            "oid": e.oid.as_ref().map(ToString::to_string),
            "schedule": match e.schedule {
                Schedule::Normal => "normal",
                Schedule::Add => "add",
                Schedule::Delete => "delete",
            },
            "copied_from": e.working_props().get(zsync_client::copy::COPIED_FROM),
            "revision": committed.then(|| info.wc_rev.max(e.rev)),
            "last_changed_rev": committed.then_some(e.rev),
            "last_changed_author": committed.then_some(&e.author),
            "conflict": conflict(e.conflict.as_deref()),
            "property_conflicts": e.prop_conflicts.keys().collect::<Vec<_>>(),
        })
    }

    pub fn proplist(list: &zsync_client::props::PropList) -> Value {
        let conflicts: serde_json::Map<String, Value> = list
            .conflicts
            .iter()
            .map(|(name, c)| {
                (
                    name.clone(),
                    json!({"base": c.base, "mine": c.mine, "theirs": c.theirs}),
                )
            })
            .collect();
        json!({
            "path": list.shown,
            "properties": list.props,
            "conflicts": conflicts,
        })
    }

    pub fn lock(listed: &zsync_client::locks::ListedLock) -> Value {
        let l = &listed.lock;
        json!({
            "path": listed.shown,
            "server_path": l.path.as_str(),
            "oid": l.oid.to_string(),
            "owner": l.owner,
            "created": l.created,
            "comment": l.comment,
            "here": listed.here,
        })
    }

    /// What a command reported while it ran (update's `U path`, commit's
    /// `Sending path`, ...).
    pub fn notes(notes: Vec<Notification>) -> Vec<Value> {
        notes
            .into_iter()
            .map(|n| match n {
                Notification::Update { columns, path } => {
                    json!({"columns": columns, "path": path})
                }
                Notification::Schedule { action, path } => json!({"action": action, "path": path}),
                Notification::Commit { action, path } => json!({"action": action, "path": path}),
                Notification::Lock { path, user, locked } => json!({
                    "action": if locked { "locked" } else { "unlocked" },
                    "path": path,
                    "user": user,
                }),
                Notification::Text(text) | Notification::Warning(text) => {
                    json!({"message": text.trim_end()})
                }
                Notification::Watch(event) => watch_event(&event),
            })
            .collect()
    }

    /// What `zsync watch` did, as one object with an `event` name.
    fn watch_event(event: &WatchEvent) -> Value {
        match event {
            WatchEvent::Started { root, rev } => {
                json!({"event": "started", "path": root, "revision": rev})
            }
            WatchEvent::Committed { rev, message } => {
                json!({"event": "committed", "revision": rev, "message": message})
            }
            WatchEvent::Updated { rev } => json!({"event": "updated", "revision": rev}),
            WatchEvent::Conflict { path } => json!({"event": "conflict", "path": path}),
            WatchEvent::Resumed { path } => json!({"event": "resumed", "path": path}),
            WatchEvent::Stopped { root } => json!({"event": "stopped", "path": root}),
        }
    }

    /// Prints one document, pretty, with a final newline.
    pub fn print(value: &Value) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(value)?);
        Ok(())
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS +0000` (empty if out of range).
fn utc_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] +0000"
            ))
            .ok()
        })
        .unwrap_or_default()
}
