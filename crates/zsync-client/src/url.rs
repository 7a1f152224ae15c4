//! `http://user:pass@host:port/path`, `https://…` and `zsync+ssh://…` URLs.

use std::fmt;

use zsync_model::RepoPath;

use crate::error::{ClientError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
    Ssh,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Ssh => "zsync+ssh",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
            Scheme::Ssh => 2200,
        }
    }
}

/// A parsed server URL. The password is kept apart so that the URL can be
/// shown and stored without it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    /// The server path of the object the URL names.
    pub path: RepoPath,
}

impl ServerUrl {
    pub fn parse(input: &str) -> Result<Self> {
        let err = |reason: &str| ClientError::Url {
            url: redact(input),
            reason: reason.to_owned(),
        };
        let parsed = url::Url::parse(input).map_err(|e| err(&e.to_string()))?;
        let scheme = match parsed.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "zsync+ssh" => Scheme::Ssh,
            _ => return Err(err("the scheme must be http, https or zsync+ssh")),
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| err("the URL names no host"))?
            .to_owned();
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(err("a zsync URL has no query or fragment"));
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| err("bad percent-encoding in the user or password"))
        };
        let user = match parsed.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = parsed.password().map(decode).transpose()?;
        let raw_path = percent_decode(parsed.path())
            .ok_or_else(|| err("the path is not valid percent-encoded UTF-8"))?;
        let path = RepoPath::parse(&raw_path).map_err(|e| err(&e.to_string()))?;
        Ok(Self {
            scheme,
            user,
            password,
            port: parsed.port().unwrap_or(scheme.default_port()),
            host,
            path,
        })
    }

    /// `scheme://host:port`, the key under which logins are stored.
    pub fn server(&self) -> String {
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}://{}:{}", self.scheme.as_str(), host, self.port)
    }

    /// The same server with another path.
    pub fn with_path(&self, path: RepoPath) -> Self {
        Self {
            path,
            ..self.clone()
        }
    }

    /// The URL without its password, safe to print and to store.
    pub fn redacted(&self) -> String {
        let user = self
            .user
            .as_ref()
            .map(|u| format!("{}@", percent_encode(u)))
            .unwrap_or_default();
        let host = self.server();
        let host = host.split_once("://").map(|(_, h)| h).unwrap_or(&host);
        format!(
            "{}://{}{}/{}",
            self.scheme.as_str(),
            user,
            host,
            self.path
                .components()
                .map(percent_encode)
                .collect::<Vec<_>>()
                .join("/")
        )
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({})", self.redacted())
    }
}

/// Hides a password in a URL that may not even parse, for error messages.
pub fn redact(input: &str) -> String {
    let Some((scheme, rest)) = input.split_once("://") else {
        return input.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                input.to_owned()
            }
        }
        None => input.to_owned(),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes one path component or user name for a URL.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_url() {
        let u = ServerUrl::parse("http://zsync:zs%40ync@localhost:8080/demo/").unwrap();
        assert_eq!(u.user.as_deref(), Some("zsync"));
        assert_eq!(u.password.as_deref(), Some("zs@ync"));
        assert_eq!(u.port, 8080);
        assert_eq!(u.path.as_str(), "demo");
        assert_eq!(u.redacted(), "http://zsync@localhost:8080/demo");
        assert_eq!(u.server(), "http://localhost:8080");
    }

    #[test]
    fn default_ports_and_schemes() {
        assert_eq!(ServerUrl::parse("https://h/x").unwrap().port, 443);
        assert_eq!(ServerUrl::parse("zsync+ssh://h/x").unwrap().port, 2200);
        assert!(ServerUrl::parse("ftp://h/x").is_err());
        assert!(ServerUrl::parse("not a url").is_err());
        assert!(
            ServerUrl::parse("http://h/a/../b").is_err() || {
                // url normalises `..` away; either way nothing escapes.
                ServerUrl::parse("http://h/a/../b").unwrap().path.as_str() == "b"
            }
        );
        assert!(ServerUrl::parse("http://h/a%00b").is_err());
    }

    #[test]
    fn redacts_unparsable_urls() {
        assert_eq!(redact("http://u:secret@h:1/x"), "http://u:***@h:1/x");
        assert_eq!(redact("http://u@h/x"), "http://u@h/x");
    }
}
