//! Predict, then reveal, in a lab: a question before the lab's key action, the
//! student's committed answer, and after the real run the verdict with an explanation
//! from what actually happened. The rules live in [`bluetick_shared::prediction`];
//! this file binds them to signals, `localStorage` and the view.
//!
//! The page's [`Predictions`] are provided as context (see [`provide_predictions`]) so
//! the header's tally, each lab, and later a guided path read one book.
//!
//! Keyboard: the options are native radios in a fieldset whose legend is the question.
//! The lab's own action button commits the prediction, so there is no extra step, and
//! it stays disabled (with a hint saying why) until an option is picked.

use bluetick_shared::prediction::{PredictionBook, PredictionId, Record};
use leptos::prelude::*;

/// Where the book is kept in `localStorage`.
pub const STORAGE_KEY: &str = "bluetick.predictions";

/// The page's predictions, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Predictions(pub RwSignal<PredictionBook>);

/// Restores the book from an earlier visit, saves every change, and provides it as
/// context for everything rendered below the caller.
pub fn provide_predictions() -> Predictions {
    let saved = crate::storage::local().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let book = RwSignal::new(saved.map(|s| PredictionBook::from_saved(&s)).unwrap_or_default());
    Effect::new(move || {
        let saved = book.with(PredictionBook::to_saved);
        if let Some(storage) = crate::storage::local() {
            // A full or forbidden storage only costs the student their tally on reload.
            let _ = storage.set_item(STORAGE_KEY, &saved);
        }
    });
    let predictions = Predictions(book);
    provide_context(predictions);
    predictions
}

/// The page's predictions (from [`provide_predictions`]).
pub fn use_predictions() -> Predictions {
    expect_context::<Predictions>()
}

/// One prediction as a lab uses it: what is picked before the action, committed by
/// the action, and revealed from the outcome.
#[derive(Debug, Clone, Copy)]
pub struct PredictionSlot {
    id: PredictionId,
    book: RwSignal<PredictionBook>,
    picked: RwSignal<Option<usize>>,
    /// What the run showed, in words; kept for this visit only.
    explanation: RwSignal<Option<String>>,
    /// The student's class, told of each prediction and its outcome.
    class: Option<crate::class::ClassLink>,
}

impl PredictionSlot {
    pub fn new(id: PredictionId) -> PredictionSlot {
        PredictionSlot {
            id,
            book: use_predictions().0,
            picked: RwSignal::new(None),
            explanation: RwSignal::new(None),
            class: crate::class::use_class(),
        }
    }

    fn record(&self) -> Option<Record> {
        let id = self.id;
        self.book.with(|b| b.record(id))
    }

    /// Whether the action may run: an option is picked, or the prediction is made.
    pub fn ready(&self) -> bool {
        self.picked.get().is_some() || self.record().is_some()
    }

    /// Whether the prediction is committed and still waiting for its outcome.
    pub fn awaiting(&self) -> bool {
        self.record().is_some_and(|r| r.actual.is_none())
    }

    /// Whether the outcome has been revealed (this visit or an earlier one).
    pub fn revealed(&self) -> bool {
        self.record().is_some_and(|r| r.actual.is_some())
    }

    /// Whether the outcome is still to come: not predicted yet, or predicted and not
    /// revealed. Untracked, for event handlers.
    pub fn unrevealed(&self) -> bool {
        let id = self.id;
        self.book.with_untracked(|b| b.record(id).is_none_or(|r| r.actual.is_none()))
    }

    /// Commits the picked option, if the prediction is not made yet. The action calls
    /// this just before it runs.
    pub fn commit(&self) {
        let (id, picked) = (self.id, self.picked.get_untracked());
        if let Some(choice) = picked {
            self.book.update(|b| _ = b.commit(id, choice));
            self.tell_class(None);
        }
    }

    /// Reveals the outcome: `actual` is the option the real run matched, `explanation`
    /// what it showed. Ignored unless the prediction is committed and unrevealed.
    pub fn reveal(&self, actual: usize, explanation: String) {
        let id = self.id;
        if self.book.with_untracked(|b| b.record(id).is_some_and(|r| r.actual.is_none())) {
            self.explanation.set(Some(explanation));
            self.book.update(|b| _ = b.reveal(id, actual));
            self.tell_class(Some(actual));
        }
    }

    /// Tells the class (if any) what was predicted and, once `actual` is known, whether
    /// it was right.
    fn tell_class(&self, actual: Option<usize>) {
        let Some(class) = self.class else { return };
        let prediction = self.id.prediction();
        let Some(choice) = self.book.with_untracked(|b| b.record(self.id).map(|r| r.choice)) else { return };
        class.report(bluetick_shared::class::Progress::Prediction {
            key: prediction.key.into(),
            answer: prediction.options[choice].into(),
            correct: actual.map(|actual| actual == choice),
        });
    }

