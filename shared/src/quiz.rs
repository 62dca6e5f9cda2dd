//! The lesson's quiz as pure logic: the questions, and a student's way through them.
//!
//! Why predict-then-reveal: a student who must commit to an answer before seeing any
//! feedback finds out what they actually believed. So [`QuizState::commit`] takes one
//! answer per question and keeps it; only [`QuizState::retry`] clears the slate.
//!
//! Why a compact saved form: the page keeps progress in `localStorage` so a reload does
//! not lose it. Whatever comes back from there may be stale, edited by hand or from an
//! older page, so [`QuizState::from_saved`] accepts only a well-formed, self-consistent
//! string and otherwise starts a fresh quiz. It never panics.

mod questions;

pub use questions::QUESTIONS;

/// How many options every question offers.
pub const CHOICES: usize = 4;
/// How many questions there are.
pub const TOTAL: usize = QUESTIONS.len();

/// Marks the saved form's layout; bump it when the questions change meaning.
const SAVED_VERSION: &str = "q1";

/// One option of a question, with why it is right or wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub text: &'static str,
    pub why: &'static str,
}

/// One question: exactly one of its options, `choices[answer]`, is correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// A short name for what it tests.
    pub topic: &'static str,
    pub stem: &'static str,
    pub choices: [Choice; CHOICES],
    pub answer: usize,
    /// Where on the page a lab shows the answer happen: an in-page anchor (the id of a
    /// section or lab) and its name, so a wrong answer can point back to the evidence.
    pub shown_in: (&'static str, &'static str),
}

impl Question {
    pub fn is_correct(&self, choice: usize) -> bool {
        choice == self.answer
    }
}

/// Why a step through the quiz was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuizError {
    #[error("this question is already answered; retry the quiz to answer again")]
    AlreadyAnswered,
    #[error("there is no option {0}")]
    NoSuchChoice(usize),
    #[error("answer the question before moving on")]
    NotAnswered,
    #[error("the quiz is finished")]
    Finished,
}

/// A student's progress: which question is showing and the answer committed to each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizState {
    /// The question showing; `TOTAL` once the student has seen the score.
    current: usize,
    answers: [Option<usize>; TOTAL],
}

impl Default for QuizState {
    fn default() -> Self {
        QuizState::new()
    }
}

impl QuizState {
    /// A fresh quiz at the first question.
    pub fn new() -> QuizState {
        QuizState { current: 0, answers: [None; TOTAL] }
    }

    /// The index of the question showing, or `None` once finished.
    pub fn current(&self) -> Option<usize> {
        (self.current < TOTAL).then_some(self.current)
    }

