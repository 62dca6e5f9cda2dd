//! End-to-end encrypted messaging on top of a [`Connection`]: the key directory calls
//! and the bookkeeping around [`DeviceCrypto`] (the crypto itself lives, I/O-free, in
//! `bluetick_shared::e2e`). The server sees only envelopes of ciphertext in `send.body`.
//!
//! ```text
//! let mut me = E2eDevice::new(addr, registration);
//! me.publish_keys().await?;                       // PUT /api/keys
//! me.send_text(&mut conn, bob, "hi").await?;      // claims Bob's keys once, Olm
//! me.send_group(&mut conn, group, "hi all").await?; // room keys over Olm, then Megolm
//! for got in me.receive(delivery) { … }           // decrypt (and release waiting group messages)
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;

use bluetick_shared::e2e::keys::{ClaimedKeys, KeyClaim, KeyCount, UserDevices};
use bluetick_shared::e2e::receiver::Receiver;
use bluetick_shared::e2e::{DeviceCrypto, E2eError, GroupShare};
use bluetick_shared::frames::{Delivery, DeviceId, GroupId, MessageId, Registration, UserId};
use serde::de::DeserializeOwned;

use super::http::{HttpError, request};
use super::{ClientError, Connection};
use bluetick_shared::groups::GroupView;

