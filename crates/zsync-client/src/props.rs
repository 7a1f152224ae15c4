//! Properties of versioned items: `propset`, `propget`, `propdel`,
//! `proplist`. Changes are local until committed and merge key by key on
//! update.

use std::path::PathBuf;

use zsync_model::{Props, RepoPath};

use crate::error::{ClientError, Result};
use crate::index::{PropClash, Schedule};
use crate::schedule::open_for;
use crate::session::Context;
use crate::ui::Notification;

/// Checks a property name: 1 to 255 characters, no white space or
/// control characters. A `ns:` prefix makes it an annotation.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(':')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ClientError::refused(
            format!("property {name:?}"),
            "a property name is 1 to 255 characters without spaces or control characters",
        ))
    }
}

/// Sets (`Some`) or deletes (`None`) a property on every path.
pub fn set(ctx: &Context, name: &str, value: Option<&str>, paths: &[PathBuf]) -> Result<()> {
    validate_name(name)?;
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
        entry.new_props = if entry.schedule == Schedule::Add || props != entry.props {
            Some(props)
        } else {
            None
        };
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
