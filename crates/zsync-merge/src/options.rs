//! GNU diff's options for what counts as a difference (`-b`, `-B`, `-i`)
//! and how much context to show.

use std::borrow::Cow;

/// How a two-way diff compares lines and how much it prints.
///
/// The defaults are `diff -u`'s: 3 lines of context, every byte counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffOptions {
    /// Unchanged lines shown around each change (`-U N`, `-C N`).
    pub context: usize,
    /// `-b`: a run of white space matches any other non-empty run, and white
    /// space at the end of a line (the final newline included) is ignored.
    pub ignore_space_change: bool,
    /// `-B`: changes whose lines are all blank are not shown, unless they
    /// are close enough to a shown change to share its hunk. With `-b`,
    /// lines holding only white space count as blank.
    pub ignore_blank_lines: bool,
    /// `-i`: ASCII letters match regardless of case.
    pub ignore_case: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self::with_context(3)
    }
}

impl DiffOptions {
    /// Plain comparison with `context` lines of context.
    pub fn with_context(context: usize) -> Self {
        Self {
            context,
            ignore_space_change: false,
            ignore_blank_lines: false,
            ignore_case: false,
        }
    }

    /// True if lines are compared by something other than their bytes.
    pub(crate) fn normalises(&self) -> bool {
        self.ignore_space_change || self.ignore_case
    }

    /// The bytes a line is compared by. Under `-b` the terminating newline
    /// is trailing white space too, so a last line without `\n` matches the
    /// same text with it (GNU behaves the same way).
    pub(crate) fn key<'a>(&self, line: &'a [u8]) -> Cow<'a, [u8]> {
        if !self.normalises() {
            return Cow::Borrowed(line);
        }
        let mut key = Vec::with_capacity(line.len());
        if self.ignore_space_change {
            let mut pending_space = false;
            for &byte in line {
                if is_space(byte) {
                    pending_space = true;
                    continue;
                }
                // Any run (leading ones too) becomes one space; a run at the
                // end never gets here, so it is dropped.
                if pending_space {
                    key.push(b' ');
                }
                pending_space = false;
                key.push(byte);
            }
        } else {
            key.extend_from_slice(line);
        }
        if self.ignore_case {
            key.make_ascii_lowercase();
        }
        Cow::Owned(key)
    }

    /// True if `line` is blank for `-B`: empty, or only white space when
    /// white space is being ignored.
    pub(crate) fn is_blank(&self, line: &[u8]) -> bool {
        if self.ignore_space_change {
            line.iter().all(|&b| is_space(b))
        } else {
            line == b"\n"
        }
    }
}

/// C's `isspace` in the C locale; `\n` only ever ends a line.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(b: bool, i: bool) -> DiffOptions {
        DiffOptions {
            ignore_space_change: b,
            ignore_case: i,
            ..DiffOptions::default()
        }
    }

    #[test]
    fn keys_fold_space_runs_and_case() {
        let b = opts(true, false);
        assert_eq!(b.key(b"a  b\t c \r\n"), b.key(b"a b c"));
        assert_ne!(b.key(b"ab\n"), b.key(b"a b\n"));
        assert_ne!(b.key(b"  a\n"), b.key(b"a\n"));
        assert_eq!(b.key(b"  a\n"), b.key(b"\ta\n"));
        let i = opts(false, true);
        assert_eq!(i.key(b"HeLLo\n"), i.key(b"hello\n"));
        assert_ne!(i.key(b"x\n"), i.key(b"x"));
        let plain = DiffOptions::default();
        assert_eq!(plain.key(b"A \n"), Cow::Borrowed(&b"A \n"[..]));
    }

    #[test]
    fn blank_lines() {
        let plain = DiffOptions::default();
        assert!(plain.is_blank(b"\n"));
        assert!(!plain.is_blank(b" \n"));
        assert!(opts(true, false).is_blank(b" \t\r\n"));
    }

    #[test]
    fn space_change_hides_whitespace_only_edits() {
        let b = DiffOptions {
            ignore_space_change: true,
            ..DiffOptions::default()
        };
        let old = b"fn main() {\n    x();\n}\n";
        let new = b"fn main()  {\n\tx();   \n}";
        assert_eq!(crate::unified_diff_with(old, new, "o", "n", &b), "");
        assert!(!crate::differs(old, new, &b));
        // A real change still shows, with the old file's text as context.
        let new = b"fn main()  {\n\ty();\n}\n";
        assert_eq!(
            crate::unified_diff_with(old, new, "o", "n", &b),
            "--- o\n+++ n\n@@ -1,3 +1,3 @@\n fn main() {\n-    x();\n+\ty();\n }\n"
        );
    }

    #[test]
    fn ignore_case() {
        let i = DiffOptions {
            ignore_case: true,
            ..DiffOptions::default()
        };
        assert_eq!(
            crate::unified_diff_with(b"Hello\n", b"hELLO\n", "o", "n", &i),
            ""
        );
        assert_eq!(
            crate::brief_diff(b"Hello\n", b"Help\n", "o", "n", &i),
            "Files o and n differ\n"
        );
    }

    #[test]
    fn blank_line_changes_hide_unless_near_a_real_change() {
        let opts = DiffOptions {
            context: 1,
            ignore_blank_lines: true,
            ..DiffOptions::default()
        };
        let old = b"1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        assert!(!crate::differs(
            old,
            b"1\n\n2\n3\n4\n5\n6\n7\n8\n9\n",
            &opts
        ));
        // A blank line far before the change is dropped...
        assert_eq!(
            crate::unified_diff_with(old, b"1\n\n2\n3\n4\nX\n6\n7\n8\n9\n", "o", "n", &opts),
            "--- o\n+++ n\n@@ -4,3 +5,3 @@\n 4\n-5\n+X\n 6\n"
        );
        // ...one within twice the context before it shares its hunk...
        assert_eq!(
            crate::unified_diff_with(old, b"1\n2\n\n3\n4\nX\n6\n7\n8\n9\n", "o", "n", &opts),
            "--- o\n+++ n\n@@ -2,5 +2,6 @@\n 2\n+\n 3\n 4\n-5\n+X\n 6\n"
        );
        // ...but after a change it must be closer than the context (GNU).
        assert_eq!(
            crate::unified_diff_with(old, b"1\n2\n3\nX\n5\n\n6\n7\n8\n9\n", "o", "n", &opts),
            "--- o\n+++ n\n@@ -3,3 +3,3 @@\n 3\n-4\n+X\n 5\n"
        );
    }
}
