//! Conformance against the machine's GNU diffutils.
//!
//! Generates several hundred random base/mine/theirs triples from a tiny line
//! alphabet (so edits collide often), with a fixed seed, and compares:
//!
//! * `merge3` with `diff3 -m -E MINE BASE THEIRS`: the clean/conflict verdict
//!   always, the merged bytes for clean merges;
//! * conflict text with `diff3 -m -A`, normalised for the accepted
//!   divergences below;
//! * `unified_diff` with `diff -U n --label .. --label ..`, and
//!   `context_diff` with `diff -C n`;
//! * on a second set of pairs drawn from lines that differ in white space
//!   and case, `unified_diff_with`/`context_diff_with` with `diff -U n` /
//!   `-C n` plus each combination of `-b`, `-B` and `-i`, and `differs`
//!   with the exit status of `diff --brief` under the same options.
//!
//! Needs `/usr/bin/diff3` and `/usr/bin/diff` (Debian package `diffutils`).
//!
//! # Accepted divergences
//!
//! These are deliberate; GNU's output is normalised for them before comparing,
//! and nothing else is tolerated silently (mismatches count against the
//! agreement rate, which is printed with examples):
//!
//! 1. **Conflict blocks include the base section** (`||||||| BASE` ..), as
//!    `diff3 -m` (`-A`) and svn write them; `-E` omits it. So conflict text is
//!    compared with `diff3 -m -A`, after replacing the blocks `-A` adds for
//!    changes made identically on both sides (`<<<<<<< BASE` .. `>>>>>>>`) by
//!    their content, which is what `-E` (and we) output there.
//! 2. **Markers always start a line.** When a side's last line has no final
//!    newline, GNU glues the next marker onto it (`text=======`); we insert a
//!    `\n` first. GNU's output gets the same `\n` inserted before comparing.
//! 3. **No binary refusal.** GNU diff/diff3 refuse files with NUL bytes; we
//!    merge any bytes (callers check `is_binary`). Not exercised here: the
//!    generator only produces text.
//! 4. **`-i` folds ASCII only.** GNU folds case by the locale's `tolower`
//!    per byte; we fold ASCII letters, which is the same in the C locale the
//!    comparison runs in (and for UTF-8 text, whose multi-byte sequences
//!    `tolower` leaves alone). The generator uses ASCII.
//! 5. **White space is C's `isspace`** (space, `\t`, `\v`, `\f`, `\r`) for
//!    `-b` and for what `-B` calls blank, whatever the locale.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use zsync_merge::{
    DiffOptions, MergeLabels, context_diff, context_diff_with, differs, merge3, unified_diff,
    unified_diff_with,
};

const DIFF3: &str = "/usr/bin/diff3";
const DIFF: &str = "/usr/bin/diff";
const SEED: u64 = 0x5eed_2024_d1ff_0003;
const MERGE_CASES: usize = 600;
/// Pairs compared under `-b`/`-B`/`-i` (each with several diff runs).
const OPTION_CASES: usize = 420;
/// For longer local runs: `ZSYNC_CONFORMANCE_CASES=20000 ZSYNC_CONFORMANCE_SEED=7`.
const CASES_VAR: &str = "ZSYNC_CONFORMANCE_CASES";
const SEED_VAR: &str = "ZSYNC_CONFORMANCE_SEED";
const WORKERS: usize = 4;
const MIN_AGREEMENT: f64 = 0.95;

const LABELS: MergeLabels<'static> = MergeLabels {
    mine: "MINE",
    base: "BASE",
    theirs: "THEIRS",
};

/// SplitMix64: tiny, deterministic, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A text file as lines (without `\n`) plus whether the last one ends in `\n`.
#[derive(Clone)]
struct Text {
    lines: Vec<String>,
    final_newline: bool,
}

impl Text {
    fn bytes(&self) -> Vec<u8> {
        let mut s = self.lines.join("\n");
        if self.final_newline && !self.lines.is_empty() {
            s.push('\n');
        }
        s.into_bytes()
    }
}

