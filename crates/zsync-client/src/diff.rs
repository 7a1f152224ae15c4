//! `zsync diff`: what changed, in svn's layout, between two of the three
//! versions of each item: its base (what the server had at the last
//! update, kept in the pristine store), the working copy, and the server's
//! newest version.
//!
//! - `-1` (default): base → working copy. Offline.
//! - `-2`: server's newest → working copy. Fetches the subtree's manifest
//!   and the bodies the pristine store lacks.
//! - `-3`: base → server's newest, i.e. what the next update brings in.
//!
//! Files added on one side only are shown in full against `(nonexistent)`,
//! as svn does, and so are files scheduled for deletion. `-N` (GNU's
//! `--new-file`) additionally treats working files that are missing from
//! disk (status `!`) as empty, so they show as all-removed instead of being
//! skipped.

use std::collections::{BTreeMap, BTreeSet};

use zsync_format::ManifestEntry;
use zsync_format::archive::ArchiveReader;
use zsync_model::{BodyHash, Props, RepoPath};

use crate::checkout::receive_bodies;
use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::index::{Entry, Schedule};
use crate::session::{Context, Target};
use crate::status::{LocalState, local_state, parse_key};
use crate::transport::Transport;
use crate::wc::WorkingCopy;

/// GNU's comparison options (`-U N`, `-b`, `-B`, `-i`) for text bodies.
pub use zsync_merge::DiffOptions as TextOptions;

const RULE: &str = "===================================================================";
const PROPS_RULE: &str = "___________________________________________________________________";

/// Which two versions of each item to compare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiffMode {
    /// `-1`: base → working copy (offline).
    #[default]
    BaseToWorking,
    /// `-2`: server's newest → working copy.
    ServerToWorking,
    /// `-3`: base → server's newest.
    BaseToServer,
}

impl DiffMode {
    fn online(self) -> bool {
        self != DiffMode::BaseToWorking
    }
}

/// The printed format of text changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiffFormat {
    /// `diff -u` (`-U N`).
    #[default]
    Unified,
    /// `diff -c` (`-C N`).
    Context,
}

/// Everything `zsync diff` can be asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffSettings {
    pub mode: DiffMode,
    pub format: DiffFormat,
    /// Context lines and GNU's `-b`, `-B`, `-i`.
    pub text: TextOptions,
    /// `--brief`: one `Files X and Y differ` line per changed body (and
    /// `Properties of X and Y differ` per item whose properties changed).
    pub brief: bool,
    /// `-N`: missing working files (`!`) count as empty, not as skipped.
    pub new_file: bool,
}

/// The diff of every changed item under the target, in svn's layout, with
/// base → working copy and `context` lines of unified context (`diff -1`).
pub fn diff(ctx: &Context, target: &Target, context: usize) -> Result<String> {
    let settings = DiffSettings {
        text: TextOptions::with_context(context),
        ..DiffSettings::default()
    };
    diff_with(ctx, target, &settings)
}

/// The diff of every changed item under the target, as `settings` asks.
pub fn diff_with(ctx: &Context, target: &Target, settings: &DiffSettings) -> Result<String> {
    let wc = WorkingCopy::open(&target.root)?;
    wc.check_not_interrupted()?;
    let server = if settings.mode.online() {
        Some(server_side(ctx, &wc, target)?)
    } else {
        None
    };

    // Every path on either side, in index order (parents before children).
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for key in wc.index.entries.keys() {
        let rel = parse_key(&wc, key)?;
        if target.paths.iter().any(|t| t.contains(&rel)) {
            keys.insert(key.clone());
        }
    }
    if let Some(server) = &server {
        keys.extend(server.keys().cloned());
    }

    let mut out = String::new();
    for key in &keys {
        let rel = parse_key(&wc, key)?;
        let entry = wc.index.entries.get(key);
        let theirs = server.as_ref().and_then(|s| s.get(key));
        let pair = match settings.mode {
            DiffMode::BaseToWorking => entry
                .map(|e| Ok::<_, ClientError>((base(e), working(&wc, &rel, e, settings)?)))
                .transpose()?,
            DiffMode::ServerToWorking => {
                let new = match entry {
                    Some(e) => working(&wc, &rel, e, settings)?,
                    None => Some(Version::nonexistent()),
                };
                Some((Some(newest(theirs)), new))
            }
            DiffMode::BaseToServer => Some((entry.and_then(base), Some(newest(theirs)))),
        };
        // `None` on the new side: a working file we don't compare (missing
        // without -N, or a folder where a file is versioned).
        let Some((old, Some(new))) = pair else {
            continue;
        };
        let old = old.unwrap_or_else(Version::nonexistent);
        let shown = ctx.display(&wc.abs(&rel));
        let external = ctx.config.diff_cmd.as_deref().filter(|_| !settings.brief);
        render_item(&mut out, &wc, &shown, &old, &new, settings, external)?;
    }
    Ok(out)
}

