//! Errors that carry advice: `main` prints the advice as a `hint:` line
//! after the error.

use std::fmt;

/// An error and what the user can do about it.
#[derive(Debug)]
pub struct Hinted {
    error: anyhow::Error,
    hint: String,
}

impl Hinted {
    pub fn hint(&self) -> &str {
        &self.hint
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Hinted {
    // The wrapped error's own message is shown by `Display`, so the chain
    // continues with its causes.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

pub trait HintExt<T> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> HintExt<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            anyhow::Error::new(Hinted {
                error: e.into(),
                hint: hint.into(),
            })
        })
    }
}

/// An error with a hint, for `return Err(hinted(...))`.
pub fn hinted(message: impl fmt::Display, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        error: anyhow::anyhow!("{message}"),
        hint: hint.into(),
    })
}

/// Prints `error: ...`, its causes, and any hints, to stderr.
pub fn report(error: &anyhow::Error) {
    let mut hints = Vec::new();
    for (i, cause) in error.chain().enumerate() {
        if i == 0 {
            eprintln!("error: {cause}");
        } else {
            eprintln!("  caused by: {cause}");
        }
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            hints.push(h.hint().to_owned());
        }
    }
    for hint in hints {
        eprintln!("hint: {hint}");
    }
}
