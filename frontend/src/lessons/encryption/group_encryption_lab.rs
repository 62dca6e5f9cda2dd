//! Group encryption with Megolm sender keys: Alice's group with You and Bob. Her phone
//! sends its session key to each member device over Olm once, then encrypts every group
//! message once; the server stores one ciphertext and fans it out. Remove Bob and her
//! next message goes under a new session whose key never reaches him: handed the
//! stored ciphertext anyway, his phone cannot open it.

use bluetick_shared::e2e::inspect::{CiphertextFacts, fingerprint, inspect};
use bluetick_shared::frames::{Delivery, DeviceId, GroupId, MessageId, Recipient, UserId};
use bluetick_shared::lab::MessageCopies;
use leptos::prelude::*;

use crate::lessons::encryption::ciphertext_facts::StoredCiphertext;
use crate::live::device::DeviceSignals;
use crate::live::lab_devices::LabDevices;

#[derive(Debug, Clone, PartialEq)]
struct GroupRow {
    id: MessageId,
    text: String,
    session: String,
    message_index: u32,
    rotated: bool,
    /// The group's first message from Alice: its session is new, not a rotation.
    first: bool,
    /// Who was sent the session key over Olm just before this message.
    keys_to: Vec<&'static str>,
    bob_member: bool,
    stored: Option<Option<MessageCopies>>,
}

/// The group, and whether Bob is in it now.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Group {
    id: GroupId,
    bob_in: bool,
}

async fn make_group(devices: &LabDevices) -> Result<GroupId, String> {
    let lab = &devices.lab;
    let group = lab.create_group("Encrypted trio").await.map_err(|e| e.to_string())?.id;
    for user in [devices.you.user_id(), devices.bob.user_id()] {
        lab.add_member(group, user).await.map_err(|e| e.to_string())?;
    }
    Ok(group)
}

fn name_of(devices: &LabDevices, user: UserId) -> &'static str {
    if user == devices.bob.user_id() { "Bob" } else { "You" }
}

async fn send_to_group(
    devices: LabDevices,
    group: Group,
    text: String,
    rows: RwSignal<Vec<GroupRow>>,
) -> Result<(), String> {
    let alice = &devices.alice;
    let crypto = alice.crypto().ok_or("Alice's phone has no keys")?;
    let mut members = vec![devices.you.user_id()];
    if group.bob_in {
        members.push(devices.bob.user_id());
    }
    let first = !crypto.has_group_session(group.id);
    let keys = crypto.prepare_group(group.id, &members).await.map_err(|e| e.to_string())?;
    let mut keys_to = Vec::new();
    for (user, body) in keys.room_keys {
        let name = name_of(&devices, user);
        alice.send_body(Recipient::User(user), format!("(group key for {name})"), body);
        keys_to.push(name);
    }
    let body = crypto.encrypt_group(group.id, &text).map_err(|e| e.to_string())?;
    let message_index = match inspect(&body).as_deref() {
        Some([CiphertextFacts::Megolm { message_index, .. }]) => *message_index,
        _ => 0,
    };
    let id = alice.send_body(Recipient::Group(group.id), text.clone(), body);
    rows.update(|r| {
        r.push(GroupRow {
            id,
            text,
            session: fingerprint(&keys.share.session_id),
            message_index,
            rotated: keys.share.rotated,
            first,
            keys_to,
            bob_member: group.bob_in,
            stored: None,
        })
    });
    // Fan-out runs after the commit: wait until every member device has its delivery.
    let expected = members.len() as u64;
    let stored = devices.lab.stored_until(id, |c| c.deliveries >= expected).await;
    rows.update(|r| {
        if let Some(row) = r.iter_mut().find(|row| row.id == id) {
            row.stored = Some(stored);
        }
    });
    Ok(())
}

/// What a member's phone shows for group message `id`.
fn shown_on(phone: DeviceSignals, id: MessageId) -> impl Fn() -> String + Send + Sync + use<> {
    let received = phone.received;
    move || {
        received.with(|r| {
            r.iter()
                .find(|m| m.id == id)
                .map(|m| format!("\"{}\" · {}", m.body, m.lock.clone().unwrap_or_default()))
                .unwrap_or_else(|| "on its way…".into())
        })
    }
}

