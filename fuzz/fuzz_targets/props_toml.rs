//! `propedit`'s TOML view of properties, as the user left it in an editor:
//! parsing never panics, every error has a line and column inside the
//! text, and what parses renders and parses back to the same view.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_client::props::{parse_toml_view, render_toml_view};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_toml_view(text) {
        Ok(view) => {
            let again = render_toml_view("fuzz", &view);
            assert_eq!(parse_toml_view(&again), Ok(view));
        }
        Err(e) => {
            assert!(e.line >= 1 && e.column >= 1);
            assert!(e.line as usize <= text.lines().count().max(1) + 1);
        }
    }
});
