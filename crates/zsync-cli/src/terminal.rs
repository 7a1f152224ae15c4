//! The terminal side of [`zsync_client::Ui`]: notifications on stdout,
//! warnings on stderr, prompts only when stdin is a terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use zsync_client::watch::{StopFlag, WatchEvent};
use zsync_client::{Notification, Ui};

pub struct TerminalUi {
    interactive: bool,
    /// With `--json`: notifications are kept for the one JSON document
    /// instead of printed, and nothing is asked.
    recorded: Option<Mutex<Vec<Notification>>>,
}

impl TerminalUi {
    pub fn new() -> Self {
        Self {
            interactive: std::io::stdin().is_terminal(),
            recorded: None,
        }
    }

    /// For `--json`: stdout carries only the JSON document.
    pub fn recording() -> Self {
        Self {
            interactive: false,
            recorded: Some(Mutex::new(Vec::new())),
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
    fn notify(&self, note: Notification) {
        if let Some(recorded) = &self.recorded {
            if let Notification::Warning(text) = &note {
                eprintln!("zsync: warning: {text}");
            } else if let Ok(mut notes) = recorded.lock() {
                notes.push(note);
            }
            return;
        }
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
        let Some(editor) = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .ok()
        else {
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
