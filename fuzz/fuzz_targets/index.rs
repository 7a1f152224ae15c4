//! The working copy's index file (`.zsync/index.json`), which may be
//! damaged on disk: parsing never panics, and what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_client::index::Index;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = serde_json::from_slice::<Index>(data) {
        let json = serde_json::to_vec(&index).expect("a parsed index serialises");
        let again: Index = serde_json::from_slice(&json).expect("and parses back");
        assert_eq!(serde_json::to_vec(&again).expect("serialises again"), json);
    }
});
