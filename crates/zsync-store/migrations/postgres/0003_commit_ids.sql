-- zsync store, PostgreSQL schema version 3 (SQLite's version 6):
-- idempotent commits. A client names each commit with a random id before
-- sending it; the result is kept with the id (as the JSON the client was
-- sent), so the same commit sent again, or asked about after its answer
-- was lost, gets that result instead of being applied twice. Written in
-- the commit's own transaction.
CREATE TABLE commit_ids (
    id       TEXT   PRIMARY KEY,
    username TEXT   NOT NULL,
    rev      BIGINT NOT NULL REFERENCES revisions (rev),
    response TEXT   NOT NULL
);

CREATE INDEX commit_ids_rev ON commit_ids (rev);
