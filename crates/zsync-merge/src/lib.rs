//! Line diffs and three-way merges that match GNU diffutils.
//!
//! `zsync` shows diffs and merges updates into locally edited files, and
//! users compare both with what `diff -u` and `diff3 -m` (or svn) would have
//! produced, so this crate reproduces GNU's choices, not just *a* correct
//! answer. Everything works on bytes split after each `\n`; a final line
//! without `\n` is a different line from the same text with it, as in GNU
//! diff. Nothing here does I/O.
//!
//! # Two-way diff
//! [`unified_diff`] and [`context_diff`] run the same pipeline as GNU diff
//! (details in the `analyze` module): identical leading/trailing lines are
//! trimmed except for a context-sized margin; lines are numbered by
//! equivalence class; lines that cannot match anything (and frequent lines
//! amid them) are set aside; Myers' O(ND) bisection finds a shortest edit
//! script using GNU's tie-breaking; runs of changes are then slid over
//! identical lines to merge with neighbours or sit as low as possible.
//! Changes whose contexts overlap or touch (at most `2 * context` unchanged
//! lines apart) share a hunk.
//!
//! [`DiffOptions`] adds GNU's `-b` and `-i` (lines are matched by a
//! normalised key, while output shows the real lines) and `-B` (a hunk made
//! only of all-blank changes is dropped; a blank change joins a hunk before
//! it only when fewer than `context` lines apart, as in GNU). [`differs`]
//! and [`brief_diff`] are `diff --brief`.
//!
//! # Three-way merge
//! [`merge3`] follows `diff3 -m -E mine base theirs`: it diffs mine→base and
//! theirs→base (in that direction, with diff3's `--horizon-lines=100`),
//! then walks both edit lists in base coordinates, gathering edits whose
//! base ranges overlap or are adjacent into one block. A block changed by one
//! side only takes that side; a block both sides changed to identical text is
//! taken once; anything else is a conflict, written svn-style with the base
//! section included and every marker on its own line.

mod analyze;
mod format;
mod lines;
mod merge;
mod options;

pub use merge::{MergeLabels, MergeOutcome, Side, merge3, merge3_choosing};
pub use options::DiffOptions;

/// How many leading bytes are checked for NUL, like git and GNU diff do.
const BINARY_SNIFF_LEN: usize = 8000;

/// True if `data` should be treated as binary (never diffed or merged line
/// by line): a NUL byte within the first 8000 bytes, or not valid UTF-8.
pub fn is_binary(data: &[u8]) -> bool {
    let head = &data[..data.len().min(BINARY_SNIFF_LEN)];
    head.contains(&0) || std::str::from_utf8(data).is_err()
}

/// GNU `diff -u` output (with `--label`s), or `""` if the inputs are equal.
///
/// `context` is the number of unchanged lines shown around each change
/// (`diff -U`, normally 3). Lines that are not valid UTF-8 are rendered
/// lossily; check [`is_binary`] first.
///
/// ```
/// let diff = zsync_merge::unified_diff(b"a\nb\n", b"a\nc\n", "f (r1)", "f (working copy)", 3);
/// assert_eq!(diff, "--- f (r1)\n+++ f (working copy)\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
/// ```
pub fn unified_diff(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    context: usize,
) -> String {
    unified_diff_with(
        old,
        new,
        old_label,
        new_label,
        &DiffOptions::with_context(context),
    )
}

/// GNU `diff -c` output (with `--label`s), or `""` if the inputs are equal.
///
/// Same conventions as [`unified_diff`].
pub fn context_diff(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    context: usize,
) -> String {
    context_diff_with(
        old,
        new,
        old_label,
        new_label,
        &DiffOptions::with_context(context),
    )
}

/// GNU `diff -u` with options (`-U N`, `-b`, `-B`, `-i`), or `""` if the
/// inputs show no difference under them.
///
/// ```
/// use zsync_merge::{DiffOptions, unified_diff_with};
/// let opts = DiffOptions { ignore_space_change: true, ..DiffOptions::default() };
/// assert_eq!(unified_diff_with(b"a  b\n", b"a b \n", "old", "new", &opts), "");
/// ```
pub fn unified_diff_with(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    opts: &DiffOptions,
) -> String {
    format::unified(old, new, old_label, new_label, opts)
}

/// GNU `diff -c` with options (`-C N`, `-b`, `-B`, `-i`), or `""` if the
/// inputs show no difference under them.
pub fn context_diff_with(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    opts: &DiffOptions,
) -> String {
    format::context(old, new, old_label, new_label, opts)
}

/// True if `diff --brief` with these options reports the inputs as
/// different: exactly when [`unified_diff_with`] would print something.
/// Works on any bytes, binary ones included.
pub fn differs(old: &[u8], new: &[u8], opts: &DiffOptions) -> bool {
    format::differs(old, new, opts)
}

/// GNU `diff --brief`'s line, `Files OLD and NEW differ\n`, or `""` when
/// [`differs`] says they don't.
pub fn brief_diff(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    opts: &DiffOptions,
) -> String {
    if differs(old, new, opts) {
        format!("Files {old_label} and {new_label} differ\n")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests;
