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

-- One row per message, whatever the number of recipients: content is stored once.
-- UNIQUE (sender_device, client_id) is the exactly-once guarantee: a retry of the same
-- id hits this constraint and stores nothing (INSERT … ON CONFLICT DO NOTHING).
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    sender_device   TEXT NOT NULL REFERENCES devices(id),
    client_id       TEXT NOT NULL,     -- the client's UUID v7
    sender_user     TEXT NOT NULL REFERENCES users(id),
    recipient_user  TEXT NOT NULL REFERENCES users(id),
    body            TEXT NOT NULL,
    sent_at         INTEGER NOT NULL,  -- unix ms, the commit that made it SENT
    expires_at      INTEGER NOT NULL,  -- unix ms; undelivered by then → dead letter
    state           INTEGER NOT NULL DEFAULT 0, -- the sender's tick: 0 sent, 1 delivered, 2 read, 3 failed
    UNIQUE (sender_device, client_id)
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
