use super::*;
use proptest::prelude::*;

const LABELS: MergeLabels<'static> = MergeLabels {
    mine: ".mine",
    base: ".r1",
    theirs: ".r2",
};

fn merge(base: &str, mine: &str, theirs: &str) -> (String, usize) {
    let out = merge3(base.as_bytes(), mine.as_bytes(), theirs.as_bytes(), &LABELS);
    (String::from_utf8(out.merged).unwrap(), out.conflicts)
}

#[test]
fn binary_detection() {
    assert!(!is_binary(b""));
    assert!(!is_binary("plain text\nwith ünïcode\n".as_bytes()));
    assert!(is_binary(b"a\0b"));
    assert!(is_binary(b"\xff\xfe"));
    // NUL beyond the sniffed prefix alone does not make it binary...
    let mut late_nul = vec![b'a'; 9000];
    late_nul.push(0);
    assert!(!is_binary(&late_nul));
    // ...but invalid UTF-8 anywhere does.
    let mut late_bad = vec![b'a'; 9000];
    late_bad.push(0xff);
    assert!(is_binary(&late_bad));
}

#[test]
fn one_sided_changes_are_taken() {
    let base = "a\nb\nc\nd\ne\n";
    assert_eq!(
        merge(base, "a\nB\nc\nd\ne\n", base),
        ("a\nB\nc\nd\ne\n".into(), 0)
    );
    assert_eq!(
        merge(base, base, "a\nb\nc\nD\ne\n"),
        ("a\nb\nc\nD\ne\n".into(), 0)
    );
    // Non-adjacent changes on both sides merge cleanly.
    assert_eq!(
        merge(base, "a\nB\nc\nd\ne\n", "a\nb\nc\nD\ne\n"),
        ("a\nB\nc\nD\ne\n".into(), 0)
    );
}

#[test]
fn identical_changes_are_taken_once() {
    let base = "a\nb\nc\n";
    assert_eq!(
        merge(base, "a\nX\nc\n", "a\nX\nc\n"),
        ("a\nX\nc\n".into(), 0)
    );
    assert_eq!(merge(base, "a\nc\n", "a\nc\n"), ("a\nc\n".into(), 0));
}

#[test]
fn overlapping_changes_conflict() {
    let (merged, conflicts) = merge("a\nb\nc\n", "a\nM\nc\n", "a\nT\nc\n");
    assert_eq!(conflicts, 1);
    assert_eq!(
        merged,
        "a\n<<<<<<< .mine\nM\n||||||| .r1\nb\n=======\nT\n>>>>>>> .r2\nc\n"
    );
}

#[test]
fn adjacent_changes_conflict_like_diff3() {
    // diff3 joins edits whose base ranges touch.
    let (merged, conflicts) = merge("1\n2\n3\n4\n", "1\nX\n3\n4\n", "1\n2\nY\n4\n");
    assert_eq!(conflicts, 1);
    assert_eq!(
        merged,
        "1\n<<<<<<< .mine\nX\n3\n||||||| .r1\n2\n3\n=======\n2\nY\n>>>>>>> .r2\n4\n"
    );
    // Different insertions at the same point conflict too.
    assert_eq!(merge("a\n", "a\nm\n", "a\nt\n").1, 1);
    // One unchanged line between the edits is enough to merge.
    assert_eq!(
        merge("1\n2\n3\n", "X\n2\n3\n", "1\n2\nY\n"),
        ("X\n2\nY\n".into(), 0)
    );
}

#[test]
fn missing_final_newline() {
    // Theirs drops the final newline; mine edits elsewhere.
    assert_eq!(
        merge("a\nb\nc\n", "A\nb\nc\n", "a\nb\nc"),
        ("A\nb\nc".into(), 0)
    );
    // Markers stay on their own lines when a side lacks the newline.
    let (merged, conflicts) = merge("a\nb", "a\nm", "a\nt");
    assert_eq!(conflicts, 1);
    assert_eq!(
        merged,
        "a\n<<<<<<< .mine\nm\n||||||| .r1\nb\n=======\nt\n>>>>>>> .r2\n"
    );
}

#[test]
fn empty_base() {
    assert_eq!(merge("", "x\n", ""), ("x\n".into(), 0));
    assert_eq!(merge("", "", "y\n"), ("y\n".into(), 0));
    assert_eq!(merge("", "same\n", "same\n"), ("same\n".into(), 0));
    let (merged, conflicts) = merge("", "x\n", "y\n");
    assert_eq!(conflicts, 1);
    assert_eq!(
        merged,
        "<<<<<<< .mine\nx\n||||||| .r1\n=======\ny\n>>>>>>> .r2\n"
    );
    assert_eq!(merge("", "", ""), (String::new(), 0));
}

