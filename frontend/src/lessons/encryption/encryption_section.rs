//! The lesson's end-to-end encryption section: what the lesson says about the Signal
//! protocol, how this lab's vodozemac (Olm and Megolm) differs from it, and the live
//! labs — three views of a 1:1 message, forward secrecy tried with real keys, and a
//! group encrypted once for everyone.

use leptos::prelude::*;

use crate::components::lab_reset::LabReset;
use crate::lessons::encryption::cipher_conversation::{CipherConversation, CipherRow};
use crate::lessons::encryption::forward_secrecy_demo::ForwardSecrecyDemo;
use crate::lessons::encryption::group_encryption_lab::GroupEncryptionLab;
use crate::live::lab_devices::LabDevices;

/// The live part, once the lab's devices exist.
#[component]
pub fn EncryptionLab(devices: LabDevices) -> impl IntoView {
    // Shared by the conversation and the forward-secrecy demo, which replays its first message.
    let rows = RwSignal::new(Vec::<CipherRow>::new());
    // Each reset bumps this; the demo and the group lab clear what they show.
    let resets = RwSignal::new(0u32);
    let reset = move || async move {
        rows.set(Vec::new());
        resets.update(|n| *n += 1);
        Ok("Reset: the three views, the stolen-key try and the group are cleared. The phones keep their keys \
            and sessions, as a real phone does, so the next message carries on each session's ratchet."
            .to_string())
    };
    view! {
        <LabReset lab="the encryption labs" first="cipher-draft" reset />
        <CipherConversation devices=devices.clone() rows />
        <ForwardSecrecyDemo devices=devices.clone() rows resets />
        <GroupEncryptionLab devices resets />
    }
}

#[component]
pub fn EncryptionSection(children: Children) -> impl IntoView {
    view! {
        <section id="encryption" class="lab-section" aria-labelledby="encryption-title">
            <h2 id="encryption-title">"End-to-end encryption: the server sees only ciphertext"</h2>
            <p class="lede">
                "WhatsApp uses the Signal protocol. A message is encrypted on the sender's phone and decrypted only on \
                 the recipient's; in between, the chat server stores and forwards bytes it cannot read. Not even the \
                 company running it can read them — not under a court order either, because it never has the keys."
            </p>
            <ul class="e2e-ideas">
                <li>
                    <strong>"Pre-keys"</strong>
                    " — every phone publishes one-time keys to a key directory in advance, so Alice can start an \
                     encrypted session with Bob while his phone is off."
                </li>
                <li>
                    <strong>"The Double Ratchet"</strong>
                    " — every message uses a fresh key derived from the last, and the key material turns over each \
                     time the conversation changes direction. A key stolen today does not unlock yesterday's messages: \
                     that is forward secrecy."
                </li>
                <li>
                    <strong>"Sender keys for groups"</strong>
                    " — the sender's phone gives each member its group key once, over the 1:1 sessions, then encrypts \
                     every group message once; the server fans that one ciphertext out."
                </li>
                <li>
                    <strong>"Never home-made crypto"</strong>
                    " — this lab uses vodozemac, an audited library; no cryptographic step is written here."
                </li>
            </ul>
            {children()}
            <aside class="e2e-differences" aria-labelledby="e2e-differences-title">
                <h3 id="e2e-differences-title">"How this lab's protocol differs from Signal's"</h3>
                <p>
                    "vodozemac implements Olm and Megolm, the Matrix protocols built on the same ideas. Olm starts a \
                     session with triple Diffie-Hellman from the recipient's one-time key, and when those run out it \
                     uses a signed fallback key; Signal's X3DH (now PQXDH) instead always includes a medium-term \
                     signed pre-key, adds a one-time key when one is left, and mixes in a post-quantum key."
                </p>
                <p>
                    "Megolm is Matrix's version of sender keys: like Signal's, each sender's group key ratchets \
                     forward only, so a member given it at message 5 cannot read messages 0 to 4, and a removed \
                     member is cut off by starting a new session whose key never reaches them."
                </p>
                <p>
                    "Left out here, on purpose or for now: this page keeps each phone's encrypted state in "
                    <code>"localStorage"</code>
                    " with its key right next to it (a real app puts that key in the phone's keystore); nobody is \
                     made to compare identity keys; and a used fallback key is not replaced."
                </p>
            </aside>
        </section>
    }
}
