//! The TOML view `zsync propedit` opens in the user's editor: editable
//! properties as top-level `NAME = "VALUE"` lines, and a `[read-only]`
//! table with what the server derives from the body (shown so the user
//! sees it; an edit there is refused, not ignored).
//!
//! Pure functions, so the parser can be fuzzed: for every text
//! [`parse_toml_view`] accepts, rendering the result and parsing it again
//! gives the same view.

use toml::Spanned;
use toml::de::{DeTable, DeValue};
use zsync_model::Props;

/// The table that holds read-only properties.
pub const READ_ONLY_TABLE: &str = "read-only";

/// What a TOML view holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PropView {
    /// The properties the user may change.
    pub props: Props,
    /// Derived properties, shown for information.
    pub read_only: Props,
}

/// Why a view could not be read, at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ViewError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl ViewError {
    fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = zsync_types::position(text.as_bytes(), offset);
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

/// The view of `view` for the item shown as `shown`, with a comment that
/// says how to edit it.
pub fn render_toml_view(shown: &str, view: &PropView) -> String {
    let mut out = format!(
        "# Properties of '{}'. Change, add or delete lines NAME = \"VALUE\",\n\
         # then save and quit; nothing is sent until you commit. Quote names\n\
         # with other characters than letters, digits, - and _ (\"dc:creator\").\n\n",
        shown.replace(['\n', '\r'], " ")
    );
    for (name, value) in &view.props {
        out.push_str(&format!("{} = {}\n", key(name), string(value)));
    }
    if !view.read_only.is_empty() {
        out.push_str("\n# Derived from the body by the server: shown here, but not editable.\n");
        out.push_str(&format!("[{READ_ONLY_TABLE}]\n"));
        for (name, value) in &view.read_only {
            out.push_str(&format!("{} = {}\n", key(name), string(value)));
        }
    }
    out
}

fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { name.to_owned() } else { string(name) }
}

/// A TOML basic string: every character TOML does not allow raw is escaped,
/// so any value (also one with newlines or quotes) survives a round trip.
fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads a view back: every problem is located by line and column.
pub fn parse_toml_view(text: &str) -> Result<PropView, ViewError> {
    let table = DeTable::parse(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        ViewError::at(text, offset, e.message().trim_end().to_owned())
    })?;
    let mut view = PropView::default();
    for (name, value) in table.get_ref() {
        let start = name.span().start;
        match value.get_ref() {
            DeValue::Table(inner) if name.get_ref().as_ref() == READ_ONLY_TABLE => {
                for (n, v) in inner {
                    let (n, v) = entry(text, n, v)?;
                    view.read_only.insert(n, v);
                }
            }
            DeValue::Table(_) => {
                return Err(ViewError::at(
                    text,
                    start,
                    format!(
                        "{:?} is a table, not a property; quote a name with dots or \
                         colons (\"dc:creator\" = \"...\"), and the only table is [{READ_ONLY_TABLE}]",
                        name.get_ref().as_ref()
                    ),
                ));
            }
            _ if name.get_ref().as_ref() == READ_ONLY_TABLE => {
                return Err(ViewError::at(
                    text,
                    start,
                    format!(
                        "[{READ_ONLY_TABLE}] is the table of derived properties, not a property"
                    ),
                ));
            }
            _ => {
                let (n, v) = entry(text, name, value)?;
                view.props.insert(n, v);
            }
        }
    }
    Ok(view)
}

fn entry(
    text: &str,
    name: &Spanned<std::borrow::Cow<'_, str>>,
    value: &Spanned<DeValue<'_>>,
) -> Result<(String, String), ViewError> {
    let n = name.get_ref().as_ref();
    if let Err(e) = super::validate_name(n) {
        return Err(ViewError::at(text, name.span().start, e.to_string()));
    }
    match value.get_ref() {
        DeValue::String(s) => Ok((n.to_owned(), s.as_ref().to_owned())),
        _ => Err(ViewError::at(
            text,
            value.span().start,
            format!("property {n:?}: a value is a quoted string (\"...\")"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(props: &[(&str, &str)], read_only: &[(&str, &str)]) -> PropView {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        PropView {
            props: map(props),
            read_only: map(read_only),
        }
    }

    #[test]
    fn a_rendered_view_parses_back() {
        let v = view(
            &[
                ("title", "Home \"page\"\n\tsecond line \\ \u{7}"),
                ("dc:creator", "Ann"),
                ("x.y", ""),
                ("ünï", "ü"),
            ],
            &[("width", "10"), ("height", "20")],
        );
        let text = render_toml_view("a/b.png", &v);
        assert_eq!(parse_toml_view(&text), Ok(v));
    }

    #[test]
    fn problems_are_located() {
        let e = parse_toml_view("title = \"ok\"\ncolour = \n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 10), "{e}");
        let e = parse_toml_view("a = \"1\"\n\nn = 5\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert!(e.message.contains("quoted string"), "{e}");
        let e = parse_toml_view("dc.creator = \"Ann\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1), "{e}");
        assert!(e.message.contains("\"dc:creator\""), "{e}");
        let e = parse_toml_view("[read-only]\nwidth = 3\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 9), "{e}");
        let e = parse_toml_view("\"a b\" = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = parse_toml_view("read-only = \"x\"\n").unwrap_err();
        assert!(e.message.contains("derived"), "{e}");
        let e = parse_toml_view("a = \"1\"\na = \"2\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn comments_and_order_do_not_matter() {
        let v = parse_toml_view("# hi\nb = 'x'\n\n[read-only]\n# c\nsize = \"3\"\n").unwrap();
        assert_eq!(v, view(&[("b", "x")], &[("size", "3")]));
    }
}
