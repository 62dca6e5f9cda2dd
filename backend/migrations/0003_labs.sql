-- Lab sandboxes: a classroom shares one server, and each browser gets a lab of its own
-- (its own users, devices, conversations, groups and crowd). A user belongs to at most
-- one lab; users outside any lab (lab_id NULL) are the API's ordinary users.
CREATE TABLE labs (
    id              TEXT PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    last_active_at  INTEGER NOT NULL   -- unix ms; idle labs are deleted after a while
);
CREATE INDEX labs_by_activity ON labs(last_active_at);

ALTER TABLE users ADD COLUMN lab_id TEXT REFERENCES labs(id);
CREATE INDEX users_by_lab ON users(lab_id) WHERE lab_id IS NOT NULL;
