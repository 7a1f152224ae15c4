//! `zsync info`: what the working copy knows about items, offline.

use std::path::PathBuf;

use crate::error::{ClientError, Result};
use crate::index::Entry;
use crate::session::Context;
use crate::url::percent_encode;
use crate::wc::{self, WorkingCopy};

pub struct Info {
    pub shown: String,
    pub url: String,
    pub wc_root: String,
    pub wc_rev: u64,
    pub entry: Entry,
}

pub fn info(ctx: &Context, paths: &[PathBuf]) -> Result<Vec<Info>> {
    let defaults = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &defaults[..]
    } else {
        paths
    };
    let mut out = Vec::new();
    for p in paths {
        let abs = wc::absolute(&ctx.cwd, p);
        let root = wc::find_root(&abs).ok_or_else(|| ClientError::NotAWorkingCopy(abs.clone()))?;
        let wc = WorkingCopy::open(&root)?;
        let rel = wc.rel(&abs)?;
        let entry = wc.index.entries.get(rel.as_str()).cloned().ok_or_else(|| {
            ClientError::refused(ctx.display(&abs), "is not under version control")
        })?;
        let url = wc.url()?;
        let server_path = wc.server_path(&rel)?;
        let base = url.with_path(zsync_model::RepoPath::root()).redacted();
        let encoded: Vec<String> = server_path.components().map(percent_encode).collect();
        out.push(Info {
            shown: ctx.display(&abs),
            url: format!("{}{}", base, encoded.join("/")),
            wc_root: ctx.display(&root),
            wc_rev: wc.index.rev,
            entry,
        });
    }
    Ok(out)
}
