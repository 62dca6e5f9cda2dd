//! The server's real idempotent insert, shown beside the idea. The text is cut from
//! `backend/src/store/sqlite/messages.rs` at build time (see `frontend/build.rs`), so it is
//! always the code the server runs.

use leptos::prelude::*;

const CODE: &str = include_str!(concat!(env!("OUT_DIR"), "/idempotent_insert.rs.txt"));

#[component]
pub fn IdempotentInsertCode() -> impl IntoView {
    view! {
        <div class="code-panel">
            <h3>"The real code path"</h3>
            <p>
                "This is the insert the server runs for every " <code>"send"</code> " frame, copied from "
                <code>"backend/src/store/sqlite/messages.rs"</code> " when this page was built. A retry with the same "
                "message id hits " <code>"UNIQUE (sender_device, client_id)"</code> "; "
                <code>"ON CONFLICT DO NOTHING"</code> " stores nothing, raises no error, and the original "
                <code>"sent_at"</code> " is read back so the retry's ack is byte-for-byte the first one. "
                "No double delivery, no extra state."
            </p>
            <pre class="code" tabindex="0" aria-label="The idempotent insert, in Rust and SQL"><code>{CODE}</code></pre>
        </div>
    }
}
