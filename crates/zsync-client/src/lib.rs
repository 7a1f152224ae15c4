//! The zsync client as a library: working copies and every client command.
//!
//! Commands are functions over a [`Context`] (who is asking, from where,
//! with which [`Ui`]). They never read the terminal; the CLI supplies a
//! `Ui` that does. Every command either does all of its work or none:
//! targets are checked before anything changes, files are written to temp
//! names and renamed, and the index is saved atomically at the end.

pub mod bundle;
pub mod checkin;
pub mod checkout;
pub mod commit;
pub mod config;
pub mod conflict;
pub mod copy;
pub mod credentials;
pub mod depth;
pub mod diff;
pub mod error;
pub(crate) mod fault;
pub mod fsutil;
pub mod glance;
pub mod history;
pub mod ignore_rules;
pub mod index;
pub mod info;
pub mod known_hosts;
pub mod listings;
pub mod locks;
pub mod merge;
pub mod moves;
pub mod pristine;
pub mod props;
pub mod schedule;
pub mod session;
pub mod ssh;
pub mod status;
pub mod transport;
pub mod ui;
pub mod update;
pub mod url;
pub mod watch;
pub mod wc;

pub use error::{ClientError, Result};
pub use session::{Context, Target};
pub use ui::{Notification, Phase, ProgressEvent, Ui};
pub use url::ServerUrl;
pub use wc::WorkingCopy;
