//! An application-defined content type: `template`, a Jinja template that
//! must compile. The server refuses a commit holding a broken template and
//! tells the client where the error is.
//!
//! Adding a type takes three steps (see docs/content-types.md): implement
//! [`ContentType`], register it in front of the built-in types, and run the
//! server with that registry (`src/main.rs`).

use zsync_model::{Kind, Props};
use zsync_types::{ContentType, Diagnostic, Registry, position};

pub struct Template;

impl ContentType for Template {
    fn kind(&self) -> Kind {
        // A constant, valid kind name.
        Kind::new("template").unwrap_or_else(|_| Kind::file())
    }

    fn recognises(&self, name: &str, _head: &[u8]) -> bool {
        name.ends_with(".tmpl") || name.ends_with(".jinja") || name.ends_with(".j2")
    }

    fn initial_props(&self, _name: &str, _head: &[u8]) -> Props {
        Props::from([("content_type".to_owned(), "text/x-jinja".to_owned())])
    }

    fn validate(&self, body: &[u8], _props: &Props) -> Vec<Diagnostic> {
        let source = match std::str::from_utf8(body) {
            Ok(s) => s,
            Err(e) => {
                let (line, column) = position(body, e.valid_up_to());
                return vec![Diagnostic::at(line, column, "templates must be UTF-8")];
            }
        };
        let env = minijinja::Environment::new();
        match env.template_from_str(source) {
            Ok(_) => Vec::new(),
            Err(e) => {
                let (line, column) = match (e.range(), e.line()) {
                    (Some(range), _) => position(body, range.start),
                    (None, Some(line)) => (line as u32, 1),
                    (None, None) => (1, 1),
                };
                vec![Diagnostic::at(
                    line,
                    column,
                    e.detail().unwrap_or("syntax error").to_owned(),
                )]
            }
        }
    }
}

/// The built-in types with `template` in front.
pub fn registry() -> Registry {
    let mut registry = Registry::builtin();
    registry.register(Box::new(Template));
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_templates_say_where() {
        let t = Template;
        assert!(t.validate(b"Hello {{ name }}!\n", &Props::new()).is_empty());
        let bad = t.validate(b"line one\nHello {{ name \n", &Props::new());
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, Some(2), "{bad:?}");
        assert!(registry().get(&t.kind()).is_some());
        assert_eq!(registry().guess("page.tmpl", b"x").0.as_str(), "template");
    }
}
