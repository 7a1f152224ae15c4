-- zsync store, SQLite schema version 7: locks (svn lock semantics).
--
-- At most one lock per object, held by one user. The lock token is
-- random and known to the store only by its hash; the working copy that
-- took the lock keeps the token, so it can tell its lock from a newer one
-- (stolen) or none (broken). A deleted object loses its lock with it.
CREATE TABLE locks (
    oid        TEXT    PRIMARY KEY REFERENCES objects (oid) ON DELETE CASCADE,
    username   TEXT    NOT NULL,
    token_hash TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    comment    TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX locks_user ON locks (username);
