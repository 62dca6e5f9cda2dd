//! The lab's three live devices, made once per page and shared by the sections that
//! show them: "You" (the state-machine lab), Alice and Bob (the offline queue and the
//! tick pipeline watch the same two phones). Each has its encryption keys (published to
//! the key directory once per page) for the encryption section.
//!
//! Alice and Bob connect as soon as they are made, so their labs are live on arrival.
//! "You" does not: the state-machine lab begins in DISCONNECTED so that the student
//! makes the first transition by pressing Connect (or a lab that needs "You" online
//! asks, with [`LabDevices::bring_you_online`]).

use bluetick_shared::frames::Recipient;
use leptos::prelude::*;

use super::device::LiveDevice;
use super::e2e::PageCrypto;
use crate::lab::Lab;
use crate::lab::pace::LabPace;

/// How long Bob's phone takes over each pushed entry, so a flush can be watched.
pub const BOB_PACE_MS: u32 = 400;

#[derive(Clone)]
pub struct LabDevices {
    pub lab: Lab,
    pub you: LiveDevice,
    pub alice: LiveDevice,
    pub bob: LiveDevice,
    /// The lab's pace, one for the page (the server paces the whole lab).
    pub pace: LabPace,
}

/// Where the page keeps them (devices hold browser objects, so the store is local).
pub type DeviceStore = StoredValue<Option<LabDevices>, LocalStorage>;

pub fn new_store() -> DeviceStore {
    StoredValue::new_local(None)
}

impl LabDevices {
    /// Connects "You" unless it is connected or on its way, for a lab that needs this
    /// device to receive (the group encryption lab sends to it).
    pub fn bring_you_online(&self) {
        self.you.connection.bring_online();
    }
}

/// The lab's devices, connecting Alice and Bob the first time they are asked for.
pub fn devices(store: DeviceStore, lab: &Lab) -> LabDevices {
    if let Some(devices) = store.get_value() {
        return devices;
    }
    let bob = LiveDevice::new(lab.bob().clone(), BOB_PACE_MS, None);
    let alice = LiveDevice::new(lab.alice().clone(), 0, Some(Recipient::User(lab.bob().user_id)));
    let you = LiveDevice::new(lab.you().clone(), 0, None);
    let pace = LabPace::new(lab, alice.signals.sent);
    let devices = LabDevices { lab: lab.clone(), you, alice, bob, pace };
    for device in [&devices.you, &devices.alice, &devices.bob] {
        // Keys before the connection, so an encrypted message pushed at once decrypts.
        let registration = [lab.you(), lab.alice(), lab.bob()]
            .into_iter()
            .find(|r| r.device_id == device.device_id())
            .expect("a lab device");
        let crypto = PageCrypto::load_or_new(registration);
        device.set_crypto(crypto.clone());
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = crypto.publish_keys().await {
                leptos::logging::warn!("could not publish this device's keys: {e}");
            }
        });
    }
    for device in [&devices.alice, &devices.bob] {
        device.connection.connect();
    }
    store.set_value(Some(devices.clone()));
    devices
}
