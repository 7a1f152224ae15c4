//! A manifest as the server sends it (JSON): parsing never panics, and
//! what parses serialises and parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_format::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = serde_json::from_slice::<Manifest>(data) {
        let json = serde_json::to_vec(&manifest).expect("a parsed manifest serialises");
        let again: Manifest = serde_json::from_slice(&json).expect("and parses back");
        assert_eq!(again, manifest);
    }
});
