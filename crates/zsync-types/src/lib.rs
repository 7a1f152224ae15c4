//! Content types: what kind a new file is, the properties it starts with,
//! which properties are derived from its body, and whether a body is valid.
//!
//! The [`Registry`] holds [`ContentType`]s in order of preference; the first
//! that recognises a file names its kind. Applications register their own
//! types in front of the built-in ones without touching the core; the
//! server validates every committed body with its type.

use zsync_model::{Kind, Props};

mod record;
pub use record::{Record, SCHEMA_PROP};

/// How many leading bytes of a file recognisers may look at.
pub const SNIFF_BYTES: usize = 8192;

/// One kind of content object.
pub trait ContentType: Send + Sync {
    /// The kind name objects of this type carry.
    fn kind(&self) -> Kind;

    /// Whether a new file called `name`, starting with `head` (at most
    /// [`SNIFF_BYTES`]), is of this type.
    fn recognises(&self, name: &str, head: &[u8]) -> bool;

    /// The properties a new object of this type starts with.
    fn initial_props(&self, name: &str, head: &[u8]) -> Props {
        let _ = (name, head);
        Props::new()
    }

    /// Problems with a body (and its properties); empty if it is valid.
    /// Every problem is reported, not just the first.
    fn validate(&self, body: &[u8], props: &Props) -> Vec<Diagnostic> {
        let _ = (body, props);
        Vec::new()
    }

    /// [`ContentType::validate`] with what the server knows of the object's
    /// surroundings (its folder's properties). The server calls this one;
    /// a type that needs only the body and its own properties keeps the
    /// default, which calls `validate`.
    fn validate_in(&self, body: &[u8], props: &Props, ctx: &ValidationContext) -> Vec<Diagnostic> {
        let _ = ctx;
        self.validate(body, props)
    }

    /// Properties computed from the body (an image's size). The server sets
    /// them on every commit; users cannot set them.
    fn derived_props(&self, body: &[u8]) -> Props {
        let _ = body;
        Props::new()
    }

    /// Names of the properties [`ContentType::derived_props`] computes.
    fn read_only_props(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether validating or deriving properties looks at the body. The
    /// server reads a body into memory (up to a limit) only for types that
    /// do, so opaque files of any size stream through a commit.
    fn reads_body(&self) -> bool {
        true
    }

    /// Whether a body that [`is_text`] is all this type asks for: such a
    /// body has no problem for [`ContentType::validate_in`] to report and
    /// no [`ContentType::derived_props`], whatever the properties. The
    /// server then need not read back a body it saw was text when it was
    /// uploaded.
    fn text_is_enough(&self) -> bool {
        false
    }
}

/// Whether `body` is UTF-8 text without NUL bytes.
pub fn is_text(body: &[u8]) -> bool {
    !body.contains(&0) && std::str::from_utf8(body).is_ok()
}

/// What the server knows around an object it validates.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValidationContext<'a> {
    /// The properties of the folder the object is in, as the commit leaves
    /// them (`None` for the root).
    pub parent_props: Option<&'a Props>,
}

/// One problem found by [`ContentType::validate`], at a 1-based line and
/// column of the body where that makes sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl Diagnostic {
    pub fn at(line: u32, column: u32, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// The 1-based line and column of byte `offset` in `body`.
pub fn position(body: &[u8], offset: usize) -> (u32, u32) {
    let before = &body[..offset.min(body.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line as u32, column as u32)
}

/// The content types known to this program, most specific first.
pub struct Registry {
    types: Vec<Box<dyn ContentType>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// `image`, `record` (chosen with `-t record`, never guessed),
    /// `document` and the catch-all `file`. (`folder` is implied by
    /// directories and needs no recogniser.)
    pub fn builtin() -> Self {
        Self {
            types: vec![
                Box::new(Image),
                Box::new(Record),
                Box::new(Document),
                Box::new(File),
                Box::new(Folder),
            ],
        }
    }

    /// Every kind this registry knows.
    pub fn kinds(&self) -> Vec<Kind> {
        self.types.iter().map(|t| t.kind()).collect()
    }

    /// The type of `kind`, if this registry knows it.
    pub fn get(&self, kind: &Kind) -> Option<&dyn ContentType> {
        self.types
            .iter()
            .find(|t| &t.kind() == kind)
            .map(|t| t.as_ref())
    }

    /// Adds a type that is tried before every type registered so far.
    pub fn register(&mut self, content_type: Box<dyn ContentType>) {
        self.types.insert(0, content_type);
    }

    /// The kind and initial properties of a new file.
    pub fn guess(&self, name: &str, head: &[u8]) -> (Kind, Props) {
        let head = &head[..head.len().min(SNIFF_BYTES)];
        for t in &self.types {
            if t.recognises(name, head) {
                return (t.kind(), t.initial_props(name, head));
            }
        }
        (Kind::file(), File.initial_props(name, head))
    }

    /// The initial properties for a file whose kind the user chose.
    pub fn props_for(&self, kind: &Kind, name: &str, head: &[u8]) -> Props {
        self.types
            .iter()
            .find(|t| &t.kind() == kind)
            .map(|t| t.initial_props(name, head))
            .unwrap_or_default()
    }
}

fn content_type_prop(value: &str) -> Props {
    Props::from([("content_type".to_owned(), value.to_owned())])
}

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Folders: no body, nothing to validate; never recognised from a file.
struct Folder;

impl ContentType for Folder {
    fn kind(&self) -> Kind {
        Kind::folder()
    }

    fn recognises(&self, _name: &str, _head: &[u8]) -> bool {
        false
    }

    fn reads_body(&self) -> bool {
        false
    }
}

/// Raster images, recognised by their magic bytes rather than their names.
struct Image;

impl Image {
    fn mime(head: &[u8]) -> Option<&'static str> {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some("image/png")
        } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
            Some("image/jpeg")
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some("image/gif")
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some("image/webp")
        } else {
            None
        }
    }
}

