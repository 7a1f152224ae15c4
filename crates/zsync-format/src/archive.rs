//! The archive stream: a manifest and the bodies it names, in one response.
//!
//! ```text
//! archive := MAGIC frame* END
//! MAGIC   := "ZSYNC-ARCHIVE/1\n"
//! frame   := 'M' len:u64be json(Manifest)[len]
//!          | 'B' hash:[u8;32] len:u64be bytes[len]
//! END     := 'E'
//! ```
//!
//! Each body appears once however many objects share it. Lengths come first
//! so the stream can be produced without buffering and read with bounded
//! memory; the reader checks every length against limits before allocating.

use std::io::{self, Read};

use zsync_model::BodyHash;

use crate::api::Manifest;

pub const MAGIC: &[u8] = b"ZSYNC-ARCHIVE/1\n";
pub const CONTENT_TYPE: &str = "application/x-zsync-archive";
/// The largest manifest a reader accepts, in bytes of JSON.
pub const MAX_MANIFEST_BYTES: u64 = 512 << 20;

const TAG_MANIFEST: u8 = b'M';
const TAG_BODY: u8 = b'B';
const TAG_END: u8 = b'E';

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a zsync archive (bad magic); is the URL a zsync server?")]
    BadMagic,
    #[error("archive ends early (truncated after {0} bytes)")]
    Truncated(u64),
    #[error("unknown archive frame tag 0x{0:02x}")]
    BadTag(u8),
    #[error("archive manifest is {0} bytes, over the limit of {MAX_MANIFEST_BYTES}")]
    ManifestTooLarge(u64),
    #[error("archive manifest is malformed: {0}")]
    BadManifest(#[from] serde_json::Error),
    #[error("reading the archive: {0}")]
    Io(io::Error),
}

/// One frame header, read in order.
#[derive(Debug)]
pub enum Header {
    Manifest(Manifest),
    /// A body follows: read exactly `size` bytes through [`ArchiveReader::body`].
    Body {
        hash: BodyHash,
        size: u64,
    },
    End,
}

/// The bytes that open an archive and carry its manifest.
pub fn manifest_frame(manifest: &Manifest) -> Vec<u8> {
    // Serialising our own types cannot fail: every field is a plain value.
    let json = serde_json::to_vec(manifest).unwrap_or_default();
    let mut out = Vec::with_capacity(json.len() + 9);
    out.push(TAG_MANIFEST);
    out.extend_from_slice(&(json.len() as u64).to_be_bytes());
    out.extend_from_slice(&json);
    out
}

/// The header that precedes `size` bytes of the body `hash`.
pub fn body_frame_header(hash: &BodyHash, size: u64) -> [u8; 41] {
    let mut out = [0u8; 41];
    out[0] = TAG_BODY;
    out[1..33].copy_from_slice(hash.as_bytes());
    out[33..41].copy_from_slice(&size.to_be_bytes());
    out
}

pub const END_FRAME: [u8; 1] = [TAG_END];

/// Reads an archive frame by frame with bounded memory.
pub struct ArchiveReader<R> {
    inner: R,
    /// Bytes of the current body not yet read by the caller.
    remaining: u64,
    offset: u64,
}

impl<R: Read> ArchiveReader<R> {
    /// Checks the magic line.
    pub fn new(mut inner: R) -> Result<Self, ArchiveError> {
        let mut magic = [0u8; MAGIC.len()];
        inner.read_exact(&mut magic).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => ArchiveError::BadMagic,
            _ => ArchiveError::Io(e),
        })?;
        if magic != MAGIC {
            return Err(ArchiveError::BadMagic);
        }
        Ok(Self {
            inner,
            remaining: 0,
            offset: MAGIC.len() as u64,
        })
    }

    /// The next frame's header; skips whatever the caller left unread of
    /// the previous body.
    pub fn next_header(&mut self) -> Result<Header, ArchiveError> {
        if self.remaining > 0 {
            let left = self.remaining;
            io::copy(&mut self.body(), &mut io::sink()).map_err(|e| self.io(e))?;
            if self.remaining > 0 {
                return Err(ArchiveError::Truncated(self.offset + left - self.remaining));
            }
        }
        let mut tag = [0u8; 1];
        self.fill(&mut tag)?;
        match tag[0] {
            TAG_MANIFEST => {
                let len = self.read_u64()?;
                if len > MAX_MANIFEST_BYTES {
                    return Err(ArchiveError::ManifestTooLarge(len));
                }
                let mut json = Vec::new();
                let read = (&mut self.inner)
                    .take(len)
                    .read_to_end(&mut json)
                    .map_err(|e| self.io(e))?;
                self.offset += read as u64;
                if (read as u64) < len {
                    return Err(ArchiveError::Truncated(self.offset));
                }
                Ok(Header::Manifest(serde_json::from_slice(&json)?))
            }
            TAG_BODY => {
                let mut hash = [0u8; 32];
                self.fill(&mut hash)?;
                let size = self.read_u64()?;
                self.remaining = size;
                Ok(Header::Body {
                    hash: BodyHash::from_bytes(hash),
                    size,
                })
            }
            TAG_END => Ok(Header::End),
            other => Err(ArchiveError::BadTag(other)),
        }
    }

    /// The current body's bytes. Reads end at the body's end; a stream that
    /// ends sooner gives an `UnexpectedEof` error.
    pub fn body(&mut self) -> BodyRead<'_, R> {
        BodyRead { archive: self }
    }

    /// The underlying reader, positioned after what was read so far.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn read_u64(&mut self) -> Result<u64, ArchiveError> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ArchiveError> {
        self.inner.read_exact(buf).map_err(|e| self.io(e))?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn io(&self, e: io::Error) -> ArchiveError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ArchiveError::Truncated(self.offset)
        } else {
            ArchiveError::Io(e)
        }
    }
}

