//! `zsync log`: the revisions that changed a path, from the server.

use zsync_format::LogEntry;

use crate::error::Result;
use crate::session::{Context, Target};
use crate::transport::Transport;
use crate::wc::WorkingCopy;

pub fn log(ctx: &Context, target: &Target, limit: Option<u32>) -> Result<Vec<LogEntry>> {
    let wc = WorkingCopy::open(&target.root)?;
    let path = target.paths.first().cloned().unwrap_or_default();
    let transport = ctx.connect(&wc.url()?)?;
    transport.log(&wc.server_path(&path)?, limit)
}
