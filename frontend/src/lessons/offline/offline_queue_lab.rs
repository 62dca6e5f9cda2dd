//! "Offline queue": Alice and Bob are two real devices in this page. Take Bob offline,
//! send, and watch the messages wait in Bob's inbox on the server; bring him back and
//! watch them flush in order, each acknowledged, until the server says "drained".

use bluetick_shared::connection::ConnectionState;
use bluetick_shared::frames::Recipient;
use bluetick_shared::lab::Pace;
use leptos::prelude::*;

use crate::components::event_log::EventLog;
use crate::components::lab_gate::LabGate;
use crate::components::lab_reset::LabReset;
use crate::components::pace_control::PaceControl;
use crate::components::phone_messages::{ReceivedList, SentList};
use crate::lab::LabStatus;
use crate::lessons::offline::arrival_prediction::{ArrivalCheck, ArrivalPrediction};
use crate::lessons::offline::flush_replay::FlushReplay;
use crate::lessons::offline::retry_storm::RetryStorm;
use crate::lessons::offline::server_queue_view::ServerQueueView;
use crate::live::device::LiveDevice;
use crate::live::lab_devices::{BOB_PACE_MS, DeviceStore, LabDevices};

/// Most messages one "simulate" press sends.
const MAX_BURST: u32 = 50;

#[component]
pub fn OfflineQueueLab(status: RwSignal<LabStatus>, store: DeviceStore) -> impl IntoView {
    view! {
        <section id="offline-queue" class="lab-section" aria-labelledby="offline-queue-title">
            <h2 id="offline-queue-title">"Offline queue"</h2>
            <p class="lede">
                "When Bob is offline, messages for him wait in his inbox on the server. When he reconnects "
                "they flush in order, oldest first, and each one is acknowledged before it leaves the queue."
            </p>
            <p class="cast">
                "Your lab on the server has three real devices, kept for this browser: "
                <strong>"You"</strong> " (the phone in the state-machine lab above), "
                <strong>"Alice"</strong> " and " <strong>"Bob"</strong>
                ". Every lab on the page uses the same three, so this Bob is the Bob of every section: take him "
                "offline here and he is offline everywhere."
            </p>
            <LabGate status store live=|devices| view! { <QueueLive devices /> } />
        </section>
    }
}

#[component]
fn QueueLive(devices: LabDevices) -> impl IntoView {
    let check = ArrivalCheck::new(&devices);
    let reset = {
        let (pace, bob) = (devices.pace, devices.bob.clone());
        move || {
            let bob = bob.clone();
            async move {
                pace.set(Pace::Live).await?;
                bob.connection.bring_online();
                Ok("Reset: the pipeline runs live and Bob is online, so anything still in his inbox flushes now. \
                    The two phones keep their chats: they are the same Alice and Bob in every lab."
                    .to_string())
            }
        }
    };
    view! {
        <LabReset lab="the offline queue" first="alice-draft" reset />
        <ArrivalPrediction check />
        <div class="queue-lab">
            <AlicePhone devices=devices.clone() />
            <ServerQueueView devices=devices.clone() />
            <BobPhone devices=devices.clone() check />
        </div>
        <PaceControl pace=devices.pace place="offline"
            stepping="Here one step lets one hop go: each of Alice's messages is stored and looked up while Bob is \
                      offline; when he is back, each waiting message is pushed from his inbox, oldest first, one step \
                      at a time, and its DELIVERED receipt is a step of its own." />
        <FlushReplay devices=devices.clone() />
        <RetryStorm devices />
    }
}

/// The state of a device's connection, in words.
fn connection_badge(device: &LiveDevice, name: &'static str) -> impl IntoView + use<> {
    let state = device.connection.signals().state;
    view! {
        <p class="phone-status" data-state=move || state.get().label() role="status">
            <span class=move || format!("dot dot-{}", state.get().label().to_lowercase()) aria-hidden="true"></span>
            {move || format!("{name}: {}", state.get().label())}
        </p>
    }
}

