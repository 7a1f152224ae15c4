//! The three-way merge: never panics on any bytes; merging a side with
//! itself gives that side without conflict, and so does a change made on
//! one side only (either side).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_merge::{MergeLabels, Side, merge3, merge3_choosing};

fuzz_target!(|data: &[u8]| {
    // Three texts separated by NUL bytes (which texts may also hold).
    let mut parts = data.splitn(3, |b| *b == 0);
    let base = parts.next().unwrap_or_default();
    let ours = parts.next().unwrap_or_default();
    let theirs = parts.next().unwrap_or_default();
    let labels = MergeLabels {
        mine: ".mine",
        base: ".base",
        theirs: ".theirs",
    };
    let same = merge3(base, ours, ours, &labels);
    assert_eq!(same.conflicts, 0);
    assert_eq!(same.merged, ours);
    let unchanged = merge3(base, ours, base, &labels);
    assert_eq!(unchanged.conflicts, 0);
    assert_eq!(unchanged.merged, ours);
    let taken = merge3(base, base, theirs, &labels);
    assert_eq!(taken.conflicts, 0);
    assert_eq!(taken.merged, theirs);
    let _ = merge3(base, ours, theirs, &labels);
    let _ = merge3_choosing(base, ours, theirs, Side::Mine);
    let _ = merge3_choosing(base, ours, theirs, Side::Theirs);
});
