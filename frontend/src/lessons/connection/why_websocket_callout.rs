//! "Why WebSocket, not HTTP?": a short aside answering the question every student asks
//! before the state-machine lab, so the lab's first state change makes sense.

use leptos::prelude::*;

#[component]
pub fn WhyWebsocketCallout() -> impl IntoView {
    view! {
        <aside class="callout" aria-labelledby="why-websocket-title">
            <h2 id="why-websocket-title">"Why WebSocket, not HTTP?"</h2>
            <dl class="callout-points">
                <dt>"HTTP"</dt>
                <dd>
                    "Works by request and response: the phone asks, the server answers, and the server never "
                    "speaks first."
                </dd>
                <dt>"A chat"</dt>
                <dd>"Needs the opposite: the server must push a message to the phone the moment it arrives."</dd>
                <dt>"WebSocket"</dt>
                <dd>
                    "Begins as an ordinary HTTP request, then upgrades that connection into a full-duplex "
                    "channel over TCP. From then on either side can send whenever it likes."
                </dd>
                <dt>"Polling instead"</dt>
                <dd>
                    "At 58K messages a second, asking \"anything new?\" over and over would waste a huge amount "
                    "of traffic: roughly 99.9% of those requests would come back empty."
                </dd>
            </dl>
        </aside>
    }
}
