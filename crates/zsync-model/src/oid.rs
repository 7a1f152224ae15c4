use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stable object id, independent of the object's path: renames and moves
/// keep it, so history follows the object. 128 random bits, shown as hex.
///
/// Held as its 32 hex digits inline, not as a `String`: an index of
/// 20,000 entries decodes without 20,000 allocations, and the order is
/// that of the text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Oid([u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid object id {0:?}: expected 32 lowercase hexadecimal digits")]
pub struct OidParseError(pub String);

impl Oid {
    /// The root folder's id is fixed, so every store agrees on it.
    pub fn root() -> Self {
        Self([b'0'; 32])
    }

    pub fn random() -> Self {
        Self::from_bytes(rand::random())
    }

    /// The id of 16 raw bytes (as a compact index stores it).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        // Through a buffer: `hex::encode` builds its string a char at a
        // time, which showed in decoding a large index.
        let mut hex = [0u8; 32];
        // Cannot fail: the buffer is twice the input's length.
        let _ = hex::encode_to_slice(bytes, &mut hex);
        Self(hex)
    }

    /// The id's 16 raw bytes; `None` only for an id not made by
    /// [`FromStr`] or [`Oid::from_bytes`], which there is none of.
    pub fn to_bytes(&self) -> Option<[u8; 16]> {
        // By hand: `hex::decode_to_slice` was most of encoding an index.
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }
        let hex = &self.0;
        let mut out = [0u8; 16];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(out)
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII hex digits: every constructor checks or makes them.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Oid {
    type Err = OidParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: Option<[u8; 32]> = s.as_bytes().try_into().ok();
        match digits {
            Some(d) if d.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => Ok(Self(d)),
            _ => Err(OidParseError(s.chars().take(80).collect())),
        }
    }
}

impl TryFrom<String> for Oid {
    type Error = OidParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Oid> for String {
    fn from(o: Oid) -> String {
        o.as_str().to_owned()
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.as_str().get(..8).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_parse_and_differ() {
        let a = Oid::random();
        assert_eq!(a.as_str().parse::<Oid>().unwrap(), a);
        assert_ne!(a, Oid::random());
        assert!("ABC".parse::<Oid>().is_err());
    }

    #[test]
    fn raw_bytes_round_trip_as_lowercase_hex() {
        let bytes: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        let oid = Oid::from_bytes(bytes);
        assert_eq!(oid.as_str(), hex::encode(bytes));
        assert_eq!(oid.to_bytes(), Some(bytes));
        assert_eq!(Oid::root().to_bytes(), Some([0; 16]));
        let random = Oid::random();
        assert_eq!(Oid::from_bytes(random.to_bytes().unwrap()), random);
    }
}
