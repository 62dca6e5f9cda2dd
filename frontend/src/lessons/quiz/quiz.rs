//! The quiz, one question at a time, predict then reveal: the student picks an option
//! and commits to it with "Check answer"; only then does every option show why it is
//! right or wrong. The rules (commit once, score, retry) live in
//! [`bluetick_shared::quiz`]; this file draws them and keeps progress in `localStorage`
//! so a reload does not lose it.
//!
//! Every question links, once answered, to the lab on the page that shows its answer
//! happening (`Question::shown_in`), so a wrong answer leads back to the evidence.
//!
//! Keyboard: the options are a native radio group inside a fieldset whose legend is the
//! question, so arrow keys choose and Enter checks. Verdicts are an icon and words, never
//! colour alone, and a polite live region announces each result.

use bluetick_shared::class::Progress;
use bluetick_shared::quiz::{CHOICES, QUESTIONS, QuizState, TOTAL};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// Where the quiz's progress is kept in `localStorage`.
pub const STORAGE_KEY: &str = "bluetick.quiz";

const LETTERS: [&str; CHOICES] = ["A", "B", "C", "D"];

/// The progress saved by an earlier visit, or a fresh quiz (also when storage is
/// unavailable or holds something unreadable).
pub fn saved_quiz() -> QuizState {
    crate::storage::local()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .map(|saved| QuizState::from_saved(&saved))
        .unwrap_or_default()
}

fn save(saved: &str) {
    if let Some(storage) = crate::storage::local() {
        // A full or forbidden storage only costs the student their progress on reload.
        let _ = storage.set_item(STORAGE_KEY, saved);
    }
}

/// Moves keyboard focus to the first element matching `selector` once the view has
/// caught up with the latest change.
fn focus_soon(selector: &'static str) {
    spawn_local(async move {
        leptos::task::tick().await;
        let found = document().query_selector(selector).ok().flatten();
        if let Some(element) = found.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    });
}

/// What the live region says: the verdict on the question showing, or the final score.
fn announcement(quiz: &QuizState) -> String {
    let Some(q) = quiz.current() else {
        return format!("Quiz finished: you scored {} out of {TOTAL}.", quiz.score());
    };
    let so_far = format!("Score so far: {} of {}.", quiz.score(), quiz.answered());
    match quiz.is_correct(q) {
        None => String::new(),
        Some(true) => format!("✓ Correct. {so_far}"),
        Some(false) => format!("✗ Not quite: the answer is {}. {so_far}", LETTERS[QUESTIONS[q].answer]),
    }
}

