//! The client's own settings, `~/.config/zsync/config.toml`
//! (docs/config.md): a default user per server, the editor, an external
//! diff tool, ignore patterns for every working copy, and colour.
//!
//! Parsing and checking are pure; the CLI finds and reads the file once.
//! Unknown keys are errors, not warnings: a misspelt key would otherwise
//! be silently without effect.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::url::ServerUrl;

/// The name of the file in the config directory.
pub const FILE_NAME: &str = "config.toml";

/// When output is coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    /// Only on a terminal.
    #[default]
    Auto,
    Always,
    Never,
}

/// The settings, checked. `Config::default()` is what no file means.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The editor command (run by `sh -c`), for log messages, `propedit`
    /// and conflicts.
    pub editor: Option<String>,
    /// An external diff command for `zsync diff`, run as
    /// `CMD -u -L OLD-LABEL -L NEW-LABEL OLD-FILE NEW-FILE` (as svn does).
    pub diff_cmd: Option<String>,
    /// gitignore patterns ignored in every working copy, besides the
    /// built-in list and `.zsyncignore` files.
    pub global_ignores: Vec<String>,
    pub color: ColorChoice,
    /// The user to log in as, per server (`scheme://host:port`), when a
    /// URL names none.
    pub users: BTreeMap<String, String>,
}

/// What is wrong with a config file: where, and what.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ConfigError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        format!(
            "fix or remove that line of {} (the settings are described in docs/config.md), \
             or point ZSYNC_CONFIG at another file",
            self.path.display()
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    editor: Option<Spanned<String>>,
    diff_cmd: Option<Spanned<String>>,
    #[serde(default)]
    global_ignores: Vec<Spanned<String>>,
    #[serde(default)]
    color: ColorChoice,
    #[serde(default)]
    servers: BTreeMap<String, Spanned<Server>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Server {
    user: Option<String>,
}

