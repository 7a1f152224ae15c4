//! Properties of versioned items: `propset`, `propget`, `propdel`,
//! `proplist`, `propedit`. Changes are local until committed and merge key
//! by key on update.

use std::path::{Path, PathBuf};

use zsync_model::{Kind, Props, RepoPath};

use crate::error::{ClientError, Result};
use crate::index::{Entry, PropClash, Schedule};
use crate::schedule::open_for;
use crate::session::Context;
use crate::ui::Notification;

mod view;
pub use view::{PropView, READ_ONLY_TABLE, ViewError, parse_toml_view, render_toml_view};

/// The names the server derives from the body for this kind: never set
/// by users.
fn read_only_names(ctx: &Context, kind: &Kind) -> &'static [&'static str] {
    ctx.registry.get(kind).map_or(&[], |t| t.read_only_props())
}

fn read_only_refusal(shown: &str, name: &str) -> ClientError {
    ClientError::refused(
        shown,
        format!("property {name:?} is read-only: the server derives it from the body"),
    )
}

/// Checks a property name ([`zsync_model::prop_name_problem`]).
pub fn validate_name(name: &str) -> Result<()> {
    match zsync_model::prop_name_problem(name) {
        None => Ok(()),
        Some(why) => Err(ClientError::refused(format!("property {name:?}"), why)),
    }
}

/// Checks a property value ([`zsync_model::prop_value_problem`]).
pub fn validate_value(name: &str, value: &str) -> Result<()> {
    match zsync_model::prop_value_problem(value) {
        None => Ok(()),
        Some(why) => Err(ClientError::refused(format!("property {name:?}"), why)),
    }
}

/// Sets (`Some`) or deletes (`None`) a property on every path.
pub fn set(ctx: &Context, name: &str, value: Option<&str>, paths: &[PathBuf]) -> Result<()> {
    validate_name(name)?;
    if let Some(v) = value {
        validate_value(name, v)?;
    }
    let (mut wc, targets) = open_for(ctx, paths)?;
    for (abs, rel) in &targets {
        let entry = wc.index.entries.get(rel.as_str()).ok_or_else(|| {
            ClientError::refused(ctx.display(abs), "is not under version control")
        })?;
        if entry.schedule == Schedule::Delete {
            return Err(ClientError::refused(
                ctx.display(abs),
                "is scheduled for deletion",
            ));
        }
        if read_only_names(ctx, &entry.kind).contains(&name) {
            return Err(read_only_refusal(&ctx.display(abs), name));
        }
        if value.is_none() && !entry.working_props().contains_key(name) {
            return Err(ClientError::refused(
                ctx.display(abs),
                format!("has no property {name:?}"),
            ));
        }
    }
    for (abs, rel) in &targets {
        let Some(entry) = wc.index.entries.get_mut(rel.as_str()) else {
            continue;
        };
        let mut props = entry.working_props().clone();
        match value {
            Some(v) => props.insert(name.to_owned(), v.to_owned()),
            None => props.remove(name),
        };
        entry.new_props = if entry.schedule == Schedule::Add || props != *entry.props {
            Some(props)
        } else {
            None
        };
        if name == crate::locks::NEEDS_LOCK {
            crate::locks::fit_permissions(&mut wc, rel.as_str())?;
        }
        let action = if value.is_some() { "set" } else { "deleted" };
        ctx.ui.notify(Notification::Text(format!(
            "property '{name}' {action} on '{}'\n",
            ctx.display(abs)
        )));
    }
    wc.save()
}

/// One item's properties as the user sees them, and any in conflict.
pub struct PropList {
    pub path: RepoPath,
    pub shown: String,
    pub props: Props,
    pub conflicts: Vec<(String, PropClash)>,
}

pub fn list(ctx: &Context, paths: &[PathBuf]) -> Result<Vec<PropList>> {
    let (wc, targets) = open_for(ctx, paths)?;
    let mut out = Vec::new();
    for (abs, rel) in targets {
        let entry = wc.index.entries.get(rel.as_str()).ok_or_else(|| {
            ClientError::refused(ctx.display(&abs), "is not under version control")
        })?;
        out.push(PropList {
            shown: ctx.display(&abs),
            path: rel,
            props: entry.working_props().clone(),
            conflicts: entry
                .prop_conflicts
                .iter()
                .map(|(k, c)| (k.clone(), c.clone()))
                .collect(),
        });
    }
    Ok(out)
}

/// What `propedit` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Edited {
    /// The user left the properties as they were.
    Unchanged,
    /// Properties set (new or changed) and deleted.
    Changed {
        set: Vec<String>,
        deleted: Vec<String>,
    },
}

