//! `zsyncd git-export`: the history of a subtree as a git repository.
//!
//! Every revision that changed the subtree becomes one commit on
//! `refs/heads/main` (author and committer: the revision's user and time;
//! message: the revision's, plus `Zsync-Revision:` and `Zsync-Path:`
//! trailers). Each object's kind, id and properties are in a sidecar file,
//! `.zsync/props/REL.toml` (the subtree's root object: `.zsync/root.toml`);
//! no object can be called `.zsync`, so sidecars never collide with content.
//!
//! Objects are written by the machine's `git fast-import`, fed one commit
//! per revision with only what changed since the previous one, bodies
//! streamed from the store. `refs/zsync/exported` marks the last exported
//! commit; a later run continues from it, and refuses if `main` moved away
//! from it (someone committed there) or it names another path.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, Result, bail};
use futures_util::StreamExt as _;
use serde::Serialize;
use tokio::io::AsyncWriteExt as _;
use tokio::process::{Child, ChildStdin, Command};
use zsync_format::{LogEntry, ManifestEntry};
use zsync_model::{Kind, Oid, Props, RepoPath, Rev};
use zsync_store::{Store, StoreError};

use crate::hint::{HintExt as _, hinted};

/// The branch the history is written to.
const BRANCH: &str = "refs/heads/main";
/// The last commit this tool wrote; `main` must still be there.
const EXPORTED: &str = "refs/zsync/exported";
const REV_TRAILER: &str = "Zsync-Revision: ";
const PATH_TRAILER: &str = "Zsync-Path: ";

/// What a run did, for the summary line.
pub struct Exported {
    pub commits: usize,
    pub through: Rev,
}

/// Exports the revisions of `path` newer than the last export into `to`.
pub async fn run(store: &impl Store, path: &str, to: &Path) -> Result<()> {
    let root = RepoPath::parse(path)
        .with_context(|| format!("invalid path {path:?}"))
        .hint("give a server path such as /demo")?;
    let shown = format!("/{root}");
    let done = export(store, &root, to).await?;
    if done.commits == 0 {
        println!(
            "zsyncd: {} is up to date with {shown} at revision {}",
            to.display(),
            done.through
        );
    } else {
        println!(
            "zsyncd: exported {} revision(s) of {shown} to {}, through revision {}",
            done.commits,
            to.display(),
            done.through
        );
    }
    Ok(())
}

/// The repository's state before a run.
struct Previous {
    /// The commit `main` and `refs/zsync/exported` point at, if any.
    commit: Option<String>,
    rev: Rev,
    bare: bool,
}

