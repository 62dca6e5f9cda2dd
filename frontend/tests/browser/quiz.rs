//! The quiz in a real browser: nothing is revealed until the student commits to an
//! answer, then every option explains itself and the score moves; progress survives in
//! localStorage.

use bluetick_frontend::lessons::quiz::quiz::{Quiz, STORAGE_KEY, saved_quiz};
use bluetick_shared::quiz::{CHOICES, QUESTIONS, QuizState, TOTAL};
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use crate::mount_root;

fn storage() -> web_sys::Storage {
    window().local_storage().unwrap().unwrap()
}

fn all(root: &web_sys::Element, selector: &str) -> Vec<web_sys::HtmlElement> {
    let found = root.query_selector_all(selector).unwrap();
    (0..found.length()).map(|i| found.item(i).unwrap().unchecked_into()).collect()
}

fn one(root: &web_sys::Element, selector: &str) -> web_sys::HtmlElement {
    root.query_selector(selector).unwrap().unwrap_or_else(|| panic!("no {selector}")).unchecked_into()
}

fn text(root: &web_sys::Element, selector: &str) -> String {
    one(root, selector).text_content().unwrap_or_default()
}

#[wasm_bindgen_test]
async fn checking_needs_a_choice_then_reveals_every_option_and_scores() {
    storage().remove_item(STORAGE_KEY).unwrap();
    let root = mount_root();
    let state = RwSignal::new(QuizState::new());
    let _mounted = mount_to(root.clone().unchecked_into(), move || view! { <Quiz state=state /> });

    let check = one(&root, "button.quiz-primary");
    assert_eq!(check.text_content().unwrap(), "Check answer");
    assert!(check.has_attribute("disabled"), "nothing chosen yet, so nothing to check");
    // Even a forced submit commits nothing without a choice.
    one(&root, "form").dispatch_event(&web_sys::Event::new("submit").unwrap()).unwrap();
    tick().await;
    assert_eq!(state.with(QuizState::answered), 0);
    assert!(all(&root, ".option-feedback").is_empty(), "no feedback before predicting");
    assert!(text(&root, "legend").contains(QUESTIONS[0].stem));

    let right = QUESTIONS[0].answer;
    let radios = all(&root, "input[type=radio]");
    assert_eq!(radios.len(), CHOICES);
    radios[right].click();
    tick().await;
    assert!(!check.has_attribute("disabled"), "a choice enables Check answer");
    check.click();
    tick().await;

    assert_eq!(state.with(|s| (s.score(), s.answered())), (1, 1));
    let feedback = all(&root, ".option-feedback");
    assert_eq!(feedback.len(), CHOICES, "every option explains itself");
    let verdicts: Vec<String> = all(&root, ".verdict-text").iter().map(|v| v.text_content().unwrap()).collect();
    assert_eq!(verdicts.iter().filter(|v| v.as_str() == "Correct answer.").count(), 1);
    assert_eq!(verdicts.iter().filter(|v| v.as_str() == "Incorrect.").count(), CHOICES - 1);
    for (c, item) in all(&root, ".quiz-option").iter().enumerate() {
        let expected = if c == right { "correct" } else { "incorrect" };
        assert_eq!(item.get_attribute("data-verdict").as_deref(), Some(expected));
        assert!(item.text_content().unwrap().contains(QUESTIONS[0].choices[c].why));
    }
    assert!(all(&root, "input[type=radio]").iter().all(|r| r.has_attribute("disabled")), "the answer is final");
    assert!(text(&root, "[aria-live=polite]").contains("Correct"));
    assert_eq!(check.text_content().unwrap(), "Next question");
    assert_eq!(storage().get_item(STORAGE_KEY).unwrap().as_deref(), Some("q1:0:1----"));

    check.click();
    tick().await;
    assert!(text(&root, "legend").contains(QUESTIONS[1].stem));
    assert!(all(&root, ".option-feedback").is_empty());
    assert!(one(&root, "button.quiz-primary").has_attribute("disabled"));
}

#[wasm_bindgen_test]
async fn progress_is_restored_and_the_last_answer_shows_the_score() {
    // Four answered (two right), the fifth showing.
    let first_four: String = QUESTIONS[..4]
        .iter()
        .enumerate()
        .map(|(q, question)| if q < 2 { question.answer } else { (question.answer + 1) % CHOICES })
        .map(|c| char::from_digit(c as u32, 10).unwrap())
        .collect();
    storage().set_item(STORAGE_KEY, &format!("q1:4:{first_four}-")).unwrap();
    let restored = saved_quiz();
    assert_eq!((restored.current(), restored.score()), (Some(4), 2));

    let root = mount_root();
    let state = RwSignal::new(restored);
    let _mounted = mount_to(root.clone().unchecked_into(), move || view! { <Quiz state=state /> });
    assert!(text(&root, "legend").contains(&format!("Question {TOTAL} of {TOTAL}")));

    let wrong = (QUESTIONS[4].answer + 1) % CHOICES;
    all(&root, "input[type=radio]")[wrong].click();
    tick().await;
    one(&root, "button.quiz-primary").click();
    tick().await;
    assert!(text(&root, "[aria-live=polite]").contains("Not quite"));
    assert_eq!(text(&root, "button.quiz-primary"), "See my score");
    one(&root, "button.quiz-primary").click();
    tick().await;

    assert_eq!(text(&root, "[data-testid=quiz-score]"), format!("You scored 2 out of {TOTAL}"));
    assert_eq!(all(&root, ".quiz-review li").len(), TOTAL);
    assert!(state.with(QuizState::is_finished));

    storage().set_item(STORAGE_KEY, "certainly not a quiz").unwrap();
    assert_eq!(saved_quiz(), QuizState::new(), "garbage in storage starts a fresh quiz");

    let retry = all(&root, "button").into_iter().find(|b| b.text_content().unwrap() == "Retry the quiz").unwrap();
    retry.click();
    tick().await;
    assert_eq!(state.get(), QuizState::new());
    assert!(text(&root, "legend").contains(QUESTIONS[0].stem));
    assert_eq!(storage().get_item(STORAGE_KEY).unwrap().as_deref(), Some("q1:0:-----"));
}