/// What the group message field starts with.
const DRAFT: &str = "Dinner at mine on Friday?";

#[component]
pub fn GroupEncryptionLab(devices: LabDevices, resets: RwSignal<u32>) -> impl IntoView {
    let group = RwSignal::new(None::<Group>);
    let rows = RwSignal::new(Vec::<GroupRow>::new());
    let status = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let draft = RwSignal::new(DRAFT.to_string());
    // A reset forgets the group (it stays on the server, unused); the next press makes a new one.
    Effect::new(move |_| {
        resets.track();
        group.set(None);
        rows.set(Vec::new());
        status.set(None);
        draft.set(DRAFT.to_string());
    });

    let create = {
        let devices = devices.clone();
        move |_| {
            let devices = devices.clone();
            busy.set(true);
            // "You" starts offline (the state-machine lab connects it); a member receives.
            devices.bring_you_online();
            wasm_bindgen_futures::spawn_local(async move {
                match make_group(&devices).await {
                    Ok(id) => group.set(Some(Group { id, bob_in: true })),
                    Err(e) => status.set(Some(format!("Could not make the group: {e}"))),
                }
                busy.set(false);
            });
        }
    };
    let send = {
        let devices = devices.clone();
        move |_| {
            let (Some(g), text) = (group.get_untracked(), draft.get_untracked().trim().to_string()) else { return };
            if text.is_empty() {
                status.set(Some("Type a message first.".into()));
                return;
            }
            let devices = devices.clone();
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                status.set(send_to_group(devices, g, text, rows).await.err().map(|e| format!("Could not send: {e}")));
                busy.set(false);
            });
        }
    };
    let toggle_bob = {
        let devices = devices.clone();
        move |_| {
            let Some(g) = group.get_untracked() else { return };
            let devices = devices.clone();
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let bob = devices.bob.user_id();
                let done = match g.bob_in {
                    true => devices.lab.remove_member(g.id, bob).await,
                    false => devices.lab.add_member(g.id, bob).await,
                };
                match done {
                    Ok(()) => group.set(Some(Group { bob_in: !g.bob_in, ..g })),
                    Err(e) => status.set(Some(format!("Could not change the members: {e}"))),
                }
                busy.set(false);
            });
        }
    };
    let (you, bob) = (devices.you.signals, devices.bob.signals);
    let leaver = Leaver {
        // Bob's keys, for trying a ciphertext he was not sent (kept local: browser objects).
        crypto: StoredValue::new_local(devices.bob.crypto()),
        alice_user: devices.alice.user_id(),
        alice_device: devices.alice.device_id(),
        group,
    };
    view! {
        <div class="group-e2e" role="group" aria-labelledby="group-e2e-title">
            <h3 id="group-e2e-title">"Groups: one ciphertext, every member"</h3>
            <button type="button" on:click=create disabled=move || busy.get() || group.get().is_some()>
                {move || match group.get() {
                    None => "Make Alice's group with You and Bob",
                    Some(_) => "Group made ✓",
                }}
            </button>
            <p class="group-members" data-testid="group-members" aria-live="polite">
                {move || group.get().map(|g| match g.bob_in {
                    true => "Members: Alice, You, Bob",
                    false => "Members: Alice, You (Bob was removed)",
                })}
            </p>
            <form class="cipher-compose" on:submit=move |ev| {
                ev.prevent_default();
                send(());
            }>
                <label for="group-draft">"Group message"</label>
                <input id="group-draft" type="text" maxlength="200" prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev)) />
                <button type="submit" disabled=move || group.get().is_none() || busy.get()>
                    "Encrypt once and send as Alice"
                </button>
                <button type="button" on:click=toggle_bob disabled=move || group.get().is_none() || busy.get()>
                    {move || if group.get().is_some_and(|g| !g.bob_in) { "Add Bob back" } else { "Remove Bob" }}
                </button>
            </form>
            {move || status.get().map(|s| view! { <p class="lab-error" role="alert">{s}</p> })}
            <ol class="group-rows" aria-label="Sent to the group" data-testid="group-rows">
                <For each=move || rows.get() key=|row| (row.id, row.stored.is_some()) let:row>
                    <GroupRowView row you bob leaver=leaver />
                </For>
            </ol>
        </div>
    }
}

