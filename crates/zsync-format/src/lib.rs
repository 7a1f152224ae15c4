//! The formats that cross the wire between `zsync` and `zsyncd`.
//!
//! JSON messages ([`api`]) describe trees, commits and errors; the
//! [`archive`] stream carries a manifest and the bodies it names in one
//! response, so a checkout is a single request; an upload [`batch`] carries
//! many small bodies in one request.

pub mod api;
pub mod archive;
pub mod batch;
pub mod bundle;

pub use api::*;
