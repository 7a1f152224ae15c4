//! Unified (`diff -u`) and context (`diff -c`) output, in GNU's layout.

use crate::analyze::{Change, diff_lines, diff_lines_keyed};
use crate::lines::{is_incomplete, split_lines};
use crate::options::DiffOptions;

const NO_NEWLINE: &str = "\\ No newline at end of file\n";

/// Which printed format to produce.
#[derive(Clone, Copy)]
enum Style {
    Unified,
    Context,
}

pub(crate) fn unified(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    opts: &DiffOptions,
) -> String {
    render(old, new, old_label, new_label, opts, Style::Unified)
}

pub(crate) fn context(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    opts: &DiffOptions,
) -> String {
    render(old, new, old_label, new_label, opts, Style::Context)
}

/// True if a diff with these options would show anything (`diff --brief`).
pub(crate) fn differs(old: &[u8], new: &[u8], opts: &DiffOptions) -> bool {
    if old == new {
        return false;
    }
    let a = split_lines(old);
    let b = split_lines(new);
    !shown_hunks(&a, &b, opts).is_empty()
}

/// The changes between two line lists under `opts`.
fn changes(a: &[&[u8]], b: &[&[u8]], opts: &DiffOptions) -> Vec<Change> {
    // GNU widens the analysis horizon to the context so that boundary
    // shifting can see the lines it will print.
    if !opts.normalises() {
        return diff_lines(a, b, opts.context);
    }
    let keys0: Vec<_> = a.iter().map(|l| opts.key(l)).collect();
    let keys1: Vec<_> = b.iter().map(|l| opts.key(l)).collect();
    let keys0: Vec<&[u8]> = keys0.iter().map(|k| k.as_ref()).collect();
    let keys1: Vec<&[u8]> = keys1.iter().map(|k| k.as_ref()).collect();
    diff_lines_keyed(a, b, &keys0, &keys1, opts.context)
}

/// The hunks to print: changes grouped by closeness, without the hunks
/// made only of ignorable (`-B`) changes.
fn shown_hunks(a: &[&[u8]], b: &[&[u8]], opts: &DiffOptions) -> Vec<Vec<Change>> {
    let changes = changes(a, b, opts);
    let ignorable: Vec<bool> = changes
        .iter()
        .map(|c| {
            opts.ignore_blank_lines
                && a.get(c.line0..c.line0 + c.deleted)
                    .into_iter()
                    .chain(b.get(c.line1..c.line1 + c.inserted))
                    .flatten()
                    .all(|line| opts.is_blank(line))
        })
        .collect();
    group_hunks(&changes, &ignorable, opts.context)
        .into_iter()
        .filter(|(_, all_ignorable)| !all_ignorable)
        .map(|(hunk, _)| hunk)
        .collect()
}

fn render(
    old: &[u8],
    new: &[u8],
    old_label: &str,
    new_label: &str,
    opts: &DiffOptions,
    style: Style,
) -> String {
    if old == new {
        return String::new();
    }
    let a = split_lines(old);
    let b = split_lines(new);
    let hunks = shown_hunks(&a, &b, opts);
    if hunks.is_empty() {
        return String::new();
    }

    let mut out = String::new();
    match style {
        Style::Unified => {
            out.push_str(&format!("--- {old_label}\n+++ {new_label}\n"));
        }
        Style::Context => {
            out.push_str(&format!("*** {old_label}\n--- {new_label}\n"));
        }
    }
    for hunk in &hunks {
        let window = Window::new(hunk, opts.context, a.len(), b.len());
        match style {
            Style::Unified => unified_hunk(&mut out, hunk, &window, &a, &b),
            Style::Context => context_hunk(&mut out, hunk, &window, &a, &b),
        }
    }
    out
}

/// Splits the changes into hunks: a change joins the previous hunk when at
/// most `2 * context` unchanged lines separate them (their contexts would
/// overlap or touch). An ignorable change only joins when fewer than
/// `context` lines separate it from the previous one, which is where GNU
/// draws the line too. Returns each hunk with whether all its changes are
/// ignorable.
fn group_hunks(changes: &[Change], ignorable: &[bool], context: usize) -> Vec<(Vec<Change>, bool)> {
    let mut hunks: Vec<(Vec<Change>, bool)> = Vec::new();
    let mut prev: Option<&Change> = None;
    for (k, change) in changes.iter().enumerate() {
        let skip = ignorable.get(k).copied().unwrap_or(false);
        let joins = prev.is_some_and(|p| {
            let gap = change.line0.saturating_sub(p.line0 + p.deleted);
            if skip {
                gap < context
            } else {
                gap <= context.saturating_mul(2)
            }
        });
        match hunks.last_mut() {
            Some((hunk, all)) if joins => {
                hunk.push(*change);
                *all &= skip;
            }
            _ => hunks.push((vec![*change], skip)),
        }
        prev = Some(change);
    }
    hunks
}

