//! Conversions between database columns and domain types. A value that
//! does not parse means the database was damaged or written by something
//! else: it is reported as [`StoreError::Corrupt`], never skipped.

use zsync_model::{BodyHash, Kind, Oid, Props, RepoPath, Rev};

use crate::{ObjectRecord, StoreError};

/// The columns of an object row (current or historical), in this order:
/// path, oid, kind, rev, hash, size, props.
pub(crate) type ObjectRow = (String, String, String, i64, Option<String>, i64, String);

/// An object row followed by the author of its revision, as manifests read it.
pub(crate) type ManifestRow = (
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    String,
    String,
);

/// The column list matching [`ObjectRow`], unqualified.
pub(crate) const OBJECT_COLUMNS: &str = "path, oid, kind, rev, hash, size, props";

pub(crate) fn path(s: String) -> Result<RepoPath, StoreError> {
    // An empty string is the root and parses as such.
    RepoPath::parse(&s).map_err(|e| StoreError::Corrupt(format!("bad path {s:?}: {e}")))
}

pub(crate) fn oid(s: String) -> Result<Oid, StoreError> {
    s.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}

pub(crate) fn kind(s: String) -> Result<Kind, StoreError> {
    Kind::new(&s).map_err(StoreError::Corrupt)
}

pub(crate) fn hash(s: String) -> Result<BodyHash, StoreError> {
    s.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}

pub(crate) fn opt_hash(s: Option<String>) -> Result<Option<BodyHash>, StoreError> {
    s.map(hash).transpose()
}

pub(crate) fn rev(n: i64) -> Result<Rev, StoreError> {
    Rev::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative revision {n}")))
}

pub(crate) fn size(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative size {n}")))
}

pub(crate) fn props(s: &str) -> Result<Props, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("bad properties {s:?}: {e}")))
}

/// Revisions and sizes are `u64` in the model but SQL integers are `i64`.
pub(crate) fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n)
        .map_err(|_| StoreError::Corrupt(format!("number {n} exceeds the database range")))
}

pub(crate) fn props_json(props: &Props) -> Result<String, StoreError> {
    serde_json::to_string(props).map_err(|e| StoreError::Corrupt(format!("properties: {e}")))
}

pub(crate) fn object(row: ObjectRow) -> Result<ObjectRecord, StoreError> {
    let (p, o, k, r, h, s, pr) = row;
    Ok(ObjectRecord {
        path: path(p)?,
        oid: oid(o)?,
        kind: kind(k)?,
        rev: rev(r)?,
        hash: opt_hash(h)?,
        size: size(s)?,
        props: props(&pr)?,
    })
}

/// The SQL condition selecting the object at `$1` and its subtree, given
/// `$2` = `$1/` and `$3` = `$10` (see [`subtree_bounds`]). For the root it
/// is true for every row; it still names all three parameters so callers
/// bind the same values either way.
pub(crate) fn subtree_condition(column: &str, root: &RepoPath) -> String {
    if root.is_root() {
        format!("({column} = $1 OR {column} >= $2 OR {column} < $3)")
    } else {
        format!("({column} = $1 OR ({column} >= $2 AND {column} < $3))")
    }
}

/// The range of descendant paths of `root`: every path starting with
/// `root/` sorts in `[root/, root0)` because '0' is the byte after '/'.
pub(crate) fn subtree_bounds(root: &RepoPath) -> (String, String) {
    if root.is_root() {
        (String::new(), String::new())
    } else {
        (format!("{root}/"), format!("{root}0"))
    }
}

/// Rows per multi-row `INSERT`: at most 9 parameters each, well below
/// every engine's limit on bound parameters (SQLite 32766, PostgreSQL
/// 65535).
pub(crate) const INSERT_ROWS: usize = 256;

/// Keys per `SELECT … IN (…)`.
pub(crate) const LOOKUP_KEYS: usize = 500;

/// How an engine spells bound parameters in generated SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parameters {
    /// `$1, $2, …` (PostgreSQL's only form).
    Numbered,
    /// `?, ?, …`, numbered by position. SQLite takes `$1` as a *name*, and
    /// binding looks each name up in a list: quadratic in a statement of
    /// thousands of parameters, where `?` costs nothing.
    Positional,
}

impl Parameters {
    /// Appends parameter number `n` (from 1, in order) to `sql`.
    fn push(self, sql: &mut String, n: usize) {
        match self {
            Parameters::Numbered => {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            Parameters::Positional => sql.push('?'),
        }
    }
}

/// `HEAD (p1, …), (…) TAIL` for `rows` rows of `columns` parameters: a
/// multi-row `INSERT`, one statement for many rows.
pub(crate) fn insert_rows(
    style: Parameters,
    head: &str,
    columns: usize,
    rows: usize,
    tail: &str,
) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 6);
    sql.push_str(head);
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { " (" } else { ", (" });
        for column in 0..columns {
            n += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            style.push(&mut sql, n);
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// `HEAD p1, p2, … TAIL` for `count` parameters, for `IN (…)`.
pub(crate) fn in_list(style: Parameters, head: &str, count: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + count * 6);
    sql.push_str(head);
    for n in 1..=count {
        if n > 1 {
            sql.push_str(", ");
        }
        style.push(&mut sql, n);
    }
    sql.push_str(tail);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_parameters_follow_the_engine() {
        assert_eq!(
            insert_rows(
                Parameters::Numbered,
                "INSERT INTO t (a, b) VALUES",
                2,
                2,
                " X"
            ),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) X"
        );
        assert_eq!(
            insert_rows(Parameters::Positional, "I", 3, 1, ""),
            "I (?, ?, ?)"
        );
        assert_eq!(
            in_list(Parameters::Numbered, "IN (", 3, ")"),
            "IN ($1, $2, $3)"
        );
        assert_eq!(in_list(Parameters::Positional, "(", 2, ")"), "(?, ?)");
    }
}
