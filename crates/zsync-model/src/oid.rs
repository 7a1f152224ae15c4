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
        // Through a table, without a branch per digit: encoding an index
        // converts every entry's id, and the checked digit-by-digit
        // version was a few percent of a commit.
        const INVALID: u8 = 0xff;
        const VALUE: [u8; 256] = {
            let mut table = [INVALID; 256];
            let mut c = 0;
            while c < 10 {
                table[b'0' as usize + c] = c as u8;
                c += 1;
            }
            let mut c = 0;
            while c < 6 {
                table[b'a' as usize + c] = 10 + c as u8;
                c += 1;
            }
            table
        };
        let mut out = [0u8; 16];
        let mut seen = 0u8;
        for (byte, pair) in out.iter_mut().zip(self.0.chunks_exact(2)) {
            let (high, low) = (VALUE[usize::from(pair[0])], VALUE[usize::from(pair[1])]);
            seen |= high | low;
            *byte = (high << 4) | (low & 0x0f);
        }
        // A digit's value fits in the low nibble; INVALID does not.
        (seen & 0xf0 == 0).then_some(out)
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
        // Every byte value, all digits and ends of both ranges included.
        let all: Vec<u8> = (0..=255u8).collect();
        for chunk in all.chunks(16) {
            let bytes: [u8; 16] = chunk.try_into().unwrap();
            assert_eq!(Oid::from_bytes(bytes).to_bytes(), Some(bytes));
        }
        // Not made by a constructor: no bytes rather than wrong ones.
        for bad in [b'g', b'A', b'/', b':', b'`', 0x80] {
            let mut digits = *Oid::root().as_str().as_bytes().first_chunk::<32>().unwrap();
            digits[17] = bad;
            assert_eq!(Oid(digits).to_bytes(), None, "{bad}");
        }
    }
}