/// One side of a comparison.
struct Version {
    body: Body,
    props: Props,
    /// What the label says in parentheses: `revision N`, `working copy`,
    /// `nonexistent`.
    tag: String,
}

enum Body {
    /// No body: a folder, or nothing at all.
    None,
    Pristine(BodyHash),
    /// A working file's path, relative to the working copy.
    File(RepoPath),
    /// A working file that is gone from disk, diffed as empty (`-N`).
    Empty,
}

impl Version {
    fn nonexistent() -> Self {
        Version {
            body: Body::None,
            props: Props::new(),
            tag: "nonexistent".into(),
        }
    }
}

/// The base version of an item, if the server had it at the last update.
fn base(entry: &Entry) -> Option<Version> {
    if entry.schedule == Schedule::Add {
        return None;
    }
    Some(Version {
        body: match (&entry.hash, entry.is_folder()) {
            (Some(hash), false) => Body::Pristine(*hash),
            _ => Body::None,
        },
        props: (*entry.props).clone(),
        tag: format!("revision {}", entry.rev),
    })
}

/// The working version of an item; `None` when it is not to be compared.
fn working(
    wc: &WorkingCopy,
    rel: &RepoPath,
    entry: &Entry,
    settings: &DiffSettings,
) -> Result<Option<Version>> {
    if entry.schedule == Schedule::Delete {
        return Ok(Some(Version::nonexistent()));
    }
    let props = entry.working_props().clone();
    let tag = "working copy".to_string();
    if entry.is_folder() {
        return Ok(Some(Version {
            body: Body::None,
            props,
            tag,
        }));
    }
    let (state, _) = local_state(wc, rel, entry)?;
    let body = match state {
        LocalState::Missing if settings.new_file => Body::Empty,
        LocalState::Missing | LocalState::WrongKind => return Ok(None),
        // An unchanged file is its base: compare hashes, read nothing.
        LocalState::Clean => match entry.hash {
            Some(hash) => Body::Pristine(hash),
            None => Body::File(rel.clone()),
        },
        LocalState::Modified => Body::File(rel.clone()),
    };
    Ok(Some(Version { body, props, tag }))
}

/// The server's newest version of an item (nonexistent if it has none).
fn newest(theirs: Option<&ManifestEntry>) -> Version {
    let Some(m) = theirs else {
        return Version::nonexistent();
    };
    Version {
        body: match (&m.hash, m.kind.is_folder()) {
            (Some(hash), false) => Body::Pristine(*hash),
            _ => Body::None,
        },
        props: m.props.clone(),
        tag: format!("revision {}", m.rev),
    }
}

/// The server's newest entries under the target's paths, keyed like the
/// index, with their bodies fetched into the pristine store.
fn server_side(
    ctx: &Context,
    wc: &WorkingCopy,
    target: &Target,
) -> Result<BTreeMap<String, ManifestEntry>> {
    let transport = ctx.connect(&wc.url()?)?;
    let mut out = BTreeMap::new();
    for path in &target.paths {
        let server_path = wc.server_path(path)?;
        let manifest = match transport.manifest(&server_path) {
            Ok(m) => m,
            // A path added here (or deleted there) has nothing on the server.
            Err(ClientError::NotFound { .. }) if !path.is_root() => continue,
            Err(ClientError::NotFound { .. }) => {
                return Err(ClientError::refused(
                    wc.url()?.redacted(),
                    "the working copy's folder no longer exists on the server",
                ));
            }
            Err(e) => return Err(e),
        };
        for m in manifest.entries {
            let rel = path
                .join_path(&m.path)
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            out.insert(rel.to_string(), m);
        }
    }
    let needed: Vec<BodyHash> = out
        .values()
        .filter_map(|m| m.hash)
        .filter(|h| !wc.pristine.contains(h))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !needed.is_empty() {
        // Into the pristine store: content-addressed, so harmless to keep,
        // and the next update will not fetch them again.
        let mut archive = ArchiveReader::new(transport.fetch_bodies(&needed)?)?;
        receive_bodies(&mut archive, wc)?;
    }
    Ok(out)
}

