//! "Retry storm": one message id sent many times, as a client on a flaky network might.
//! Every copy gets the same SENT ack; the database holds one row; Bob gets it once.
//! Before it runs, the student predicts the row count; the server's own count decides.

use bluetick_shared::frames::{MessageId, Recipient};
use bluetick_shared::lab::MessageCopies;
use bluetick_shared::prediction::{PredictionId, STORM_RESENDS, rows_option};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use crate::components::prediction::{PredictionPrompt, PredictionSlot};
use crate::live::lab_devices::LabDevices;

/// Send frames one storm puts on the wire: the first send and its resends.
const STORM_SIZE: u32 = STORM_RESENDS + 1;

#[component]
pub fn RetryStorm(devices: LabDevices) -> impl IntoView {
    let storm_id = RwSignal::new(None::<MessageId>);
    let copies = RwSignal::new(None::<MessageCopies>);
    let alice = devices.alice.clone();
    let slot = PredictionSlot::new(PredictionId::RetryRows);
    let start = {
        let (alice, lab, to) = (alice.clone(), devices.lab.clone(), Recipient::User(devices.bob.user_id()));
        move |_| {
            slot.commit();
            copies.set(None);
            let id = alice.send_text(to, format!("retry storm: one message, resent {STORM_RESENDS} times"));
            for _ in 0..STORM_RESENDS {
                alice.resend(id);
            }
            storm_id.set(Some(id));
            let lab = lab.clone();
            // Read the database's count once the acks are in (a few tries at most).
            wasm_bindgen_futures::spawn_local(async move {
                for _ in 0..20 {
                    TimeoutFuture::new(250).await;
                    if let Ok(found) = lab.copies(id).await {
                        copies.set(Some(found));
                    }
                }
            });
        }
    };
    let sent = alice.signals.sent;
    let received = devices.bob.signals.received;
    let stat = move || {
        let id = storm_id.get()?;
        let (sends, acks) = sent.with(|s| s.iter().find(|m| m.id == id).map(|m| (m.sends, m.acks)))?;
        let bob_got = received.with(|r| r.iter().filter(|m| m.id == id).count());
        Some((sends, acks, bob_got))
    };
    let connected = alice.connection.signals().state;
    // The reveal: once every send is acked and the database has answered, its row count
    // says which option happened.
    Effect::new(move || {
        let (Some((sends, acks, _)), Some(found)) = (stat(), copies.get()) else { return };
        if acks < STORM_SIZE || found.stored_rows == 0 {
            return;
        }
        let Some(actual) = rows_option(found.stored_rows) else { return };
        let rows = if found.stored_rows == 1 { "1 row".to_string() } else { format!("{} rows", found.stored_rows) };
        let deliveries = match found.deliveries {
            1 => "1 delivery".to_string(),
            n => format!("{n} deliveries"),
        };
        let why = if actual == 0 {
            "Every resend hit the insert's unique key on the message_id, and ON CONFLICT DO NOTHING ignored it: the \
             retries cost nothing, and the sender cannot tell their acks from the first."
        } else {
            "Each copy was stored as a message of its own: dedup by message_id did not happen, a bug worth reporting."
        };
        slot.reveal(
            actual,
            format!("The server reports {rows} for this id after {sends} send frames and {acks} SENT acks, and {deliveries} for Bob. {why}"),
        );
    });
    view! {
        <div id="retry-storm" class="storm" role="group" aria-labelledby="storm-title">
            <h3 id="storm-title">"Retry storm"</h3>
            <p>
                "Send one message, then resend the same id " {STORM_RESENDS} " times, as a phone on a flaky network \
                 does when it hears no ack: " {STORM_SIZE} " send frames in a row."
            </p>
            <PredictionPrompt ask=slot action="Start a retry storm" />
            <button type="button" on:click=start aria-describedby=slot.hint_id()
                disabled=move || !slot.ready()
                    || connected.get() != bluetick_shared::connection::ConnectionState::Connected>
                "Start a retry storm"
            </button>
            <dl class="storm-figures" data-testid="storm" aria-live="polite">
                <dt>"Send frames on the wire"</dt>
                <dd data-testid="storm-sends">{move || stat().map(|s| s.0.to_string()).unwrap_or("–".into())}</dd>
                <dt>"Identical SENT acks back"</dt>
                <dd data-testid="storm-acks">{move || stat().map(|s| s.1.to_string()).unwrap_or("–".into())}</dd>
                <dt>"Rows in the messages table"</dt>
                <dd data-testid="storm-rows">
                    {move || copies.get().map(|c| c.stored_rows.to_string()).unwrap_or("–".into())}
                </dd>
                <dt>"Deliveries made for Bob"</dt>
                <dd data-testid="storm-deliveries">
                    {move || copies.get().map(|c| c.deliveries.to_string()).unwrap_or("–".into())}
                </dd>
                <dt>"Copies on Bob's phone"</dt>
                <dd data-testid="storm-bob">{move || stat().map(|s| s.2.to_string()).unwrap_or("–".into())}</dd>
            </dl>
        </div>
    }
}
