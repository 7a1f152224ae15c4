//! The upload batch of `POST /api/v1/bodies`: many small bodies in one
//! request, framed like an [archive](crate::archive) without a manifest.
//!
//! ```text
//! batch := MAGIC body* END
//! body  := 'B' hash:[u8;32] len:u64be bytes[len]     (len <= MAX_BATCH_BODY)
//! END   := 'E'                                       (nothing after it)
//! ```
//!
//! A batch is small (the server limits its total size), so it is built and
//! parsed in memory: [`BatchWriter`] frames bodies, [`parse`] checks every
//! frame and returns where each body lies, without copying. Hashes are
//! checked by whoever stores the bodies.

use std::ops::Range;

use zsync_model::BodyHash;

use crate::archive::{MAGIC, body_frame_header};

/// The content type of a batch.
pub const CONTENT_TYPE: &str = "application/x-zsync-batch";

/// The largest body a batch may carry; bigger ones are uploaded alone with
/// `PUT /api/v1/bodies/{hash}`. One store chunk, so a batched body is
/// stored as one row.
pub const MAX_BATCH_BODY: u64 = 1 << 20;

const TAG_BODY: u8 = b'B';
const TAG_END: u8 = b'E';
/// Tag, hash and length.
const HEADER_LEN: usize = 41;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("not a zsync upload batch (bad magic)")]
    BadMagic,
    #[error("upload batch ends early (truncated at byte {0})")]
    Truncated(usize),
    #[error("unknown upload batch frame tag 0x{tag:02x} at byte {offset}")]
    BadTag { tag: u8, offset: usize },
    #[error("upload batch has {0} byte(s) after its end frame")]
    TrailingBytes(usize),
    #[error(
        "body {hash} in the upload batch is {size} bytes, over the batch limit of {limit}; upload it alone"
    )]
    BodyTooLarge {
        hash: BodyHash,
        size: u64,
        limit: u64,
    },
    #[error("upload batch holds more than {0} bodies")]
    TooMany(usize),
}

/// Frames bodies into a batch.
#[derive(Debug)]
pub struct BatchWriter {
    bytes: Vec<u8>,
    count: usize,
}

impl Default for BatchWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchWriter {
    pub fn new() -> Self {
        Self {
            bytes: MAGIC.to_vec(),
            count: 0,
        }
    }

    /// Appends a body; the caller keeps it within [`MAX_BATCH_BODY`].
    pub fn push(&mut self, hash: &BodyHash, data: &[u8]) {
        self.bytes
            .extend_from_slice(&body_frame_header(hash, data.len() as u64));
        self.bytes.extend_from_slice(data);
        self.count += 1;
    }

    /// Bodies pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Bytes framed so far (without the end frame).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The finished batch.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.push(TAG_END);
        self.bytes
    }
}

/// Every body of a batch as (hash, where its bytes lie in `batch`), in
/// order. Refuses the whole batch on the first bad frame, a body over
/// `max_body` bytes (or [`MAX_BATCH_BODY`]), more than `max_count` bodies,
/// or anything after the end frame.
pub fn parse(
    batch: &[u8],
    max_body: u64,
    max_count: usize,
) -> Result<Vec<(BodyHash, Range<usize>)>, BatchError> {
    let limit = max_body.min(MAX_BATCH_BODY);
    if batch.len() < MAGIC.len() || &batch[..MAGIC.len()] != MAGIC {
        return Err(BatchError::BadMagic);
    }
    let mut at = MAGIC.len();
    let mut bodies = Vec::new();
    loop {
        let tag = *batch.get(at).ok_or(BatchError::Truncated(batch.len()))?;
        match tag {
            TAG_END => {
                let after = batch.len() - at - 1;
                if after > 0 {
                    return Err(BatchError::TrailingBytes(after));
                }
                return Ok(bodies);
            }
            TAG_BODY => {
                let header = batch
                    .get(at..at + HEADER_LEN)
                    .ok_or(BatchError::Truncated(batch.len()))?;
                let mut hash = [0u8; 32];
                hash.copy_from_slice(&header[1..33]);
                let hash = BodyHash::from_bytes(hash);
                let mut len = [0u8; 8];
                len.copy_from_slice(&header[33..41]);
                let size = u64::from_be_bytes(len);
                if size > limit {
                    return Err(BatchError::BodyTooLarge { hash, size, limit });
                }
                if bodies.len() >= max_count {
                    return Err(BatchError::TooMany(max_count));
                }
                // `size` is at most MAX_BATCH_BODY, so this cannot overflow.
                let start = at + HEADER_LEN;
                let end = start + size as usize;
                if end > batch.len() {
                    return Err(BatchError::Truncated(batch.len()));
                }
                bodies.push((hash, start..end));
                at = end;
            }
            tag => return Err(BatchError::BadTag { tag, offset: at }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<Vec<u8>>, Vec<u8>) {
        let bodies = vec![b"one".to_vec(), Vec::new(), vec![7u8; 5000]];
        let mut writer = BatchWriter::new();
        for body in &bodies {
            writer.push(&BodyHash::of(body), body);
        }
        assert_eq!(writer.count(), 3);
        (bodies, writer.finish())
    }

    #[test]
    fn round_trip() {
        let (bodies, batch) = sample();
        let parsed = parse(&batch, u64::MAX, 10).unwrap();
        assert_eq!(parsed.len(), 3);
        for ((hash, range), body) in parsed.into_iter().zip(&bodies) {
            assert_eq!(hash, BodyHash::of(body));
            assert_eq!(&batch[range], &body[..]);
        }
    }

    #[test]
    fn empty_batch() {
        let batch = BatchWriter::new().finish();
        assert_eq!(parse(&batch, 10, 10).unwrap(), Vec::new());
    }

    #[test]
    fn refusals() {
        let (_, batch) = sample();
        assert_eq!(parse(b"nope", 10, 10), Err(BatchError::BadMagic));
        for cut in MAGIC.len()..batch.len() {
            assert!(
                matches!(
                    parse(&batch[..cut], u64::MAX, 10),
                    Err(BatchError::Truncated(_))
                ),
                "cut at {cut}"
            );
        }
        let mut trailing = batch.clone();
        trailing.push(0);
        assert_eq!(
            parse(&trailing, u64::MAX, 10),
            Err(BatchError::TrailingBytes(1))
        );
        assert!(matches!(
            parse(&batch, 4999, 10),
            Err(BatchError::BodyTooLarge { size: 5000, .. })
        ));
        assert_eq!(parse(&batch, u64::MAX, 2), Err(BatchError::TooMany(2)));
        let mut tagged = batch.clone();
        tagged[MAGIC.len()] = b'M';
        assert!(matches!(
            parse(&tagged, u64::MAX, 10),
            Err(BatchError::BadTag { tag: b'M', .. })
        ));
        // A length beyond the batch limit is refused before anything is
        // allocated or sliced.
        let mut huge = MAGIC.to_vec();
        huge.extend(body_frame_header(&BodyHash::of(b""), u64::MAX));
        assert!(matches!(
            parse(&huge, u64::MAX, 10),
            Err(BatchError::BodyTooLarge { .. })
        ));
    }
}
