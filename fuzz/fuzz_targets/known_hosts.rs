//! A `known_hosts` file (OpenSSH's format, hashed names included): looking
//! a key up in any text never panics, and a line written the way `zsync`
//! appends one is always found again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use russh::keys::PublicKey;
use zsync_client::known_hosts::{TextVerdict, check_text, host_entry};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBop67N8yiBEHO0j7ZCpMP75eKsS56oT4w7DF8bMpKjG";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = PublicKey::from_openssh(KEY).expect("the fixed key parses");
    let _ = check_text(text, "example.org", 2200, &key);
    let appended = format!("{text}\n{} {KEY}\n", host_entry("example.org", 2200));
    assert_ne!(
        check_text(&appended, "example.org", 2200, &key),
        TextVerdict::Unknown
    );
});
