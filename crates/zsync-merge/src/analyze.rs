//! The two-way line diff, built to choose the same hunks as GNU diff.
//!
//! Many different edit scripts are minimal, and `diff -u` users (and
//! `diff3`) see which one was picked, so this module follows GNU diff's
//! documented pipeline step by step rather than using a generic LCS:
//!
//! 1. **Trim identical ends.** Leading and trailing runs of identical lines
//!    are set aside, except for `horizon` lines at each end that stay in the
//!    analysed window (GNU: `--horizon-lines`, at least the context size).
//!    Trimming is not just a speed-up: it changes the line counts used in
//!    step 3 and bounds how far step 5 may slide a change.
//! 2. **Equivalence classes.** Every line of the window becomes an integer;
//!    equal lines (bytes *and* presence of the final `\n`) share one.
//! 3. **Discard confusing lines.** Lines with no counterpart in the other file
//!    are certainly changes and are taken out of the search; lines that occur
//!    very often in the other file are taken out too when they sit inside
//!    such a run. This keeps the search small and steers it away from
//!    matching stray blank lines or braces.
//! 4. **Myers' O(ND) search** (Myers 1986, "An O(ND) Difference Algorithm and
//!    its Variations", §4.2, the linear-space "middle snake" bisection) on
//!    what is left, scanning diagonals in the same order and breaking ties
//!    the same way as GNU, including its cost cap (`too_expensive`) that
//!    trades minimality for speed on huge inputs.
//! 5. **Shift boundaries.** A run of changed lines can often slide up or down
//!    over identical lines; runs are slid to merge with neighbouring runs,
//!    otherwise as far down as possible, then back up to line up with a
//!    change in the other file.
//! 6. The per-line "changed" flags are collected into [`Change`] records.

use std::collections::HashMap;

/// One group of differing lines. Line numbers are 0-based indices into the
/// full inputs. With `deleted == 0`, `line0` is the index the insertion goes
/// before (likewise `line1` for `inserted == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) line0: usize,
    pub(crate) line1: usize,
    pub(crate) deleted: usize,
    pub(crate) inserted: usize,
}

/// Diffs two line lists the way GNU diff does with `--horizon-lines=horizon`
/// (GNU raises the horizon to at least the context size; `diff3` passes 100).
pub(crate) fn diff_lines(a: &[&[u8]], b: &[&[u8]], horizon: usize) -> Vec<Change> {
    diff_lines_keyed(a, b, a, b, horizon)
}

/// Like [`diff_lines`], but lines match when their comparison keys (`keys0`
/// for `a`, `keys1` for `b`, one per line) are equal, as with GNU's `-b` or
/// `-i`. The identical ends are still trimmed by raw bytes, as GNU does
/// before it looks at lines at all.
pub(crate) fn diff_lines_keyed(
    a: &[&[u8]],
    b: &[&[u8]],
    keys0: &[&[u8]],
    keys1: &[&[u8]],
    horizon: usize,
) -> Vec<Change> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let front = prefix.saturating_sub(horizon);
    // The identical suffix may not reach back into the trimmed prefix.
    let room = a.len().min(b.len()) - front;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    let back = suffix.saturating_sub(horizon);
    let body0 = &keys0[front..a.len() - back];
    let body1 = &keys1[front..b.len() - back];

    let (eqs0, eqs1, classes) = classify(body0, body1);
    let mut changed0 = Flags::new(body0.len());
    let mut changed1 = Flags::new(body1.len());

    let discards0 = discardable(&eqs0, &eqs1, classes);
    let discards1 = discardable(&eqs1, &eqs0, classes);
    let (kept0, real0) = keep_undiscarded(&eqs0, &discards0, &mut changed0);
    let (kept1, real1) = keep_undiscarded(&eqs1, &discards1, &mut changed1);

    let mut search = Search::new(&kept0, &kept1);
    for (side, index) in search.run() {
        match side {
            Side::Old => real0.get(index).map(|&i| changed0.set(i)),
            Side::New => real1.get(index).map(|&i| changed1.set(i)),
        };
    }

    shift_boundaries(&eqs0, &mut changed0, &changed1);
    shift_boundaries(&eqs1, &mut changed1, &changed0);

    build_script(&changed0, &changed1, front)
}

