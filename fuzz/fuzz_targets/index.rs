//! The working copy's index file (`.zsync/index`), which may be damaged on
//! disk: decoding never panics, and what decodes round-trips. The target
//! decodes the payload without its checksum, so mutations reach the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_client::index::disk;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = disk::decode_payload(data) {
        let file = disk::encode(&index).expect("a decoded index encodes");
        let again = disk::decode(&file).expect("and decodes back");
        assert_eq!(disk::encode(&again).expect("encodes again"), file);
    }
});
