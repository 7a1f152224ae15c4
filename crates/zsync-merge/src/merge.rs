//! Three-way merge with GNU `diff3 -m -E` semantics.

use crate::analyze::diff_lines;
use crate::lines::split_lines;

/// Conflict-marker labels, as svn prints them (usually `.mine`, `.r4`, `.r5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeLabels<'a> {
    /// After `<<<<<<< `.
    pub mine: &'a str,
    /// After `||||||| `.
    pub base: &'a str,
    /// After `>>>>>>> `.
    pub theirs: &'a str,
}

/// Result of [`merge3`]: the merged bytes (with conflict blocks written in
/// place) and how many conflict blocks they contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOutcome {
    /// The merged file; byte-identical to `diff3 -m -E` output when clean.
    pub merged: Vec<u8>,
    /// Number of conflict blocks; 0 exactly when `diff3 -m -E` exits 0.
    pub conflicts: usize,
}

/// `diff3` asks `diff` for this horizon; it affects which of several
/// equally short diffs is chosen, so we use the same.
const DIFF3_HORIZON: usize = 100;

/// An inclusive, 1-based line range; empty ranges are `(n + 1, n)`, meaning
/// "between line n and line n + 1". This is diff3's own convention and keeps
/// the block arithmetic below identical to it.
type Span = (isize, isize);

/// One change of a side relative to base.
#[derive(Clone, Copy)]
struct Edit {
    side: Span,
    base: Span,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Only mine differs from base: keep mine.
    MineOnly,
    /// Only theirs differs from base: take theirs.
    TheirsOnly,
    /// Both changed, to the same text: keep mine (`-E` does not flag this).
    Same,
    /// Both changed, differently.
    Conflict,
}

/// A region where at least one side differs from base, with its extent in
/// each file.
#[derive(Clone, Copy)]
struct Block {
    kind: Kind,
    mine: Span,
    theirs: Span,
    base: Span,
}

/// Merges the changes from `base` to `theirs` into `mine`, like
/// `diff3 -m -E mine base theirs`.
///
/// A region changed on one side only takes that side; a region changed
/// identically on both sides is taken once. Edits of the two sides that
/// overlap or touch in base (including insertions at the same place) are a
/// conflict unless they produce the same text; a conflict is written as
///
/// ```text
/// <<<<<<< {mine}
/// mine's lines
/// ||||||| {base}
/// base's lines
/// =======
/// theirs' lines
/// >>>>>>> {theirs}
/// ```
///
/// with every marker on its own line (a `\n` is inserted after a side whose
/// last line has none). Any bytes are accepted; lines end after each `\n`.
///
/// ```
/// use zsync_merge::{MergeLabels, merge3};
///
/// let labels = MergeLabels { mine: ".mine", base: ".r1", theirs: ".r2" };
/// let out = merge3(b"a\nb\nc\n", b"A\nb\nc\n", b"a\nb\nC\n", &labels);
/// assert_eq!((out.merged.as_slice(), out.conflicts), (&b"A\nb\nC\n"[..], 0));
///
/// let out = merge3(b"a\n", b"b\n", b"c\n", &labels);
/// assert_eq!(out.conflicts, 1);
/// assert_eq!(
///     out.merged,
///     b"<<<<<<< .mine\nb\n||||||| .r1\na\n=======\nc\n>>>>>>> .r2\n"
/// );
/// ```
pub fn merge3(base: &[u8], mine: &[u8], theirs: &[u8], labels: &MergeLabels) -> MergeOutcome {
    merge_with(base, mine, theirs, OnConflict::Markers(labels))
}

/// Which text a conflicting region takes in [`merge3_choosing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Mine,
    Theirs,
}

/// Like [`merge3`], but each conflicting region takes one side's text
/// instead of markers, while clean regions merge as usual (svn's
/// `--accept mine-conflict` and `theirs-conflict`).
pub fn merge3_choosing(base: &[u8], mine: &[u8], theirs: &[u8], side: Side) -> Vec<u8> {
    merge_with(base, mine, theirs, OnConflict::Take(side)).merged
}