impl ContentType for Image {
    fn kind(&self) -> Kind {
        Kind::image()
    }

    fn recognises(&self, _name: &str, head: &[u8]) -> bool {
        Self::mime(head).is_some()
    }

    fn initial_props(&self, _name: &str, head: &[u8]) -> Props {
        content_type_prop(Self::mime(head).unwrap_or("application/octet-stream"))
    }

    fn validate(&self, body: &[u8], _props: &Props) -> Vec<Diagnostic> {
        match Self::mime(body) {
            None => vec![Diagnostic::whole(
                "not a PNG, JPEG, GIF or WebP image; commit it as kind `file`",
            )],
            Some(_) if image_size(body).is_none() => vec![Diagnostic::whole(
                "the image header is truncated or damaged",
            )],
            Some(_) => Vec::new(),
        }
    }

    fn derived_props(&self, body: &[u8]) -> Props {
        match image_size(body) {
            Some((w, h)) => Props::from([
                ("width".to_owned(), w.to_string()),
                ("height".to_owned(), h.to_string()),
            ]),
            None => Props::new(),
        }
    }

    fn read_only_props(&self) -> &'static [&'static str] {
        &["width", "height"]
    }
}

/// Width and height from an image's header.
fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    let be32 = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let le16 = |i: usize| Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?) as u32);
    let be16 = |i: usize| Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?) as u32);
    let le24 = |i: usize| {
        let s = b.get(i..i + 3)?;
        Some(s[0] as u32 | (s[1] as u32) << 8 | (s[2] as u32) << 16)
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if b.starts_with(b"GIF8") {
        return Some((le16(6)?, le16(8)?));
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            b"VP8 " => Some((le16(26)? & 0x3fff, le16(28)? & 0x3fff)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            _ => None,
        };
    }
    if b.starts_with(&[0xff, 0xd8]) {
        // Walk the JPEG segments to the first start-of-frame marker.
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xff {
                return None;
            }
            let marker = b[i + 1];
            let len = be16(i + 2)? as usize;
            if matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
                return Some((be16(i + 7)?, be16(i + 5)?));
            }
            i += 2 + len;
        }
    }
    None
}

/// Text documents: UTF-8 without NUL bytes.
struct Document;

impl ContentType for Document {
    fn kind(&self) -> Kind {
        Kind::document()
    }

    fn recognises(&self, _name: &str, head: &[u8]) -> bool {
        if head.contains(&0) {
            return false;
        }
        match std::str::from_utf8(head) {
            Ok(_) => true,
            // A multi-byte character cut off by the sniff window is still text.
            Err(e) => e.error_len().is_none() && head.len() == SNIFF_BYTES,
        }
    }

    fn text_is_enough(&self) -> bool {
        true
    }

    fn validate(&self, body: &[u8], _props: &Props) -> Vec<Diagnostic> {
        // Report each invalid sequence, not only the first.
        let mut out = Vec::new();
        let mut rest = body;
        let mut offset = 0;
        while let Err(e) = std::str::from_utf8(rest) {
            let at = offset + e.valid_up_to();
            let (line, column) = position(body, at);
            out.push(Diagnostic::at(
                line,
                column,
                "invalid UTF-8; documents must be UTF-8 text",
            ));
            let skip = e.valid_up_to() + e.error_len().unwrap_or(rest.len() - e.valid_up_to());
            rest = &rest[skip..];
            offset += skip;
            if out.len() >= 100 {
                break;
            }
        }
        if let Some(at) = body.iter().position(|&b| b == 0) {
            let (line, column) = position(body, at);
            out.push(Diagnostic::at(
                line,
                column,
                "a NUL byte; documents are text",
            ));
        }
        out
    }

    fn initial_props(&self, name: &str, _head: &[u8]) -> Props {
        let mime = match extension(name).as_str() {
            "html" | "htm" => "text/html",
            "md" | "markdown" => "text/markdown",
            "css" => "text/css",
            "js" => "text/javascript",
            "json" => "application/json",
            "xml" => "application/xml",
            "svg" => "image/svg+xml",
            _ => "text/plain",
        };
        content_type_prop(mime)
    }
}

