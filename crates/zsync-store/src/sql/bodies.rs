//! Content-addressed bodies, stored as chunks of [`CHUNK_SIZE`] bytes so
//! that neither an upload nor a download is ever held whole in memory.

use std::collections::HashSet;
use std::io::SeekFrom;
use std::path::Path;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use zsync_model::{BodyHash, BodyHasher};

use super::{Pool, bulk};
use crate::sql::rows;
use crate::{BodyStream, CHUNK_SIZE, StoreError};

/// Read size while spooling an upload.
const SPOOL_BUFFER: usize = 64 * 1024;

const BODY_SIZE: &str = "SELECT size FROM bodies WHERE hash = $1";

async fn size_in<'e, E>(executor: E, hash: &BodyHash) -> Result<Option<u64>, StoreError>
where
    E: sqlx::Executor<'e, Database = super::Db>,
{
    let row: Option<(i64,)> = sqlx::query_as(BODY_SIZE)
        .bind(hash.to_hex())
        .fetch_optional(executor)
        .await?;
    row.map(|(s,)| rows::size(s)).transpose()
}

pub(crate) async fn size(pool: &Pool, hash: &BodyHash) -> Result<Option<u64>, StoreError> {
    size_in(pool, hash).await
}

pub(crate) async fn missing(pool: &Pool, hashes: &[BodyHash]) -> Result<Vec<BodyHash>, StoreError> {
    let mut seen = HashSet::new();
    let unique: Vec<&BodyHash> = hashes.iter().filter(|h| seen.insert(*h)).collect();
    let mut conn = pool.acquire().await?;
    let present: Vec<(String,)> = bulk::select_in(
        &mut conn,
        "SELECT hash FROM bodies WHERE hash IN (",
        ")",
        &unique,
        |h| h.to_hex(),
    )
    .await?;
    let present: HashSet<String> = present.into_iter().map(|(h,)| h).collect();
    Ok(unique
        .into_iter()
        .filter(|h| !present.contains(&h.to_hex()))
        .copied()
        .collect())
}

pub(crate) async fn small(
    pool: &Pool,
    hashes: &[BodyHash],
) -> Result<Vec<(BodyHash, Bytes)>, StoreError> {
    let mut conn = pool.acquire().await?;
    let head = format!(
        "SELECT b.hash, c.data FROM bodies b \
         LEFT JOIN chunks c ON c.hash = b.hash AND c.seq = 0 \
         WHERE b.size <= {CHUNK_SIZE} AND b.hash IN ("
    );
    let found: Vec<(String, Option<Vec<u8>>)> =
        bulk::select_in(&mut conn, &head, ")", hashes, |h| h.to_hex()).await?;
    found
        .into_iter()
        .map(|(hex, data)| Ok((rows::hash(hex)?, Bytes::from(data.unwrap_or_default()))))
        .collect()
}

pub(crate) async fn put<R: AsyncRead + Unpin + Send>(
    pool: &Pool,
    tmp_dir: &Path,
    expected: BodyHash,
    mut body: R,
    max_size: u64,
) -> Result<(), StoreError> {
    if size(pool, &expected).await?.is_some() {
        return Ok(());
    }

    // Small bodies (most of a content tree) are spooled in memory; a body
    // that outgrows that goes to a temp file, deleted when it drops on
    // every path out of this function.
    let mut spool = Spool::Memory(Vec::new());
    let mut hasher = BodyHasher::new();
    let mut buf = vec![0u8; SPOOL_BUFFER];
    loop {
        let n = body.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        crate::fault::point("upload-receiving").await;
        if hasher.len() > max_size {
            return Err(StoreError::TooLarge { limit: max_size });
        }
        spool.write(tmp_dir, &buf[..n]).await?;
    }
    let actual = hasher.finish();
    if actual != expected {
        return Err(StoreError::HashMismatch { expected, actual });
    }
    let size = hasher.len();
    spool.rewind().await?;

    // Only now, with the whole body received, take the write lock.
    let mut conn = super::body_connection(pool).await?;
    let stored = store(&mut conn, &expected, size, &mut spool).await;
    super::release_body_connection(conn, stored.is_ok()).await;
    stored?;
    tracing::debug!(hash = %expected, size, "stored body");
    Ok(())
}

