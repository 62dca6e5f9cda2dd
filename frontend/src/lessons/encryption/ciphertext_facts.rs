//! What the server can see of one stored message: its size, what kind of ciphertext it
//! is, and the public numbers every ciphertext carries (ratchet key and chain index for
//! Olm, session and message index for Megolm). Read from the body the server returned.

use bluetick_shared::e2e::inspect::{CiphertextFacts, inspect};
use leptos::prelude::*;

/// The first characters of a stored body, for a glance at what the server holds.
const PREVIEW_CHARS: usize = 120;

/// One line per ciphertext in `body` (a 1:1 envelope holds one per recipient device).
pub fn facts_lines(body: &str) -> Vec<String> {
    match inspect(body) {
        None => vec!["plaintext: the server can read this one".to_string()],
        Some(facts) => facts.iter().map(describe).collect(),
    }
}

fn describe(facts: &CiphertextFacts) -> String {
    match facts {
        CiphertextFacts::Olm { pre_key, ratchet_key, chain_index, ciphertext_bytes, .. } => format!(
            "Olm {} · ratchet key {ratchet_key}… · chain index {chain_index} · {ciphertext_bytes} B of ciphertext",
            if *pre_key { "pre-key message" } else { "message" }
        ),
        CiphertextFacts::Megolm { session_id, message_index, ciphertext_bytes } => format!(
            "Megolm · session {session_id}… · message index {message_index} · {ciphertext_bytes} B of ciphertext"
        ),
        CiphertextFacts::Unreadable(why) => format!("not a ciphertext vodozemac can parse: {why}"),
    }
}

/// The stored body (its start, and all of it on request) and its facts.
#[component]
pub fn StoredCiphertext(body: String) -> impl IntoView {
    let preview: String = body.chars().take(PREVIEW_CHARS).collect();
    let more = body.chars().count() > PREVIEW_CHARS;
    let bytes = body.len();
    let lines = facts_lines(&body);
    view! {
        <div class="stored-ciphertext">
            <p class="stored-size">{bytes} " bytes in the " <code>"messages.body"</code> " column"</p>
            <ul class="cipher-facts">
                {lines.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
            </ul>
            <code class="ciphertext" aria-label="The start of the stored body" tabindex="0">
                {preview}
                {more.then_some("…")}
            </code>
            <details>
                <summary>"Show all " {bytes} " bytes"</summary>
                <code class="ciphertext" data-testid="server-body" tabindex="0" aria-label="The whole stored body">{body}</code>
            </details>
        </div>
    }
}