/// Appends one item's text and property changes.
fn render_item(
    out: &mut String,
    wc: &WorkingCopy,
    shown: &str,
    old: &Version,
    new: &Version,
    settings: &DiffSettings,
    external: Option<&str>,
) -> Result<()> {
    let old_name = format!("{shown} ({})", old.tag);
    let new_name = format!("{shown} ({})", new.tag);
    let mut header_done = false;
    let same_body = match (&old.body, &new.body) {
        (Body::None, Body::None) => true,
        (Body::Pristine(a), Body::Pristine(b)) => a == b,
        _ => false,
    };
    if !same_body {
        let old_bytes = read(wc, &old.body)?;
        let new_bytes = read(wc, &new.body)?;
        let binary = zsync_merge::is_binary(&old_bytes) || zsync_merge::is_binary(&new_bytes);
        if settings.brief {
            if (binary && old_bytes != new_bytes)
                || (!binary && zsync_merge::differs(&old_bytes, &new_bytes, &settings.text))
            {
                out.push_str(&format!("Files {old_name} and {new_name} differ\n"));
            }
        } else if binary {
            if old_bytes != new_bytes {
                out.push_str(&format!("Index: {shown}\n{RULE}\n"));
                out.push_str(&format!("Binary files {old_name} and {new_name} differ\n"));
                header_done = true;
            }
        } else {
            let old_label = format!("{shown}\t({})", old.tag);
            let new_label = format!("{shown}\t({})", new.tag);
            let text = match (external, settings.format) {
                (Some(cmd), _) if old_bytes != new_bytes => {
                    let old_file = body_file(wc, &old.body, &old_bytes)?;
                    let new_file = body_file(wc, &new.body, &new_bytes)?;
                    run_diff_cmd(
                        cmd,
                        shown,
                        [&old_label, &new_label],
                        [old_file.path(), new_file.path()],
                    )?
                }
                (Some(_), _) => String::new(),
                (None, format) => match format {
                    DiffFormat::Unified => zsync_merge::unified_diff_with(
                        &old_bytes,
                        &new_bytes,
                        &old_label,
                        &new_label,
                        &settings.text,
                    ),
                    DiffFormat::Context => zsync_merge::context_diff_with(
                        &old_bytes,
                        &new_bytes,
                        &old_label,
                        &new_label,
                        &settings.text,
                    ),
                },
            };
            if !text.is_empty() {
                out.push_str(&format!("Index: {shown}\n{RULE}\n"));
                out.push_str(&text);
                header_done = true;
            }
        }
    }

    if old.props == new.props {
        return Ok(());
    }
    if settings.brief {
        out.push_str(&format!("Properties of {old_name} and {new_name} differ\n"));
        return Ok(());
    }
    if !header_done {
        // svn names both versions even when only properties changed.
        let (first, second) = match settings.format {
            DiffFormat::Unified => ("---", "+++"),
            DiffFormat::Context => ("***", "---"),
        };
        out.push_str(&format!(
            "Index: {shown}\n{RULE}\n{first} {shown}\t({})\n{second} {shown}\t({})\n",
            old.tag, new.tag
        ));
    }
    out.push_str(&props_diff(shown, &old.props, &new.props));
    Ok(())
}

/// A file holding a body, for an external diff command: the working file,
/// a loose base copy, or (for a packed one) a temp file removed when this
/// is dropped.
enum BodyFile {
    At(std::path::PathBuf),
    Temp(tempfile::TempPath),
}

impl BodyFile {
    fn path(&self) -> &std::path::Path {
        match self {
            BodyFile::At(path) => path,
            BodyFile::Temp(temp) => temp,
        }
    }
}

