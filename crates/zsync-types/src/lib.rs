//! Content types: what kind a new file is, and the properties it starts with.
//!
//! The [`Registry`] holds [`ContentType`]s in order of preference; the first
//! that recognises a file names its kind. Applications register their own
//! types in front of the built-in ones without touching the core.

use zsync_model::{Kind, Props};

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
    /// `image`, `document` and the catch-all `file`. (`folder` is implied by
    /// directories and needs no recogniser.)
    pub fn builtin() -> Self {
        Self {
            types: vec![Box::new(Image), Box::new(Document), Box::new(File)],
        }
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
    fn registered_types_come_first() {
        let mut r = Registry::builtin();
        r.register(Box::new(Template));
        assert_eq!(r.guess("page.tmpl", b"{{ x }}").0.as_str(), "template");
        assert_eq!(r.guess("page.txt", b"x").0, Kind::document());
    }
}