impl Config {
    /// Reads the file at `path`; a missing file is the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| ConfigError {
                    path: path.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: format!("not UTF-8 text ({e})"),
                })?;
                Config::parse(&text, path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(ConfigError {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("cannot read it: {e}"),
            }),
        }
    }

    /// Parses and checks a config file's text (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let at = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            ConfigError {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().trim_end().to_owned())
        })?;
        let command = |value: Option<Spanned<String>>, key: &str| {
            value
                .map(|v| {
                    let span = v.span();
                    let v = v.into_inner();
                    if v.trim().is_empty() {
                        Err(at(
                            span.start,
                            format!("`{key}` is empty; give a command or remove the key"),
                        ))
                    } else {
                        Ok(v)
                    }
                })
                .transpose()
        };
        let editor = command(file.editor, "editor")?;
        let diff_cmd = command(file.diff_cmd, "diff-cmd")?;
        let mut global_ignores = Vec::new();
        for pattern in file.global_ignores {
            let span = pattern.span();
            let pattern = pattern.into_inner();
            let mut builder = ignore::gitignore::GitignoreBuilder::new("/");
            if let Err(e) = builder.add_line(None, &pattern) {
                return Err(at(
                    span.start,
                    format!("bad ignore pattern {pattern:?}: {e}"),
                ));
            }
            global_ignores.push(pattern);
        }
        let mut users = BTreeMap::new();
        for (key, server) in file.servers {
            let span = server.span();
            let bad = |why: String| {
                at(
                    span.start,
                    format!("[servers.{key:?}]: {why}; write it as \"http://HOST:PORT\""),
                )
            };
            let url = ServerUrl::parse(&key).map_err(|e| bad(e.to_string()))?;
            if url.user.is_some() || url.password.is_some() || !url.path.is_root() {
                return Err(bad(
                    "name only the server, without user, password or path".into()
                ));
            }
            if let Some(user) = server.into_inner().user {
                if user.is_empty() {
                    return Err(bad("the user is empty".into()));
                }
                users.insert(url.server(), user);
            }
        }
        Ok(Config {
            editor,
            diff_cmd,
            global_ignores,
            color: file.color,
            users,
        })
    }

    /// The user to log in to `url`'s server as: the URL's own, else this
    /// file's for that server.
    pub fn user_for(&self, url: &ServerUrl) -> Option<String> {
        url.user
            .clone()
            .or_else(|| self.users.get(&url.server()).cloned())
    }

    /// The editor command, in svn's order: the command-line flag, then
    /// `ZSYNC_EDITOR`, then this file, then `VISUAL`, then `EDITOR`. `env`
    /// looks variables up (empty values count as unset).
    pub fn editor_command(
        &self,
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        flag.map(str::to_owned)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env("ZSYNC_EDITOR"))
            .or_else(|| self.editor.clone())
            .or_else(|| env("VISUAL"))
            .or_else(|| env("EDITOR"))
    }

    /// Whether to colour output: `NO_COLOR` set to anything non-empty
    /// turns colour off whatever the file says; otherwise `always`,
    /// `never`, or (`auto`) when the output is a terminal that is not dumb.
    pub fn use_color(
        &self,
        output_is_terminal: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> bool {
        if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return false;
        }
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => output_is_terminal && env("TERM").is_none_or(|t| t != "dumb"),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/home/u/.config/zsync/config.toml"))
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_full_file_is_read() {
        let c = parse(
            r#"
editor = "vim -n"
diff-cmd = "colordiff"
global-ignores = ["*.o", "build/"]
color = "never"

[servers."http://localhost:8080"]
user = "ann"

[servers."https://cms.example.org"]
user = "bob"
"#,
        )
        .unwrap();
        assert_eq!(c.editor.as_deref(), Some("vim -n"));
        assert_eq!(c.diff_cmd.as_deref(), Some("colordiff"));
        assert_eq!(c.global_ignores, ["*.o", "build/"]);
        assert_eq!(c.color, ColorChoice::Never);
        let url = |u: &str| ServerUrl::parse(u).unwrap();
        assert_eq!(
            c.user_for(&url("http://localhost:8080/demo")).as_deref(),
            Some("ann")
        );
        // The default port is filled in on both sides.
        assert_eq!(
            c.user_for(&url("https://cms.example.org:443/x")).as_deref(),
            Some("bob")
        );
        // The URL's user wins; other servers get none.
        assert_eq!(
            c.user_for(&url("http://zed@localhost:8080/demo"))
                .as_deref(),
            Some("zed")
        );
        assert_eq!(c.user_for(&url("http://localhost:9090/demo")), None);
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("editor = \"vi\"\ncolr = \"never\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1), "{e}");
        assert!(e.message.contains("unknown field `colr`"), "{e}");
        assert!(
            e.to_string()
                .starts_with("/home/u/.config/zsync/config.toml:2:1: "),
            "{e}"
        );
        let e = parse("color = \"blue\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 9), "{e}");
        assert!(e.message.contains("always"), "{e}");
        let e = parse("editor = \"\"").unwrap_err();
        assert!(e.message.contains("`editor` is empty"), "{e}");
        let e = parse("global-ignores = [\"ok\", \"a[z-a]\"]").unwrap_err();
        assert_eq!((e.line, e.column), (1, 25), "{e}");
        let e = parse("\n[servers.\"http://ann@h:1/demo\"]\nuser = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("without user"), "{e}");
        let e = parse("[servers.\"ftp://h\"]\nuser = \"x\"\n").unwrap_err();
        assert!(e.message.contains("scheme"), "{e}");
        let e = parse("[servers.\"http://h\"]\nuzer = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse("editor = [").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        assert!(e.hint().contains("docs/config.md"));
    }

    #[test]
    fn editor_order_is_flag_env_file_visual_editor() {
        let with = parse("editor = \"file-ed\"").unwrap();
        let none = Config::default();
        let all = env(&[
            ("ZSYNC_EDITOR", "z-ed"),
            ("VISUAL", "vis"),
            ("EDITOR", "ed"),
        ]);
        assert_eq!(with.editor_command(Some("flag"), &all).unwrap(), "flag");
        assert_eq!(with.editor_command(None, &all).unwrap(), "z-ed");
        let no_z = env(&[("ZSYNC_EDITOR", ""), ("VISUAL", "vis"), ("EDITOR", "ed")]);
        assert_eq!(with.editor_command(None, &no_z).unwrap(), "file-ed");
        assert_eq!(none.editor_command(None, &no_z).unwrap(), "vis");
        assert_eq!(
            none.editor_command(None, env(&[("EDITOR", "ed")])).unwrap(),
            "ed"
        );
        assert_eq!(none.editor_command(None, env(&[])), None);
    }

    #[test]
    fn no_color_wins_over_always() {
        let always = parse("color = \"always\"").unwrap();
        let auto = Config::default();
        assert!(always.use_color(false, env(&[])));
        assert!(!always.use_color(true, env(&[("NO_COLOR", "1")])));
        assert!(always.use_color(true, env(&[("NO_COLOR", "")])));
        assert!(auto.use_color(true, env(&[("TERM", "xterm")])));
        assert!(!auto.use_color(true, env(&[("TERM", "dumb")])));
        assert!(!auto.use_color(false, env(&[])));
        assert!(
            !parse("color = \"never\"")
                .unwrap()
                .use_color(true, env(&[]))
        );
    }
}
