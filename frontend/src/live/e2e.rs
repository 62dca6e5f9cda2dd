//! A page device's end-to-end encryption: its vodozemac state (the I/O-free
//! [`DeviceCrypto`] from the shared crate), kept in `localStorage` across reloads, and
//! the key directory calls around it.
//!
//! The state is pickled with vodozemac's pickle encryption under a random key. That key
//! is stored next to the pickle, so here it protects little: a real app keeps it in the
//! operating system's keystore. The encryption section says so on the page.
//!
//! Every lab device gets one of these when the page makes the devices, before they
//! connect, so an encrypted message pushed right after a reload is decrypted, not shown
//! as ciphertext.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use bluetick_shared::e2e::keys::{ClaimedKeys, KeyClaim, KeyCount, UserDevices};
use bluetick_shared::e2e::receiver::{Opened, Receiver};
use bluetick_shared::e2e::{
    Decrypted, DeviceCrypto, E2eError, ExportedSessionReplay, GroupShare, PickleKey, random_pickle_key,
};
use bluetick_shared::frames::{Delivery, DeviceId, GroupId, Registration, UserId};
use vodozemac::{base64_decode, base64_encode};

use crate::lab::api::{ApiError, call};

/// Why an encrypted send could not be prepared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum E2eFailure {
    #[error("{0}")]
    Api(ApiError),
    #[error("{0}")]
    Crypto(#[from] E2eError),
    #[error("the recipient has no device with published keys yet")]
    NoRecipientDevice,
}

impl From<ApiError> for E2eFailure {
    fn from(e: ApiError) -> Self {
        E2eFailure::Api(e)
    }
}

/// The room-key messages a group send needs first, and the decision behind them.
pub struct GroupKeys {
    pub share: GroupShare,
    /// One Olm envelope (as a body) per member user that lacked the current key.
    pub room_keys: Vec<(UserId, String)>,
}

pub struct PageCrypto {
    registration: Registration,
    pickle_key: PickleKey,
    crypto: RefCell<DeviceCrypto>,
    receiver: RefCell<Receiver>,
}

fn state_key(device: DeviceId) -> String {
    format!("bluetick.e2e.{device}")
}

fn pickle_key_key(device: DeviceId) -> String {
    format!("bluetick.e2e.pickle-key.{device}")
}

/// The saved state of `device`, if there is one that opens with its saved key.
fn saved(device: DeviceId) -> Option<(PickleKey, DeviceCrypto)> {
    let storage = crate::storage::local()?;
    let key: PickleKey = base64_decode(storage.get_item(&pickle_key_key(device)).ok()??).ok()?.try_into().ok()?;
    let pickle = storage.get_item(&state_key(device)).ok()??;
    let crypto = DeviceCrypto::unpickle(&pickle, &key).ok()?;
    (crypto.device_id() == device).then_some((key, crypto))
}

impl PageCrypto {
    /// This device's saved state, or a new account.
    pub fn load_or_new(registration: &Registration) -> Rc<PageCrypto> {
        let device = registration.device_id;
        let (pickle_key, crypto) = saved(device).unwrap_or_else(|| (random_pickle_key(), DeviceCrypto::new(device)));
        let page = Rc::new(PageCrypto {
            registration: registration.clone(),
            pickle_key,
            crypto: RefCell::new(crypto),
            receiver: RefCell::new(Receiver::new()),
        });
        page.save();
        page
    }

    pub fn device_id(&self) -> DeviceId {
        self.registration.device_id
    }

    /// This device's Ed25519 identity key: the fingerprint a safety-number check compares.
    pub fn fingerprint(&self) -> String {
        self.crypto.borrow().identity_keys().ed25519
    }

    fn save(&self) {
        let Some(storage) = crate::storage::local() else { return };
        let device = self.device_id();
        let pickle = self.crypto.borrow().pickle(&self.pickle_key);
        let _ = storage.set_item(&pickle_key_key(device), &base64_encode(self.pickle_key));
        let _ = storage.set_item(&state_key(device), &pickle);
    }

    /// What the key directory holds for this device now.
    pub async fn key_count(&self) -> Result<KeyCount, ApiError> {
        call("GET", "/api/keys/count", Some(&self.registration), None).await
    }

    /// Publishes one-time and fallback keys if the directory runs low (or has none).
    pub async fn publish_keys(&self) -> Result<KeyCount, ApiError> {
        let count = self.key_count().await?;
        let upload = self.crypto.borrow_mut().key_upload(count.one_time_keys as usize, count.fallback_key);
        let Some(upload) = upload else { return Ok(count) };
        let body = serde_json::to_string(&upload).expect("an upload serializes");
        let count = call("PUT", "/api/keys", Some(&self.registration), Some(body)).await?;
        self.crypto.borrow_mut().mark_keys_published();
        self.save();
        Ok(count)
    }

    async fn user_devices(&self, user: UserId) -> Result<Vec<DeviceId>, ApiError> {
        let found: UserDevices =
            call("GET", &format!("/api/keys/users/{user}"), Some(&self.registration), None).await?;
        Ok(found.devices.into_iter().map(|d| d.device_id).collect())
    }

