//! "In what order will Bob's backlog arrive?": the offline queue's prediction. While
//! Bob is offline with messages waiting, bringing him back is held until the student
//! predicts; the press commits the prediction and notes the order Alice sent the
//! waiting messages in; once every one of them is on Bob's phone, the order they really
//! arrived in decides the verdict.

use bluetick_shared::connection::ConnectionState;
use bluetick_shared::frames::{MessageId, TickState};
use bluetick_shared::prediction::{PredictionId, arrival_order};
use leptos::prelude::*;

use crate::components::prediction::{PredictionPrompt, PredictionSlot};
use crate::live::lab_devices::LabDevices;

/// Names shown in the explanation before it says "…".
const SHOWN: usize = 6;

/// The prediction, and what it needs to know about the lab.
#[derive(Clone, Copy)]
pub struct ArrivalCheck {
    pub slot: PredictionSlot,
    /// Alice's messages to Bob the server holds for him (SENT, not yet delivered), in
    /// the order she sent them.
    waiting: Memo<Vec<(MessageId, String)>>,
    bob_offline: Memo<bool>,
    /// The waiting messages when Bob was brought back, in sending order.
    snapshot: RwSignal<Option<Vec<(MessageId, String)>>>,
    /// How many were waiting when the prediction was made, so the question still reads
    /// as it was asked once Bob is back.
    asked: RwSignal<usize>,
}

impl ArrivalCheck {
    pub fn new(devices: &LabDevices) -> ArrivalCheck {
        let slot = PredictionSlot::new(PredictionId::OfflineOrder);
        let (sent, received) = (devices.alice.signals.sent, devices.bob.signals.received);
        let waiting = Memo::new(move |_| {
            let arrived: Vec<MessageId> = received.with(|r| r.iter().map(|m| m.id).collect());
            sent.with(|s| {
                s.iter()
                    .filter(|m| !m.group && m.tick == Some(TickState::Sent) && !arrived.contains(&m.id))
                    .map(|m| (m.id, m.body.clone()))
                    .collect()
            })
        });
        let state = devices.bob.connection.signals().state;
        let bob_offline = Memo::new(move |_| state.get() == ConnectionState::Disconnected);
        let snapshot = RwSignal::new(None::<Vec<(MessageId, String)>>);
        // The reveal: once every noted message is on Bob's phone, compare the orders.
        Effect::new(move || {
            let Some(noted) = snapshot.get() else { return };
            let arrived: Vec<(MessageId, String, u64)> = received.with(|r| {
                r.iter()
                    .filter(|m| noted.iter().any(|(id, _)| *id == m.id))
                    .map(|m| (m.id, m.body.clone(), m.seq))
                    .collect()
            });
            if arrived.len() < noted.len() {
                return;
            }
            snapshot.set(None);
            let sent_ids: Vec<MessageId> = noted.iter().map(|(id, _)| *id).collect();
            let arrived_ids: Vec<MessageId> = arrived.iter().map(|(id, _, _)| *id).collect();
            let Some(actual) = arrival_order(&sent_ids, &arrived_ids) else { return };
            slot.reveal(actual, explain(&noted, &arrived, actual));
        });
        ArrivalCheck { slot, waiting, bob_offline, snapshot, asked: RwSignal::new(0) }
    }

    /// Whether "Bring Bob online" waits for a prediction: Bob is offline with at least
    /// two messages waiting (one message has no order) and nothing is picked yet.
    pub fn holds_reconnect(&self) -> bool {
        self.bob_offline.get() && self.waiting.with(|w| w.len() >= 2) && !self.slot.ready()
    }

    /// Called as Bob is brought back: commits the prediction and notes the sending order.
    pub fn on_reconnect(&self) {
        let waiting = self.waiting.get_untracked();
        if waiting.len() < 2 || !self.slot.unrevealed() {
            return;
        }
        self.slot.commit();
        self.asked.set(waiting.len());
        self.snapshot.set(Some(waiting));
    }
}

/// What the run showed, in words.
fn explain(noted: &[(MessageId, String)], arrived: &[(MessageId, String, u64)], actual: usize) -> String {
    let names = |bodies: Vec<&str>| {
        let mut shown: Vec<String> = bodies.iter().take(SHOWN).map(|b| format!("\u{201c}{b}\u{201d}")).collect();
        if bodies.len() > SHOWN {
            shown.push("…".into());
        }
        shown.join(", ")
    };
    let (first, last) = (arrived.first().map_or(0, |a| a.2), arrived.last().map_or(0, |a| a.2));
    let got = names(arrived.iter().map(|a| a.1.as_str()).collect());
    match actual {
        0 => format!(
            "Bob's phone received all {} in the order Alice sent them: {got}. They sat in his inbox on the server as \
             entries #{first} to #{last}, and the server pushed them oldest first (FIFO), each acknowledged before the \
             queue moved on.",
            arrived.len()
        ),
        _ => format!(
            "Alice sent {}; Bob's phone received {got}. The queue should flush first in, first out: this order is a \
             bug worth reporting.",
            names(noted.iter().map(|n| n.1.as_str()).collect())
        ),
    }
}

/// The question, worded with how many messages wait right now.
#[component]
pub fn ArrivalPrediction(check: ArrivalCheck) -> impl IntoView {
    let question = Signal::derive(move || {
        let n = check.waiting.with(Vec::len);
        let asked = check.asked.get();
        if check.bob_offline.get() && n >= 2 {
            format!("Bob has been offline for {n} messages. When he reconnects, in what order do they arrive?")
        } else if asked >= 2 {
            format!("Bob had been offline for {asked} messages. When he reconnected, in what order did they arrive?")
        } else if check.slot.revealed() {
            // Revealed on an earlier visit: the count is not kept, the question still reads as asked.
            "Bob had been offline with messages waiting. When he reconnected, in what order did they arrive?".into()
        } else {
            "Take Bob offline and have Alice send a few messages. When he reconnects, in what order do they arrive?"
                .to_string()
        }
    });
    view! { <PredictionPrompt ask=check.slot question action="Bring Bob online" /> }
}