/// `zsync propedit PATH`: opens the user's editor (through the `Ui`) on a
/// TOML view of the item's properties and schedules what changed, as
/// `propset`/`propdel` would. Nothing is applied if the text is not valid
/// or touches a read-only property; the edited text is then kept in a temp
/// file that the error names.
pub fn edit(ctx: &Context, path: &Path) -> Result<Edited> {
    let (mut wc, targets) = open_for(ctx, &[path.to_path_buf()])?;
    let Some((abs, rel)) = targets.into_iter().next() else {
        return Err(ClientError::refused(".", "no targets given"));
    };
    let shown = ctx.display(&abs);
    let entry = wc
        .index
        .entries
        .get(rel.as_str())
        .ok_or_else(|| ClientError::refused(&shown, "is not under version control"))?;
    if entry.schedule == Schedule::Delete {
        return Err(ClientError::refused(&shown, "is scheduled for deletion"));
    }
    if entry.working_props().contains_key(READ_ONLY_TABLE) {
        return Err(ClientError::refused(
            &shown,
            format!(
                "has a property named {READ_ONLY_TABLE:?}, which propedit cannot show; use propset and propdel"
            ),
        ));
    }
    let before = view_of(ctx, entry, &abs);
    let text = render_toml_view(&shown, &before);
    let mut file = tempfile::Builder::new()
        .prefix("zsync-props-")
        .suffix(".toml")
        .tempfile()
        .map_err(ClientError::io(std::env::temp_dir()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(ClientError::io(file.path()))?;
    if !ctx.ui.edit(file.path()) {
        return Err(ClientError::refused(
            &shown,
            "the editor could not be run or failed (set $VISUAL or $EDITOR); nothing was changed",
        ));
    }
    let edited = std::fs::read(file.path()).map_err(ClientError::io(file.path()))?;
    if edited == text.as_bytes() {
        return Ok(Edited::Unchanged);
    }
    // From here on, a refusal keeps the user's text for another try.
    let keep = |reason: String| -> ClientError {
        let kept = match file.keep() {
            Ok((_, p)) => p.display().to_string(),
            Err(e) => format!("(not kept: {e})"),
        };
        ClientError::refused(
            &shown,
            format!("{reason}; nothing was changed, and your text is kept in {kept}"),
        )
    };
    let after = match String::from_utf8(edited) {
        Ok(t) => match parse_toml_view(&t) {
            Ok(v) => v,
            Err(e) => return Err(keep(format!("the edited properties are not valid: {e}"))),
        },
        Err(_) => return Err(keep("the edited properties are not UTF-8".into())),
    };
    for (name, value) in &after.props {
        if let Err(e) = validate_value(name, value) {
            return Err(keep(e.to_string()));
        }
    }
    let read_only = read_only_names(ctx, &entry.kind);
    let mut problems: Vec<String> = Vec::new();
    for name in after.props.keys() {
        let shown_apart = before.read_only.contains_key(name) && !before.props.contains_key(name);
        if read_only.contains(&name.as_str()) || shown_apart {
            problems.push(format!("{name:?} is read-only (derived from the body)"));
        }
    }
    // Dropping the shown derived values is harmless; changing one is not.
    for (name, value) in &after.read_only {
        if before.read_only.get(name) != Some(value) {
            problems.push(format!(
                "{name:?} is read-only (derived from the body): it stays {}",
                before.read_only.get(name).map_or("unset", String::as_str)
            ));
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(keep(format!(
            "read-only properties cannot be edited: {}",
            problems.join("; ")
        )));
    }
    if after.props == before.props {
        return Ok(Edited::Unchanged);
    }
    let set: Vec<String> = after
        .props
        .iter()
        .filter(|(k, v)| before.props.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    let deleted: Vec<String> = before
        .props
        .keys()
        .filter(|k| !after.props.contains_key(*k))
        .cloned()
        .collect();
    let Some(entry) = wc.index.entries.get_mut(rel.as_str()) else {
        return Err(ClientError::refused(&shown, "is not under version control"));
    };
    // Derived properties stay as they were; the server recomputes them.
    let mut props = after.props;
    for (k, v) in entry.working_props() {
        if read_only.contains(&k.as_str()) {
            props.insert(k.clone(), v.clone());
        }
    }
    entry.new_props = if entry.schedule == Schedule::Add || props != *entry.props {
        Some(props)
    } else {
        None
    };
    crate::locks::fit_permissions(&mut wc, rel.as_str())?;
    wc.save()?;
    for name in &set {
        ctx.ui.notify(Notification::Text(format!(
            "property '{name}' set on '{shown}'\n"
        )));
    }
    for name in &deleted {
        ctx.ui.notify(Notification::Text(format!(
            "property '{name}' deleted from '{shown}'\n"
        )));
    }
    Ok(Edited::Changed { set, deleted })
}

/// The view `propedit` shows: the working properties, the derived ones
/// (and a file's size) apart.
fn view_of(ctx: &Context, entry: &Entry, abs: &Path) -> PropView {
    let read_only = read_only_names(ctx, &entry.kind);
    let mut view = PropView::default();
    for (k, v) in entry.working_props() {
        if read_only.contains(&k.as_str()) {
            view.read_only.insert(k.clone(), v.clone());
        } else {
            view.props.insert(k.clone(), v.clone());
        }
    }
    if !entry.is_folder()
        && let Ok(meta) = std::fs::metadata(abs)
    {
        view.read_only.insert("size".into(), meta.len().to_string());
    }
    view
}
