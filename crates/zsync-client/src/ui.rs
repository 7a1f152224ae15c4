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

/// What a long-running step is doing, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Looking at working files (stat, hashing candidates) to find changes.
    Scanning,
    /// Bodies coming from the server into the pristine store.
    Receiving,
    /// Working files and index entries being written.
    Writing,
    /// Bodies going to the server.
    Sending,
    /// A bundle read through once to check it.
    Checking,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Scanning => "scanning",
            Phase::Receiving => "receiving",
            Phase::Writing => "writing",
            Phase::Sending => "sending",
            Phase::Checking => "checking",
        }
    }
}

/// `Sync`, so the threads a command uses for files and bodies can report
/// progress.
pub trait Ui: Sync {
    fn notify(&self, note: Notification);

    /// A step of `total_objects` objects and `total_bytes` bytes begins (a
    /// total is 0 when unknown or not counted). Until [`Ui::progress_finish`],
    /// [`Ui::progress_advance`] reports what was done since the last call.
    /// Called from the command's threads, possibly often: keep it cheap.
    fn progress_start(&self, phase: Phase, total_objects: u64, total_bytes: u64) {
        let _ = (phase, total_objects, total_bytes);
    }

    /// `objects` and `bytes` more are done (deltas, not totals).
    fn progress_advance(&self, objects: u64, bytes: u64) {
        let _ = (objects, bytes);
    }

    /// The step begun by the last [`Ui::progress_start`] is over (done or
    /// failed).
    fn progress_finish(&self) {}

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

/// One progress event, as [`RecordingUi`] keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    Start {
        phase: Phase,
        objects: u64,
        bytes: u64,
    },
    Advance {
        objects: u64,
        bytes: u64,
    },
    Finish,
}

/// A progress step that ends when dropped, also when the command fails
/// half-way (so a bar never stays on the screen).
pub(crate) struct Progress<'a> {
    ui: &'a dyn Ui,
}

impl<'a> Progress<'a> {
    pub(crate) fn start(ui: &'a dyn Ui, phase: Phase, objects: u64, bytes: u64) -> Self {
        ui.progress_start(phase, objects, bytes);
        Self { ui }
    }

    pub(crate) fn advance(&self, objects: u64, bytes: u64) {
        self.ui.progress_advance(objects, bytes);
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        self.ui.progress_finish();
    }
}

/// A reader that reports the bytes read through it as progress.
pub(crate) struct CountingReader<'a, R> {
    pub(crate) inner: R,
    pub(crate) ui: &'a dyn Ui,
}

impl<R: std::io::Read> std::io::Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.ui.progress_advance(0, n as u64);
        }
        Ok(n)
    }
}

/// A `Ui` that records notifications and progress events and never
/// prompts; for tests and embedding.
#[derive(Default)]
pub struct RecordingUi {
    pub notes: std::sync::Mutex<Vec<Notification>>,
    pub progress: std::sync::Mutex<Vec<ProgressEvent>>,
}

impl RecordingUi {
    fn record(&self, event: ProgressEvent) {
        if let Ok(mut events) = self.progress.lock() {
            events.push(event);
        }
    }
}

impl Ui for RecordingUi {
    fn notify(&self, note: Notification) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(note);
        }
    }

    fn progress_start(&self, phase: Phase, objects: u64, bytes: u64) {
        self.record(ProgressEvent::Start {
            phase,
            objects,
            bytes,
        });
    }

    fn progress_advance(&self, objects: u64, bytes: u64) {
        self.record(ProgressEvent::Advance { objects, bytes });
    }

    fn progress_finish(&self) {
        self.record(ProgressEvent::Finish);
    }

    fn password(&self, _prompt: &str) -> Option<String> {
        None
    }
}