/// Numbers lines so that equal lines get equal ids (starting at 1).
fn classify<'a>(body0: &[&'a [u8]], body1: &[&'a [u8]]) -> (Vec<u32>, Vec<u32>, usize) {
    let mut ids: HashMap<&'a [u8], u32> = HashMap::new();
    let mut number = |lines: &[&'a [u8]]| -> Vec<u32> {
        lines
            .iter()
            .map(|&line| {
                // Line counts are far below u32::MAX for any file we can hold.
                let next = u32::try_from(ids.len() + 1).unwrap_or(u32::MAX);
                *ids.entry(line).or_insert(next)
            })
            .collect()
    };
    let eqs0 = number(body0);
    let eqs1 = number(body1);
    let classes = ids.len() + 1;
    (eqs0, eqs1, classes)
}

/// Per-line "changed" flags with an always-false slot before the first and
/// after the last line, so the boundary-sliding scans need no edge cases.
struct Flags {
    slots: Vec<bool>,
}

impl Flags {
    fn new(lines: usize) -> Self {
        Flags {
            slots: vec![false; lines + 2],
        }
    }

    fn len(&self) -> isize {
        self.slots.len() as isize - 2
    }

    /// Out-of-range positions (including the sentinels) read as unchanged.
    fn get(&self, line: isize) -> bool {
        usize::try_from(line + 1)
            .ok()
            .and_then(|slot| self.slots.get(slot))
            .copied()
            .unwrap_or(false)
    }

    fn put(&mut self, line: isize, value: bool) {
        // The sentinels must stay false, so only real lines are writable.
        if (0..self.len()).contains(&line)
            && let Some(slot) = usize::try_from(line + 1)
                .ok()
                .and_then(|s| self.slots.get_mut(s))
        {
            *slot = value;
        }
    }

    fn set(&mut self, line: usize) {
        self.put(line as isize, true);
    }
}

const KEEP: u8 = 0;
const DISCARD: u8 = 1;
const PROVISIONAL: u8 = 2;

/// Decides which lines of one file to leave out of the Myers search.
fn discardable(eqs: &[u32], other: &[u32], classes: usize) -> Vec<u8> {
    let mut other_count = vec![0usize; classes];
    for &e in other {
        if let Some(c) = other_count.get_mut(e as usize) {
            *c += 1;
        }
    }
    // "Many" grows with roughly the square root of the file length.
    let mut many = 5usize;
    let mut tem = eqs.len() / 64;
    loop {
        tem >>= 2;
        if tem == 0 {
            break;
        }
        many *= 2;
    }
    let mut marks: Vec<u8> = eqs
        .iter()
        .map(
            |&e| match other_count.get(e as usize).copied().unwrap_or(0) {
                0 => DISCARD,
                n if n > many => PROVISIONAL,
                _ => KEEP,
            },
        )
        .collect();
    settle_provisionals(&mut marks);
    marks
}

/// A frequent line is only discarded inside a run of discardable lines
/// that starts and ends with a line that has no match at all, and only
/// where such lines don't cluster.
fn settle_provisionals(d: &mut [u8]) {
    let end = d.len();
    let mut i = 0;
    while i < end {
        if d[i] == PROVISIONAL {
            d[i] = KEEP;
        } else if d[i] == DISCARD {
            // Find the end of this run, dropping provisional lines at its end.
            let mut j = i;
            let mut provisional = 0usize;
            while j < end && d[j] != KEEP {
                if d[j] == PROVISIONAL {
                    provisional += 1;
                }
                j += 1;
            }
            while j > i && d[j - 1] == PROVISIONAL {
                j -= 1;
                d[j] = KEEP;
                provisional -= 1;
            }
            let length = j - i;

            if provisional * 4 > length {
                // Too many frequent lines: keep all of them.
                for m in &mut d[i..j] {
                    if *m == PROVISIONAL {
                        *m = KEEP;
                    }
                }
            } else {
                // Subruns of `minimum` or more frequent lines are kept;
                // `minimum` is about sqrt(length / 4).
                let mut minimum = 1usize;
                let mut tem = length >> 2;
                loop {
                    tem >>= 2;
                    if tem == 0 {
                        break;
                    }
                    minimum <<= 1;
                }
                minimum += 1;

                let mut k = 0usize;
                let mut consec = 0usize;
                while k < length {
                    if d[i + k] != PROVISIONAL {
                        consec = 0;
                    } else {
                        consec += 1;
                        if consec == minimum {
                            // Rescan the subrun from its start, clearing it.
                            k = k.saturating_sub(consec);
                        } else if consec > minimum {
                            d[i + k] = KEEP;
                        }
                    }
                    k += 1;
                }

                // Near the run's ends, keep frequent lines until three plain
                // discards in a row (or one at least 8 lines in) are seen.
                keep_run_end(d.get_mut(i..i + length).into_iter().flatten());

                i += length - 1;

                keep_run_end(d.get_mut(i + 1 - length..=i).into_iter().flatten().rev());
            }
        }
        i += 1;
    }
}

