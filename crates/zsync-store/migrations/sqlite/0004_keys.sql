-- zsync store, SQLite schema version 4: SSH public keys of users.
--
-- A key is known by its SHA256 fingerprint (as OpenSSH prints it) and
-- kept as its OpenSSH one-line form. One key belongs to at most one user,
-- so a signature names exactly one account.
CREATE TABLE ssh_keys (
    fingerprint TEXT    PRIMARY KEY,
    username    TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    public_key  TEXT    NOT NULL,
    added       INTEGER NOT NULL
);

CREATE INDEX ssh_keys_user ON ssh_keys (username);
