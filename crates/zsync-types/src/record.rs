//! The `record` type: a JSON document checked against the JSON Schema in
//! its folder's `schema` property. Every violation is reported at the line
//! and column of the offending value.

use zsync_model::{Kind, Props};

use crate::{ContentType, Diagnostic, ValidationContext, position};

/// The folder property that holds the schema of the records in it.
pub const SCHEMA_PROP: &str = "schema";

/// A JSON document, valid against its folder's schema if it has one.
pub struct Record;

impl ContentType for Record {
    fn kind(&self) -> Kind {
        Kind::record()
    }

    /// Never guessed: a `.json` file is a record only when the user says so
    /// (`zsync add -t record`), since an arbitrary JSON file has no schema.
    fn recognises(&self, _name: &str, _head: &[u8]) -> bool {
        false
    }

    fn initial_props(&self, _name: &str, _head: &[u8]) -> Props {
        let mut props = Props::new();
        props.insert("content_type".into(), "application/json".into());
        props
    }

    fn validate(&self, body: &[u8], props: &Props) -> Vec<Diagnostic> {
        self.validate_in(body, props, &ValidationContext::default())
    }

    fn validate_in(&self, body: &[u8], _props: &Props, ctx: &ValidationContext) -> Vec<Diagnostic> {
        let text = match std::str::from_utf8(body) {
            Ok(t) => t,
            Err(e) => {
                let (line, column) = position(body, e.valid_up_to());
                return vec![Diagnostic::at(line, column, "the record is not UTF-8")];
            }
        };
        let instance: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return vec![Diagnostic {
                    line: u32::try_from(e.line()).ok().filter(|&l| l > 0),
                    column: u32::try_from(e.column()).ok().filter(|&c| c > 0),
                    message: format!("not valid JSON: {}", strip_position(&e.to_string())),
                }];
            }
        };
        let Some(schema) = ctx.parent_props.and_then(|p| p.get(SCHEMA_PROP)) else {
            return Vec::new();
        };
        let schema: serde_json::Value = match serde_json::from_str(schema) {
            Ok(s) => s,
            Err(e) => {
                return vec![Diagnostic::whole(format!(
                    "the folder's `{SCHEMA_PROP}` property is not valid JSON: {e}"
                ))];
            }
        };
        let validator = match jsonschema::validator_for(&schema) {
            Ok(v) => v,
            Err(e) => {
                return vec![Diagnostic::whole(format!(
                    "the folder's `{SCHEMA_PROP}` property is not a valid JSON Schema: {e}"
                ))];
            }
        };
        validator
            .iter_errors(&instance)
            .map(|e| {
                let pointer = e.instance_path().as_str().to_owned();
                let at = if pointer.is_empty() { "/" } else { &pointer };
                let message = format!("{at}: {e}");
                match locate(text, &pointer) {
                    Some(offset) => {
                        let (line, column) = position(body, offset);
                        Diagnostic::at(line, column, message)
                    }
                    None => Diagnostic::whole(message),
                }
            })
            .collect()
    }
}

/// serde_json appends " at line L column C", which the diagnostic carries.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

/// The byte offset of the value that a JSON pointer (RFC 6901) names in
/// `text`, which must be valid JSON.
pub(crate) fn locate(text: &str, pointer: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if pointer.is_empty() {
        return Some(i);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        i = match b.get(i)? {
            b'{' => member(text, i, &token)?,
            b'[' => element(b, i, token.parse().ok()?)?,
            _ => return None,
        };
    }
    Some(i)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (just past its closing quote).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// The start of member `name`'s value in the object starting at `i`.
fn member(text: &str, i: usize, name: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, i + 1);
    loop {
        if b.get(i)? != &b'"' {
            return None;
        }
        let end = skip_string(b, i)?;
        let key: String = serde_json::from_str(text.get(i..end)?).ok()?;
        i = skip_ws(b, end);
        if b.get(i)? != &b':' {
            return None;
        }
        let value = skip_ws(b, i + 1);
        if key == name {
            return Some(value);
        }
        i = skip_ws(b, skip_value(b, value)?);
        if b.get(i)? != &b',' {
            return None;
        }
        i = skip_ws(b, i + 1);
    }
}

/// The start of element `n` of the array starting at `i`.
fn element(b: &[u8], i: usize, n: usize) -> Option<usize> {
    let mut i = skip_ws(b, i + 1);
    for _ in 0..n {
        i = skip_ws(b, skip_value(b, i)?);
        if b.get(i)? != &b',' {
            return None;
        }
        i = skip_ws(b, i + 1);
    }
    (b.get(i)? != &b']').then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_props(schema: &str) -> Props {
        let mut p = Props::new();
        p.insert(SCHEMA_PROP.into(), schema.into());
        p
    }

    #[test]
    fn pointers_find_their_values() {
        let text = "{\n  \"a\": [1, {\"b\\\"c\": \"x\"}],\n  \"d/e\": true\n}";
        let at = |p: &str| locate(text, p).map(|o| position(text.as_bytes(), o));
        assert_eq!(at(""), Some((1, 1)));
        assert_eq!(at("/a"), Some((2, 8)));
        assert_eq!(at("/a/1"), Some((2, 12)));
        assert_eq!(at("/a/1/b\"c"), Some((2, 21)));
        assert_eq!(at("/d~1e"), Some((3, 10)));
        assert_eq!(at("/a/2"), None);
        assert_eq!(at("/zz"), None);
    }

    #[test]
    fn every_violation_is_reported_where_it_is() {
        let parent = schema_props(
            r#"{"type":"object","required":["title"],
                "properties":{"year":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}}}"#,
        );
        let ctx = ValidationContext {
            parent_props: Some(&parent),
        };
        let body = b"{\n  \"year\": \"1999\",\n  \"tags\": [\"a\", 2]\n}\n";
        let found = Record.validate_in(body, &Props::new(), &ctx);
        let mut at: Vec<_> = found
            .iter()
            .map(|d| (d.line, d.column, d.message.clone()))
            .collect();
        at.sort();
        assert_eq!(at.len(), 3, "{at:?}");
        assert_eq!((at[0].0, at[0].1), (Some(1), Some(1)));
        assert!(
            at[0].2.contains("\"title\" is a required property"),
            "{at:?}"
        );
        assert_eq!((at[1].0, at[1].1), (Some(2), Some(11)));
        assert!(at[1].2.starts_with("/year: "), "{at:?}");
        assert_eq!((at[2].0, at[2].1), (Some(3), Some(17)));

        let good = b"{\"title\": \"t\", \"year\": 1999}";
        assert!(Record.validate_in(good, &Props::new(), &ctx).is_empty());
        // Without a schema any JSON is a valid record; broken JSON is not.
        assert!(Record.validate(body, &Props::new()).is_empty());
        let broken = Record.validate(b"{\n  \"a\": ,\n}", &Props::new());
        assert_eq!((broken[0].line, broken[0].column), (Some(2), Some(8)));
        // A broken schema is the folder's problem, said clearly.
        let bad = schema_props(r#"{"type": 12}"#);
        let ctx = ValidationContext {
            parent_props: Some(&bad),
        };
        let found = Record.validate_in(good, &Props::new(), &ctx);
        assert!(
            found[0].message.contains("not a valid JSON Schema"),
            "{found:?}"
        );
    }
}