/// Returns the kept lines' classes and their original indices; marks the
/// discarded lines as changed.
fn keep_undiscarded(eqs: &[u32], marks: &[u8], changed: &mut Flags) -> (Vec<u32>, Vec<usize>) {
    let mut kept = Vec::with_capacity(eqs.len());
    let mut real = Vec::with_capacity(eqs.len());
    for (i, (&e, &m)) in eqs.iter().zip(marks).enumerate() {
        if m == KEEP {
            kept.push(e);
            real.push(i);
        } else {
            changed.set(i);
        }
    }
    (kept, real)
}

#[derive(Clone, Copy)]
enum Side {
    Old,
    New,
}

/// Where the two half-searches met, and whether each half still has to be
/// solved minimally.
struct Partition {
    xmid: isize,
    ymid: isize,
    lo_minimal: bool,
    hi_minimal: bool,
}

/// Myers' bidirectional search over two class vectors.
struct Search<'a> {
    xv: &'a [u32],
    yv: &'a [u32],
    /// Furthest x reached on each diagonal, forward and backward; indexed by
    /// diagonal + `offset`.
    fd: Vec<isize>,
    bd: Vec<isize>,
    offset: isize,
    too_expensive: isize,
}

/// Backward-search sentinel: larger than any x, small enough not to overflow.
const FAR: isize = isize::MAX / 4;

impl<'a> Search<'a> {
    fn new(xv: &'a [u32], yv: &'a [u32]) -> Self {
        let diags = xv.len() + yv.len() + 3;
        // Cap the cost at about the square root of the input size (>= 4096),
        // as GNU diff does when --minimal is not given.
        let mut too_expensive: isize = 1;
        let mut n = diags;
        while n != 0 {
            n >>= 2;
            too_expensive = too_expensive.saturating_mul(2);
        }
        Search {
            xv,
            yv,
            fd: vec![0; diags],
            bd: vec![0; diags],
            offset: yv.len() as isize + 1,
            too_expensive: too_expensive.max(4096),
        }
    }

