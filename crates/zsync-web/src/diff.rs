//! Diffs for pages: `zsync-merge`'s unified diff, split into lines with
//! line numbers, and paired into rows for the side-by-side view.

/// One line of a unified diff.
pub struct DiffLine {
    /// `add`, `del`, `ctx`, `hunk` or `note`: the CSS class.
    pub class: &'static str,
    pub old_no: String,
    pub new_no: String,
    pub text: String,
}

/// One row of a side-by-side diff.
pub struct SideRow {
    pub left_class: &'static str,
    pub left_no: String,
    pub left: String,
    pub right_class: &'static str,
    pub right_no: String,
    pub right: String,
}

/// The difference between two texts, both ways of looking at it.
pub struct TextDiff {
    pub lines: Vec<DiffLine>,
    pub rows: Vec<SideRow>,
}

impl TextDiff {
    pub fn new(old: &[u8], new: &[u8]) -> TextDiff {
        let unified = zsync_merge::unified_diff(old, new, "old", "new", 3);
        let lines = parse(&unified);
        let rows = pair(&lines);
        TextDiff { lines, rows }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

fn hunk_starts(header: &str) -> (usize, usize) {
    // "@@ -a,b +c,d @@"
    let mut parts = header.split_whitespace().skip(1);
    let start = |s: Option<&str>| {
        s.and_then(|s| s[1..].split(',').next()?.parse::<usize>().ok())
            .unwrap_or(0)
    };
    (start(parts.next()), start(parts.next()))
}

fn parse(unified: &str) -> Vec<DiffLine> {
    let mut out = Vec::new();
    let (mut old_no, mut new_no) = (0usize, 0usize);
    for line in unified.lines() {
        if line.starts_with("--- ") || line.starts_with("+++ ") {
            continue;
        }
        let (class, text) = if line.starts_with("@@") {
            (old_no, new_no) = hunk_starts(line);
            ("hunk", line)
        } else if let Some(t) = line.strip_prefix('-') {
            ("del", t)
        } else if let Some(t) = line.strip_prefix('+') {
            ("add", t)
        } else if let Some(t) = line.strip_prefix(' ') {
            ("ctx", t)
        } else {
            ("note", line)
        };
        let (o, n) = match class {
            "del" => (Some(old_no), None),
            "add" => (None, Some(new_no)),
            "ctx" => (Some(old_no), Some(new_no)),
            _ => (None, None),
        };
        if o.is_some() {
            old_no += 1;
        }
        if n.is_some() {
            new_no += 1;
        }
        out.push(DiffLine {
            class,
            old_no: o.map(|n| n.to_string()).unwrap_or_default(),
            new_no: n.map(|n| n.to_string()).unwrap_or_default(),
            text: text.to_owned(),
        });
    }
    out
}

fn pair(lines: &[DiffLine]) -> Vec<SideRow> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        match line.class {
            "del" | "add" => {
                let dels: Vec<&DiffLine> =
                    lines[i..].iter().take_while(|l| l.class == "del").collect();
                let adds: Vec<&DiffLine> = lines[i + dels.len()..]
                    .iter()
                    .take_while(|l| l.class == "add")
                    .collect();
                for k in 0..dels.len().max(adds.len()) {
                    let (lc, ln, lt) = dels
                        .get(k)
                        .map_or(("empty", String::new(), String::new()), |l| {
                            ("del", l.old_no.clone(), l.text.clone())
                        });
                    let (rc, rn, rt) = adds
                        .get(k)
                        .map_or(("empty", String::new(), String::new()), |l| {
                            ("add", l.new_no.clone(), l.text.clone())
                        });
                    rows.push(SideRow {
                        left_class: lc,
                        left_no: ln,
                        left: lt,
                        right_class: rc,
                        right_no: rn,
                        right: rt,
                    });
                }
                i += dels.len() + adds.len();
            }
            class => {
                rows.push(SideRow {
                    left_class: class,
                    left_no: line.old_no.clone(),
                    left: line.text.clone(),
                    right_class: class,
                    right_no: line.new_no.clone(),
                    right: if class == "ctx" {
                        line.text.clone()
                    } else {
                        String::new()
                    },
                });
                i += 1;
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_lines_are_numbered_and_paired() {
        let d = TextDiff::new(b"a\nb\nc\n", b"a\nB\nc\nd\n");
        let shown: Vec<(&str, &str, &str, &str)> = d
            .lines
            .iter()
            .map(|l| {
                (
                    l.class,
                    l.old_no.as_str(),
                    l.new_no.as_str(),
                    l.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("hunk", "", "", "@@ -1,3 +1,4 @@"),
                ("ctx", "1", "1", "a"),
                ("del", "2", "", "b"),
                ("add", "", "2", "B"),
                ("ctx", "3", "3", "c"),
                ("add", "", "4", "d"),
            ]
        );
        let rows: Vec<(&str, &str, &str, &str)> = d
            .rows
            .iter()
            .map(|r| {
                (
                    r.left_class,
                    r.left.as_str(),
                    r.right_class,
                    r.right.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("hunk", "@@ -1,3 +1,4 @@", "hunk", ""),
                ("ctx", "a", "ctx", "a"),
                ("del", "b", "add", "B"),
                ("ctx", "c", "ctx", "c"),
                ("empty", "", "add", "d"),
            ]
        );
        assert!(TextDiff::new(b"x\n", b"x\n").is_empty());
    }
}