#[test]
fn deletion_against_edit() {
    let base = "a\nb\nc\nd\n";
    // Deleting a line the other side edited conflicts.
    let (merged, conflicts) = merge(base, "a\nc\nd\n", "a\nB\nc\nd\n");
    assert_eq!(conflicts, 1);
    assert_eq!(
        merged,
        "a\n<<<<<<< .mine\n||||||| .r1\nb\n=======\nB\n>>>>>>> .r2\nc\nd\n"
    );
    // Deleting a line far from the other side's edit merges.
    assert_eq!(
        merge(base, "b\nc\nd\n", "a\nb\nc\nD\n"),
        ("b\nc\nD\n".into(), 0)
    );
    // Both sides deleting the same line is fine.
    assert_eq!(
        merge(base, "a\nc\nd\n", "a\nc\nd\n"),
        ("a\nc\nd\n".into(), 0)
    );
}

#[test]
fn crlf_and_odd_bytes_are_just_bytes() {
    let base = b"a\r\nb\r\n\xff\x00\n";
    let mine = b"a\r\nB\r\n\xff\x00\n";
    let theirs = b"a\r\nb\r\n\xff\x00\nz";
    let out = merge3(base, mine, theirs, &LABELS);
    assert_eq!(out.conflicts, 0);
    assert_eq!(out.merged, b"a\r\nB\r\n\xff\x00\nz");
}