#[derive(Clone, Copy)]
enum OnConflict<'a> {
    Markers(&'a MergeLabels<'a>),
    Take(Side),
}

fn merge_with(base: &[u8], mine: &[u8], theirs: &[u8], on_conflict: OnConflict) -> MergeOutcome {
    let base_lines = split_lines(base);
    let mine_lines = split_lines(mine);
    let theirs_lines = split_lines(theirs);

    let blocks = combine(
        &edits(&mine_lines, &base_lines),
        &edits(&theirs_lines, &base_lines),
        &mine_lines,
        &theirs_lines,
    );

    let mut out = Vec::with_capacity(mine.len().max(theirs.len()));
    let mut conflicts = 0;
    // Number of mine lines already copied or skipped.
    let mut read: isize = 0;
    for block in &blocks {
        match block.kind {
            Kind::MineOnly | Kind::Same => {}
            Kind::TheirsOnly => {
                extend(&mut out, span(&mine_lines, (read + 1, block.mine.0 - 1)));
                extend(&mut out, span(&theirs_lines, block.theirs));
                read = block.mine.1;
            }
            Kind::Conflict => {
                conflicts += 1;
                extend(&mut out, span(&mine_lines, (read + 1, block.mine.0 - 1)));
                let labels = match on_conflict {
                    OnConflict::Markers(labels) => labels,
                    OnConflict::Take(Side::Mine) => {
                        extend(&mut out, span(&mine_lines, block.mine));
                        read = block.mine.1;
                        continue;
                    }
                    OnConflict::Take(Side::Theirs) => {
                        extend(&mut out, span(&theirs_lines, block.theirs));
                        read = block.mine.1;
                        continue;
                    }
                };
                marker(&mut out, "<<<<<<< ", labels.mine);
                extend(&mut out, span(&mine_lines, block.mine));
                marker(&mut out, "||||||| ", labels.base);
                extend(&mut out, span(&base_lines, block.base));
                marker(&mut out, "=======", "");
                extend(&mut out, span(&theirs_lines, block.theirs));
                marker(&mut out, ">>>>>>> ", labels.theirs);
                read = block.mine.1;
            }
        }
    }
    extend(
        &mut out,
        span(&mine_lines, (read + 1, mine_lines.len() as isize)),
    );

    MergeOutcome {
        merged: out,
        conflicts,
    }
}

/// The changes turning `side` into `base`, diffed in that direction (side
/// first) exactly as `diff3` runs `diff`, since direction affects tie-breaks.
fn edits(side: &[&[u8]], base: &[&[u8]]) -> Vec<Edit> {
    diff_lines(side, base, DIFF3_HORIZON)
        .into_iter()
        .map(|c| {
            let (l0, l1) = (c.line0 as isize, c.line1 as isize);
            Edit {
                side: (l0 + 1, l0 + c.deleted as isize),
                base: (l1 + 1, l1 + c.inserted as isize),
            }
        })
        .collect()
}