#[component]
fn AlicePhone(devices: LabDevices) -> impl IntoView {
    let alice = devices.alice.clone();
    let to = Recipient::User(devices.bob.user_id());
    let draft = RwSignal::new(String::new());
    let burst = RwSignal::new(5u32);
    let counter = RwSignal::new(0u32);
    let send = {
        let alice = alice.clone();
        move || {
            let text = draft.get_untracked().trim().to_string();
            if !text.is_empty() {
                alice.send_text(to, text);
                draft.set(String::new());
            }
        }
    };
    let simulate = {
        let alice = alice.clone();
        move |_| {
            for _ in 0..burst.get_untracked() {
                counter.update(|n| *n += 1);
                alice.send_text(to, format!("message {}", counter.get_untracked()));
            }
        }
    };
    let on_submit = {
        let send = send.clone();
        move |e: leptos::ev::SubmitEvent| {
            e.prevent_default();
            send();
        }
    };
    view! {
        <div class="phone" aria-label="Alice's phone" role="group">
            <h3>"Alice"</h3>
            {connection_badge(&alice, "Alice")}
            <form class="compose" on:submit=on_submit>
                <label for="alice-draft" class="visually-hidden">"Message from Alice to Bob"</label>
                <input id="alice-draft" type="text" maxlength="500" placeholder="Message to Bob"
                    prop:value=move || draft.get() on:input=move |e| draft.set(event_target_value(&e)) />
                <button type="submit">"Send"</button>
            </form>
            <div class="controls" role="group" aria-label="Simulate messages">
                <label for="burst-size">"Messages"</label>
                <input id="burst-size" type="number" min="1" max=MAX_BURST.to_string() inputmode="numeric"
                    prop:value=move || burst.get().to_string()
                    on:change=move |e| burst.set(event_target_value(&e).parse().unwrap_or(5).clamp(1, MAX_BURST)) />
                <button type="button" on:click=simulate>"Simulate messages"</button>
            </div>
            <SentList sent=alice.signals.sent label="Alice's sent messages, newest first" />
        </div>
    }
}

#[component]
fn BobPhone(devices: LabDevices, check: ArrivalCheck) -> impl IntoView {
    let bob = devices.bob.clone();
    let state = bob.connection.signals().state;
    let signals = bob.signals;
    let offline = {
        let bob = bob.clone();
        move |_| bob.connection.disconnect()
    };
    let online = {
        let bob = bob.clone();
        move |_| {
            check.on_reconnect();
            bob.connection.connect()
        }
    };
    let drop_problem = RwSignal::new(None::<String>);
    let drop_network = {
        let (lab, id) = (devices.lab.clone(), bob.device_id());
        move |_| {
            let lab = lab.clone();
            wasm_bindgen_futures::spawn_local(async move {
                drop_problem.set(lab.drop_network_told(id).await.err());
            });
        }
    };
    let read = {
        let bob = bob.clone();
        move |_| {
            bob.read_all();
        }
    };
    let flush = move || match (state.get(), signals.handling.get(), signals.drained.get()) {
        (ConnectionState::Connected, n, _) if n > 0 => format!("Flushing: {n} more pushed, one every {BOB_PACE_MS} ms"),
        (ConnectionState::Connected, _, Some(0)) => "queue drained ✓ (nothing was waiting)".into(),
        (ConnectionState::Connected, _, Some(up_to)) => format!("queue drained ✓ (everything up to #{up_to})"),
        (ConnectionState::Connected, _, None) => "Receiving the backlog…".into(),
        _ => "Offline: new messages wait on the server".into(),
    };
    view! {
        <div class="phone" aria-label="Bob's phone" role="group">
            <h3>"Bob"</h3>
            {connection_badge(&bob, "Bob")}
            <div class="controls" role="group" aria-label="Bob's connection">
                <button type="button" on:click=offline disabled=move || state.get() == ConnectionState::Disconnected>
                    "Take Bob offline"
                </button>
                <button type="button" on:click=online
                    disabled=move || state.get() == ConnectionState::Connected || check.holds_reconnect()
                    aria-describedby=move || check.holds_reconnect().then(|| check.slot.hint_id())>
                    "Bring Bob online"
                </button>
                <button type="button" on:click=drop_network disabled=move || state.get() != ConnectionState::Connected>
                    "Drop Bob's network"
                </button>
                <button type="button" on:click=read>"Bob reads the chat"</button>
            </div>
            <p class="flush-line" data-testid="bob-flush" aria-live="polite"
               data-drained=move || signals.drained.get().is_some().to_string()>
                {flush}
            </p>
            {move || drop_problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
            <ReceivedList received=signals.received label="Bob's received messages, in order" />
            <details class="device-log">
                <summary>"Bob's frames"</summary>
                <EventLog lines=signals.log label="Bob's frames" />
            </details>
        </div>
    }
}