/// Stores a received, verified body in one transaction on `conn`.
async fn store(
    conn: &mut sqlx::pool::PoolConnection<super::Db>,
    expected: &BodyHash,
    size: u64,
    spool: &mut Spool,
) -> Result<(), StoreError> {
    let mut tx = super::begin_body(conn).await?;
    let hex = expected.to_hex();
    super::lock_body(&mut tx, &hex).await?;
    crate::fault::point("upload-storing").await;
    if size_in(&mut *tx, expected).await?.is_some() {
        // Another upload of the same body won the race.
        tx.rollback().await?;
        return Ok(());
    }
    sqlx::query("INSERT INTO bodies (hash, size) VALUES ($1, $2)")
        .bind(&hex)
        .bind(rows::to_i64(size)?)
        .execute(&mut *tx)
        .await?;
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let mut seq: i64 = 0;
    let mut stored: u64 = 0;
    loop {
        let n = spool.read_chunk(&mut chunk).await?;
        if n == 0 {
            break;
        }
        sqlx::query("INSERT INTO chunks (hash, seq, data) VALUES ($1, $2, $3)")
            .bind(&hex)
            .bind(seq)
            .bind(&chunk[..n])
            .execute(&mut *tx)
            .await?;
        seq += 1;
        stored += n as u64;
    }
    if stored != size {
        return Err(StoreError::Io(std::io::Error::other(format!(
            "spooled upload shrank from {size} to {stored} bytes"
        ))));
    }
    tx.commit().await?;
    Ok(())
}

/// Stores a batch of small bodies (each at most one chunk) in one
/// transaction: all of them, or none if any fails its hash. A few
/// multi-row statements per batch, not several per body.
pub(crate) async fn put_many(
    pool: &Pool,
    bodies: Vec<(BodyHash, Bytes)>,
) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    let bodies: Vec<(BodyHash, Bytes)> = bodies
        .into_iter()
        .filter(|(hash, _)| seen.insert(*hash))
        .collect();
    if bodies.is_empty() {
        return Ok(());
    }
    if bodies.iter().any(|(_, data)| data.len() > CHUNK_SIZE) {
        return Err(StoreError::TooLarge {
            limit: CHUNK_SIZE as u64,
        });
    }
    // Hashing megabytes is CPU work: off the async threads.
    let bodies = tokio::task::spawn_blocking(move || {
        for (expected, data) in &bodies {
            let actual = BodyHash::of(data);
            if actual != *expected {
                return Err(StoreError::HashMismatch {
                    expected: *expected,
                    actual,
                });
            }
        }
        Ok(bodies)
    })
    .await
    .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;

    let mut conn = super::body_connection(pool).await?;
    let stored = store_many(&mut conn, &bodies).await;
    super::release_body_connection(conn, stored.is_ok()).await;
    stored?;
    tracing::debug!(bodies = bodies.len(), "stored a batch of bodies");
    Ok(())
}

