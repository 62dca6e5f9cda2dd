//! Forward secrecy, tried for real: take Alice's first message as an eavesdropper
//! would have captured it (the ciphertext, read back from the server's database), then
//! "steal" Bob's phone now — export his current Olm session with Alice — and try to
//! decrypt the captured message with the stolen state. vodozemac answers, and its
//! answer decides the student's prediction, made before the theft.

use bluetick_shared::prediction::{PredictionId, secrecy_option};
use leptos::prelude::*;

use crate::components::prediction::{PredictionPrompt, PredictionSlot};
use crate::lessons::encryption::cipher_conversation::CipherRow;
use crate::live::lab_devices::LabDevices;

/// What the experiment found, as shown.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    session_id: String,
    exported_bytes: usize,
    result: Result<String, String>,
}

#[component]
pub fn ForwardSecrecyDemo(devices: LabDevices, rows: RwSignal<Vec<CipherRow>>, resets: RwSignal<u32>) -> impl IntoView {
    let outcome = RwSignal::new(None::<Result<Outcome, String>>);
    Effect::new(move |_| {
        resets.track();
        outcome.set(None);
    });
    let bob_received = devices.bob.signals.received;
    // The captured message: Alice's first, once the server has shown its ciphertext.
    let captured = move || {
        rows.with(|r| {
            r.iter().find(|row| row.from_alice).and_then(|row| {
                let body = row.stored.clone()??.stored_body?;
                Some((row.id, row.text.clone(), body))
            })
        })
    };
    let bob_has_read = move || captured().is_some_and(|(id, _, _)| bob_received.with(|r| r.iter().any(|m| m.id == id)));
    let later_messages = move || rows.with(|r| r.len().saturating_sub(1));
    let (bob, alice_device) = (devices.bob.clone(), devices.alice.device_id());
    let slot = PredictionSlot::new(PredictionId::ForwardSecrecy);
    let run = move |_| {
        let Some((_, text, body)) = captured() else { return };
        let Some(crypto) = bob.crypto() else { return };
        slot.commit();
        let found = crypto
            .replay_with_exported_session(alice_device, &body)
            .map(|r| Outcome { session_id: r.session_id, exported_bytes: r.exported_bytes, result: r.outcome })
            .map_err(|e| e.to_string());
        if let Ok(o) = &found {
            slot.reveal(secrecy_option(o.result.is_ok()), reveal_text(o, &text, later_messages()));
        }
        outcome.set(Some(found));
    };
    view! {
        <div class="secrecy-demo" role="group" aria-labelledby="secrecy-title">
            <h3 id="secrecy-title">"Forward secrecy: steal the phone today, read yesterday?"</h3>
            <ol class="secrecy-steps">
                <li>
                    "An eavesdropper copied Alice's first message off the wire (here: out of the server's database). "
                    {move || match captured() {
                        Some((_, text, body)) => format!("Captured: {} bytes of ciphertext (it said \"{text}\").", body.len()),
                        None => "Send a message as Alice above first.".to_string(),
                    }}
                </li>
                <li>
                    "Bob's phone decrypted it and moved on: "
                    {move || later_messages()} " message(s) since. "
                    {move || (!bob_has_read()).then_some("(Wait for Bob's phone to show it.)")}
                </li>
                <li>
                    "Now the attacker steals Bob's phone and exports its current session with Alice — every key it holds "
                    "right now — and tries the captured message with it."
                </li>
            </ol>
            <PredictionPrompt ask=slot action="Steal Bob's session and decrypt the captured message" />
            <button type="button" on:click=run disabled=move || !bob_has_read() || !slot.ready()
                aria-describedby=slot.hint_id()>
                "Steal Bob's session and decrypt the captured message"
            </button>
            <div class="secrecy-outcome" aria-live="polite" data-testid="secrecy-outcome">
                {move || outcome.get().map(|o| match o {
                    Ok(Outcome { session_id, exported_bytes, result: Err(reason) }) => view! {
                        <p>
                            "Exported session " <code>{fingerprint(&session_id)} "…"</code> ": " {exported_bytes}
                            " bytes of state."
                        </p>
                        <p class="secrecy-failed" data-result="refused">
                            <span aria-hidden="true">"✗ "</span>
                            <strong>"It cannot decrypt the captured message."</strong>
                            " vodozemac: " <q>{reason}</q>
                        </p>
                        <p class="cell-note">
                            "The message key was derived, used once and deleted; the ratchet only turns forward, so \
                             nothing in today's state leads back to it. Bob's phone still shows the text because it \
                             kept the plaintext, not the key."
                        </p>
                    }
                        .into_any(),
                    Ok(Outcome { result: Ok(text), .. }) => view! {
                        <p class="secrecy-worked" data-result="decrypted">
                            <span aria-hidden="true">"⚠ "</span>
                            "It decrypted: \"" {text} "\" — Bob's session still held this message's key (it had not \
                             used it yet)."
                        </p>
                    }
                        .into_any(),
                    Err(why) => view! { <p class="lab-error" role="alert">{why}</p> }.into_any(),
                })}
            </div>
        </div>
    }
}

/// What the theft showed, in words, for the prediction's reveal.
fn reveal_text(outcome: &Outcome, text: &str, later: usize) -> String {
    match &outcome.result {
        Err(reason) => format!(
            "The thief exported {} bytes of Bob's session as it is now, tried them on the captured \u{201c}{text}\u{201d}, \
             and vodozemac refused: {reason}. The key for that message was used once and deleted; {later} message(s) \
             later the ratchet has only turned forward, so nothing stolen today leads back to it. That is forward \
             secrecy.",
            outcome.exported_bytes
        ),
        Ok(plain) => format!(
            "The stolen session decrypted \u{201c}{plain}\u{201d}: Bob's phone still held that message's key because \
             it had not used it yet. Forward secrecy covers keys already used and deleted."
        ),
    }
}

fn fingerprint(id: &str) -> String {
    bluetick_shared::e2e::inspect::fingerprint(id)
}