#[test]
fn unified_diff_basics() {
    assert_eq!(unified_diff(b"a\n", b"a\n", "x", "y", 3), "");
    assert_eq!(
        unified_diff(b"a\nb\nc\n", b"a\nB\nc\n", "old", "new", 3),
        "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    );
    assert_eq!(
        unified_diff(b"", b"x\n", "old", "new", 3),
        "--- old\n+++ new\n@@ -0,0 +1 @@\n+x\n"
    );
    assert_eq!(
        unified_diff(b"a\nb", b"a\nb\n", "old", "new", 3),
        "--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
    );
    // With no context, an insertion names the line before it.
    assert_eq!(
        unified_diff(b"a\nb\n", b"a\nx\nb\n", "old", "new", 0),
        "--- old\n+++ new\n@@ -1,0 +2 @@\n+x\n"
    );
}

#[test]
fn unified_diff_hunk_grouping() {
    let numbered = |changed: &[usize]| -> String {
        (1..=20)
            .map(|i| {
                if changed.contains(&i) {
                    format!("new{i}\n")
                } else {
                    format!("{i}\n")
                }
            })
            .collect()
    };
    let old = numbered(&[]);
    // Changes at lines 5 and 12: 6 unchanged lines between, 2 * 3 = 6 joins.
    let near = numbered(&[5, 12]);
    let diff = unified_diff(old.as_bytes(), near.as_bytes(), "a", "b", 3);
    assert_eq!(diff.matches("@@ -").count(), 1, "{diff}");
    assert!(diff.contains("@@ -2,14 +2,14 @@\n"), "{diff}");
    // Lines 5 and 13: 7 between, two hunks.
    let far = numbered(&[5, 13]);
    let diff = unified_diff(old.as_bytes(), far.as_bytes(), "a", "b", 3);
    assert!(diff.contains("@@ -2,7 +2,7 @@\n"), "{diff}");
    assert!(diff.contains("@@ -10,7 +10,7 @@\n"), "{diff}");
}

#[test]
fn huge_context_is_clamped_to_the_files() {
    let old = b"a\nb\nc\n";
    let new = b"a\nB\nc\n";
    assert_eq!(
        unified_diff(old, new, "o", "n", usize::MAX),
        "--- o\n+++ n\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    );
    assert_eq!(
        context_diff(old, new, "o", "n", usize::MAX),
        "*** o\n--- n\n***************\n*** 1,3 ****\n  a\n! b\n  c\n--- 1,3 ----\n  a\n! B\n  c\n"
    );
}

#[test]
fn context_diff_basics() {
    assert_eq!(context_diff(b"a\n", b"a\n", "x", "y", 3), "");
    assert_eq!(
        context_diff(b"a\nb\nc\n", b"a\nB\nc\nd\n", "old", "new", 3),
        "*** old\n--- new\n***************\n*** 1,3 ****\n  a\n! b\n  c\n--- 1,4 ----\n  a\n! B\n  c\n+ d\n"
    );
    // A pure insertion omits the old side's lines.
    assert_eq!(
        context_diff(b"a\n", b"a\nb\n", "old", "new", 3),
        "*** old\n--- new\n***************\n*** 1 ****\n--- 1,2 ----\n  a\n+ b\n"
    );
}

fn lines_strategy() -> impl Strategy<Value = Vec<u8>> {
    // Few distinct lines so edits collide; sometimes no final newline.
    (
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "", "d\r"]), 0..12),
        any::<bool>(),
    )
        .prop_map(|(lines, trailing)| {
            let mut s = lines.join("\n");
            if trailing && !lines.is_empty() {
                s.push('\n');
            }
            s.into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn same_change_on_both_sides_is_clean(base in lines_strategy(), ours in lines_strategy()) {
        let out = merge3(&base, &ours, &ours, &LABELS);
        prop_assert_eq!(out.conflicts, 0);
        prop_assert_eq!(out.merged, ours);
    }

    #[test]
    fn unchanged_mine_takes_theirs(base in lines_strategy(), theirs in lines_strategy()) {
        let out = merge3(&base, &base, &theirs, &LABELS);
        prop_assert_eq!(out.conflicts, 0);
        prop_assert_eq!(out.merged, theirs);
    }

    #[test]
    fn unchanged_theirs_keeps_mine(base in lines_strategy(), mine in lines_strategy()) {
        let out = merge3(&base, &mine, &base, &LABELS);
        prop_assert_eq!(out.conflicts, 0);
        prop_assert_eq!(out.merged, mine);
    }

    #[test]
    fn merges_never_panic(
        base in prop::collection::vec(any::<u8>(), 0..64),
        mine in prop::collection::vec(any::<u8>(), 0..64),
        theirs in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let out = merge3(&base, &mine, &theirs, &LABELS);
        // Every conflict writes exactly one start marker on its own line.
        let starts = out.merged.split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"<<<<<<< .mine"))
            .count();
        prop_assert!(starts >= out.conflicts);
    }

    #[test]
    fn diffs_never_panic(
        old in lines_strategy(),
        new in lines_strategy(),
        context in 0usize..5,
    ) {
        let u = unified_diff(&old, &new, "a", "b", context);
        let c = context_diff(&old, &new, "a", "b", context);
        prop_assert_eq!(u.is_empty(), old == new);
        prop_assert_eq!(c.is_empty(), old == new);
    }

    #[test]
    fn unified_diff_round_trips(old in lines_strategy(), new in lines_strategy(), context in 0usize..4) {
        let patch = unified_diff(&old, &new, "a", "b", context);
        prop_assert_eq!(apply_unified(&old, &patch), new);
    }
}

/// A minimal `patch` for our own output, to check hunks are self-consistent.
fn apply_unified(old: &[u8], patch: &str) -> Vec<u8> {
    let old_lines = crate::lines::split_lines(old);
    let mut out: Vec<u8> = Vec::new();
    let mut next_old = 0usize;
    let mut lines = patch.split_inclusive('\n').skip(2).peekable();
    while let Some(header) = lines.next() {
        let minus = header
            .strip_prefix("@@ -")
            .and_then(|h| h.split(' ').next())
            .unwrap();
        let mut parts = minus.split(',');
        let start: usize = parts.next().unwrap().parse().unwrap();
        let count: usize = parts.next().map_or(1, |c| c.parse().unwrap());
        let first = if count == 0 { start } else { start - 1 };
        for l in &old_lines[next_old..first] {
            out.extend_from_slice(l);
        }
        next_old = first;
        while let Some(l) = lines.peek() {
            if l.starts_with("@@") {
                break;
            }
            let l = lines.next().unwrap();
            let text = &l[1..];
            let incomplete = lines.peek().is_some_and(|n| n.starts_with('\\'));
            let text = if incomplete {
                lines.next();
                text.strip_suffix('\n').unwrap()
            } else {
                text
            };
            match &l[..1] {
                " " => {
                    out.extend_from_slice(text.as_bytes());
                    next_old += 1;
                }
                "-" => next_old += 1,
                "+" => out.extend_from_slice(text.as_bytes()),
                other => panic!("bad line {other:?}"),
            }
        }
    }
    for l in &old_lines[next_old..] {
        out.extend_from_slice(l);
    }
    out
}