    /// Clears the prediction so the student can make it again.
    fn forget(&self) {
        let id = self.id;
        self.book.update(|b| b.forget(id));
        self.picked.set(None);
        self.explanation.set(None);
    }

    /// The id of the hint an action's `aria-describedby` should name.
    pub fn hint_id(&self) -> String {
        format!("prediction-{}-hint", self.id.prediction().key)
    }
}

/// The page's tally, e.g. "Predictions: 2 of 3 made, 1 right".
#[component]
pub fn PredictionTally() -> impl IntoView {
    let book = use_predictions().0;
    view! {
        <p class="prediction-tally" data-testid="prediction-tally">
            <span aria-hidden="true">"◇ "</span>
            {move || book.with(PredictionBook::summary)}
        </p>
    }
}

/// The question, its options, and after the run the verdict. `question` replaces the
/// stored question when the lab words it with live figures; `action` names the button
/// that commits and runs.
#[component]
pub fn PredictionPrompt(
    /// The prediction (named `ask`: `slot` is taken by the view macro).
    ask: PredictionSlot,
    #[prop(optional, into)] question: Option<Signal<String>>,
    action: &'static str,
) -> impl IntoView {
    let prediction = ask.id.prediction();
    let key = prediction.key;
    let question = question.unwrap_or_else(|| Signal::derive(move || prediction.question.to_string()));
    let record = move || ask.record();
    let state = move || match record() {
        None => "open",
        Some(Record { actual: None, .. }) => "committed",
        Some(r) if r.held() == Some(true) => "held",
        Some(_) => "missed",
    };
    let locked = move || record().is_some();
    let verdict = move || {
        let r = record()?;
        let actual = r.actual?;
        let options = prediction.options;
        Some(if actual == r.choice {
            format!("✓ Your prediction held: \u{201c}{}\u{201d}.", options[actual])
        } else {
            format!(
                "✗ Not this time. You predicted \u{201c}{}\u{201d}; what happened: \u{201c}{}\u{201d}.",
                options[r.choice], options[actual]
            )
        })
    };
    let hint = move || match record() {
        None if ask.picked.get().is_none() => {
            format!("Pick an answer first; then \u{201c}{action}\u{201d} runs the real system and checks it.")
        }
        None => format!("Now press \u{201c}{action}\u{201d}: it locks in your answer and runs the real system."),
        Some(Record { choice, actual: None }) => {
            format!("You predicted \u{201c}{}\u{201d}. Waiting for the real run…", prediction.options[choice])
        }
        Some(_) => String::new(),
    };
    view! {
        <fieldset class="prediction" data-testid=format!("prediction-{key}") data-state=state>
            <legend>
                <span class="prediction-kicker">"Predict first"</span>
                " "
                <span class="prediction-question">{move || question.get()}</span>
            </legend>
            <ul class="prediction-options">
                {prediction
                    .options
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        let chosen = move || record().map(|r| r.choice).or(ask.picked.get()) == Some(i);
                        let mark = move || {
                            let r = record()?;
                            let actual = r.actual?;
                            Some(match (actual == i, r.choice == i) {
                                (true, true) => "✓ what happened, your answer",
                                (true, false) => "✓ what happened",
                                (false, true) => "✗ your answer",
                                (false, false) => return None,
                            })
                        };
                        view! {
                            <li class="prediction-option" class:chosen=chosen>
                                <label>
                                    <input type="radio" name=format!("prediction-{key}") value=i.to_string()
                                        prop:checked=chosen disabled=locked
                                        on:change=move |_| ask.picked.set(Some(i)) />
                                    <span>{*text}</span>
                                </label>
                                {move || mark().map(|m| view! { <span class="prediction-mark">{m}</span> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <p class="prediction-hint" id=ask.hint_id()>{hint}</p>
            <div class="prediction-reveal" role="status" aria-live="polite" data-testid=format!("prediction-{key}-reveal")>
                {move || verdict().map(|v| view! {
                    <p class="prediction-verdict"><strong>{v}</strong></p>
                    {move || ask.explanation.get().map(|e| view! { <p class="prediction-why">{e}</p> })}
                })}
            </div>
            <Show when=move || record().is_some_and(|r| r.actual.is_some())>
                <div class="prediction-after">
                    <PredictionTally />
                    <button type="button" class="secondary" on:click=move |_| ask.forget()>"Predict again"</button>
                </div>
            </Show>
        </fieldset>
    }
}
