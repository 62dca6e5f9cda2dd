//! "Three views of one message": Alice and Bob write to each other with Olm, and every
//! message gets a row with what Alice's phone shows, what the server stores (read back
//! from its database) and what Bob's phone shows. Each view has its own source: the
//! sender's outbox, `GET /api/lab/messages/{id}`, the recipient's decrypted inbox.

use bluetick_shared::e2e::keys::KeyCount;
use bluetick_shared::frames::{MessageId, Recipient};
use bluetick_shared::lab::MessageCopies;
use leptos::prelude::*;

use crate::components::tick_mark::TickMark;
use crate::lessons::encryption::ciphertext_facts::StoredCiphertext;
use crate::live::device::DeviceSignals;
use crate::live::lab_devices::LabDevices;

/// One encrypted 1:1 message of the section.
#[derive(Debug, Clone, PartialEq)]
pub struct CipherRow {
    pub id: MessageId,
    pub from_alice: bool,
    pub text: String,
    /// `None` while the database is being asked; `Some(None)` if it never had it.
    pub stored: Option<Option<MessageCopies>>,
}

/// Encrypts `text` for the other phone, sends it, and reads the stored copy back.
pub fn send_encrypted(
    devices: &LabDevices,
    from_alice: bool,
    text: String,
    rows: RwSignal<Vec<CipherRow>>,
    status: RwSignal<Option<String>>,
    key_counts: RwSignal<Vec<(&'static str, Option<KeyCount>)>>,
) {
    let (sender, recipient) = match from_alice {
        true => (devices.alice.clone(), devices.bob.user_id()),
        false => (devices.bob.clone(), devices.alice.user_id()),
    };
    let lab = devices.lab.clone();
    let devices = devices.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let Some(crypto) = sender.crypto() else { return };
        let body = match crypto.encrypt_for_user(recipient, &text).await {
            Ok(body) => body,
            Err(e) => {
                status.set(Some(format!("Could not encrypt: {e}")));
                return;
            }
        };
        status.set(None);
        let id = sender.send_body(Recipient::User(recipient), text.clone(), body);
        rows.update(|r| r.push(CipherRow { id, from_alice, text, stored: None }));
        let stored = lab.stored(id).await;
        rows.update(|r| {
            if let Some(row) = r.iter_mut().find(|row| row.id == id) {
                row.stored = Some(stored);
            }
        });
        refresh_key_counts(&devices, key_counts).await;
    });
}