pub async fn export(store: &impl Store, root: &RepoPath, to: &Path) -> Result<Exported> {
    let previous = prepare(root, to).await?;
    let head = store.head().await.context("cannot read the store")?;
    if previous.rev > head {
        return Err(hinted(
            format!(
                "{} holds revision {} but the store's newest is {head}",
                to.display(),
                previous.rev
            ),
            "this repository was exported from another store; export into a new directory",
        ));
    }
    if store.object(root).await?.is_none() && previous.rev == 0 {
        // A path deleted since still has history; a path never used has none.
        if store.log(root, Some(1)).await?.is_empty() {
            return Err(hinted(
                format!("/{root} has no history in this store"),
                "name a folder that exists, such as /demo",
            ));
        }
    }
    let mut revisions: Vec<LogEntry> = store
        .log(root, None)
        .await
        .context("cannot read the log")?
        .into_iter()
        .filter(|e| e.rev > previous.rev)
        .collect();
    revisions.sort_by_key(|e| e.rev);
    let mut state = tree_at(store, root, previous.rev).await?;
    let mut import = FastImport::start(to).await?;
    let mut commits = 0usize;
    let mut parent = previous.commit.clone();
    let result: Result<()> = async {
        for entry in &revisions {
            let next = tree_at(store, root, entry.rev).await?;
            let changes = diff(&state, &next);
            // A revision that changed nothing visible here (an object's
            // life before it moved in) is not a commit of this history.
            if !changes.is_empty() {
                commits += 1;
                import
                    .commit(store, root, entry, commits, parent.take(), &changes, &next)
                    .await?;
            }
            state = next;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        import.abort().await;
        return Err(e);
    }
    let last = if commits > 0 {
        Some(format!(":{commits}"))
    } else {
        None
    };
    import.finish(last).await?;
    if commits > 0 && !previous.bare {
        // The work tree was clean (checked first), so this only brings it
        // up to the new commit.
        git(to, &["reset", "-q", "--hard", BRANCH]).await?;
    }
    let through = revisions.last().map_or(previous.rev, |e| e.rev);
    Ok(Exported { commits, through })
}

/// Makes `to` a repository (if new) and reads how far it was exported.
async fn prepare(root: &RepoPath, to: &Path) -> Result<Previous> {
    let fresh = match std::fs::read_dir(to) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", to.display()));
        }
    };
    if fresh {
        std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
        git(to, &["init", "-q", "-b", "main"]).await?;
        return Ok(Previous {
            commit: None,
            rev: 0,
            bare: false,
        });
    }
    let not_ours = || {
        hinted(
            format!("{} is neither empty nor a git repository", to.display()),
            "export into a new or empty directory, or one an earlier git-export wrote",
        )
    };
    let bare = git(to, &["rev-parse", "--is-bare-repository"])
        .await
        .map_err(|_| not_ours())?
        == "true";
    if !bare {
        // `to` must be the top of its work tree, not a folder inside some
        // other repository's.
        let top = git(to, &["rev-parse", "--show-toplevel"]).await?;
        if Path::new(&top).canonicalize().ok() != to.canonicalize().ok() {
            return Err(not_ours());
        }
    }
    let exported = git_opt(to, &["rev-parse", "-q", "--verify", EXPORTED]).await?;
    let main = git_opt(to, &["rev-parse", "-q", "--verify", BRANCH]).await?;
    let Some(exported) = exported else {
        let any = git(to, &["for-each-ref", "--count=1"]).await?;
        if any.is_empty() {
            // An empty repository (perhaps `git init --bare`): HEAD is
            // pointed at the branch written, whatever git's default.
            git(to, &["symbolic-ref", "HEAD", BRANCH]).await?;
            return Ok(Previous {
                commit: None,
                rev: 0,
                bare,
            });
        }
        return Err(hinted(
            format!(
                "{} is a git repository that git-export did not write (no {EXPORTED})",
                to.display()
            ),
            "export into a new or empty directory",
        ));
    };
    if main.as_deref() != Some(exported.as_str()) {
        return Err(hinted(
            format!(
                "the history in {} diverged: {BRANCH} is {} but the last export was {exported}",
                to.display(),
                main.as_deref().unwrap_or("missing"),
            ),
            "git-export only appends to its own history; move your commits to another \
             branch (and reset main to refs/zsync/exported), or export into a new directory",
        ));
    }
    let message = git(to, &["log", "-1", "--format=%B", EXPORTED]).await?;
    let trailer = |prefix: &str| {
        message
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(prefix).map(str::to_owned))
    };
    let rev: Rev = trailer(REV_TRAILER)
        .and_then(|r| r.trim().parse().ok())
        .with_context(|| format!("{EXPORTED} in {} names no zsync revision", to.display()))?;
    let path = trailer(PATH_TRAILER).unwrap_or_default();
    if RepoPath::parse(path.trim()).ok().as_ref() != Some(root) {
        return Err(hinted(
            format!(
                "{} is an export of {}, not of /{root}",
                to.display(),
                path.trim()
            ),
            "export each path into its own directory",
        ));
    }
    if !bare {
        let dirty = git(to, &["status", "--porcelain", "--untracked-files=no"]).await?;
        if !dirty.is_empty() {
            return Err(hinted(
                format!("the work tree of {} has uncommitted changes", to.display()),
                "commit them to another branch or discard them (git stash), then export again",
            ));
        }
    }
    Ok(Previous {
        commit: Some(exported),
        rev,
        bare,
    })
}

