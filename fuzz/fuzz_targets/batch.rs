//! The upload batch the server reads from any Editor: any bytes must give
//! bodies or a clean error, never a panic, and every body lies inside the
//! batch within the limits asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_format::batch;

fuzz_target!(|data: &[u8]| {
    let (max_body, max_count) = (4096, 64);
    if let Ok(bodies) = batch::parse(data, max_body, max_count) {
        assert!(bodies.len() <= max_count);
        for (_, range) in bodies {
            assert!(range.end <= data.len());
            assert!((range.end - range.start) as u64 <= max_body);
        }
    }
});
