-- One row per server start. /healthz reports the count, and crash/restart tests can
-- tell that a restart really happened on the same data dir.
CREATE TABLE boots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL, -- unix milliseconds
    version     TEXT    NOT NULL
);
