//! Receiving in order when keys can arrive late: a group message whose room key has
//! not arrived yet waits here, and the room key that unlocks it releases it. Used by
//! every encrypting client (the page's devices, the Rust client library, the crowd).

use super::{Decrypted, DeviceCrypto, E2eError};
use crate::frames::Delivery;

/// A delivery and what it decrypted to (or why not).
#[derive(Debug, Clone)]
pub struct Opened {
    pub delivery: Delivery,
    pub content: Result<Decrypted, E2eError>,
}

/// Group messages waiting for their room key, in arrival order.
#[derive(Debug, Default)]
pub struct Receiver {
    waiting: Vec<Delivery>,
}

impl Receiver {
    pub fn new() -> Receiver {
        Receiver::default()
    }

    /// How many group messages wait for a room key.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Decrypts a delivery. A group message whose key has not arrived waits (and yields
    /// nothing now); a room key releases the messages waiting for it, after itself.
    pub fn receive(&mut self, crypto: &mut DeviceCrypto, delivery: Delivery) -> Vec<Opened> {
        let content = crypto.decrypt(delivery.from_device, delivery.to, &delivery.body);
        if let Err(E2eError::UnknownGroupSession(_)) = content {
            self.waiting.push(delivery);
            return Vec::new();
        }
        let released_key = matches!(content, Ok(Decrypted::RoomKey { .. }));
        let mut out = vec![Opened { delivery, content }];
        if released_key {
            for waiting in std::mem::take(&mut self.waiting) {
                out.extend(self.receive(crypto, waiting));
            }
        }
        out
    }
}
