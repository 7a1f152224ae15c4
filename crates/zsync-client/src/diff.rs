//! `zsync diff`: unified diffs of local changes against the base, offline.

use zsync_model::Props;

use crate::error::Result;
use crate::fsutil;
use crate::index::Schedule;
use crate::session::{Context, Target};
use crate::status::{LocalState, local_state, parse_key};
use crate::wc::WorkingCopy;

const RULE: &str = "===================================================================";

/// The diff of every changed item under the target, in svn's layout.
pub fn diff(ctx: &Context, target: &Target, context: usize) -> Result<String> {
    let wc = WorkingCopy::open(&target.root)?;
    let mut out = String::new();
    for (key, entry) in &wc.index.entries {
        let rel = parse_key(&wc, key)?;
        if !target.paths.iter().any(|t| t.contains(&rel)) {
            continue;
        }
        let shown = ctx.display(&wc.abs(&rel));
        if !entry.is_folder() {
            let (state, _) = local_state(&wc, &rel, entry)?;
            let base_label = format!("{shown}\t(revision {})", entry.rev);
            let work_label = format!("{shown}\t(working copy)");
            let texts = match entry.schedule {
                Schedule::Add if state != LocalState::Missing => Some((
                    Vec::new(),
                    fsutil::read(&wc.abs(&rel))?,
                    format!("{shown}\t(nonexistent)"),
                )),
                Schedule::Delete => entry
                    .hash
                    .map(|h| {
                        wc.pristine
                            .read(&h)
                            .map(|old| (old, Vec::new(), base_label.clone()))
                    })
                    .transpose()?,
                Schedule::Normal if state == LocalState::Modified => entry
                    .hash
                    .map(|h| -> Result<_> {
                        Ok((
                            wc.pristine.read(&h)?,
                            fsutil::read(&wc.abs(&rel))?,
                            base_label.clone(),
                        ))
                    })
                    .transpose()?,
                _ => None,
            };
            if let Some((old, new, old_label)) = texts {
                out.push_str(&format!("Index: {shown}\n{RULE}\n"));
                if zsync_merge::is_binary(&old) || zsync_merge::is_binary(&new) {
                    out.push_str(&format!(
                        "Binary files {shown} (revision {}) and {shown} (working copy) differ\n",
                        entry.rev
                    ));
                } else {
                    out.push_str(&zsync_merge::unified_diff(
                        &old,
                        &new,
                        &old_label,
                        &work_label,
                        context,
                    ));
                }
            }
        }
        let (old, new) = match entry.schedule {
            Schedule::Add => (Props::new(), entry.working_props().clone()),
            Schedule::Normal if entry.props_modified() => {
                (entry.props.clone(), entry.working_props().clone())
            }
            _ => continue,
        };
        if old != new && !(entry.schedule == Schedule::Add) {
            out.push_str(&props_diff(&shown, &old, &new));
        }
    }
    Ok(out)
}

/// Property changes in svn's style.
fn props_diff(shown: &str, old: &Props, new: &Props) -> String {
    let mut out = format!(
        "\nProperty changes on: {shown}\n___________________________________________________________________\n"
    );
    let keys: std::collections::BTreeSet<_> = old.keys().chain(new.keys()).collect();
    for key in keys {
        match (old.get(key), new.get(key)) {
            (None, Some(v)) => out.push_str(&format!("Added: {key}\n## -0,0 +1 ##\n+{v}\n")),
            (Some(v), None) => out.push_str(&format!("Deleted: {key}\n## -1 +0,0 ##\n-{v}\n")),
            (Some(a), Some(b)) if a != b => {
                out.push_str(&format!("Modified: {key}\n## -1 +1 ##\n-{a}\n+{b}\n"))
            }
            _ => {}
        }
    }
    out
}