/// Asks the key directory how many one-time keys Alice and Bob have left.
async fn refresh_key_counts(devices: &LabDevices, key_counts: RwSignal<Vec<(&'static str, Option<KeyCount>)>>) {
    let mut counts = Vec::new();
    for (name, phone) in [("Alice", &devices.alice), ("Bob", &devices.bob)] {
        let count = match phone.crypto() {
            Some(crypto) => crypto.key_count().await.ok(),
            None => None,
        };
        counts.push((name, count));
    }
    key_counts.set(counts);
}

/// What `phone` shows for message `id`: the sent bubble with its tick, or the received
/// (decrypted) one with how it was protected.
#[component]
fn PhoneView(phone: DeviceSignals, id: MessageId, sent_by_this_phone: bool, text: String) -> impl IntoView {
    if sent_by_this_phone {
        let sent = phone.sent;
        let tick = Signal::derive(move || sent.with(|s| s.iter().find(|m| m.id == id).and_then(|m| m.tick)));
        return view! {
            <p class="bubble bubble-out">
                <span class="bubble-text">{text}</span>
                " "
                <TickMark state=tick />
            </p>
            <p class="cell-note">"typed here, encrypted on this phone before sending"</p>
        }
        .into_any();
    }
    let received = phone.received;
    let shown = move || received.with(|r| r.iter().find(|m| m.id == id).map(|m| (m.body.clone(), m.lock.clone())));
    view! {
        {move || match shown() {
            Some((body, lock)) => view! {
                <p class="bubble bubble-in" data-testid="decrypted">
                    <span class="bubble-text">{body}</span>
                </p>
                <p class="cell-note">"decrypted on this phone" {lock.map(|l| format!(" · {l}"))}</p>
            }
                .into_any(),
            None => view! { <p class="cell-note">"on its way…"</p> }.into_any(),
        }}
    }
    .into_any()
}

#[component]
pub fn CipherConversation(devices: LabDevices, rows: RwSignal<Vec<CipherRow>>) -> impl IntoView {
    let draft = RwSignal::new("Meet at the station at 6".to_string());
    let status = RwSignal::new(None::<String>);
    let key_counts = RwSignal::new(Vec::new());
    {
        let devices = devices.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // Give the phones a moment to publish their first keys.
            gloo_timers::future::TimeoutFuture::new(1000).await;
            refresh_key_counts(&devices, key_counts).await;
        });
    }
    let send = {
        let devices = devices.clone();
        move |from_alice: bool| {
            let text = draft.get_untracked().trim().to_string();
            if text.is_empty() {
                status.set(Some("Type a message first.".into()));
                return;
            }
            send_encrypted(&devices, from_alice, text, rows, status, key_counts);
        }
    };
    let send_alice = send.clone();
    let (alice, bob) = (devices.alice.signals, devices.bob.signals);
    let fingerprints = [("Alice", devices.alice.crypto()), ("Bob", devices.bob.crypto())]
        .into_iter()
        .map(|(name, c)| (name, c.map(|c| c.fingerprint()).unwrap_or_default()))
        .collect::<Vec<_>>();
    view! {
        <div class="cipher-lab" role="group" aria-labelledby="cipher-title">
            <h3 id="cipher-title">"Three views of one message"</h3>
            <form class="cipher-compose" on:submit=move |ev| {
                ev.prevent_default();
                send_alice(true);
            }>
                <label for="cipher-draft">"Message"</label>
                <input id="cipher-draft" type="text" maxlength="200" prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev)) />
                <button type="submit">"Encrypt and send as Alice →"</button>
                <button type="button" on:click=move |_| send(false)>"← Reply as Bob"</button>
            </form>
            {move || status.get().map(|s| view! { <p class="lab-error" role="alert">{s}</p> })}
            <p class="key-directory" data-testid="key-directory" aria-live="polite">
                "Key directory: "
                {move || {
                    key_counts
                        .get()
                        .into_iter()
                        .map(|(name, count)| match count {
                            Some(c) => format!(
                                "{name} has {} unclaimed one-time keys{}",
                                c.one_time_keys,
                                if c.fallback_key { " and a fallback key" } else { "" }
                            ),
                            None => format!("{name}: not known yet"),
                        })
                        .collect::<Vec<_>>()
                        .join(" · ")
                }}
                ". Starting a session claims one of the recipient's one-time keys, once."
            </p>
            <ol class="cipher-rows" aria-label="Messages, each seen three ways" data-testid="cipher-rows">
                <For each=move || rows.get() key=|row| (row.id, row.stored.is_some()) let:row>
                    <li class="cipher-row" data-from=if row.from_alice { "alice" } else { "bob" }>
                        <div class="cipher-cell" data-testid="alice-view">
                            <span class="cell-label">"Alice's phone"</span>
                            <PhoneView phone=alice id=row.id sent_by_this_phone=row.from_alice
                                text=row.text.clone() />
                        </div>
                        <div class="cipher-cell cipher-server" data-testid="server-view">
                            <span class="cell-label">"The server stores"</span>
                            {match row.stored.clone() {
                                None => view! { <p class="cell-note">"reading the database…"</p> }.into_any(),
                                Some(None) => view! {
                                    <p class="lab-error">"The database never showed this message."</p>
                                }
                                    .into_any(),
                                Some(Some(copies)) => view! {
                                    <StoredCiphertext body=copies.stored_body.unwrap_or_default() />
                                }
                                    .into_any(),
                            }}
                        </div>
                        <div class="cipher-cell" data-testid="bob-view">
                            <span class="cell-label">"Bob's phone"</span>
                            <PhoneView phone=bob id=row.id sent_by_this_phone=!row.from_alice
                                text=row.text.clone() />
                        </div>
                    </li>
                </For>
            </ol>
            <p class="cell-note">
                "Send a few messages each way and read the middle column: the chain index counts up while one side \
                 keeps writing, and the ratchet key changes when the other side answers. Alice's messages stay \
                 pre-key messages (carrying what Bob needs to build the session, even if his phone was off) until \
                 Bob has answered once."
            </p>
            <dl class="identity-keys" aria-label="Identity key fingerprints">
                {fingerprints
                    .into_iter()
                    .map(|(name, key)| view! {
                        <dt>{name} "'s identity key"</dt>
                        <dd><code>{key}</code></dd>
                    })
                    .collect_view()}
            </dl>
            <p class="cell-note">
                "Comparing these two keys in person (WhatsApp's security code) is what proves no one sits in the \
                 middle; this lab shows them but does not make you check."
            </p>
        </div>
    }
}