#[component]
fn QuestionCard(q: usize, state: RwSignal<QuizState>, selected: RwSignal<Option<usize>>) -> impl IntoView {
    let question = &QUESTIONS[q];
    let committed = move || state.with(|s| s.answer(q));
    view! {
        <fieldset class="quiz-question" data-question=q>
            <legend>
                <span class="quiz-count">{format!("Question {} of {TOTAL}", q + 1)}</span>
                <span class="quiz-stem">{question.stem}</span>
            </legend>
            <ul class="quiz-options">
                {(0..CHOICES)
                    .map(|c| {
                        let choice = question.choices[c];
                        let right = question.is_correct(c);
                        let why_id = format!("quiz-q{q}-why-{c}");
                        let revealed = move || committed().is_some();
                        let verdict = move || revealed().then_some(if right { "correct" } else { "incorrect" });
                        view! {
                            <li class="quiz-option" data-verdict=verdict class:chosen=move || committed() == Some(c)>
                                <label>
                                    <input
                                        type="radio"
                                        name="quiz-answer"
                                        value=c.to_string()
                                        prop:checked=move || committed().or(selected.get()) == Some(c)
                                        disabled=revealed
                                        aria-describedby=move || revealed().then(|| why_id.clone())
                                        on:change=move |_| selected.set(Some(c))
                                    />
                                    <span class="option-letter">{format!("{}.", LETTERS[c])}</span>
                                    <span class="option-text">{choice.text}</span>
                                </label>
                                <Show when=revealed>
                                    <p class="option-feedback" id=format!("quiz-q{q}-why-{c}")>
                                        <span class="verdict-icon" aria-hidden="true">
                                            {if right { "✓" } else { "✗" }}
                                        </span>
                                        <strong class="verdict-text">
                                            {if right { "Correct answer." } else { "Incorrect." }}
                                        </strong>
                                        {move || (committed() == Some(c)).then_some(" (your answer)")}
                                        " "
                                        {choice.why}
                                    </p>
                                </Show>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <Show when=move || committed().is_some()>
                <p class="quiz-evidence" data-testid="quiz-evidence">
                    {move || if state.with(|s| s.is_correct(q)) == Some(false) {
                        "Not sure why? Watch it happen in "
                    } else {
                        "See it happen in "
                    }}
                    <a href=format!("#{}", question.shown_in.0)>{question.shown_in.1}</a>
                    "."
                </p>
            </Show>
        </fieldset>
    }
}

#[component]
fn QuizSummary(state: RwSignal<QuizState>) -> impl IntoView {
    view! {
        <div class="quiz-summary">
            <h3 id="quiz-result" tabindex="-1" data-testid="quiz-score">
                {move || format!("You scored {} out of {TOTAL}", state.with(QuizState::score))}
            </h3>
            <ol class="quiz-review">
                {QUESTIONS
                    .iter()
                    .enumerate()
                    .map(|(q, question)| {
                        let line = move || {
                            let chosen = state.with(|s| s.answer(q));
                            match chosen {
                                Some(c) if question.is_correct(c) => ("✓", format!("Correct ({})", LETTERS[c])),
                                Some(c) => (
                                    "✗",
                                    format!("You chose {}; the answer is {}", LETTERS[c], LETTERS[question.answer]),
                                ),
                                None => ("–", "Not answered".to_string()),
                            }
                        };
                        view! {
                            <li>
                                <span class="verdict-icon" aria-hidden="true">{move || line().0}</span>
                                " "
                                <strong>{question.topic}</strong>
                                ": "
                                {move || line().1}
                                {move || (state.with(|s| s.is_correct(q)) == Some(false)).then(|| view! {
                                    " · " <a href=format!("#{}", question.shown_in.0)>
                                        {format!("watch it in {}", question.shown_in.1)}
                                    </a>
                                })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </div>
    }
}

/// The quiz section. `state` is shared with the page (the section nav shows the score);
/// start it from [`saved_quiz`].
#[component]
pub fn Quiz(state: RwSignal<QuizState>) -> impl IntoView {
    let selected = RwSignal::new(None::<usize>);
    let current = Memo::new(move |_| state.with(QuizState::current));
    let committed = move || current.get().is_some_and(|q| state.with(|s| s.answer(q).is_some()));

    // Every change is saved; the first run saves what was restored, which is harmless.
    Effect::new(move || save(&state.with(QuizState::to_saved)));

    let class = crate::class::use_class();
    let report = move |q: usize, choice: usize| {
        if let Some(class) = class {
            let asked = &bluetick_shared::quiz::QUESTIONS[q];
            class.report(Progress::Quiz {
                key: format!("q{}", q + 1),
                answer: asked.choices[choice].text.into(),
                correct: asked.is_correct(choice),
            });
        }
    };
    // Answers given before the student joined a class (or kept from an earlier visit)
    // reach the class once it is joined; the server keeps each question's first answer.
    if let Some(class) = class {
        Effect::new(move || {
            if class.joined.with(Option::is_some) {
                let answered: Vec<(usize, usize)> = state.with_untracked(|s| {
                    (0..bluetick_shared::quiz::QUESTIONS.len()).filter_map(|q| s.answer(q).map(|c| (q, c))).collect()
                });
                for (q, choice) in answered {
                    report(q, choice);
                }
            }
        });
    }
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if committed() {
            state.update(|s| _ = s.advance());
            selected.set(None);
            if state.with(QuizState::is_finished) {
                focus_soon("#quiz-result");
            } else {
                focus_soon("#quiz .quiz-question input");
            }
        } else if let Some(choice) = selected.get() {
            let question = state.with(QuizState::current);
            state.update(|s| _ = s.commit(choice));
            if let Some(q) = question {
                report(q, choice);
            }
            // The options just became read-only; keep focus on the way forward.
            focus_soon("#quiz .quiz-primary");
        }
    };
    let retry = move |_| {
        state.update(QuizState::retry);
        selected.set(None);
        focus_soon("#quiz .quiz-question input");
    };
    let primary_label = move || match current.get() {
        _ if !committed() => "Check answer",
        Some(q) if q + 1 == TOTAL => "See my score",
        _ => "Next question",
    };

    view! {
        <section id="quiz" class="lab-section" aria-labelledby="quiz-title">
            <h2 id="quiz-title">"Check yourself"</h2>
            <p class="lede">
                "Five questions. Choose an answer and commit to it; only then will you see why each option is "
                "right or wrong. Your progress stays in this browser."
            </p>
            {move || match current.get() {
                Some(q) => {
                    view! {
                        <form class="quiz-form" on:submit=on_submit>
                            <QuestionCard q=q state=state selected=selected />
                            <div class="controls">
                                <button type="submit" class="quiz-primary"
                                    disabled=move || !committed() && selected.get().is_none()
                                    aria-describedby="quiz-hint">
                                    {primary_label}
                                </button>
                                <Show when=move || state.with(|s| s.answered() > 0)>
                                    <button type="button" class="secondary" on:click=retry>"Start over"</button>
                                </Show>
                            </div>
                            <p id="quiz-hint" class="quiz-hint">
                                {move || if committed() { "" } else { "Choose one option, then check it." }}
                            </p>
                        </form>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <QuizSummary state=state />
                        <div class="controls">
                            <button type="button" on:click=retry>"Retry the quiz"</button>
                        </div>
                    }
                        .into_any()
                }
            }}
            <p class="quiz-announcer" role="status" aria-live="polite" data-testid="quiz-announcer">
                {move || state.with(announcement)}
            </p>
        </section>
    }
}
