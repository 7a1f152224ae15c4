-- zsync store, SQLite schema version 1.
--
-- Paths are stored denormalised (full path per object) so that a subtree is
-- one index range: `path = p OR (path >= p || '/' AND path < p || '0')`
-- ('0' is the byte after '/'). SQLite's default BINARY collation compares
-- bytewise, which is the order manifests are sorted in.

-- One row per committed revision. Revision 0 (the empty repository) has no
-- row; the head is MAX(rev) or 0.
CREATE TABLE revisions (
    rev     INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL,
    author  TEXT    NOT NULL,
    message TEXT    NOT NULL
);

-- Content-addressed bodies (BLAKE3, hex) and their chunks of CHUNK_SIZE
-- bytes, seq from 0. An empty body has no chunks.
CREATE TABLE bodies (
    hash TEXT    PRIMARY KEY,
    size INTEGER NOT NULL
);

CREATE TABLE chunks (
    hash TEXT    NOT NULL REFERENCES bodies (hash),
    seq  INTEGER NOT NULL,
    data BLOB    NOT NULL,
    PRIMARY KEY (hash, seq)
);

-- The current state of every live object. The root has oid 0…0, path ''
-- and no parent.
CREATE TABLE objects (
    oid        TEXT    PRIMARY KEY,
    parent_oid TEXT    REFERENCES objects (oid),
    name       TEXT    NOT NULL,
    path       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    rev        INTEGER NOT NULL,
    hash       TEXT    REFERENCES bodies (hash),
    size       INTEGER NOT NULL DEFAULT 0,
    props      TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX objects_parent ON objects (parent_oid);

-- The state of an object after each revision that touched it: 'A'dded,
-- 'M'odified or 'D'eleted (the state it had when deleted).
CREATE TABLE history (
    oid    TEXT    NOT NULL,
    rev    INTEGER NOT NULL REFERENCES revisions (rev),
    path   TEXT    NOT NULL,
    kind   TEXT    NOT NULL,
    hash   TEXT    REFERENCES bodies (hash),
    size   INTEGER NOT NULL DEFAULT 0,
    props  TEXT    NOT NULL DEFAULT '{}',
    action TEXT    NOT NULL CHECK (action IN ('A', 'M', 'D')),
    PRIMARY KEY (oid, rev)
);

CREATE INDEX history_path ON history (path, rev);
CREATE INDEX history_rev ON history (rev, path);

CREATE TABLE users (
    name          TEXT    PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

-- Login tokens by hash; the token itself is never stored.
CREATE TABLE tokens (
    token_hash TEXT    PRIMARY KEY,
    username   TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    expires    INTEGER NOT NULL
);

CREATE INDEX tokens_user ON tokens (username);