    /// The question showing, or `None` once finished.
    pub fn current_question(&self) -> Option<&'static Question> {
        self.current().map(|i| &QUESTIONS[i])
    }

    /// The option committed for question `question`, if any.
    pub fn answer(&self, question: usize) -> Option<usize> {
        self.answers.get(question).copied().flatten()
    }

    /// Whether question `question` was answered correctly (`None` while unanswered).
    pub fn is_correct(&self, question: usize) -> Option<bool> {
        self.answer(question).map(|choice| QUESTIONS[question].is_correct(choice))
    }

    /// Commits `choice` as the answer to the question showing and says whether it is
    /// correct. An answer, once committed, stays.
    pub fn commit(&mut self, choice: usize) -> Result<bool, QuizError> {
        let question = self.current().ok_or(QuizError::Finished)?;
        if self.answers[question].is_some() {
            return Err(QuizError::AlreadyAnswered);
        }
        if choice >= CHOICES {
            return Err(QuizError::NoSuchChoice(choice));
        }
        self.answers[question] = Some(choice);
        Ok(QUESTIONS[question].is_correct(choice))
    }

    /// Moves on from an answered question: to the next one, or after the last to the
    /// score.
    pub fn advance(&mut self) -> Result<(), QuizError> {
        let question = self.current().ok_or(QuizError::Finished)?;
        if self.answers[question].is_none() {
            return Err(QuizError::NotAnswered);
        }
        self.current += 1;
        Ok(())
    }

    /// Correct answers so far.
    pub fn score(&self) -> usize {
        (0..TOTAL).filter(|&q| self.is_correct(q) == Some(true)).count()
    }

    /// Questions answered so far.
    pub fn answered(&self) -> usize {
        self.answers.iter().filter(|a| a.is_some()).count()
    }

    /// Whether the student has moved past the last question to the score.
    pub fn is_finished(&self) -> bool {
        self.current >= TOTAL
    }

    /// Clears every answer and goes back to the first question.
    pub fn retry(&mut self) {
        *self = QuizState::new();
    }

    /// The state as a short string, e.g. `q1:2:13---` (version, question showing, one
    /// character per answer: the option's index or `-`).
    pub fn to_saved(&self) -> String {
        let answers: String =
            self.answers.iter().map(|a| a.and_then(|c| char::from_digit(c as u32, 10)).unwrap_or('-')).collect();
        format!("{SAVED_VERSION}:{}:{answers}", self.current)
    }

    /// Reads what [`to_saved`](Self::to_saved) wrote. Anything else, including a state no
    /// student could reach (a skipped question, an answer ahead of the one showing),
    /// yields a fresh quiz.
    pub fn from_saved(saved: &str) -> QuizState {
        QuizState::parse(saved.trim()).unwrap_or_default()
    }

    fn parse(saved: &str) -> Option<QuizState> {
        let mut parts = saved.split(':');
        let (version, current, answers) = (parts.next()?, parts.next()?, parts.next()?);
        if version != SAVED_VERSION || parts.next().is_some() || current.len() != 1 {
            return None;
        }
        let current = current.parse::<usize>().ok().filter(|&c| c <= TOTAL)?;
        if answers.chars().count() != TOTAL {
            return None;
        }
        let mut state = QuizState { current, answers: [None; TOTAL] };
        for (slot, c) in state.answers.iter_mut().zip(answers.chars()) {
            *slot = match c {
                '-' => None,
                _ => Some(c.to_digit(10).map(|d| d as usize).filter(|&d| d < CHOICES)?),
            };
        }
        // Reachable states only: every question before the one showing is answered, and
        // none after it.
        let consistent = state.answers.iter().enumerate().all(|(q, a)| match q.cmp(&current) {
            std::cmp::Ordering::Less => a.is_some(),
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Greater => a.is_none(),
        });
        consistent.then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every question, `correct` of them (the first ones) correctly.
    fn finished_with(correct: usize) -> QuizState {
        let mut quiz = QuizState::new();
        for (q, question) in QUESTIONS.iter().enumerate() {
            let choice = if q < correct { question.answer } else { (question.answer + 1) % CHOICES };
            quiz.commit(choice).unwrap();
            quiz.advance().unwrap();
        }
        quiz
    }

    #[test]
    fn every_question_has_four_explained_options_and_one_answer() {
        assert_eq!(TOTAL, 5);
        for question in &QUESTIONS {
            assert!(question.answer < CHOICES, "{}", question.topic);
            assert_eq!((0..CHOICES).filter(|&c| question.is_correct(c)).count(), 1);
            for choice in &question.choices {
                assert!(!choice.text.is_empty() && !choice.why.is_empty(), "{}", question.topic);
            }
        }
        let anchors: std::collections::HashSet<&str> = QUESTIONS.iter().map(|q| q.shown_in.0).collect();
        assert_eq!(anchors.len(), TOTAL, "each question points at its own lab");
        for question in &QUESTIONS {
            let (anchor, name) = question.shown_in;
            assert!(!name.is_empty() && !anchor.is_empty(), "{}", question.topic);
            assert!(anchor.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "an id, not a URL: {anchor}");
        }
        let positions: std::collections::HashSet<usize> = QUESTIONS.iter().map(|q| q.answer).collect();
        assert!(positions.len() > 1, "the right answer is not always in the same place");
    }

    #[test]
    fn score_counts_correct_answers_only() {
        let mut quiz = QuizState::new();
        assert_eq!(quiz.score(), 0);
        assert_eq!(quiz.commit(QUESTIONS[0].answer), Ok(true));
        assert_eq!(quiz.score(), 1);
        quiz.advance().unwrap();
        assert_eq!(quiz.commit((QUESTIONS[1].answer + 1) % CHOICES), Ok(false));
        assert_eq!((quiz.score(), quiz.answered()), (1, 2));
        assert_eq!(quiz.is_correct(1), Some(false));
        assert_eq!(quiz.is_correct(2), None);
        for n in 0..=TOTAL {
            let quiz = finished_with(n);
            assert_eq!(quiz.score(), n);
            assert!(quiz.is_finished());
            assert_eq!(quiz.current(), None);
        }
    }

    #[test]
    fn an_answer_is_committed_once() {
        let mut quiz = QuizState::new();
        assert_eq!(quiz.advance(), Err(QuizError::NotAnswered), "no moving on without predicting");
        assert_eq!(quiz.commit(CHOICES), Err(QuizError::NoSuchChoice(CHOICES)));
        assert_eq!(quiz.answer(0), None);
        quiz.commit(0).unwrap();
        assert_eq!(quiz.commit(1), Err(QuizError::AlreadyAnswered));
        assert_eq!(quiz.answer(0), Some(0), "the first answer stands");
        quiz.advance().unwrap();
        assert_eq!(quiz.current(), Some(1));
        let mut done = finished_with(3);
        assert_eq!(done.commit(0), Err(QuizError::Finished));
        assert_eq!(done.advance(), Err(QuizError::Finished));
    }

    #[test]
    fn retry_starts_over() {
        let mut quiz = finished_with(4);
        quiz.retry();
        assert_eq!(quiz, QuizState::new());
        assert_eq!((quiz.current(), quiz.score(), quiz.answered()), (Some(0), 0, 0));
        assert!(!quiz.is_finished());
        assert_eq!(quiz.commit(2), Ok(QUESTIONS[0].answer == 2));
    }

    #[test]
    fn saved_form_round_trips() {
        let mut quiz = QuizState::new();
        let mut seen = vec![quiz.clone()];
        for question in &QUESTIONS {
            quiz.commit(question.answer).unwrap();
            seen.push(quiz.clone());
            quiz.advance().unwrap();
            seen.push(quiz.clone());
        }
        seen.push(finished_with(2));
        for state in seen {
            let saved = state.to_saved();
            assert!(saved.len() <= 12, "compact: {saved}");
            assert_eq!(QuizState::from_saved(&saved), state, "{saved}");
        }
        let mut quiz = QuizState::new();
        quiz.commit(3).unwrap();
        assert_eq!(quiz.to_saved(), "q1:0:3----");
    }

    #[test]
    fn garbage_restores_a_fresh_quiz() {
        let fresh = QuizState::new();
        let long = "9".repeat(10_000);
        let garbage = [
            "",
            "   ",
            "null",
            "undefined",
            "{\"current\":2}",
            "q1",
            "q1:",
            "q1::",
            "q1:0:",
            "q1:0:-----:",
            "q0:0:-----",
            "q2:1:0----",
            "q1:6:01230",
            "q1:-1:-----",
            "q1:01:0----",
            "q1:x:-----",
            "q1:0:------",
            "q1:0:----",
            "q1:0:4----",
            "q1:0:a----",
            "q1:0:é----",
            "q1:0:٣----",
            "q1:2:0----",
            "q1:1:--0--",
            "q1:0:00---",
            "q1:5:0123-",
            long.as_str(),
        ];
        for saved in garbage {
            assert_eq!(QuizState::from_saved(saved), fresh, "{saved:?}");
        }
        assert_eq!(QuizState::from_saved(" q1:1:2---- \n").answer(0), Some(2), "whitespace is tolerated");
    }
}
