//! Megolm for groups: this device's outbound session per group (rotated when a member
//! device that had its key leaves), its key shared over Olm, one ciphertext per group
//! message, and the other senders' inbound sessions.

use std::collections::BTreeSet;

use vodozemac::megolm::{self, GroupSession, MegolmMessage};

use super::envelope::{Envelope, GroupPayload, OlmContent};
use super::{Decrypted, DeviceCrypto, E2eError, GroupShare, OutboundGroup};
use crate::frames::{DeviceId, GroupId, Recipient};

impl DeviceCrypto {
    pub(super) fn decrypt_megolm(
        &mut self,
        from_device: DeviceId,
        to: Recipient,
        sender_key: &str,
        session_id: &str,
        ciphertext: &str,
    ) -> Result<Decrypted, E2eError> {
        let inbound =
            self.inbound.get_mut(session_id).ok_or_else(|| E2eError::UnknownGroupSession(session_id.to_string()))?;
        if inbound.sender_device != from_device || inbound.sender_key.to_base64() != sender_key {
            return Err(E2eError::Forged("group session of another sender"));
        }
        if to != Recipient::Group(inbound.group) {
            return Err(E2eError::Forged("group session of another group"));
        }
        let message = MegolmMessage::from_base64(ciphertext).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        let decrypted = inbound.session.decrypt(&message).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        let payload: GroupPayload =
            serde_json::from_slice(&decrypted.plaintext).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        if payload.group != inbound.group {
            return Err(E2eError::Forged("group"));
        }
        Ok(Decrypted::Group {
            group: payload.group,
            body: payload.body,
            session_id: session_id.to_string(),
            message_index: decrypted.message_index,
        })
    }

    /// Readies this device's Megolm session for `group`, whose other members' devices
    /// are `member_devices` right now. Starts a new session on the first send and
    /// whenever a device that was given the current key is no longer among them (a
    /// member left: the new session's key never reaches it). Returns the devices that
    /// still need the current key.
    pub fn prepare_group(&mut self, group: GroupId, member_devices: &[DeviceId]) -> GroupShare {
        let members: BTreeSet<DeviceId> = member_devices.iter().copied().filter(|d| *d != self.device).collect();
        let rotated = match self.outbound.get(&group) {
            None => true,
            Some(current) => !current.shared_with.is_subset(&members),
        };
        if rotated {
            self.outbound.insert(
                group,
                OutboundGroup {
                    session: GroupSession::new(megolm::SessionConfig::version_1()),
                    shared_with: BTreeSet::new(),
                },
            );
        }
        let current = &self.outbound[&group];
        GroupShare {
            rotated,
            session_id: current.session.session_id(),
            needs_key: members.difference(&current.shared_with).copied().collect(),
        }
    }

    /// Forgets the outbound session of `group`: the next [`DeviceCrypto::prepare_group`]
    /// starts a new one.
    pub fn rotate_group(&mut self, group: GroupId) {
        self.outbound.remove(&group);
    }

    /// The id of this device's current Megolm session for `group`.
    pub fn group_session_id(&self, group: GroupId) -> Option<String> {
        self.outbound.get(&group).map(|o| o.session.session_id())
    }

    /// The current group session's key for `devices` (all with Olm sessions), as one
    /// Olm envelope to send to their user; they count as having the key from now on.
    pub fn share_room_key(&mut self, group: GroupId, devices: &[DeviceId]) -> Result<Envelope, E2eError> {
        let current = self.outbound.get(&group).ok_or(E2eError::NoGroupSession(group))?;
        let content = OlmContent::RoomKey {
            group,
            session_id: current.session.session_id(),
            session_key: current.session.session_key().to_base64(),
        };
        let envelope = self.encrypt_olm(devices, &content)?;
        self.outbound.get_mut(&group).expect("checked above").shared_with.extend(devices.iter().copied());
        Ok(envelope)
    }

    /// A group message, encrypted once for every member with the key they were sent.
    pub fn encrypt_group(&mut self, group: GroupId, body: &str) -> Result<Envelope, E2eError> {
        let sender_key = self.account.curve25519_key().to_base64();
        let current = self.outbound.get_mut(&group).ok_or(E2eError::NoGroupSession(group))?;
        let payload = GroupPayload { group, body: body.to_string() };
        let message = current.session.encrypt(serde_json::to_vec(&payload).expect("a payload always serializes"));
        Ok(Envelope::Megolm { sender_key, session_id: current.session.session_id(), ciphertext: message.to_base64() })
    }
}