    fn same(&self, x: isize, y: isize) -> bool {
        let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
            return false;
        };
        match (self.xv.get(x), self.yv.get(y)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    fn slot(&self, d: isize) -> usize {
        usize::try_from(d + self.offset).unwrap_or(usize::MAX)
    }

    fn fget(&self, d: isize) -> isize {
        self.fd.get(self.slot(d)).copied().unwrap_or(-1)
    }

    fn fset(&mut self, d: isize, x: isize) {
        let s = self.slot(d);
        if let Some(v) = self.fd.get_mut(s) {
            *v = x;
        }
    }

    fn bget(&self, d: isize) -> isize {
        self.bd.get(self.slot(d)).copied().unwrap_or(FAR)
    }

    fn bset(&mut self, d: isize, x: isize) {
        let s = self.slot(d);
        if let Some(v) = self.bd.get_mut(s) {
            *v = x;
        }
    }

    /// Runs the whole comparison; returns every (side, index) that is an
    /// insertion or deletion.
    fn run(&mut self) -> Vec<(Side, usize)> {
        let mut out = Vec::new();
        // An explicit stack instead of recursion: inputs can be huge.
        let mut work = vec![(
            0isize,
            self.xv.len() as isize,
            0isize,
            self.yv.len() as isize,
            false,
        )];
        while let Some((mut xoff, mut xlim, mut yoff, mut ylim, minimal)) = work.pop() {
            while xoff < xlim && yoff < ylim && self.same(xoff, yoff) {
                xoff += 1;
                yoff += 1;
            }
            while xlim > xoff && ylim > yoff && self.same(xlim - 1, ylim - 1) {
                xlim -= 1;
                ylim -= 1;
            }
            if xoff == xlim {
                out.extend((yoff..ylim).map(|y| (Side::New, y as usize)));
            } else if yoff == ylim {
                out.extend((xoff..xlim).map(|x| (Side::Old, x as usize)));
            } else {
                let part = self.diag(xoff, xlim, yoff, ylim, minimal);
                work.push((part.xmid, xlim, part.ymid, ylim, part.hi_minimal));
                work.push((xoff, part.xmid, yoff, part.ymid, part.lo_minimal));
            }
        }
        out
    }

    /// Finds the midpoint of a shortest edit script for the given window
    /// (whose first and last elements are known to differ).
    fn diag(
        &mut self,
        xoff: isize,
        xlim: isize,
        yoff: isize,
        ylim: isize,
        minimal: bool,
    ) -> Partition {
        let dmin = xoff - ylim;
        let dmax = xlim - yoff;
        let fmid = xoff - yoff;
        let bmid = xlim - ylim;
        let (mut fmin, mut fmax, mut bmin, mut bmax) = (fmid, fmid, bmid, bmid);
        // Whether the end corner is an odd number of diagonals away from the
        // start decides which search can detect the overlap.
        let odd = (fmid - bmid) & 1 != 0;

        self.fset(fmid, xoff);
        self.bset(bmid, xlim);

        let mut cost: isize = 1;
        loop {
            // Forward search: one more edit on every active diagonal.
            if fmin > dmin {
                fmin -= 1;
                self.fset(fmin - 1, -1);
            } else {
                fmin += 1;
            }
            if fmax < dmax {
                fmax += 1;
                self.fset(fmax + 1, -1);
            } else {
                fmax -= 1;
            }
            let mut d = fmax;
            while d >= fmin {
                let tlo = self.fget(d - 1);
                let thi = self.fget(d + 1);
                let x0 = if tlo >= thi { tlo + 1 } else { thi };
                let mut x = x0;
                let mut y = x0 - d;
                while x < xlim && y < ylim && self.same(x, y) {
                    x += 1;
                    y += 1;
                }
                self.fset(d, x);
                if odd && bmin <= d && d <= bmax && self.bget(d) <= x {
                    return Partition {
                        xmid: x,
                        ymid: y,
                        lo_minimal: true,
                        hi_minimal: true,
                    };
                }
                d -= 2;
            }

            // Backward search, symmetrically.
            if bmin > dmin {
                bmin -= 1;
                self.bset(bmin - 1, FAR);
            } else {
                bmin += 1;
            }
            if bmax < dmax {
                bmax += 1;
                self.bset(bmax + 1, FAR);
            } else {
                bmax -= 1;
            }
            let mut d = bmax;
            while d >= bmin {
                let tlo = self.bget(d - 1);
                let thi = self.bget(d + 1);
                let x0 = if tlo < thi { tlo } else { thi - 1 };
                let mut x = x0;
                let mut y = x0 - d;
                while x > xoff && y > yoff && self.same(x - 1, y - 1) {
                    x -= 1;
                    y -= 1;
                }
                self.bset(d, x);
                if !odd && fmin <= d && d <= fmax && x <= self.fget(d) {
                    return Partition {
                        xmid: x,
                        ymid: y,
                        lo_minimal: true,
                        hi_minimal: true,
                    };
                }
                d -= 2;
            }

            if !minimal && cost >= self.too_expensive {
                return self.give_up(xoff, xlim, yoff, ylim, (fmin, fmax), (bmin, bmax));
            }
            cost += 1;
        }
    }

    /// The search got too expensive: split at the furthest point either
    /// half-search reached, and let only that half be solved exactly.
    fn give_up(
        &self,
        xoff: isize,
        xlim: isize,
        yoff: isize,
        ylim: isize,
        (fmin, fmax): (isize, isize),
        (bmin, bmax): (isize, isize),
    ) -> Partition {
        let mut fxybest = -1;
        let mut fxbest = 0;
        let mut d = fmax;
        while d >= fmin {
            let mut x = self.fget(d).min(xlim);
            let mut y = x - d;
            if ylim < y {
                x = ylim + d;
                y = ylim;
            }
            if fxybest < x + y {
                fxybest = x + y;
                fxbest = x;
            }
            d -= 2;
        }
        let mut bxybest = isize::MAX;
        let mut bxbest = 0;
        let mut d = bmax;
        while d >= bmin {
            let mut x = self.bget(d).max(xoff);
            let mut y = x - d;
            if y < yoff {
                x = yoff + d;
                y = yoff;
            }
            if x + y < bxybest {
                bxybest = x + y;
                bxbest = x;
            }
            d -= 2;
        }
        if (xlim + ylim) - bxybest < fxybest - (xoff + yoff) {
            Partition {
                xmid: fxbest,
                ymid: fxybest - fxbest,
                lo_minimal: true,
                hi_minimal: false,
            }
        } else {
            Partition {
                xmid: bxbest,
                ymid: bxybest - bxbest,
                lo_minimal: false,
                hi_minimal: true,
            }
        }
    }
}

/// Slides runs of changed lines in one file over identical neighbours so
/// that runs merge, else sit as low as possible, else line up with a run of
/// changes in the other file. `other` is only read, to track the
/// corresponding position there.
fn shift_boundaries(eqs: &[u32], changed: &mut Flags, other: &Flags) {
    let eq = |i: isize| usize::try_from(i).ok().and_then(|i| eqs.get(i)).copied();
    let i_end = changed.len();
    let mut i: isize = 0;
    let mut j: isize = 0;
    loop {
        // Find the next run, keeping j at the matching line of the other file.
        while i < i_end && !changed.get(i) {
            while other.get(j) {
                j += 1;
            }
            j += 1;
            i += 1;
        }
        if i >= i_end {
            break;
        }
        let mut start = i;
        i += 1;
        while changed.get(i) {
            i += 1;
        }
        while other.get(j) {
            j += 1;
        }

        let mut corresponding;
        loop {
            let runlength = i - start;

            // Move up while the line above equals the run's last line,
            // swallowing any run it meets.
            while start > 0 && eq(start - 1) == eq(i - 1) {
                start -= 1;
                changed.put(start, true);
                i -= 1;
                changed.put(i, false);
                while changed.get(start - 1) {
                    start -= 1;
                }
                j -= 1;
                while other.get(j) {
                    j -= 1;
                }
            }

            // The last end position that lines up with a change in the other
            // file; i_end means "none".
            corresponding = if other.get(j - 1) { i } else { i_end };

            // Then move down while the run's first line equals the line below.
            while i != i_end && eq(start) == eq(i) {
                changed.put(start, false);
                start += 1;
                changed.put(i, true);
                i += 1;
                while changed.get(i) {
                    i += 1;
                }
                j += 1;
                while other.get(j) {
                    corresponding = i;
                    j += 1;
                }
            }

            if runlength == i - start {
                break;
            }
        }

        // Prefer the position aligned with the other file's change.
        while corresponding < i {
            start -= 1;
            changed.put(start, true);
            i -= 1;
            changed.put(i, false);
            j -= 1;
            while other.get(j) {
                j -= 1;
            }
        }
    }
}

/// Collects the flags into changes, shifting indices by the trimmed prefix.
fn build_script(changed0: &Flags, changed1: &Flags, front: usize) -> Vec<Change> {
    let mut out = Vec::new();
    let (len0, len1) = (changed0.len(), changed1.len());
    let (mut i0, mut i1) = (0isize, 0isize);
    while i0 < len0 || i1 < len1 {
        if changed0.get(i0) || changed1.get(i1) {
            let (line0, line1) = (i0, i1);
            while changed0.get(i0) {
                i0 += 1;
            }
            while changed1.get(i1) {
                i1 += 1;
            }
            out.push(Change {
                line0: line0 as usize + front,
                line1: line1 as usize + front,
                deleted: (i0 - line0) as usize,
                inserted: (i1 - line1) as usize,
            });
        }
        i0 += 1;
        i1 += 1;
    }
    out
}

/// Near a run's end, keeps provisional lines until three plain discards in a
/// row (or one at least 8 lines in) are seen; `marks` walks inward from it.
fn keep_run_end<'a>(marks: impl Iterator<Item = &'a mut u8>) {
    let mut consec = 0usize;
    for (k, m) in marks.enumerate() {
        if k >= 8 && *m == DISCARD {
            break;
        }
        match *m {
            PROVISIONAL => {
                consec = 0;
                *m = KEEP;
            }
            KEEP => consec = 0,
            _ => consec += 1,
        }
        if consec == 3 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::split_lines;

    fn changes(a: &str, b: &str) -> Vec<(usize, usize, usize, usize)> {
        let a = split_lines(a.as_bytes());
        let b = split_lines(b.as_bytes());
        diff_lines(&a, &b, 0)
            .into_iter()
            .map(|c| (c.line0, c.deleted, c.line1, c.inserted))
            .collect()
    }

    #[test]
    fn identical_inputs_have_no_changes() {
        assert!(changes("", "").is_empty());
        assert!(changes("a\nb\n", "a\nb\n").is_empty());
        assert!(changes("a\nb", "a\nb").is_empty());
    }

    #[test]
    fn simple_edits() {
        assert_eq!(changes("a\nb\nc\n", "a\nc\n"), vec![(1, 1, 1, 0)]);
        assert_eq!(changes("a\nc\n", "a\nb\nc\n"), vec![(1, 0, 1, 1)]);
        assert_eq!(changes("a\nb\nc\n", "a\nB\nc\n"), vec![(1, 1, 1, 1)]);
        assert_eq!(changes("a\nb", "a\nb\n"), vec![(1, 1, 1, 1)]);
        assert_eq!(changes("", "x\n"), vec![(0, 0, 0, 1)]);
    }

    #[test]
    fn insertions_of_repeated_lines_slide_down() {
        // GNU reports the inserted copy after the existing one.
        assert_eq!(changes("a\nb\n", "a\na\nb\n"), vec![(1, 0, 1, 1)]);
    }
}