/// Joins the two lists of edits (both in base coordinates) into blocks.
///
/// Edits from the two sides go into one block when their base ranges
/// overlap *or touch* (the next starts at most one line after the current
/// block's end); that is why diff3 reports adjacent edits, and insertions at
/// the same point, as conflicts. A block's extent in mine/theirs follows
/// from the first and last edit of that side in it, or, for a side with no
/// edit in it, from the offset left by the previous block.
fn combine(
    mine_edits: &[Edit],
    theirs_edits: &[Edit],
    mine: &[&[u8]],
    theirs: &[&[u8]],
) -> Vec<Block> {
    let threads = [mine_edits, theirs_edits];
    let mut next = [0usize; 2];
    let mut blocks = Vec::new();
    let mut previous = Block {
        kind: Kind::Same,
        mine: (0, 0),
        theirs: (0, 0),
        base: (0, 0),
    };

    loop {
        let head = |t: usize, next: &[usize; 2]| threads[t].get(next[t]).copied();
        let low_thread = match (head(0, &next), head(1, &next)) {
            (None, None) => break,
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (Some(m), Some(t)) => usize::from(m.base.0 > t.base.0),
        };
        // Per side: index range of the edits taken into this block.
        let mut used: [Option<(usize, usize)>; 2] = [None, None];
        let mut high_thread = low_thread;
        let mut high_mark = threads[low_thread][next[low_thread]].base.1;
        used[low_thread] = Some((next[low_thread], next[low_thread]));
        next[low_thread] += 1;

        let mut other = high_thread ^ 1;
        while let Some(edit) = head(other, &next)
            && edit.base.0 <= high_mark + 1
        {
            let i = next[other];
            used[other] = Some(used[other].map_or((i, i), |(first, _)| (first, i)));
            next[other] += 1;
            if high_mark < edit.base.1 {
                high_thread = other;
                high_mark = edit.base.1;
            }
            other = high_thread ^ 1;
        }

        let first_base = used[low_thread].map_or(0, |(f, _)| threads[low_thread][f].base.0);
        let last_base = used[high_thread].map_or(0, |(_, l)| threads[high_thread][l].base.1);
        let side_span = |t: usize, prev_side: Span| -> Span {
            match used[t] {
                Some((f, l)) => {
                    let (first, last) = (threads[t][f], threads[t][l]);
                    (
                        first_base - first.base.0 + first.side.0,
                        last_base - last.base.1 + last.side.1,
                    )
                }
                // Unchanged on this side: same offset as after the last block.
                None => (
                    first_base - previous.base.1 + prev_side.1,
                    last_base - previous.base.1 + prev_side.1,
                ),
            }
        };
        let mine_span = side_span(0, previous.mine);
        let theirs_span = side_span(1, previous.theirs);
        let kind = match used {
            [None, _] => Kind::TheirsOnly,
            [_, None] => Kind::MineOnly,
            _ if span(mine, mine_span) == span(theirs, theirs_span) => Kind::Same,
            _ => Kind::Conflict,
        };
        let block = Block {
            kind,
            mine: mine_span,
            theirs: theirs_span,
            base: (first_base, last_base),
        };
        blocks.push(block);
        previous = block;
    }
    blocks
}

/// The lines of a 1-based inclusive span (empty if out of range).
fn span<'a, 'b>(lines: &'b [&'a [u8]], (first, last): Span) -> &'b [&'a [u8]] {
    let start = usize::try_from(first - 1).unwrap_or(0);
    let end = usize::try_from(last).unwrap_or(0);
    if start >= end {
        return &[];
    }
    lines.get(start..end).unwrap_or(&[])
}

fn extend(out: &mut Vec<u8>, lines: &[&[u8]]) {
    for line in lines {
        out.extend_from_slice(line);
    }
}

/// Writes a conflict marker on a line of its own.
fn marker(out: &mut Vec<u8>, tag: &str, label: &str) {
    if out.last().is_some_and(|&b| b != b'\n') {
        out.push(b'\n');
    }
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(label.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod choosing_tests {
    use super::*;

    #[test]
    fn conflicts_take_one_side_and_clean_regions_merge() {
        let base = b"a\nb\nc\nd\ne\n";
        let mine = b"A\nb\nMINE\nd\ne\n";
        let theirs = b"a\nb\nTHEIRS\nd\nE\n";
        assert_eq!(
            merge3_choosing(base, mine, theirs, Side::Mine),
            b"A\nb\nMINE\nd\nE\n"
        );
        assert_eq!(
            merge3_choosing(base, mine, theirs, Side::Theirs),
            b"A\nb\nTHEIRS\nd\nE\n"
        );
    }
}