/// Stores verified bodies of at most one chunk each in one transaction on
/// `conn`. `ON CONFLICT DO NOTHING`: a body stored meanwhile by another
/// upload is complete already (its rows went in in one transaction), and
/// on PostgreSQL a concurrent insert of the same key waits for the other
/// transaction and then does nothing, so no per-body lock is needed.
async fn store_many(
    conn: &mut sqlx::pool::PoolConnection<super::Db>,
    bodies: &[(BodyHash, Bytes)],
) -> Result<(), StoreError> {
    let mut tx = super::begin_body(conn).await?;
    crate::fault::point("upload-storing").await;
    bulk::insert(
        &mut tx,
        "INSERT INTO bodies (hash, size) VALUES",
        2,
        " ON CONFLICT (hash) DO NOTHING",
        bodies,
        |q, (hash, data)| Ok(q.bind(hash.to_hex()).bind(rows::to_i64(data.len() as u64)?)),
    )
    .await?;
    // An empty body has no chunks.
    let filled: Vec<&(BodyHash, Bytes)> = bodies.iter().filter(|(_, d)| !d.is_empty()).collect();
    bulk::insert(
        &mut tx,
        "INSERT INTO chunks (hash, seq, data) VALUES",
        3,
        " ON CONFLICT (hash, seq) DO NOTHING",
        &filled,
        |q, (hash, data)| Ok(q.bind(hash.to_hex()).bind(0_i64).bind(data.to_vec())),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Bodies up to this size are spooled in memory.
const MEMORY_SPOOL: usize = 1 << 20;

/// Where an upload waits, hashed, until it is stored.
enum Spool {
    Memory(Vec<u8>),
    File {
        _temp: tempfile::NamedTempFile,
        file: tokio::fs::File,
    },
    /// Rewound memory: what is left to store.
    Reading(std::io::Cursor<Vec<u8>>),
}

impl Spool {
    async fn write(&mut self, tmp_dir: &Path, data: &[u8]) -> std::io::Result<()> {
        match self {
            Spool::Memory(held) if held.len() + data.len() <= MEMORY_SPOOL => {
                held.extend_from_slice(data);
                Ok(())
            }
            Spool::Memory(held) => {
                let dir = tmp_dir.to_owned();
                let temp = tokio::task::spawn_blocking(move || {
                    tempfile::Builder::new().prefix("upload-").tempfile_in(dir)
                })
                .await
                .map_err(std::io::Error::other)??;
                let mut file = tokio::fs::File::from_std(temp.as_file().try_clone()?);
                file.write_all(held).await?;
                file.write_all(data).await?;
                *self = Spool::File { _temp: temp, file };
                Ok(())
            }
            Spool::File { file, .. } => file.write_all(data).await,
            Spool::Reading(_) => Err(std::io::Error::other("spool written after rewind")),
        }
    }

    async fn rewind(&mut self) -> std::io::Result<()> {
        match self {
            Spool::Memory(held) => {
                *self = Spool::Reading(std::io::Cursor::new(std::mem::take(held)));
                Ok(())
            }
            Spool::File { file, .. } => {
                file.flush().await?;
                file.seek(SeekFrom::Start(0)).await.map(|_| ())
            }
            Spool::Reading(cursor) => {
                cursor.set_position(0);
                Ok(())
            }
        }
    }

    async fn read_chunk(&mut self, chunk: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Spool::File { file, .. } => read_full(file, chunk).await,
            Spool::Reading(cursor) => std::io::Read::read(cursor, chunk),
            Spool::Memory(_) => Err(std::io::Error::other("spool read before rewind")),
        }
    }
}

/// Fills `buf` unless the reader ends first; returns the bytes read.
async fn read_full<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Where a body download has got to.
struct ReadState {
    pool: Pool,
    hash: String,
    seq: i64,
    sent: u64,
    size: u64,
}

pub(crate) async fn read(pool: &Pool, hash: &BodyHash) -> Result<BodyStream, StoreError> {
    let size = size(pool, hash)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("body {hash}")))?;
    let state = ReadState {
        pool: pool.clone(),
        hash: hash.to_hex(),
        seq: 0,
        sent: 0,
        size,
    };
    // Bodies never change once stored, so each chunk can be read in its
    // own statement without a transaction spanning the download.
    let stream = futures_util::stream::try_unfold(state, |mut st| async move {
        if st.sent >= st.size {
            return Ok(None);
        }
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT data FROM chunks WHERE hash = $1 AND seq = $2")
                .bind(&st.hash)
                .bind(st.seq)
                .fetch_optional(&st.pool)
                .await?;
        let data = match row {
            Some((data,)) if !data.is_empty() => data,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "body {} lacks chunk {} ({} of {} bytes present)",
                    st.hash, st.seq, st.sent, st.size
                )));
            }
        };
        st.sent += data.len() as u64;
        if st.sent > st.size {
            return Err(StoreError::Corrupt(format!(
                "body {} has more than its {} bytes",
                st.hash, st.size
            )));
        }
        st.seq += 1;
        Ok(Some((Bytes::from(data), st)))
    });
    Ok(Box::pin(stream))
}
