//! The terminal side of [`zsync_client::Ui`]: notifications on stdout,
//! warnings on stderr, prompts only when stdin is a terminal.

use std::io::{BufRead, IsTerminal, Write};

use zsync_client::{Notification, Ui};

pub struct TerminalUi {
    interactive: bool,
}

impl TerminalUi {
    pub fn new() -> Self {
        Self {
            interactive: std::io::stdin().is_terminal(),
        }
    }
}

impl Ui for TerminalUi {
    fn notify(&self, note: Notification) {
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
            Notification::Warning(text) => {
                let _ = out.flush();
                writeln!(std::io::stderr(), "zsync: warning: {text}")
            }
        };
    }

    fn password(&self, prompt: &str) -> Option<String> {
        if !self.interactive {
            return None;
        }
        rpassword::prompt_password(prompt).ok()
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