/// What Bob needs to try a group message he was not sent: his own keys, and who sent it.
#[derive(Clone, Copy)]
struct Leaver {
    crypto: StoredValue<Option<std::rc::Rc<crate::live::e2e::PageCrypto>>, LocalStorage>,
    alice_user: UserId,
    alice_device: DeviceId,
    group: RwSignal<Option<Group>>,
}

impl Leaver {
    /// vodozemac's answer when Bob's phone is handed the stored ciphertext anyway.
    fn tries(&self, row: &GroupRow) -> String {
        let body = row.stored.clone().flatten().and_then(|c| c.stored_body);
        let (Some(crypto), Some(body)) = (self.crypto.get_value(), body) else { return "…".to_string() };
        let group = self.group.get_untracked().map(|g| g.id).unwrap_or_default();
        let delivery = Delivery {
            id: row.id,
            from_user: self.alice_user,
            from_device: self.alice_device,
            from_name: "Alice".into(),
            to: Recipient::Group(group),
            body,
            sent_at: 0,
        };
        match crypto.try_decrypt(&delivery) {
            Ok(text) => format!("⚠ decrypted: \"{text}\""),
            Err(e) => format!("✗ cannot decrypt: {e}"),
        }
    }
}

/// One message sent to the group: the session it went under, what the database holds,
/// and what each member's phone shows.
#[component]
fn GroupRowView(row: GroupRow, you: DeviceSignals, bob: DeviceSignals, leaver: Leaver) -> impl IntoView {
    let session_note = match (row.first, row.rotated) {
        (true, _) => " · Alice's first session for this group",
        (false, true) => " · new session: rotated because a member who had the key left",
        (false, false) => "",
    };
    let keys_note = if row.keys_to.is_empty() {
        "No key messages needed: every member already has this session's key.".to_string()
    } else {
        format!("First, the session key went over Olm to: {}.", row.keys_to.join(", "))
    };
    let stored = match row.stored.clone() {
        None => view! { <p class="cell-note">"reading the database…"</p> }.into_any(),
        Some(None) => view! { <p class="lab-error">"The database never showed it."</p> }.into_any(),
        Some(Some(copies)) => view! {
            <p class="group-copies" data-testid="group-copies">
                <strong>{copies.stored_rows} " stored ciphertext"</strong>
                " → " {copies.deliveries}
                {if copies.deliveries == 1 { " delivery" } else { " deliveries" }}
            </p>
            <StoredCiphertext body=copies.stored_body.clone().unwrap_or_default() />
        }
        .into_any(),
    };
    let bob_shows = if row.bob_member {
        shown_on(bob, row.id).into_any()
    } else {
        let tried = leaver.tries(&row);
        view! {
            "Not a member, so nothing was delivered. Handed the stored ciphertext anyway: "
            <span data-testid="bob-tries">{tried}</span>
        }
        .into_any()
    };
    view! {
        <li class="group-row" data-rotated=row.rotated.to_string()>
            <p class="group-sent">
                <strong>"Alice: \"" {row.text.clone()} "\""</strong>
                " — Megolm session " <code>{row.session.clone()} "…"</code>
                ", message index " {row.message_index}
                {session_note}
            </p>
            <p class="cell-note">{keys_note}</p>
            {stored}
            <dl class="group-views">
                <dt>"Your phone"</dt>
                <dd data-testid="you-shows">{shown_on(you, row.id)}</dd>
                <dt>"Bob's phone"</dt>
                <dd data-testid="bob-shows">{bob_shows}</dd>
            </dl>
        </li>
    }
}
