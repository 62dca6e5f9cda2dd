//! The live tick pipeline: Alice sends to Bob and the lesson's eight stops, and the read
//! receipt travelling back, light up from the server's own trace events, while her ticks
//! move ✓ → ✓✓ → blue ✓✓ as the real receipts arrive — or end at ⚠ when a compressed
//! expiry passes with Bob offline. The lab's pace (`pace_control`) slows the real
//! pipeline down or steps it hop by hop; `replay_control` scrubs through a run's recorded
//! events afterwards.

use bluetick_shared::connection::ConnectionState;
use bluetick_shared::frames::{MessageId, Recipient};
use bluetick_shared::journey::{HopState, journey};
use bluetick_shared::lab::Pace;
use bluetick_shared::replay::{event_words, recorded, replayed, tick_from_events};
use leptos::prelude::*;

use crate::components::lab_reset::LabReset;
use crate::components::pace_control::PaceControl;
use crate::components::replay_control::ReplayControl;
use crate::components::tick_mark::TickMark;
use crate::lessons::ticks::expiry_control::ExpiryControl;
use crate::live::device::SentMessage;
use crate::live::lab_devices::LabDevices;

#[component]
pub fn MessageJourney(devices: LabDevices) -> impl IntoView {
    let alice = devices.alice.clone();
    let bob = devices.bob.clone();
    let to = Recipient::User(bob.user_id());
    let sent = alice.signals.sent;
    let count = RwSignal::new(0u32);
    // The message being followed: the one chosen, else the newest (unless the lab was
    // just reset: then none until the student sends or picks one).
    let chosen = RwSignal::new(None::<MessageId>);
    let cleared = RwSignal::new(false);
    let followed = move || -> Option<SentMessage> {
        sent.with(|all| match chosen.get() {
            Some(id) => all.iter().find(|m| m.id == id).cloned(),
            None if cleared.get() => None,
            // The newest message to Bob; group messages have the fan-out lab.
            None => all.iter().rev().find(|m| !m.group).cloned(),
        })
    };
    let expiry = RwSignal::new(None::<u64>);
    let send = {
        let alice = alice.clone();
        move |_| {
            count.update(|n| *n += 1);
            let id = alice.send_text(to, format!("Hi Bob! ({})", count.get_untracked()));
            chosen.set(Some(id));
        }
    };
    let read = {
        let bob = bob.clone();
        move |_| {
            bob.read_all();
        }
    };
    let bob_state = bob.connection.signals().state;
    let toggle_bob = {
        let bob = bob.clone();
        move |_| match bob_state.get_untracked() {
            ConnectionState::Disconnected => bob.connection.connect(),
            _ => bob.connection.disconnect(),
        }
    };
    // Replaying: the index of the recorded event shown (`None`: live).
    let replay = RwSignal::new(None::<usize>);
    Effect::new(move |_| {
        chosen.track();
        replay.set(None);
    });
    let events = Signal::derive(move || followed().map(|m| recorded(&m.stages)).unwrap_or_default());
    // The tick and stops as they are now, or as they were at the replayed instant.
    let shown_tick = move || match (replay.get(), followed()) {
        (Some(k), Some(_)) => events.with(|all| {
            let upto: Vec<_> = all.iter().take(k + 1).map(|s| (s.stage, s.after_us, s.detail.as_str())).collect();
            tick_from_events(&upto)
        }),
        (_, message) => message.and_then(|m| m.tick),
    };
    let hops = move || {
        let message = followed();
        let (wire, tick) = match &message {
            Some(m) => (m.sends > 0, m.tick),
            None => return journey(false, &[], None).to_vec(),
        };
        events.with(|all| {
            let events: Vec<_> = all.iter().map(|s| (s.stage, s.after_us, s.detail.as_str())).collect();
            match replay.get() {
                Some(k) => replayed(&events, k).to_vec(),
                None => journey(wire, &events, tick).to_vec(),
            }
        })
    };

    let reset = {
        let (lab, pace, bob) = (devices.lab.clone(), devices.pace, bob.clone());
        move || {
            let (lab, bob) = (lab.clone(), bob.clone());
            async move {
                pace.set(Pace::Live).await?;
                let view = lab.set_expiry(None).await.map_err(|e| format!("Could not restore the expiry: {e}"))?;
                expiry.set(view.expiry_secs);
                bob.connection.bring_online();
                chosen.set(None);
                cleared.set(true);
                replay.set(None);
                Ok("Reset: the pipeline runs live, messages fail after the real 30 days again, Bob is online, and no \
                    message is followed: send one to start again."
                    .to_string())
            }
        }
    };

    view! {
        <div class="journey" role="group" aria-labelledby="journey-title">
            <h3 id="journey-title">"Follow one message, live"</h3>
            <LabReset lab="the tick lab" first="journey-send" reset />
            <div class="controls" role="group" aria-label="Tick pipeline controls">
                <button type="button" id="journey-send" on:click=send>"Alice sends a message"</button>
                <button type="button" on:click=read>"Bob opens the chat"</button>
                <button type="button" on:click=toggle_bob>
                    {move || if bob_state.get() == ConnectionState::Disconnected {
                        "Bring Bob online"
                    } else {
                        "Take Bob offline"
                    }}
                </button>
            </div>
            <p class="phone-status" role="status">
                {move || format!("Bob is {}", bob_state.get().label())}
            </p>
            <PaceControl pace=devices.pace place="ticks"
                stepping="In this lab one step lets one hop of the message go: the commit, the look-up, the push, a receipt." />
            <ExpiryControl devices=devices.clone() in_force=expiry />
            {move || match followed() {
                None => view! { <p class="queue-empty">"Send a message to follow it through the pipeline."</p> }
                    .into_any(),
                Some(message) => view! {
                    <p class="journey-message" data-testid="journey-message">
                        <span class="bubble bubble-out">
                            <span class="bubble-text">{message.body.clone()}</span>
                            " "
                            <TickMark state=Signal::derive(shown_tick) />
                        </span>
                        {message.failed_reason.clone().map(|r| view! { <span class="bubble-error">{r}</span> })}
                    </p>
                }
                .into_any(),
            }}
            <ol class="journey-hops" aria-label="The path of one message: eight stops and the read receipt back"
                data-testid="journey-hops">
                <For each=hops key=|h| (h.hop.title(), format!("{:?}", h.state), h.note.clone(), h.after_us) let:hop>
                    <li class=format!("journey-hop hop-{}", state_class(hop.state)) data-state=state_class(hop.state)>
                        <span class="hop-title">{hop.hop.title()}</span>
                        <span class="hop-what">{hop.hop.what()}</span>
                        <span class="hop-state">{state_word(hop.state)}</span>
                        <span class="hop-time">
                            {hop.after_us.map(|us| format!("+{:.1} ms", us as f64 / 1000.0)).unwrap_or_default()}
                        </span>
                        <span class="hop-note">{hop.note.clone()}</span>
                    </li>
                </For>
            </ol>
            <ReplayControl place="ticks" title="Replay this message" run="for this message"
                shows="The stops and the tick above show that instant."
                count=Signal::derive(move || events.with(Vec::len))
                words=move |k| events.with(|e| event_words(e, k)) replay />
            <SentPicker sent chosen />
        </div>
    }
}