const ALPHABET: &[&str] = &["a", "b", "c", "d", "e", "", "x\r"];
/// Lines that are equal, or blank, only under `-b`, `-B` or `-i`.
const SPACY_ALPHABET: &[&str] = &[
    "a", "a ", " a", "\ta", "a b", "a  b", "a\tb", "ab", "A", "A B", "", " ", "\t", "x\r", "b",
    "B ", "c",
];

fn random_line_from(rng: &mut Rng, fresh: &mut usize, alphabet: &[&str]) -> String {
    if rng.chance(12) {
        // A line the other files don't have exercises GNU's discarding.
        *fresh += 1;
        format!("u{fresh}")
    } else {
        alphabet[rng.below(alphabet.len())].to_string()
    }
}

fn random_base(rng: &mut Rng, fresh: &mut usize) -> Text {
    random_base_from(rng, fresh, ALPHABET)
}

fn random_base_from(rng: &mut Rng, fresh: &mut usize, alphabet: &[&str]) -> Text {
    let len = if rng.chance(3) {
        // Past diff3's 100-line horizon, with many repeats of each line.
        100 + rng.below(300)
    } else if rng.chance(15) {
        20 + rng.below(60)
    } else {
        rng.below(10)
    };
    Text {
        lines: (0..len)
            .map(|_| random_line_from(rng, fresh, alphabet))
            .collect(),
        final_newline: !rng.chance(12),
    }
}

fn mutate(rng: &mut Rng, fresh: &mut usize, base: &Text) -> Text {
    mutate_from(rng, fresh, base, ALPHABET)
}

fn mutate_from(rng: &mut Rng, fresh: &mut usize, base: &Text, alphabet: &[&str]) -> Text {
    let mut t = base.clone();
    let edits = rng.below(4) + usize::from(t.lines.len() > 20) * rng.below(4 + t.lines.len() / 10);
    for _ in 0..edits {
        let n = t.lines.len();
        match rng.below(4) {
            0 if n > 0 => {
                t.lines.remove(rng.below(n));
            }
            1 if n > 0 => {
                let i = rng.below(n);
                t.lines[i] = random_line_from(rng, fresh, alphabet);
            }
            2 if n > 1 => {
                // Delete a short run.
                let i = rng.below(n - 1);
                let k = 1 + rng.below((n - i).min(3));
                t.lines.drain(i..i + k);
            }
            _ => {
                let i = rng.below(n + 1);
                for _ in 0..1 + rng.below(2) {
                    t.lines.insert(i, random_line_from(rng, fresh, alphabet));
                }
            }
        }
    }
    if rng.chance(8) {
        t.final_newline = !t.final_newline;
    }
    t
}

struct Case {
    base: Vec<u8>,
    mine: Vec<u8>,
    theirs: Vec<u8>,
    context: usize,
}

fn env_or<T: std::str::FromStr>(var: &str, default: T) -> T {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cases() -> Vec<Case> {
    let mut rng = Rng(env_or(SEED_VAR, SEED));
    let mut fresh = 0;
    (0..env_or(CASES_VAR, MERGE_CASES))
        .map(|_| {
            let base = random_base(&mut rng, &mut fresh);
            let mine = mutate(&mut rng, &mut fresh, &base);
            let theirs = if rng.chance(10) {
                mine.clone()
            } else {
                mutate(&mut rng, &mut fresh, &base)
            };
            Case {
                base: base.bytes(),
                mine: mine.bytes(),
                theirs: theirs.bytes(),
                context: rng.below(5),
            }
        })
        .collect()
}

/// A pair to diff under GNU's comparison options.
struct OptionCase {
    old: Vec<u8>,
    new: Vec<u8>,
    opts: DiffOptions,
}

impl OptionCase {
    /// The GNU flags for `opts`, context included.
    fn flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.opts.ignore_space_change {
            flags.push("-b");
        }
        if self.opts.ignore_blank_lines {
            flags.push("-B");
        }
        if self.opts.ignore_case {
            flags.push("-i");
        }
        flags
    }
}

