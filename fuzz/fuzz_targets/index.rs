//! The working copy's index file (`.zsync/index`), which may be damaged on
//! disk: decoding never panics, and what decodes round-trips. The target
//! decodes the payload without its checksum, so mutations reach the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_client::index::disk;

fuzz_target!(|data: &[u8]| {
    if let Ok((index, glance)) = disk::decode_payload(data) {
        let file = disk::encode(&index, glance.as_ref()).expect("a decoded index encodes");
        let (again, glance_again) =
            disk::decode_payload(&file[..file.len() - 32]).expect("and decodes back");
        assert_eq!(glance_again, glance);
        assert_eq!(
            disk::encode(&again, glance_again.as_ref()).expect("encodes again"),
            file
        );
        disk::decode_head(&file).expect("its head decodes");
    }
});