fn state_class(state: HopState) -> &'static str {
    match state {
        HopState::Waiting => "waiting",
        HopState::Done => "done",
        HopState::Held => "held",
        HopState::Failed => "failed",
        HopState::Paced => "paced",
    }
}

fn state_word(state: HopState) -> &'static str {
    match state {
        HopState::Waiting => "○ not yet",
        HopState::Done => "● passed",
        HopState::Held => "◐ held: recipient offline",
        HopState::Failed => "⚠ failed",
        HopState::Paced => "‖ waits: paced",
    }
}

/// Alice's recent messages, to pick which one the pipeline follows.
#[component]
fn SentPicker(sent: RwSignal<Vec<SentMessage>>, chosen: RwSignal<Option<MessageId>>) -> impl IntoView {
    view! {
        <details class="sent-picker">
            <summary>"Follow an earlier message"</summary>
            <ul>
                <For each=move || sent.get().into_iter().rev().filter(|m| !m.group).take(10) key=|m| (m.id, m.tick)
                    let:message>
                    <li>
                        <button type="button" class="link-button"
                            on:click=move |_| chosen.set(Some(message.id))>
                            {message.body.clone()}
                        </button>
                        " "
                        <TickMark state=Signal::derive(move || message.tick) />
                    </li>
                </For>
            </ul>
        </details>
    }
}