/// The subtree at `rev` by relative path (empty before it existed or after
/// it was deleted).
async fn tree_at(
    store: &impl Store,
    root: &RepoPath,
    rev: Rev,
) -> Result<BTreeMap<String, ManifestEntry>> {
    if rev == 0 {
        return Ok(BTreeMap::new());
    }
    match store.manifest_at(root, rev).await {
        Ok(m) => Ok(m
            .entries
            .into_iter()
            .map(|e| (e.path.as_str().to_owned(), e))
            .collect()),
        Err(StoreError::NotFound(_)) => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read /{root} at revision {rev}")),
    }
}

/// One change to the git tree.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    Delete(String),
    /// A body from the store, at this relative path.
    Body(String),
    /// A sidecar for this relative path.
    Sidecar(String),
}

/// What turns `old` into `new`: deletions first, so a file that became a
/// folder (or back) is gone before its replacement arrives.
fn diff(
    old: &BTreeMap<String, ManifestEntry>,
    new: &BTreeMap<String, ManifestEntry>,
) -> Vec<Change> {
    let mut deletes = Vec::new();
    let mut writes = Vec::new();
    for (path, before) in old {
        let after = new.get(path);
        if !before.kind.is_folder() && after.is_none_or(|a| a.kind.is_folder()) {
            deletes.push(Change::Delete(path.clone()));
        }
        if after.is_none() {
            deletes.push(Change::Delete(sidecar_path(path)));
        }
    }
    for (path, after) in new {
        let before = old.get(path);
        if !after.kind.is_folder() && before.is_none_or(|b| b.hash != after.hash) {
            writes.push(Change::Body(path.clone()));
        }
        if before
            .is_none_or(|b| b.kind != after.kind || b.oid != after.oid || b.props != after.props)
        {
            writes.push(Change::Sidecar(path.clone()));
        }
    }
    deletes.extend(writes);
    deletes
}

/// Where the properties of the object at relative path `rel` are kept.
pub fn sidecar_path(rel: &str) -> String {
    if rel.is_empty() {
        ".zsync/root.toml".to_owned()
    } else {
        format!(".zsync/props/{rel}.toml")
    }
}

#[derive(Serialize)]
struct Sidecar<'a> {
    kind: &'a Kind,
    oid: &'a Oid,
    props: &'a Props,
}

fn sidecar_text(entry: &ManifestEntry) -> Result<String> {
    let body = toml::to_string(&Sidecar {
        kind: &entry.kind,
        oid: &entry.oid,
        props: &entry.props,
    })
    .context("cannot write properties as TOML")?;
    // No path in the text: a moved object's sidecar moves unchanged.
    Ok(format!(
        "# a zsync object's kind, id and properties\n{body}"
    ))
}

/// A path for fast-import, always C-quoted so any name is taken as is.
fn quote(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    out.push('"');
    for c in path.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An identity git accepts: no angle brackets or line breaks.
fn ident(user: &str, time: i64) -> String {
    let clean: String = user
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '\n' | '\r'))
        .collect();
    let name = if clean.trim().is_empty() {
        "unknown".to_owned()
    } else {
        clean.trim().to_owned()
    };
    let mail: String = name
        .chars()
        .map(|c| if c.is_whitespace() { '.' } else { c })
        .collect();
    format!("{name} <{mail}@zsync.invalid> {time} +0000")
}

/// A running `git fast-import`.
struct FastImport {
    child: Child,
    input: ChildStdin,
}