fn option_cases() -> Vec<OptionCase> {
    let mut rng = Rng(env_or(SEED_VAR, SEED) ^ 0x0b7_1b1e);
    let mut fresh = 0;
    (0..env_or(CASES_VAR, OPTION_CASES))
        .map(|i| {
            let old = random_base_from(&mut rng, &mut fresh, SPACY_ALPHABET);
            let new = mutate_from(&mut rng, &mut fresh, &old, SPACY_ALPHABET);
            // Every non-empty combination of -b, -B, -i in turn.
            let combo = i % 7 + 1;
            OptionCase {
                old: old.bytes(),
                new: new.bytes(),
                opts: DiffOptions {
                    context: rng.below(5),
                    ignore_space_change: combo & 1 != 0,
                    ignore_blank_lines: combo & 2 != 0,
                    ignore_case: combo & 4 != 0,
                },
            }
        })
        .collect()
}

/// Agreement counter for one kind of comparison, keeping a few examples.
#[derive(Default)]
struct Tally {
    compared: usize,
    agreed: usize,
    examples: Vec<String>,
}

impl Tally {
    fn check(&mut self, ok: bool, describe: impl FnOnce() -> String) {
        self.compared += 1;
        if ok {
            self.agreed += 1;
        } else if self.examples.len() < 3 {
            self.examples.push(describe());
        }
    }

    fn merge(&mut self, other: Tally) {
        self.compared += other.compared;
        self.agreed += other.agreed;
        self.examples.extend(other.examples);
        self.examples.truncate(3);
    }

    fn rate(&self) -> f64 {
        if self.compared == 0 {
            1.0
        } else {
            self.agreed as f64 / self.compared as f64
        }
    }
}

#[derive(Default)]
struct Report {
    verdict: Tally,
    clean_output: Tally,
    conflict_output: Tally,
    unified: Tally,
    context: Tally,
    unified_options: Tally,
    context_options: Tally,
    brief_options: Tally,
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.verdict.merge(other.verdict);
        self.clean_output.merge(other.clean_output);
        self.conflict_output.merge(other.conflict_output);
        self.unified.merge(other.unified);
        self.context.merge(other.context);
        self.unified_options.merge(other.unified_options);
        self.context_options.merge(other.context_options);
        self.brief_options.merge(other.brief_options);
    }

    fn all(&self) -> [(&'static str, &Tally); 8] {
        [
            ("merge verdict (diff3 -m -E exit status)", &self.verdict),
            ("clean merge bytes (diff3 -m -E)", &self.clean_output),
            (
                "conflict text (diff3 -m -A, normalised)",
                &self.conflict_output,
            ),
            ("unified diff (diff -U n)", &self.unified),
            ("context diff (diff -C n)", &self.context),
            (
                "unified diff with -b/-B/-i (diff -U n)",
                &self.unified_options,
            ),
            (
                "context diff with -b/-B/-i (diff -C n)",
                &self.context_options,
            ),
            ("brief verdict with -b/-B/-i (diff -q)", &self.brief_options),
        ]
    }
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

fn run(program: &str, args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new(program)
        .args(args)
        // Untranslated "\ No newline at end of file".
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{program} {args:?} failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, out.stdout)
}

/// Rewrites `diff3 -m -A` output into what we produce (see the accepted
/// divergences in the module docs).
fn normalise_show_all(gnu: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(gnu).into_owned();
    // 1. Identical changes: `<<<<<<< BASE\n<base>=======\n<text>>>>>>>> THEIRS\n`
    //    becomes `<text>`. Separators may be glued to an unterminated line.
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = find_marker(rest, "<<<<<<< BASE\n") {
        out.push_str(&rest[..start]);
        let block = &rest[start..];
        let (Some(sep), Some(end)) = (block.find("=======\n"), block.find(">>>>>>> THEIRS\n"))
        else {
            out.push_str(block);
            rest = "";
            break;
        };
        out.push_str(&block[sep + "=======\n".len()..end]);
        rest = &block[end + ">>>>>>> THEIRS\n".len()..];
    }
    out.push_str(rest);
    // 2. Put every marker at the start of a line.
    for marker in [
        "<<<<<<< MINE\n",
        "||||||| BASE\n",
        "=======\n",
        ">>>>>>> THEIRS\n",
    ] {
        out = unglue(&out, marker);
    }
    out.into_bytes()
}