/// Anything else: opaque bytes.
struct File;

impl ContentType for File {
    fn kind(&self) -> Kind {
        Kind::file()
    }

    fn recognises(&self, _name: &str, _head: &[u8]) -> bool {
        true
    }

    fn reads_body(&self) -> bool {
        false
    }

    fn initial_props(&self, name: &str, _head: &[u8]) -> Props {
        let mime = match extension(name).as_str() {
            "pdf" => "application/pdf",
            "zip" => "application/zip",
            _ => "application/octet-stream",
        };
        content_type_prop(mime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server skips reading bodies only for kinds that check nothing.
    #[test]
    fn only_kinds_that_check_bodies_read_them() {
        let types = Registry::builtin();
        let reads = |k: Kind| types.get(&k).unwrap().reads_body();
        assert!(!reads(Kind::file()));
        assert!(!reads(Kind::folder()));
        assert!(reads(Kind::document()));
        assert!(reads(Kind::image()));
        assert!(reads(Kind::record()));
    }

    /// A type for which text is enough finds nothing in any text and
    /// derives nothing from it: the server skips reading such bodies.
    #[test]
    fn text_is_enough_only_where_text_has_nothing_to_find() {
        let types = Registry::builtin();
        let props = Props::from([("schema".to_owned(), "x".to_owned())]);
        let bodies: [&[u8]; 6] = [
            b"",
            b"plain\n",
            "caf\u{e9}".as_bytes(),
            b"a\0b",
            b"\xff",
            b"\xe2\x82",
        ];
        for kind in types.kinds() {
            let t = types.get(&kind).unwrap();
            if !t.text_is_enough() {
                continue;
            }
            for body in bodies {
                let found = t.validate_in(body, &props, &ValidationContext::default());
                assert_eq!(found.is_empty(), is_text(body), "{kind} {body:?}");
                if is_text(body) {
                    assert!(t.derived_props(body).is_empty(), "{kind} {body:?}");
                }
            }
        }
        let enough = |k: Kind| types.get(&k).unwrap().text_is_enough();
        assert!(enough(Kind::document()));
        assert!(!enough(Kind::image()));
        assert!(!enough(Kind::record()));
    }

    #[test]
    fn guesses_builtin_kinds() {
        let r = Registry::builtin();
        assert_eq!(r.guess("a.html", b"<p>hi</p>").0, Kind::document());
        assert_eq!(
            r.guess("a.html", b"<p>hi</p>").1["content_type"],
            "text/html"
        );
        assert_eq!(r.guess("x.bin", b"\x89PNG\r\n\x1a\nrest").0, Kind::image());
        assert_eq!(r.guess("x.bin", b"\0\x01\x02").0, Kind::file());
        assert_eq!(r.guess("empty.txt", b"").0, Kind::document());
    }

    struct Template;
    impl ContentType for Template {
        fn kind(&self) -> Kind {
            Kind::new("template").unwrap()
        }
        fn recognises(&self, name: &str, _head: &[u8]) -> bool {
            name.ends_with(".tmpl")
        }
    }

    #[test]
    fn documents_must_be_utf8_and_every_problem_is_reported() {
        let r = Registry::builtin();
        let doc = r.get(&Kind::document()).unwrap();
        assert!(
            doc.validate("héllo\nwörld\n".as_bytes(), &Props::new())
                .is_empty()
        );
        let bad = doc.validate(b"ok\nab\xffcd\xfe\n", &Props::new());
        assert_eq!(bad.len(), 2);
        assert_eq!((bad[0].line, bad[0].column), (Some(2), Some(3)));
        assert_eq!((bad[1].line, bad[1].column), (Some(2), Some(6)));
    }

    #[test]
    fn images_are_checked_and_measured() {
        let r = Registry::builtin();
        let img = r.get(&Kind::image()).unwrap();
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend(16u32.to_be_bytes());
        png.extend(9u32.to_be_bytes());
        assert!(img.validate(&png, &Props::new()).is_empty());
        assert_eq!(img.derived_props(&png)["width"], "16");
        assert_eq!(img.derived_props(&png)["height"], "9");
        assert_eq!(img.validate(b"GIF89a", &Props::new()).len(), 1);
        assert_eq!(img.validate(b"plain text", &Props::new()).len(), 1);
        let gif = b"GIF89a\x02\x00\x03\x00";
        assert_eq!(img.derived_props(gif)["height"], "3");
        assert_eq!(img.read_only_props(), &["width", "height"]);
    }

    #[test]
    fn registered_types_come_first() {
        let mut r = Registry::builtin();
        r.register(Box::new(Template));
        assert_eq!(r.guess("page.tmpl", b"{{ x }}").0.as_str(), "template");
        assert_eq!(r.guess("page.txt", b"x").0, Kind::document());
    }
}
