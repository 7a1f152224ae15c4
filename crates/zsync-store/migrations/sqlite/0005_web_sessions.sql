-- zsync store, SQLite schema version 5: sessions of the web UI at /manage.
--
-- Like API tokens, a session is known only by the hash of its random
-- token (the cookie's value), so a leaked database opens no sessions. They
-- live in the store, so several servers on one database share them.
CREATE TABLE web_sessions (
    token_hash TEXT    PRIMARY KEY,
    username   TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created    INTEGER NOT NULL,
    expires    INTEGER NOT NULL
);

CREATE INDEX web_sessions_user ON web_sessions (username);
