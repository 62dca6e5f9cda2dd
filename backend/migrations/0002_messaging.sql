-- Users, devices, messages and each device's inbox: the durable offline queue.
-- Ids that clients see are UUIDs stored as text, so the file reads well in the sqlite3
-- shell during a lesson.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL,            -- SHA-256 of the secret token, hex
    last_seq    INTEGER NOT NULL DEFAULT 0, -- the highest inbox sequence handed out
    acked_seq   INTEGER NOT NULL DEFAULT 0, -- the highest sequence the device acknowledged
    created_at  INTEGER NOT NULL
);
CREATE INDEX devices_by_user ON devices(user_id);

-- Groups and their participant list, in a table of its own: fan-out reads it to make
-- one delivery per member device.
CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups(id),
    user_id   TEXT NOT NULL REFERENCES users(id),
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_user ON group_members(user_id);

-- The 1,024-member cap, enforced by the database at write time. SQLite runs one writer
-- at a time, so the count and the insert cannot interleave with another add.
CREATE TRIGGER group_members_cap BEFORE INSERT ON group_members
WHEN (SELECT COUNT(*) FROM group_members WHERE group_id = NEW.group_id) >= 1024
BEGIN
    SELECT RAISE(ABORT, 'group_full');
END;

-- One row per message, whatever the number of recipients: content is stored once.
-- UNIQUE (sender_device, client_id) is the exactly-once guarantee: a retry of the same
-- id hits this constraint and stores nothing (INSERT … ON CONFLICT DO NOTHING).
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    sender_device   TEXT NOT NULL REFERENCES devices(id),
    client_id       TEXT NOT NULL,     -- the client's UUID v7
    sender_user     TEXT NOT NULL REFERENCES users(id),
    recipient_user  TEXT REFERENCES users(id),    -- a 1:1 message's recipient
    group_id        TEXT REFERENCES groups(id),   -- or a group message's group
    body            TEXT NOT NULL,
    sent_at         INTEGER NOT NULL,  -- unix ms, the commit that made it SENT
    expires_at      INTEGER NOT NULL,  -- unix ms; undelivered by then → dead letter
    state           INTEGER NOT NULL DEFAULT 0, -- the sender's tick: 0 sent, 1 delivered, 2 read, 3 failed
    -- Group messages: receipts counted as they trickle back, and the number of recipient
    -- devices once fan-out has finished.
    delivered_count  INTEGER NOT NULL DEFAULT 0,
    read_count       INTEGER NOT NULL DEFAULT 0,
    recipients_total INTEGER,
    UNIQUE (sender_device, client_id),
    CHECK ((recipient_user IS NULL) <> (group_id IS NULL))
);
CREATE INDEX messages_awaiting_delivery ON messages(expires_at) WHERE state = 0;

-- A device's inbox, numbered 1, 2, 3… per device. kind 0 is a message for the device,
-- kind 1 a receipt (delivered/read/failed) for a message the device sent.
CREATE TABLE inbox (
    device_id      TEXT NOT NULL REFERENCES devices(id),
    seq            INTEGER NOT NULL,
    kind           INTEGER NOT NULL,
    message_id     INTEGER NOT NULL REFERENCES messages(id),
    receipt_state  INTEGER,           -- receipts: 1 delivered, 2 read, 3 failed
    reason         TEXT,              -- receipts: why it failed
    created_at     INTEGER NOT NULL,
    acked_at       INTEGER,           -- when the device acknowledged it
    read_at        INTEGER,           -- messages: when the user read it
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
-- A message reaches each device once, even if a bug tried twice.
CREATE UNIQUE INDEX inbox_one_copy_per_device ON inbox(message_id, device_id) WHERE kind = 0;

-- Messages no device received before their expiry.
CREATE TABLE dead_letters (
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    device_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    failed_at   INTEGER NOT NULL,
    PRIMARY KEY (message_id, device_id)
);

-- Push wake-ups (what APNs/FCM would be asked to send) for devices that were offline.
CREATE TABLE push_outbox (
    id          INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices(id),
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX push_outbox_by_device ON push_outbox(device_id);

-- Group fan-out still to do. Written in the same transaction as the message, advanced in
-- the same transaction as each batch of inbox entries, so a crash at any point resumes
-- exactly where the last commit left off: no member twice, none missed.
CREATE TABLE fanout_jobs (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id),
    cursor      TEXT NOT NULL DEFAULT '', -- the last member user id fanned out to
    created_at  INTEGER NOT NULL,
    done_at     INTEGER
);
CREATE INDEX fanout_jobs_pending ON fanout_jobs(created_at) WHERE done_at IS NULL;
