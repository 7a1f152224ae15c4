//! The terminal side of [`zsync_client::Ui`]: notifications on stdout,
//! warnings on stderr, prompts only when stdin is a terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use indicatif::{BinaryBytes, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use zsync_client::watch::{StopFlag, WatchEvent};
use zsync_client::{Notification, Phase, Ui};

pub struct TerminalUi {
    interactive: bool,
    /// With `--json`: notifications are kept for the one JSON document
    /// instead of printed, and nothing is asked.
    recorded: Option<Mutex<Vec<Notification>>>,
    /// Only when stderr is a terminal (and not with `--json`).
    progress: Option<Bar>,
    /// Lines for stdout take the bar off the screen only when both share
    /// the terminal.
    stdout_shared: bool,
    /// The editor command (`--editor-cmd`, `ZSYNC_EDITOR`, the config
    /// file, `VISUAL`, `EDITOR`), if any.
    pub editor: Option<String>,
    /// Whether stdout gets colour (config `color`, `NO_COLOR`).
    pub color: bool,
}

/// One bar, reused for every step of a command; the text comes first and
/// the bar takes the rest of the line, so it never wraps on 80 columns. Advancing it is a few
/// atomic adds (indicatif redraws at most 20 times a second), so the hot
/// loops that report every file pay no lock.
struct Bar {
    bar: ProgressBar,
    /// The bar's position counts bytes when the step has a byte total,
    /// else objects; the other count is kept here.
    by_bytes: AtomicBool,
    objects: Arc<AtomicU64>,
    total_objects: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    active: AtomicBool,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.finish_and_clear();
        Self {
            bar,
            by_bytes: AtomicBool::new(false),
            objects: Arc::new(AtomicU64::new(0)),
            total_objects: Arc::new(AtomicU64::new(0)),
            bytes: Arc::new(AtomicU64::new(0)),
            active: AtomicBool::new(false),
        }
    }

    fn start(&self, phase: Phase, total_objects: u64, total_bytes: u64) {
        self.objects.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        self.total_objects.store(total_objects, Ordering::Relaxed);
        let by_bytes = total_bytes > 0;
        self.by_bytes.store(by_bytes, Ordering::Relaxed);
        let objects = (self.objects.clone(), self.total_objects.clone());
        let bytes = self.bytes.clone();
        let template = if by_bytes {
            "{prefix:>9} {objs} objects, {binary_bytes}/{binary_total_bytes}, \
             {binary_bytes_per_sec}, ETA {eta} [{wide_bar}]"
        } else if total_objects > 0 {
            "{prefix:>9} {pos}/{len} objects{done_bytes}, {per_sec}, ETA {eta} [{wide_bar}]"
        } else {
            "{prefix:>9} {spinner} {pos} objects{done_bytes} ({per_sec})"
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
            .with_key(
                "objs",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(
                        w,
                        "{}/{}",
                        objects.0.load(Ordering::Relaxed),
                        objects.1.load(Ordering::Relaxed)
                    );
                },
            )
            .with_key(
                "done_bytes",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let n = bytes.load(Ordering::Relaxed);
                    if n > 0 {
                        let _ = write!(w, ", {}", BinaryBytes(n));
                    }
                },
            );
        self.bar.set_style(style);
        self.bar.set_prefix(phase.label());
        self.bar
            .set_length(if by_bytes { total_bytes } else { total_objects });
        self.bar.reset();
        self.active.store(true, Ordering::Release);
        self.bar.tick();
    }

    fn advance(&self, objects: u64, bytes: u64) {
        self.objects.fetch_add(objects, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let step = if self.by_bytes.load(Ordering::Relaxed) {
            bytes
        } else {
            objects
        };
        if step > 0 {
            self.bar.inc(step);
        }
    }

    fn finish(&self) {
        if self.active.swap(false, Ordering::AcqRel) {
            self.bar.finish_and_clear();
        }
    }

    /// Runs `f` (which prints) with the bar off the screen.
    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        if self.active.load(Ordering::Acquire) {
            self.bar.suspend(f)
        } else {
            f()
        }
    }
}

impl TerminalUi {
    /// Prints one notification in svn's layout.
    fn print(note: Notification) {
        let mut out = std::io::stdout().lock();
        let _ = match note {
            Notification::Update { columns, path } => writeln!(out, "{columns} {path}"),
            Notification::Schedule { action, path } => match action.as_str() {
                "A" | "D" => writeln!(out, "{action:<10}{path}"),
                "Reverted" => writeln!(out, "Reverted '{path}'"),
                "Resolved" => writeln!(out, "Resolved conflicted state of '{path}'"),
                "Restored" => writeln!(out, "Restored '{path}'"),
                other => writeln!(out, "{other} {path}"),
            },
            Notification::Commit { action, path } => writeln!(out, "{action:<15}{path}"),
            Notification::Text(text) => write!(out, "{text}"),
            Notification::Lock {
                path,
                user,
                locked: true,
            } => writeln!(out, "'{path}' locked by user '{user}'."),
            Notification::Lock { path, .. } => writeln!(out, "'{path}' unlocked."),
            Notification::Warning(text) => {
                let _ = out.flush();
                writeln!(std::io::stderr(), "zsync: warning: {text}")
            }
            Notification::Watch(event) => writeln!(out, "{}", watch_line(&event)),
        };
    }

