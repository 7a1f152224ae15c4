//! The archive stream a checkout reads from the server: any bytes must
//! give frames or a clean error, never a panic or an unbounded allocation.
#![no_main]

use std::io::Read as _;

use libfuzzer_sys::fuzz_target;
use zsync_format::archive::{ArchiveReader, Header};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = ArchiveReader::new(data) else {
        return;
    };
    // Each frame at least consumes its tag byte, so this ends.
    for _ in 0..=data.len() {
        match reader.next_header() {
            Ok(Header::Body { .. }) => {
                let mut sink = Vec::new();
                if reader.body().read_to_end(&mut sink).is_err() {
                    return;
                }
            }
            Ok(Header::End) | Err(_) => return,
            Ok(_) => {}
        }
    }
});
