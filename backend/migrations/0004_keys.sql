-- The key directory for end-to-end encryption. The server keeps public keys only and
-- hands them out; it never holds a secret key or a plaintext message.

-- A device's identity keys (Curve25519 for Olm's key agreement, Ed25519 for signing)
-- and its current fallback key, handed out when its one-time keys run out.
CREATE TABLE device_keys (
    device_id           TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    curve25519          TEXT NOT NULL,
    ed25519             TEXT NOT NULL,
    fallback_key_id     TEXT,
    fallback_key        TEXT,
    fallback_signature  TEXT,
    updated_at          INTEGER NOT NULL
);

-- Signed one-time keys. A claim marks the row it hands out in the same statement that
-- picks it (UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING), so no key is ever handed
-- out twice, also under concurrent claims. Claimed rows stay behind as tombstones: an
-- upload retried after a claim cannot put a claimed key back (UNIQUE (device_id, key_id)).
CREATE TABLE one_time_keys (
    id          INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    key         TEXT NOT NULL,
    signature   TEXT NOT NULL,
    claimed_by  TEXT,               -- the claiming device
    claimed_at  INTEGER,            -- unix ms; NULL while the key is still available
    UNIQUE (device_id, key_id)
);
CREATE INDEX one_time_keys_available ON one_time_keys(device_id, id) WHERE claimed_at IS NULL;