    /// `user`'s devices with keys in the directory. Right after the page opens, the lab's
    /// other phones may still be publishing theirs (each publishes as it starts), so an
    /// empty answer is asked again for up to three seconds before it counts.
    async fn published_devices(&self, user: UserId) -> Result<Vec<DeviceId>, ApiError> {
        let mut devices = self.user_devices(user).await?;
        for _ in 0..10 {
            if !devices.is_empty() {
                break;
            }
            gloo_timers::future::TimeoutFuture::new(300).await;
            devices = self.user_devices(user).await?;
        }
        Ok(devices)
    }

    /// Claims keys for the devices without an Olm session (checking each signature) and
    /// returns the devices that can be encrypted to.
    async fn ensure_sessions(&self, devices: &[DeviceId]) -> Result<Vec<DeviceId>, E2eFailure> {
        let missing: Vec<DeviceId> =
            devices.iter().copied().filter(|d| !self.crypto.borrow().has_session(*d)).collect();
        if !missing.is_empty() {
            let body = serde_json::to_string(&KeyClaim { devices: missing }).expect("a claim serializes");
            let claimed: ClaimedKeys = call("POST", "/api/keys/claim", Some(&self.registration), Some(body)).await?;
            for device in &claimed.devices {
                self.crypto.borrow_mut().start_session(device)?;
            }
            self.save();
        }
        Ok(devices.iter().copied().filter(|d| self.crypto.borrow().has_session(*d)).collect())
    }

    /// `text` encrypted with Olm for every device of `user`, as a message body.
    pub async fn encrypt_for_user(&self, user: UserId, text: &str) -> Result<String, E2eFailure> {
        let devices = self.published_devices(user).await?;
        let devices = self.ensure_sessions(&devices).await?;
        if devices.is_empty() {
            return Err(E2eFailure::NoRecipientDevice);
        }
        let envelope = self.crypto.borrow_mut().encrypt_text(&devices, text)?;
        self.save();
        Ok(envelope.to_json())
    }

    /// Readies this device's Megolm session for a group whose other members are
    /// `members`: rotates it if a device that had the key is gone, and makes the
    /// room-key messages for member devices that lack it. Send those before the message.
    pub async fn prepare_group(&self, group: GroupId, members: &[UserId]) -> Result<GroupKeys, E2eFailure> {
        let mut by_device: BTreeMap<DeviceId, UserId> = BTreeMap::new();
        for &user in members {
            for device in self.published_devices(user).await? {
                by_device.insert(device, user);
            }
        }
        let devices: Vec<DeviceId> = by_device.keys().copied().collect();
        let share = self.crypto.borrow_mut().prepare_group(group, &devices);
        let reachable = self.ensure_sessions(&share.needs_key).await?;
        let mut per_user: BTreeMap<UserId, Vec<DeviceId>> = BTreeMap::new();
        for device in reachable {
            per_user.entry(by_device[&device]).or_default().push(device);
        }
        let mut room_keys = Vec::new();
        for (user, devices) in per_user {
            let envelope = self.crypto.borrow_mut().share_room_key(group, &devices)?;
            room_keys.push((user, envelope.to_json()));
        }
        self.save();
        Ok(GroupKeys { share, room_keys })
    }

    /// Whether this device has sent to `group` before (it has a Megolm session for it).
    pub fn has_group_session(&self, group: GroupId) -> bool {
        self.crypto.borrow().group_session_id(group).is_some()
    }

    /// A group message encrypted once for every member, as a message body.
    pub fn encrypt_group(&self, group: GroupId, text: &str) -> Result<String, E2eError> {
        let envelope = self.crypto.borrow_mut().encrypt_group(group, text)?;
        self.save();
        Ok(envelope.to_json())
    }

    /// Decrypts a delivery (a group message without its key yet waits, and comes out
    /// with the room key that unlocks it).
    pub fn open(self: &Rc<Self>, delivery: Delivery) -> Vec<Opened> {
        let opened = self.receiver.borrow_mut().receive(&mut self.crypto.borrow_mut(), delivery);
        self.save();
        // A pre-key message means a peer claimed one of our one-time keys: top the
        // directory up if it is running low.
        if opened.iter().any(|o| matches!(o.content, Ok(Decrypted::Text { pre_key: true, .. }))) {
            let me = Rc::clone(self);
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = me.publish_keys().await {
                    leptos::logging::warn!("could not replenish this device's keys: {e}");
                }
            });
        }
        opened
    }

    /// Whether this device could decrypt `body`, a message it was not sent (a leaver
    /// reading a group message off the server's disk): vodozemac's answer.
    pub fn try_decrypt(&self, delivery: &Delivery) -> Result<String, E2eError> {
        let mut copy = DeviceCrypto::unpickle(&self.crypto.borrow().pickle(&self.pickle_key), &self.pickle_key)?;
        match copy.decrypt(delivery.from_device, delivery.to, &delivery.body)? {
            bluetick_shared::e2e::Decrypted::Group { body, .. }
            | bluetick_shared::e2e::Decrypted::Text { body, .. } => Ok(body),
            other => Ok(format!("{other:?}")),
        }
    }

    /// The forward-secrecy experiment on this device's session with `from_device`.
    pub fn replay_with_exported_session(
        &self,
        from_device: DeviceId,
        body: &str,
    ) -> Result<ExportedSessionReplay, E2eError> {
        self.crypto.borrow().replay_with_exported_session(from_device, body)
    }
}
