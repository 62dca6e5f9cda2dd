//! "Retry storm": one message id sent many times, as a client on a flaky network might.
//! Every copy gets the same SENT ack; the database holds one row; Bob gets it once.

use bluetick_shared::frames::{MessageId, Recipient};
use bluetick_shared::lab::MessageCopies;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use crate::live::lab_devices::LabDevices;

const STORM_SIZE: u32 = 20;

#[component]
pub fn RetryStorm(devices: LabDevices) -> impl IntoView {
    let storm_id = RwSignal::new(None::<MessageId>);
    let copies = RwSignal::new(None::<MessageCopies>);
    let alice = devices.alice.clone();
    let start = {
        let (alice, lab, to) = (alice.clone(), devices.lab.clone(), Recipient::User(devices.bob.user_id()));
        move |_| {
            copies.set(None);
            let id = alice.send_text(to, "retry storm: one message, sent 20 times".into());
            for _ in 1..STORM_SIZE {
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
    view! {
        <div class="storm" role="group" aria-labelledby="storm-title">
            <h3 id="storm-title">"Retry storm"</h3>
            <p>
                "Send one message id " {STORM_SIZE} " times in a row. The server's insert is "
                <code>"ON CONFLICT DO NOTHING"</code> ": every retry gets the same ack, nothing new is stored, "
                "nothing is delivered twice."
            </p>
            <button type="button" on:click=start
                disabled=move || connected.get() != bluetick_shared::connection::ConnectionState::Connected>
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