/// Inserts a `\n` before each `marker` that does not start a line.
fn unglue(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i]);
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(marker);
        rest = &rest[i + marker.len()..];
    }
    out.push_str(rest);
    out
}

/// Position of `marker` where it starts a line.
fn find_marker(text: &str, marker: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(marker) {
        let at = from + i;
        if at == 0 || text.as_bytes()[at - 1] == b'\n' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn check_case(index: usize, case: &Case, dir: &Path, report: &mut Report) {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let (base_p, mine_p, theirs_p) = (path("base"), path("mine"), path("theirs"));
    for (p, data) in [
        (&base_p, &case.base),
        (&mine_p, &case.mine),
        (&theirs_p, &case.theirs),
    ] {
        std::fs::write(p, data).expect("write temp file");
    }
    let describe = || {
        format!(
            "case {index}: base={} mine={} theirs={}",
            show(&case.base),
            show(&case.mine),
            show(&case.theirs)
        )
    };

    let ours = merge3(&case.base, &case.mine, &case.theirs, &LABELS);
    let labels = ["-L", "MINE", "-L", "BASE", "-L", "THEIRS"];
    let mut args = vec!["-m", "-E"];
    args.extend(labels);
    args.extend([mine_p.as_str(), base_p.as_str(), theirs_p.as_str()]);
    let (code, gnu) = run(DIFF3, &args);
    let gnu_conflict = code == 1;
    report
        .verdict
        .check(gnu_conflict == (ours.conflicts > 0), || {
            format!(
                "{}\n  diff3 exit {code}, ours {} conflict(s)",
                describe(),
                ours.conflicts
            )
        });
    if !gnu_conflict && ours.conflicts == 0 {
        report.clean_output.check(gnu == ours.merged, || {
            format!(
                "{}\n  diff3: {}\n  ours:  {}",
                describe(),
                show(&gnu),
                show(&ours.merged)
            )
        });
    } else if gnu_conflict && ours.conflicts > 0 {
        let mut args = vec!["-m", "-A"];
        args.extend(labels);
        args.extend([mine_p.as_str(), base_p.as_str(), theirs_p.as_str()]);
        let (_, all) = run(DIFF3, &args);
        let expected = normalise_show_all(&all);
        report.conflict_output.check(expected == ours.merged, || {
            format!(
                "{}\n  diff3 -A (normalised): {}\n  ours: {}",
                describe(),
                show(&expected),
                show(&ours.merged)
            )
        });
    }

    // Two-way diffs over a rotating choice of pairs.
    let (old, new, old_p, new_p) = match index % 3 {
        0 => (&case.base, &case.mine, &base_p, &mine_p),
        1 => (&case.mine, &case.theirs, &mine_p, &theirs_p),
        _ => (&case.theirs, &case.base, &theirs_p, &base_p),
    };
    let n = case.context.to_string();
    let (_, gnu) = run(
        DIFF,
        &["-U", &n, "--label", "OLD", "--label", "NEW", old_p, new_p],
    );
    let ours = unified_diff(old, new, "OLD", "NEW", case.context);
    report.unified.check(gnu == ours.as_bytes(), || {
        format!(
            "case {index}: old={} new={} -U {n}\n--- diff:\n{}--- ours:\n{ours}",
            show(old),
            show(new),
            String::from_utf8_lossy(&gnu)
        )
    });
    if index.is_multiple_of(2) {
        let (_, gnu) = run(
            DIFF,
            &["-C", &n, "--label", "OLD", "--label", "NEW", old_p, new_p],
        );
        let ours = context_diff(old, new, "OLD", "NEW", case.context);
        report.context.check(gnu == ours.as_bytes(), || {
            format!(
                "case {index}: old={} new={} -C {n}\n--- diff:\n{}--- ours:\n{ours}",
                show(old),
                show(new),
                String::from_utf8_lossy(&gnu)
            )
        });
    }
}

fn check_option_case(index: usize, case: &OptionCase, dir: &Path, report: &mut Report) {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let (old_p, new_p) = (path("old"), path("new"));
    std::fs::write(&old_p, &case.old).expect("write temp file");
    std::fs::write(&new_p, &case.new).expect("write temp file");
    let n = case.opts.context.to_string();
    let flags = case.flags();
    let describe = |gnu: &[u8], ours: &str| {
        format!(
            "option case {index}: old={} new={} {flags:?} -U/-C {n}\n--- diff:\n{}--- ours:\n{ours}",
            show(&case.old),
            show(&case.new),
            String::from_utf8_lossy(gnu)
        )
    };
    let gnu_args = |format: &'static str| {
        let mut args = flags.clone();
        args.extend([
            format, &n, "--label", "OLD", "--label", "NEW", &old_p, &new_p,
        ]);
        args
    };

    let (_, gnu) = run(DIFF, &gnu_args("-U"));
    let ours = unified_diff_with(&case.old, &case.new, "OLD", "NEW", &case.opts);
    report
        .unified_options
        .check(gnu == ours.as_bytes(), || describe(&gnu, &ours));
    if index.is_multiple_of(3) {
        let (_, gnu) = run(DIFF, &gnu_args("-C"));
        let ours = context_diff_with(&case.old, &case.new, "OLD", "NEW", &case.opts);
        report
            .context_options
            .check(gnu == ours.as_bytes(), || describe(&gnu, &ours));
    }
    let mut args = flags.clone();
    args.extend(["--brief", &old_p, &new_p]);
    let (code, _) = run(DIFF, &args);
    let ours = differs(&case.old, &case.new, &case.opts);
    report.brief_options.check((code == 1) == ours, || {
        describe(
            format!("exit {code}\n").as_bytes(),
            &format!("differs: {ours}\n"),
        )
    });
}

#[test]
fn agrees_with_gnu_diffutils() {
    for tool in [DIFF3, DIFF] {
        assert!(
            Path::new(tool).exists(),
            "{tool} not found: install Debian's `diffutils` package (apt-get install diffutils)"
        );
    }

    let cases = cases();
    let option_cases = option_cases();
    let mut report = Report::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let cases = &cases;
                let option_cases = &option_cases;
                scope.spawn(move || {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let mut report = Report::default();
                    for (i, case) in cases.iter().enumerate().skip(w).step_by(WORKERS) {
                        check_case(i, case, dir.path(), &mut report);
                    }
                    for (i, case) in option_cases.iter().enumerate().skip(w).step_by(WORKERS) {
                        check_option_case(i, case, dir.path(), &mut report);
                    }
                    report
                })
            })
            .collect();
        for worker in workers {
            report.merge(worker.join().expect("worker panicked"));
        }
    });

    let mut summary = String::new();
    for (name, tally) in report.all() {
        writeln!(
            summary,
            "{name}: {}/{} agree ({:.1}%)",
            tally.agreed,
            tally.compared,
            100.0 * tally.rate()
        )
        .ok();
        for example in &tally.examples {
            writeln!(summary, "  diverging: {example}").ok();
        }
    }
    println!("{summary}");
    assert!(report.verdict.compared >= 500);
    for (name, tally) in report.all() {
        assert!(
            tally.rate() >= MIN_AGREEMENT,
            "{name}: agreement {:.1}% is below {:.0}%\n{summary}",
            100.0 * tally.rate(),
            100.0 * MIN_AGREEMENT
        );
    }
}
