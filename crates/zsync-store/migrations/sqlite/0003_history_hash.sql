-- zsync store, SQLite schema version 3: find the paths that ever held a
-- body, so a body from an earlier revision can be served to whoever may
-- read one of them (merges of revision ranges need old bodies).
CREATE INDEX history_hash ON history (hash);
