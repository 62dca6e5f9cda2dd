//! "Presence": who is online and when they were last seen, live from the server. Pause
//! Bob's heartbeats — a frozen phone, a half-open connection — and watch his presence
//! TTL run out: the server marks him offline with a last-seen time and closes the
//! silent connection. Resume and he comes back.

use bluetick_shared::connection::ConnectionState;
use leptos::prelude::*;

use crate::clock;
use crate::components::guide::guide_moments;
use crate::components::lab_gate::LabGate;
use crate::components::lab_reset::LabReset;
use crate::lab::LabStatus;
use crate::live::lab_devices::{DeviceStore, LabDevices};

#[component]
pub fn PresenceLab(status: RwSignal<LabStatus>, store: DeviceStore) -> impl IntoView {
    view! {
        <section id="presence" class="lab-section" aria-labelledby="presence-title">
            <h2 id="presence-title">"Presence"</h2>
            <p class="lede">
                "A device is online while it keeps talking. Every frame, heartbeats included, refreshes a "
                "time-to-live on the server; when the TTL runs out with nothing heard, the device is offline and "
                "its last-seen time is what others see. WhatsApp's design keeps this as a Redis key "
                <code>"online:{user_id}"</code> " with a 30-second TTL; bluetick keeps the same TTL per connection "
                "in memory (" <code>"backend/src/presence.rs"</code> "), compressed for this lab so you see it "
                "happen in seconds."
            </p>
            <LabGate status store live=|devices| view! { <PresenceLive devices /> } />
        </section>
    }
}

#[component]
fn PresenceLive(devices: LabDevices) -> impl IntoView {
    let alice = devices.alice.clone();
    let bob = devices.bob.clone();
    let people = vec![(devices.you.user_id(), "You"), (bob.user_id(), "Bob")];
    alice.watch(people.iter().map(|(user, _)| *user).collect());
    let presence = alice.signals.presence;
    let now = clock::ticking_now(200);
    let paused = RwSignal::new(false);
    let bob_state = bob.connection.signals().state;

    let pause = {
        let bob = bob.clone();
        move |_| {
            bob.connection.set_heartbeats_paused(true);
            paused.set(true);
        }
    };
    // Heartbeats on again, and Bob back online if the silence cost him his connection.
    let heartbeats_back = {
        let bob = bob.clone();
        move || {
            bob.connection.set_heartbeats_paused(false);
            paused.set(false);
            bob.connection.bring_online();
        }
    };
    let resume = {
        let heartbeats_back = heartbeats_back.clone();
        move |_| heartbeats_back()
    };
    // The guided path's step: Bob's presence expired while his heartbeats were paused.
    if let Some(moments) = guide_moments() {
        Effect::new(move || {
            if paused.get() && bob_state.get() != ConnectionState::Connected {
                moments.presence_expired.set(true);
            }
        });
    }
    let reset = move || {
        heartbeats_back();
        async { Ok("Reset: Bob's phone heartbeats again and is online, so Alice sees him online.".to_string()) }
    };
    // Reactive text may only hold sendable handles; the device lives in local storage.
    let bob_store = StoredValue::new_local(bob.clone());
    let countdown = {
        move || {
            let _ = now.get();
            let (ttl_ms, last_sent_ms) =
                bob_store.with_value(|bob| (bob.connection.presence_ttl_ms(), bob.connection.last_sent_ms()));
            if !paused.get() {
                return format!(
                    "Bob's phone heartbeats every {:.1} s; the lab's presence TTL is {:.1} s.",
                    ttl_ms as f64 / 4000.0,
                    ttl_ms as f64 / 1000.0
                );
            }
            if bob_state.get() != ConnectionState::Connected {
                return "Expired: the server heard nothing for a whole TTL, closed the silent connection and \
                        marked Bob offline."
                    .into();
            }
            let silent = clock::now_ms().saturating_sub(last_sent_ms);
            let left = ttl_ms.saturating_sub(silent);
            format!("Bob is silent: his presence expires in {:.1} s unless he sends something.", left as f64 / 1000.0)
        }
    };

    view! {
        <LabReset lab="the presence lab" first="presence-pause" reset />
        <ul class="presence-list" aria-label="Who Alice sees online" data-testid="presence-list">
            {people
                .into_iter()
                .map(|(user, name)| {
                    let state = move || presence.with(|p| p.get(&user).copied());
                    view! {
                        <li class="presence-row" data-name=name
                            data-online=move || state().map(|s| s.online.to_string()).unwrap_or("unknown".into())>
                            <span class=move || {
                                match state() {
                                    Some(s) if s.online => "dot dot-connected",
                                    _ => "dot",
                                }
                            } aria-hidden="true"></span>
                            <strong>{name}</strong>
                            " "
                            <span class="presence-state">
                                {move || match state() {
                                    None => "waiting for the server…".to_string(),
                                    Some(s) if s.online => "online".to_string(),
                                    Some(s) => match s.last_seen {
                                        Some(at) => format!("offline · last seen {}", clock::time_of_day(at as u64)),
                                        None => "offline".to_string(),
                                    },
                                }}
                            </span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <div class="controls" role="group" aria-label="Bob's heartbeats">
            <button type="button" id="presence-pause" on:click=pause disabled=move || paused.get()>"Pause Bob's heartbeats"</button>
            <button type="button" on:click=resume disabled=move || !paused.get()>"Resume Bob's heartbeats"</button>
        </div>
        <p class="ttl-line" data-testid="ttl-line" aria-live="polite">{countdown}</p>
    }
}
