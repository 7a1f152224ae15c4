-- zsync store, SQLite schema version 2: roles granted per path.
--
-- A grant gives a user (or the principal 'anonymous', who has no users
-- row, hence no foreign key) a role on a path and everything below it.
-- The path is stored like objects.path ('' for the root) and need not
-- name an existing object, so a grant survives its folder being deleted
-- and re-created. The global users.role of version 1 becomes a grant at
-- the root.
CREATE TABLE grants (
    username TEXT NOT NULL,
    path     TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('Reader', 'Editor', 'Manager')),
    PRIMARY KEY (username, path)
);

INSERT INTO grants (username, path, role) SELECT name, '', role FROM users;

ALTER TABLE users DROP COLUMN role;

-- Fetching bodies checks that a readable object refers to each.
CREATE INDEX objects_hash ON objects (hash);
