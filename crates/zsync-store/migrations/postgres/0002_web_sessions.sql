-- zsync store, PostgreSQL schema version 2 (SQLite's version 5): sessions
-- of the web UI at /manage, known only by the hash of their token. They
-- live in the database, so every server on it shares them.
CREATE TABLE web_sessions (
    token_hash TEXT   PRIMARY KEY,
    username   TEXT   NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created    BIGINT NOT NULL,
    expires    BIGINT NOT NULL
);

CREATE INDEX web_sessions_user ON web_sessions (username);