impl FastImport {
    async fn start(to: &Path) -> Result<FastImport> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(to)
            .args(["fast-import", "--quiet", "--done"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run git fast-import")
            .hint("install git (Debian: apt-get install git)")?;
        let input = child
            .stdin
            .take()
            .context("git fast-import has no standard input")?;
        Ok(FastImport { child, input })
    }

    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &mut self,
        store: &impl Store,
        root: &RepoPath,
        entry: &LogEntry,
        mark: usize,
        parent: Option<String>,
        changes: &[Change],
        tree: &BTreeMap<String, ManifestEntry>,
    ) -> Result<()> {
        let who = ident(&entry.user, entry.time);
        let mut message = entry.message.trim_end().to_owned();
        if !message.is_empty() {
            message.push_str("\n\n");
        }
        message.push_str(&format!(
            "{REV_TRAILER}{}\n{PATH_TRAILER}/{root}\n",
            entry.rev
        ));
        let mut head = format!(
            "commit {BRANCH}\nmark :{mark}\nauthor {who}\ncommitter {who}\ndata {}\n{message}\n",
            message.len()
        );
        if let Some(parent) = parent {
            head.push_str(&format!("from {parent}\n"));
        }
        self.write(head.as_bytes()).await?;
        for change in changes {
            match change {
                Change::Delete(path) => {
                    self.write(format!("D {}\n", quote(path)).as_bytes())
                        .await?;
                }
                Change::Sidecar(path) => {
                    let text = sidecar_text(&tree[path])?;
                    let line = format!(
                        "M 100644 inline {}\ndata {}\n",
                        quote(&sidecar_path(path)),
                        text.len()
                    );
                    self.write(line.as_bytes()).await?;
                    self.write(text.as_bytes()).await?;
                    self.write(b"\n").await?;
                }
                Change::Body(path) => {
                    let e = &tree[path];
                    self.body(store, root, path, e).await?;
                }
            }
        }
        self.write(b"\n").await
    }

    /// Streams one body inline, checking it is as long as the store says.
    async fn body(
        &mut self,
        store: &impl Store,
        root: &RepoPath,
        path: &str,
        e: &ManifestEntry,
    ) -> Result<()> {
        let Some(hash) = &e.hash else {
            bail!("/{root}/{path} is a {} without a body", e.kind);
        };
        let line = format!("M 100644 inline {}\ndata {}\n", quote(path), e.size);
        self.write(line.as_bytes()).await?;
        let mut body = store
            .read_body(hash)
            .await
            .with_context(|| format!("cannot read the body of /{root}/{path}"))?;
        let mut sent = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.with_context(|| format!("cannot read the body of /{root}/{path}"))?;
            sent += chunk.len() as u64;
            if sent > e.size {
                break;
            }
            self.write(&chunk).await?;
        }
        if sent != e.size {
            bail!(
                "the body of /{root}/{path} is not {} bytes long as recorded; run `zsyncd check`",
                e.size
            );
        }
        self.write(b"\n").await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        // A write fails when fast-import stopped; its own message says why.
        self.input
            .write_all(bytes)
            .await
            .context("git fast-import stopped reading")
    }

    /// Ends the stream: `refs/zsync/exported` follows the last commit.
    async fn finish(mut self, last: Option<String>) -> Result<()> {
        let mut tail = String::new();
        if let Some(last) = last {
            tail.push_str(&format!("reset {EXPORTED}\nfrom {last}\n\n"));
        }
        tail.push_str("done\n");
        let written = self.write(tail.as_bytes()).await;
        drop(self.input);
        let out = self
            .child
            .wait_with_output()
            .await
            .context("cannot wait for git fast-import")?;
        if !out.status.success() {
            bail!(
                "git fast-import failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        written
    }

    /// Stops fast-import without updating any ref.
    async fn abort(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Runs `git -C DIR ARGS` and returns its trimmed stdout.
async fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run git")
        .hint("install git (Debian: apt-get install git)")?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Like [`git`], but `None` when git exits with 1 (nothing found).
async fn git_opt(dir: &Path, args: &[&str]) -> Result<Option<String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run git")?;
    match out.status.code() {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())),
        Some(1) => Ok(None),
        _ => bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_fast_import() {
        assert_eq!(quote("a b/c.txt"), "\"a b/c.txt\"");
        assert_eq!(quote("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(quote("ü"), "\"ü\"");
    }

    #[test]
    fn sidecars_of_root_and_children_never_collide() {
        assert_eq!(sidecar_path(""), ".zsync/root.toml");
        assert_eq!(sidecar_path("a/b.txt"), ".zsync/props/a/b.txt.toml");
    }

    #[test]
    fn identities_lose_what_git_cannot_hold() {
        assert_eq!(ident("a<b>", 5), "ab <ab@zsync.invalid> 5 +0000");
        assert_eq!(ident("", 0), "unknown <unknown@zsync.invalid> 0 +0000");
    }
}