/// The file holding a body whose bytes are `bytes`.
fn body_file(wc: &WorkingCopy, body: &Body, bytes: &[u8]) -> Result<BodyFile> {
    Ok(match body {
        Body::None | Body::Empty => BodyFile::At("/dev/null".into()),
        Body::Pristine(hash) => match wc.pristine.loose_file(hash) {
            Some(path) => BodyFile::At(path),
            None => {
                let tmp = wc.tmp_dir();
                fsutil::create_dir_all(&tmp)?;
                let mut file =
                    tempfile::NamedTempFile::new_in(&tmp).map_err(ClientError::io(&tmp))?;
                std::io::Write::write_all(&mut file, bytes).map_err(ClientError::io(&tmp))?;
                BodyFile::Temp(file.into_temp_path())
            }
        },
        Body::File(rel) => BodyFile::At(wc.abs(rel)),
    })
}

/// Runs the config's `diff-cmd` as svn runs `--diff-cmd`: `CMD -u -L OLD
/// -L NEW OLDFILE NEWFILE` (through `sh`, so CMD may carry options), and
/// returns what it printed. Exit status 0 and 1 (differences) are fine.
fn run_diff_cmd(
    cmd: &str,
    shown: &str,
    labels: [&str; 2],
    files: [&std::path::Path; 2],
) -> Result<String> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{cmd} \"$@\""))
        .arg("sh")
        .args(["-u", "-L", labels[0], "-L", labels[1]])
        .args(files)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            ClientError::refused(shown, format!("cannot run the diff command {cmd:?}: {e}"))
        })?;
    match output.status.code() {
        Some(0 | 1) => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
        _ => Err(ClientError::refused(
            shown,
            format!(
                "the diff command {cmd:?} failed ({}: {}); fix diff-cmd in the config file",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        )),
    }
}

fn read(wc: &WorkingCopy, body: &Body) -> Result<Vec<u8>> {
    match body {
        Body::None | Body::Empty => Ok(Vec::new()),
        Body::Pristine(hash) => wc.pristine.read(hash),
        Body::File(rel) => fsutil::read(&wc.abs(rel)),
    }
}

/// Property changes in svn's layout (1.7 and later): a blank line,
/// `Property changes on: PATH`, a rule, then per key `Added:`, `Modified:`
/// or `Deleted:` and the value's lines as a `## -a +b ##` hunk, with
/// `\ No newline at end of property` after a value lacking one.
pub fn props_diff(shown: &str, old: &Props, new: &Props) -> String {
    let mut out = format!("\nProperty changes on: {shown}\n{PROPS_RULE}\n");
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        let action = match (a, b) {
            (None, Some(_)) => "Added",
            (Some(_), None) => "Deleted",
            (Some(x), Some(y)) if x != y => "Modified",
            _ => continue,
        };
        out.push_str(&format!("{action}: {key}\n"));
        out.push_str(&value_hunks(
            a.map_or("", String::as_str),
            b.map_or("", String::as_str),
        ));
    }
    out
}

/// A property value's change as unified hunks with svn's `##` markers.
fn value_hunks(old: &str, new: &str) -> String {
    let diff = zsync_merge::unified_diff(old.as_bytes(), new.as_bytes(), "", "", 3);
    let mut out = String::new();
    // Skip the `---`/`+++` lines; svn prints no file labels here.
    for line in diff.split_inclusive('\n').skip(2) {
        if let Some(rest) = line.strip_prefix("@@") {
            let rest = rest.trim_end_matches('\n').trim_end_matches("@@");
            out.push_str(&format!("##{rest}##\n"));
        } else if line == "\\ No newline at end of file\n" {
            out.push_str("\\ No newline at end of property\n");
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn property_changes_look_like_svn() {
        let old = props(&[("title", "Old"), ("gone", "x"), ("same", "s")]);
        let new = props(&[("title", "New"), ("added", "a\nb\n"), ("same", "s")]);
        assert_eq!(
            props_diff("f.txt", &old, &new),
            "\nProperty changes on: f.txt\n\
             ___________________________________________________________________\n\
             Added: added\n## -0,0 +1,2 ##\n+a\n+b\n\
             Deleted: gone\n## -1 +0,0 ##\n-x\n\\ No newline at end of property\n\
             Modified: title\n## -1 +1 ##\n-Old\n\\ No newline at end of property\n\
             +New\n\\ No newline at end of property\n"
        );
    }
}
