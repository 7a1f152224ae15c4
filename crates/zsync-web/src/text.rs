//! Small formatting helpers of the pages: URLs of server paths, times,
//! sizes.

use zsync_model::RepoPath;

use crate::PREFIX;

/// Percent-encodes everything but unreserved characters and `/`, so a
/// server path (which may hold spaces, `#`, `?` or `%`) is one URL path.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn encode_query(value: &str) -> String {
    encode_path(value).replace('/', "%2F")
}

/// The URL of a page about `path`: `/manage/VIEW/PATH`.
pub fn url(view: &str, path: &RepoPath) -> String {
    format!("{PREFIX}/{view}/{}", encode_path(path.as_str()))
}

/// `2026-11-25 20:31 UTC` for seconds since the Unix epoch.
pub fn when(secs: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// `1.5 KB`, `230 B`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `/` for the root, else `/PATH`.
pub fn shown(path: &RepoPath) -> String {
    format!("/{path}")
}

/// Parses the path captured by a `{*path}` route; the root has none.
pub fn parse_path(raw: Option<&str>) -> Result<RepoPath, String> {
    let raw = raw.unwrap_or("").trim_matches('/');
    if raw.is_empty() {
        return Ok(RepoPath::root());
    }
    RepoPath::parse(raw).map_err(|e| format!("/{raw} is not a valid path: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_for_urls() {
        assert_eq!(encode_path("a b/c#d?e%f"), "a%20b/c%23d%3Fe%25f");
        assert_eq!(encode_path("größe.txt"), "gr%C3%B6%C3%9Fe.txt");
        assert_eq!(encode_query("/a b"), "%2Fa%20b");
    }

    #[test]
    fn sizes_and_times() {
        assert_eq!(size(230), "230 B");
        assert_eq!(size(1536), "1.5 KB");
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }
}
