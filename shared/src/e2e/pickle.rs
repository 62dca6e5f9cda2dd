//! The whole device state as one string for storage (a browser's `localStorage`, a
//! crowd member's memory), every secret in it encrypted with the pickle key.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vodozemac::Curve25519PublicKey;
use vodozemac::megolm::{self, GroupSession, InboundGroupSession};
use vodozemac::olm::{self, Account, Session};

use super::{DeviceCrypto, E2eError, InboundGroup, OutboundGroup, Peer, PickleKey};
use crate::frames::{DeviceId, GroupId};

impl DeviceCrypto {
    /// The whole state as one string; every secret in it is encrypted with `key`.
    pub fn pickle(&self, key: &PickleKey) -> String {
        let pickled = Pickled {
            version: 1,
            device: self.device,
            account: self.account.pickle().encrypt(key),
            peers: self
                .peers
                .iter()
                .map(|(device, peer)| PickledPeer {
                    device: *device,
                    curve25519: peer.curve25519.to_base64(),
                    sessions: peer.sessions.iter().map(|s| s.pickle().encrypt(key)).collect(),
                })
                .collect(),
            outbound: self
                .outbound
                .iter()
                .map(|(group, o)| PickledOutbound {
                    group: *group,
                    session: o.session.pickle().encrypt(key),
                    shared_with: o.shared_with.iter().copied().collect(),
                })
                .collect(),
            inbound: self
                .inbound
                .values()
                .map(|i| PickledInbound {
                    group: i.group,
                    sender_device: i.sender_device,
                    sender_key: i.sender_key.to_base64(),
                    session: i.session.pickle().encrypt(key),
                })
                .collect(),
        };
        serde_json::to_string(&pickled).expect("a pickle always serializes")
    }

    /// Restores a state saved by [`DeviceCrypto::pickle`] with the same key.
    pub fn unpickle(pickle: &str, key: &PickleKey) -> Result<DeviceCrypto, E2eError> {
        let bad = |e: &dyn std::fmt::Display| E2eError::Pickle(e.to_string());
        let pickled: Pickled = serde_json::from_str(pickle).map_err(|e| bad(&e))?;
        if pickled.version != 1 {
            return Err(E2eError::Pickle(format!("unknown pickle version {}", pickled.version)));
        }
        let account =
            Account::from_pickle(olm::AccountPickle::from_encrypted(&pickled.account, key).map_err(|e| bad(&e))?);
        let mut peers = HashMap::new();
        for p in pickled.peers {
            let curve25519 = Curve25519PublicKey::from_base64(&p.curve25519).map_err(|e| bad(&e))?;
            let sessions = p
                .sessions
                .iter()
                .map(|s| olm::SessionPickle::from_encrypted(s, key).map(Session::from_pickle).map_err(|e| bad(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            peers.insert(p.device, Peer { curve25519, sessions });
        }
        let mut outbound = HashMap::new();
        for o in pickled.outbound {
            let session = GroupSession::from_pickle(
                megolm::GroupSessionPickle::from_encrypted(&o.session, key).map_err(|e| bad(&e))?,
            );
            outbound.insert(o.group, OutboundGroup { session, shared_with: o.shared_with.into_iter().collect() });
        }
        let mut inbound = HashMap::new();
        for i in pickled.inbound {
            let session = InboundGroupSession::from_pickle(
                megolm::InboundGroupSessionPickle::from_encrypted(&i.session, key).map_err(|e| bad(&e))?,
            );
            let sender_key = Curve25519PublicKey::from_base64(&i.sender_key).map_err(|e| bad(&e))?;
            inbound.insert(
                session.session_id(),
                InboundGroup { group: i.group, sender_device: i.sender_device, sender_key, session },
            );
        }
        Ok(DeviceCrypto { device: pickled.device, account, peers, outbound, inbound })
    }
}

#[derive(Serialize, Deserialize)]
struct Pickled {
    version: u32,
    device: DeviceId,
    account: String,
    peers: Vec<PickledPeer>,
    outbound: Vec<PickledOutbound>,
    inbound: Vec<PickledInbound>,
}

#[derive(Serialize, Deserialize)]
struct PickledPeer {
    device: DeviceId,
    curve25519: String,
    sessions: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct PickledOutbound {
    group: GroupId,
    session: String,
    shared_with: Vec<DeviceId>,
}

#[derive(Serialize, Deserialize)]
struct PickledInbound {
    group: GroupId,
    sender_device: DeviceId,
    sender_key: String,
    session: String,
}