    pub fn new() -> Self {
        Self {
            interactive: std::io::stdin().is_terminal(),
            recorded: None,
            progress: std::io::stderr().is_terminal().then(Bar::new),
            stdout_shared: std::io::stdout().is_terminal(),
            editor: None,
            color: false,
        }
    }

    /// For `--json`: stdout carries only the JSON document.
    pub fn recording() -> Self {
        Self {
            interactive: false,
            recorded: Some(Mutex::new(Vec::new())),
            progress: None,
            stdout_shared: false,
            editor: None,
            color: false,
        }
    }

    /// Runs `f` (which prints) with any progress bar off the screen.
    fn printing<R>(&self, to_stderr: bool, f: impl FnOnce() -> R) -> R {
        match &self.progress {
            Some(bar) if to_stderr || self.stdout_shared => bar.suspend(f),
            _ => f(),
        }
    }

    /// The notifications recorded so far (empty unless recording).
    pub fn take_recorded(&self) -> Vec<Notification> {
        self.recorded
            .as_ref()
            .and_then(|r| r.lock().ok().map(|mut v| std::mem::take(&mut *v)))
            .unwrap_or_default()
    }
}

impl Ui for TerminalUi {
    fn progress_start(&self, phase: Phase, total_objects: u64, total_bytes: u64) {
        if let Some(bar) = &self.progress {
            bar.start(phase, total_objects, total_bytes);
        }
    }

    fn progress_advance(&self, objects: u64, bytes: u64) {
        if let Some(bar) = &self.progress {
            bar.advance(objects, bytes);
        }
    }

    fn progress_finish(&self) {
        if let Some(bar) = &self.progress {
            bar.finish();
        }
    }

    fn notify(&self, note: Notification) {
        if let Some(recorded) = &self.recorded {
            if let Notification::Warning(text) = &note {
                eprintln!("zsync: warning: {text}");
            } else if let Ok(mut notes) = recorded.lock() {
                notes.push(note);
            }
            return;
        }
        let to_stderr = matches!(note, Notification::Warning(_));
        self.printing(to_stderr, || Self::print(note));
    }

    fn password(&self, prompt: &str) -> Option<String> {
        if !self.interactive {
            return None;
        }
        rpassword::prompt_password(prompt).ok()
    }

    fn choose(&self, question: &str, choices: &[(&str, &str)]) -> Option<String> {
        if !self.interactive {
            return None;
        }
        let options: Vec<String> = choices.iter().map(|(k, d)| format!("({k}) {d}")).collect();
        let prompt = format!("{question}\nSelect: {}: ", options.join(", "));
        self.line(&prompt)
    }

    fn confirm(&self, question: &str) -> Option<bool> {
        if !self.interactive {
            return None;
        }
        // Like OpenSSH: only a full "yes" or "no" counts; end of input
        // is a no.
        let mut prompt = question.to_owned();
        for _ in 0..5 {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            match std::io::stdin().lock().read_line(&mut answer) {
                Ok(0) | Err(_) => return Some(false),
                Ok(_) => {}
            }
            match answer.trim().to_ascii_lowercase().as_str() {
                "yes" => return Some(true),
                "no" => return Some(false),
                _ => prompt = "Please type 'yes' or 'no': ".to_owned(),
            }
        }
        Some(false)
    }

    fn edit(&self, path: &std::path::Path) -> bool {
        let Some(editor) = &self.editor else {
            return false;
        };
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
    }

    fn line(&self, prompt: &str) -> Option<String> {
        if !self.interactive {
            return None;
        }
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        Some(line.trim().to_owned())
    }
}

/// How `zsync watch` shows what it did.
fn watch_line(event: &WatchEvent) -> String {
    match event {
        WatchEvent::Started { root, rev } => {
            format!("Watching '{root}' at revision {rev}; Ctrl-C stops.")
        }
        WatchEvent::Committed { rev, message } => format!("Committed revision {rev}: {message}"),
        WatchEvent::Updated { rev } => format!("Updated to revision {rev}."),
        WatchEvent::Conflict { path } => {
            format!("Conflict in '{path}': not committing it until `zsync resolved`.")
        }
        WatchEvent::Resumed { path } => format!("Resolved '{path}': committing it again."),
        WatchEvent::Stopped { root } => format!("Stopped watching '{root}'."),
    }
}

/// Sets `stop` on the first SIGINT (Ctrl-C) or SIGTERM, so `watch` ends
/// between two steps; a second one exits at once (every step is safe to
/// kill: a lost commit answer is settled by the next command).
pub fn stop_on_signals(stop: StopFlag) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    #[cfg(unix)]
    let mut term = {
        let _guard = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?
    };
    std::thread::spawn(move || {
        runtime.block_on(async {
            loop {
                #[cfg(unix)]
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                #[cfg(not(unix))]
                let _ = tokio::signal::ctrl_c().await;
                if stop.is_set() {
                    std::process::exit(130);
                }
                stop.stop();
            }
        });
    });
    Ok(())
}
