-- zsync store, PostgreSQL schema version 1: the same tables as SQLite's
-- versions 1 to 4, in one step (no PostgreSQL store predates them).
--
-- Paths and names use the "C" collation so they sort bytewise, the order
-- manifests are sorted in, and so a subtree is one index range:
-- `path = p OR (path >= p || '/' AND path < p || '0')`.

CREATE TABLE revisions (
    rev     BIGINT PRIMARY KEY,
    time    BIGINT NOT NULL,
    author  TEXT   NOT NULL,
    message TEXT   NOT NULL
);

-- Commits lock this one row first, so they are applied one at a time in
-- the order they took it and each one's checks see every earlier commit
-- (across every zsyncd process on the database).
CREATE TABLE commit_order (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);
INSERT INTO commit_order (id) VALUES (1);

CREATE TABLE bodies (
    hash TEXT   PRIMARY KEY,
    size BIGINT NOT NULL
);

CREATE TABLE chunks (
    hash TEXT   NOT NULL REFERENCES bodies (hash),
    seq  BIGINT NOT NULL,
    data BYTEA  NOT NULL,
    PRIMARY KEY (hash, seq)
);

CREATE TABLE objects (
    oid        TEXT   PRIMARY KEY,
    parent_oid TEXT   REFERENCES objects (oid),
    name       TEXT   COLLATE "C" NOT NULL,
    path       TEXT   COLLATE "C" NOT NULL UNIQUE,
    kind       TEXT   NOT NULL,
    rev        BIGINT NOT NULL,
    hash       TEXT   REFERENCES bodies (hash),
    size       BIGINT NOT NULL DEFAULT 0,
    props      TEXT   NOT NULL DEFAULT '{}'
);

CREATE INDEX objects_parent ON objects (parent_oid);
CREATE INDEX objects_hash ON objects (hash);

CREATE TABLE history (
    oid    TEXT   NOT NULL,
    rev    BIGINT NOT NULL REFERENCES revisions (rev),
    path   TEXT   COLLATE "C" NOT NULL,
    kind   TEXT   NOT NULL,
    hash   TEXT   REFERENCES bodies (hash),
    size   BIGINT NOT NULL DEFAULT 0,
    props  TEXT   NOT NULL DEFAULT '{}',
    action TEXT   NOT NULL CHECK (action IN ('A', 'M', 'D')),
    PRIMARY KEY (oid, rev)
);

CREATE INDEX history_path ON history (path, rev);
CREATE INDEX history_rev ON history (rev, path);
CREATE INDEX history_hash ON history (hash);

CREATE TABLE users (
    name          TEXT    PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE tokens (
    token_hash TEXT   PRIMARY KEY,
    username   TEXT   NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    expires    BIGINT NOT NULL
);

CREATE INDEX tokens_user ON tokens (username);

CREATE TABLE grants (
    username TEXT NOT NULL,
    path     TEXT COLLATE "C" NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('Reader', 'Editor', 'Manager')),
    PRIMARY KEY (username, path)
);

CREATE TABLE ssh_keys (
    fingerprint TEXT   PRIMARY KEY,
    username    TEXT   NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    public_key  TEXT   NOT NULL,
    added       BIGINT NOT NULL
);

CREATE INDEX ssh_keys_user ON ssh_keys (username);
