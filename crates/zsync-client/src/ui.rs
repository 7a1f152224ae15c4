//! The client library never touches the terminal: it reports what it does
//! and asks for secrets through [`Ui`], which the CLI implements.

/// One line of progress from a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notification {
    /// An update/checkout action on a path, in svn's four columns: text,
    /// properties, lock, tree conflict (e.g. `"U   "`, `" U  "`, `"   C"`).
    Update { columns: String, path: String },
    /// A scheduling change: `A`, `D`, or `Reverted`, `Resolved`.
    Schedule { action: String, path: String },
    /// Commit progress: `Adding`, `Sending`, `Deleting`.
    Commit { action: &'static str, path: String },
    /// A lock taken (`locked`) or released on a path; `user` holds (held) it.
    Lock {
        path: String,
        user: String,
        locked: bool,
    },
    /// Something the user should know that is not an error.
    Warning(String),
    /// Text to show as it is (a diff asked for during conflict handling).
    Text(String),
    /// What `zsync watch` did (committed, updated, held back a conflict).
    Watch(crate::watch::WatchEvent),
}

pub trait Ui {
    fn notify(&self, note: Notification);

    /// Asks for a secret without echo. `None` when no one can be asked
    /// (not a terminal): the library then fails with a clear error.
    fn password(&self, prompt: &str) -> Option<String>;

    /// Asks for a line of text (e.g. a user name). `None` if no one can be asked.
    fn line(&self, prompt: &str) -> Option<String> {
        let _ = prompt;
        None
    }

    /// Asks to pick one of `choices` (short answer, description). `None`
    /// when no one can be asked: the caller takes its default.
    fn choose(&self, question: &str, choices: &[(&str, &str)]) -> Option<String> {
        let _ = (question, choices);
        None
    }

    /// Asks a yes/no question (an unknown SSH host key). `None` when no
    /// one can be asked: the caller refuses.
    fn confirm(&self, question: &str) -> Option<bool> {
        let _ = question;
        None
    }

    /// Opens a file in the user's editor; false if that is not possible.
    fn edit(&self, path: &std::path::Path) -> bool {
        let _ = path;
        false
    }
}

/// A `Ui` that records notifications and never prompts; for tests and
/// embedding.
#[derive(Default)]
pub struct RecordingUi {
    pub notes: std::sync::Mutex<Vec<Notification>>,
}

impl Ui for RecordingUi {
    fn notify(&self, note: Notification) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(note);
        }
    }

    fn password(&self, _prompt: &str) -> Option<String> {
        None
    }
}