pub struct BodyRead<'a, R> {
    archive: &'a mut ArchiveReader<R>,
}

impl<R: Read> Read for BodyRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let a = &mut *self.archive;
        if a.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(a.remaining).unwrap_or(usize::MAX));
        let n = a.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("archive truncated inside a body at byte {}", a.offset),
            ));
        }
        a.remaining -= n as u64;
        a.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zsync_model::{Kind, Oid, RepoPath};

    use crate::api::ManifestEntry;

    fn sample() -> (Manifest, Vec<u8>) {
        let body = b"hello world".to_vec();
        let hash = BodyHash::of(&body);
        let manifest = Manifest {
            root: RepoPath::parse("demo").unwrap(),
            head: 3,
            entries: vec![ManifestEntry {
                path: RepoPath::parse("a.txt").unwrap(),
                oid: Oid::random(),
                kind: Kind::document(),
                rev: 2,
                hash: Some(hash),
                size: body.len() as u64,
                props: Default::default(),
                author: "zsync".into(),
            }],
            omitted: 0,
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend(manifest_frame(&manifest));
        bytes.extend(body_frame_header(&hash, body.len() as u64));
        bytes.extend(&body);
        bytes.extend(END_FRAME);
        (manifest, bytes)
    }

    #[test]
    fn round_trip() {
        let (manifest, bytes) = sample();
        let mut r = ArchiveReader::new(&bytes[..]).unwrap();
        match r.next_header().unwrap() {
            Header::Manifest(m) => assert_eq!(m, manifest),
            h => panic!("unexpected {h:?}"),
        }
        let Header::Body { hash, size } = r.next_header().unwrap() else {
            panic!("no body")
        };
        assert_eq!(size, 11);
        let mut body = Vec::new();
        r.body().read_to_end(&mut body).unwrap();
        assert_eq!(BodyHash::of(&body), hash);
        assert!(matches!(r.next_header().unwrap(), Header::End));
    }

    #[test]
    fn unread_body_is_skipped() {
        let (_, bytes) = sample();
        let mut r = ArchiveReader::new(&bytes[..]).unwrap();
        r.next_header().unwrap();
        r.next_header().unwrap();
        assert!(matches!(r.next_header().unwrap(), Header::End));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let (_, bytes) = sample();
        for cut in 0..bytes.len() {
            let result = (|| -> Result<(), ArchiveError> {
                let mut r = ArchiveReader::new(&bytes[..cut])?;
                loop {
                    match r.next_header()? {
                        Header::End => return Ok(()),
                        Header::Body { .. } => {
                            io::copy(&mut r.body(), &mut io::sink()).map_err(ArchiveError::Io)?;
                        }
                        Header::Manifest(_) => {}
                    }
                }
            })();
            assert!(result.is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            ArchiveReader::new(&b"<html>nope</html>"[..]),
            Err(ArchiveError::BadMagic)
        ));
        let mut bytes = MAGIC.to_vec();
        bytes.push(b'M');
        bytes.extend(u64::MAX.to_be_bytes());
        let mut r = ArchiveReader::new(&bytes[..]).unwrap();
        assert!(matches!(
            r.next_header(),
            Err(ArchiveError::ManifestTooLarge(_))
        ));
    }
}
