//! A commit request as a client sends it (JSON): parsing never panics;
//! every path in what parses is a valid `RepoPath` by construction, and
//! the request round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_format::CommitRequest;
use zsync_model::RepoPath;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<CommitRequest>(data) {
        for op in &request.ops {
            let path = op.path();
            assert_eq!(RepoPath::parse(path.as_str()).as_ref(), Ok(path));
        }
        let json = serde_json::to_vec(&request).expect("a parsed request serialises");
        let again: CommitRequest = serde_json::from_slice(&json).expect("and parses back");
        assert_eq!(again, request);
    }
});