#[derive(Debug, thiserror::Error)]
pub enum E2eClientError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{method} {path} answered {status}: {body}")]
    Status { method: &'static str, path: String, status: u16, body: String },
    #[error(transparent)]
    Crypto(#[from] E2eError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("none of the recipient's devices has published keys")]
    NoRecipientDevice,
}

/// A received message, decrypted (or why not).
pub use bluetick_shared::e2e::receiver::Opened as Received;

/// A device that encrypts everything it sends.
pub struct E2eDevice {
    pub addr: SocketAddr,
    pub registration: Registration,
    pub crypto: DeviceCrypto,
    /// Group messages whose room key has not arrived yet.
    receiver: Receiver,
    /// Per group, the member devices this device's current Megolm session was prepared
    /// for: one outside it has joined since, and gets a new session (see `send_group`).
    session_members: HashMap<GroupId, BTreeSet<DeviceId>>,
}

impl E2eDevice {
    /// A device with a new vodozemac account.
    pub fn new(addr: SocketAddr, registration: Registration) -> E2eDevice {
        let crypto = DeviceCrypto::new(registration.device_id);
        E2eDevice::with_crypto(addr, registration, crypto)
    }

    /// A device with existing crypto state (say, unpickled).
    pub fn with_crypto(addr: SocketAddr, registration: Registration, crypto: DeviceCrypto) -> E2eDevice {
        E2eDevice { addr, registration, crypto, receiver: Receiver::new(), session_members: HashMap::new() }
    }

    /// How many group messages wait for a room key.
    pub fn waiting(&self) -> usize {
        self.receiver.waiting()
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: String,
        body: Option<String>,
    ) -> Result<T, E2eClientError> {
        let bearer = format!("{}:{}", self.registration.device_id, self.registration.token);
        let (status, text) = request(self.addr, method, &path, body.as_deref(), Some(&bearer)).await?;
        if !(200..300).contains(&status) {
            return Err(E2eClientError::Status { method, path, status, body: text });
        }
        serde_json::from_str(&text).map_err(|e| E2eClientError::Status { method, path, status, body: e.to_string() })
    }

    /// The directory's count of this device's keys.
    pub async fn key_count(&self) -> Result<KeyCount, E2eClientError> {
        self.call("GET", "/api/keys/count".into(), None).await
    }

    /// Publishes keys if the directory runs low (or has none yet): tops one-time keys up
    /// below the low-water mark, adds a fallback key if missing. Returns the new count.
    pub async fn publish_keys(&mut self) -> Result<KeyCount, E2eClientError> {
        let count = self.key_count().await?;
        let Some(upload) = self.crypto.key_upload(count.one_time_keys as usize, count.fallback_key) else {
            return Ok(count);
        };
        let body = serde_json::to_string(&upload).expect("an upload serializes");
        let count = self.call("PUT", "/api/keys".into(), Some(body)).await?;
        self.crypto.mark_keys_published();
        Ok(count)
    }

    /// The devices of `user` that can receive encrypted messages.
    pub async fn user_devices(&self, user: UserId) -> Result<Vec<DeviceId>, E2eClientError> {
        let found: UserDevices = self.call("GET", format!("/api/keys/users/{user}"), None).await?;
        Ok(found.devices.into_iter().map(|d| d.device_id).collect())
    }

    /// Makes sure there is an Olm session with each of `devices`, claiming keys for
    /// those without one; returns the devices we can encrypt to.
    pub async fn ensure_sessions(&mut self, devices: &[DeviceId]) -> Result<Vec<DeviceId>, E2eClientError> {
        let missing: Vec<DeviceId> = devices.iter().copied().filter(|d| !self.crypto.has_session(*d)).collect();
        if !missing.is_empty() {
            let body = serde_json::to_string(&KeyClaim { devices: missing }).expect("a claim serializes");
            let claimed: ClaimedKeys = self.call("POST", "/api/keys/claim".into(), Some(body)).await?;
            for device in &claimed.devices {
                self.crypto.start_session(device)?;
            }
        }
        Ok(devices.iter().copied().filter(|d| self.crypto.has_session(*d)).collect())
    }

    /// Sends `text` to every device of `to`, encrypted with Olm.
    pub async fn send_text(
        &mut self,
        conn: &mut Connection,
        to: UserId,
        text: &str,
    ) -> Result<MessageId, E2eClientError> {
        let devices = self.user_devices(to).await?;
        let devices = self.ensure_sessions(&devices).await?;
        if devices.is_empty() {
            return Err(E2eClientError::NoRecipientDevice);
        }
        let envelope = self.crypto.encrypt_text(&devices, text)?;
        Ok(conn.send_message(to, envelope.to_json()).await?)
    }

    /// Sends `text` to a group: first this device's Megolm key over Olm to every member
    /// device that lacks it (after a member left or joined, a new key to all), then the
    /// message, encrypted once, for the server to fan out.
    pub async fn send_group(
        &mut self,
        conn: &mut Connection,
        group: GroupId,
        text: &str,
    ) -> Result<(MessageId, GroupShare), E2eClientError> {
        let view: GroupView = self.call("GET", format!("/api/groups/{group}/members"), None).await?;
        let mut by_device: BTreeMap<DeviceId, UserId> = BTreeMap::new();
        for member in view.members.iter().filter(|m| m.user_id != self.registration.user_id) {
            for device in self.user_devices(member.user_id).await? {
                by_device.insert(device, member.user_id);
            }
        }
        let members: Vec<DeviceId> = by_device.keys().copied().collect();
        // Rotate on join, as on leave: a device that joined gets a session that starts
        // after it joined. Handing it the current session would make what it can read
        // depend on how its key was exported (vodozemac exports the ratchet as it stands
        // now, but a key kept or forwarded from an earlier index opens everything since).
        let joined = match self.session_members.get(&group) {
            Some(known) => members.iter().any(|d| !known.contains(d)),
            // A session restored without this record: who joined since is unknown.
            None => self.crypto.group_session_id(group).is_some(),
        };
        if joined {
            self.crypto.rotate_group(group);
        }
        let share = self.crypto.prepare_group(group, &members);
        self.session_members.insert(group, members.iter().copied().collect());
        let reachable = self.ensure_sessions(&share.needs_key).await?;
        let mut per_user: BTreeMap<UserId, Vec<DeviceId>> = BTreeMap::new();
        for device in reachable {
            per_user.entry(by_device[&device]).or_default().push(device);
        }
        // Each user's key message is committed before the group message (one
        // connection's sends are stored in order), so it reaches the inbox first.
        for (user, devices) in per_user {
            let envelope = self.crypto.share_room_key(group, &devices)?;
            conn.send_message(user, envelope.to_json()).await?;
        }
        let envelope = self.crypto.encrypt_group(group, text)?;
        let id = conn.send_to_group(group, envelope.to_json()).await?;
        Ok((id, share))
    }

    /// Decrypts a delivery. A group message whose key has not arrived waits (and yields
    /// nothing now); a room key releases the messages waiting for it.
    pub fn receive(&mut self, delivery: Delivery) -> Vec<Received> {
        self.receiver.receive(&mut self.crypto, delivery)
    }
}