/// The printed line range of a hunk: first/last line (0-based, inclusive,
/// `last = first - 1` for an empty range) in each file.
struct Window {
    first0: isize,
    last0: isize,
    first1: isize,
    last1: isize,
}

impl Window {
    fn new(hunk: &[Change], context: usize, len0: usize, len1: usize) -> Self {
        let (Some(head), Some(tail)) = (hunk.first(), hunk.last()) else {
            return Window {
                first0: 0,
                last0: -1,
                first1: 0,
                last1: -1,
            };
        };
        let ctx = context.min(isize::MAX as usize / 4) as isize;
        let first0 = (head.line0 as isize - ctx).max(0);
        let first1 = (head.line1 as isize - ctx).max(0);
        let last0 = (tail.line0 as isize + tail.deleted as isize - 1 + ctx).min(len0 as isize - 1);
        let last1 = (tail.line1 as isize + tail.inserted as isize - 1 + ctx).min(len1 as isize - 1);
        Window {
            first0,
            last0,
            first1,
            last1,
        }
    }
}

/// `@@` range: "start,count", just "start" for one line, and the line
/// *before* the range with count 0 for an empty range (what `patch` expects).
fn unified_range(first: isize, last: isize) -> String {
    let (a, b) = (first + 1, last + 1);
    if b < a {
        format!("{b},0")
    } else if b == a {
        format!("{b}")
    } else {
        format!("{a},{}", b - a + 1)
    }
}

/// `***`/`---` range: "start,end", or a single number (the line itself, or
/// the line before an empty range).
fn context_range(first: isize, last: isize) -> String {
    let (a, b) = (first + 1, last + 1);
    if b > a {
        format!("{a},{b}")
    } else {
        format!("{b}")
    }
}

fn push_line(out: &mut String, marker: &str, line: &[u8]) {
    out.push_str(marker);
    out.push_str(&String::from_utf8_lossy(line));
    if is_incomplete(line) {
        out.push('\n');
        out.push_str(NO_NEWLINE);
    }
}

fn line_at<'a>(lines: &[&'a [u8]], i: isize) -> &'a [u8] {
    usize::try_from(i)
        .ok()
        .and_then(|i| lines.get(i))
        .copied()
        .unwrap_or(b"\n")
}

fn unified_hunk(out: &mut String, hunk: &[Change], w: &Window, a: &[&[u8]], b: &[&[u8]]) {
    out.push_str(&format!(
        "@@ -{} +{} @@\n",
        unified_range(w.first0, w.last0),
        unified_range(w.first1, w.last1)
    ));
    let mut changes = hunk.iter().peekable();
    let (mut i, mut j) = (w.first0, w.first1);
    while i <= w.last0 || j <= w.last1 {
        match changes.peek() {
            Some(c) if i >= c.line0 as isize => {
                for _ in 0..c.deleted {
                    push_line(out, "-", line_at(a, i));
                    i += 1;
                }
                for _ in 0..c.inserted {
                    push_line(out, "+", line_at(b, j));
                    j += 1;
                }
                changes.next();
            }
            _ => {
                push_line(out, " ", line_at(a, i));
                i += 1;
                j += 1;
            }
        }
    }
}

fn context_hunk(out: &mut String, hunk: &[Change], w: &Window, a: &[&[u8]], b: &[&[u8]]) {
    out.push_str("***************\n");
    out.push_str(&format!("*** {} ****\n", context_range(w.first0, w.last0)));
    // Each side's lines are shown only if that side has changed lines.
    if hunk.iter().any(|c| c.deleted > 0) {
        let side = |c: &Change| (c.line0, c.deleted, c.inserted);
        context_side(out, hunk, side, w.first0..=w.last0, a, "- ");
    }
    out.push_str(&format!("--- {} ----\n", context_range(w.first1, w.last1)));
    if hunk.iter().any(|c| c.inserted > 0) {
        let side = |c: &Change| (c.line1, c.inserted, c.deleted);
        context_side(out, hunk, side, w.first1..=w.last1, b, "+ ");
    }
}

/// One side of a context hunk. `side` gives a change's (start, lines on this
/// side, lines on the other side): a changed line is `! ` when the other side
/// also has lines there, else `only`.
fn context_side(
    out: &mut String,
    hunk: &[Change],
    side: impl Fn(&Change) -> (usize, usize, usize),
    range: std::ops::RangeInclusive<isize>,
    lines: &[&[u8]],
    only: &str,
) {
    let mut k = 0;
    for i in range {
        while hunk.get(k).is_some_and(|c| {
            let (start, here, _) = side(c);
            (start + here) as isize <= i
        }) {
            k += 1;
        }
        let marker = match hunk.get(k).map(&side) {
            Some((start, _, other)) if start as isize <= i => {
                if other > 0 {
                    "! "
                } else {
                    only
                }
            }
            _ => "  ",
        };
        push_line(out, marker, line_at(lines, i));
    }
}
