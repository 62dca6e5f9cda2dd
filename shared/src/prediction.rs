//! Predict, then reveal, inside the labs: before a key action the page asks what will
//! happen, the student commits an answer, the real system runs, and the page says
//! whether the prediction held, from what the system actually did.
//!
//! Why commit first: an answer given after the result is a guess dressed up as
//! knowledge. So [`PredictionBook::commit`] keeps the first answer, and
//! [`PredictionBook::reveal`] takes what really happened (as the option it matches);
//! only [`PredictionBook::forget`] clears one prediction to try again.
//!
//! The functions below ([`arrival_order`], [`rows_option`], [`secrecy_option`]) turn
//! a lab's real outcome into the option it matches, so the verdict is computed, never
//! assumed.
//!
//! Like the quiz, the book has a compact saved form for the page's `localStorage`;
//! [`PredictionBook::from_saved`] accepts only what [`PredictionBook::to_saved`] can
//! write and otherwise starts fresh. It never panics.

/// Marks the saved form's layout; bump it when the predictions change meaning.
const SAVED_VERSION: &str = "p1";

/// The page's predictions, in the order the lesson reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PredictionId {
    /// The offline queue: in what order does Bob's backlog arrive?
    OfflineOrder,
    /// The retry storm: how many rows does one id sent 21 times leave?
    RetryRows,
    /// Forward secrecy: does today's stolen session open yesterday's message?
    ForwardSecrecy,
}

/// One prediction's question and options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    pub id: PredictionId,
    /// A short name for the `localStorage` key, test ids and anchors.
    pub key: &'static str,
    pub question: &'static str,
    pub options: &'static [&'static str],
}

/// How many times the retry storm resends the id after the first send.
pub const STORM_RESENDS: u32 = 20;

pub const PREDICTIONS: [Prediction; 3] = [
    Prediction {
        id: PredictionId::OfflineOrder,
        key: "offline-order",
        question: "When Bob reconnects, in what order do the waiting messages arrive?",
        options: &["In the order Alice sent them", "Newest first", "In any order"],
    },
    Prediction {
        id: PredictionId::RetryRows,
        key: "retry-rows",
        question: "Alice's phone sends one message, hears no ack, and resends the same id 20 times. How many rows \
                   does the messages table hold for it?",
        options: &["1 row", "20 rows", "21 rows"],
    },
    Prediction {
        id: PredictionId::ForwardSecrecy,
        key: "forward-secrecy",
        question: "A thief steals Bob's session keys today. Can they decrypt the message Alice sent earlier, \
                   which they copied off the wire?",
        options: &["Yes: the session they stole decrypts it", "No: that message's key no longer exists"],
    },
];

/// How many predictions the page asks for.
pub const TOTAL: usize = PREDICTIONS.len();

impl PredictionId {
    pub const ALL: [PredictionId; TOTAL] =
        [PredictionId::OfflineOrder, PredictionId::RetryRows, PredictionId::ForwardSecrecy];

    fn index(self) -> usize {
        self as usize
    }

    /// Its question and options.
    pub fn prediction(self) -> &'static Prediction {
        &PREDICTIONS[self.index()]
    }
}

/// Why a step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PredictionError {
    #[error("this prediction is already made")]
    AlreadyMade,
    #[error("there is no option {0}")]
    NoSuchOption(usize),
    #[error("make the prediction before the reveal")]
    NotMade,
    #[error("this prediction is already revealed")]
    AlreadyRevealed,
}

/// One prediction as the student made it: their option, and the option the lab's
/// real outcome matched once it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub choice: usize,
    pub actual: Option<usize>,
}

impl Record {
    /// Whether the prediction held (`None` until revealed).
    pub fn held(&self) -> Option<bool> {
        self.actual.map(|a| a == self.choice)
    }
}

/// Every prediction on the page and how it went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PredictionBook {
    records: [Option<Record>; TOTAL],
}

impl PredictionBook {
    pub fn new() -> PredictionBook {
        PredictionBook::default()
    }

    pub fn record(&self, id: PredictionId) -> Option<Record> {
        self.records[id.index()]
    }

    /// Commits `choice` for `id`. The first answer stands.
    pub fn commit(&mut self, id: PredictionId, choice: usize) -> Result<(), PredictionError> {
        if choice >= id.prediction().options.len() {
            return Err(PredictionError::NoSuchOption(choice));
        }
        let slot = &mut self.records[id.index()];
        if slot.is_some() {
            return Err(PredictionError::AlreadyMade);
        }
        *slot = Some(Record { choice, actual: None });
        Ok(())
    }

    /// Records what really happened (as the option it matched) and says whether the
    /// prediction held.
    pub fn reveal(&mut self, id: PredictionId, actual: usize) -> Result<bool, PredictionError> {
        if actual >= id.prediction().options.len() {
            return Err(PredictionError::NoSuchOption(actual));
        }
        let record = self.records[id.index()].as_mut().ok_or(PredictionError::NotMade)?;
        if record.actual.is_some() {
            return Err(PredictionError::AlreadyRevealed);
        }
        record.actual = Some(actual);
        Ok(actual == record.choice)
    }

    /// Clears one prediction so the student can make it again.
    pub fn forget(&mut self, id: PredictionId) {
        self.records[id.index()] = None;
    }

    /// Predictions committed so far.
    pub fn made(&self) -> usize {
        self.records.iter().flatten().count()
    }

    /// Predictions that held.
    pub fn right(&self) -> usize {
        self.records.iter().flatten().filter(|r| r.held() == Some(true)).count()
    }

    /// The progress line, e.g. "Predictions: 2 of 3 made, 1 right".
    pub fn summary(&self) -> String {
        format!("Predictions: {} of {TOTAL} made, {} right", self.made(), self.right())
    }

    /// The book as a short string, e.g. `p1:00-2--`: two characters per prediction, the
    /// option chosen and the option revealed, `-` for not yet.
    pub fn to_saved(&self) -> String {
        let digit = |n: Option<usize>| n.and_then(|n| char::from_digit(n as u32, 10)).unwrap_or('-');
        let body: String =
            self.records.iter().flat_map(|r| [digit(r.map(|r| r.choice)), digit(r.and_then(|r| r.actual))]).collect();
        format!("{SAVED_VERSION}:{body}")
    }

    /// Reads what [`to_saved`](Self::to_saved) wrote; anything else is a fresh book.
    pub fn from_saved(saved: &str) -> PredictionBook {
        PredictionBook::parse(saved.trim()).unwrap_or_default()
    }

    fn parse(saved: &str) -> Option<PredictionBook> {
        let body = saved.strip_prefix(SAVED_VERSION)?.strip_prefix(':')?;
        let chars: Vec<char> = body.chars().collect();
        if chars.len() != TOTAL * 2 {
            return None;
        }
        let mut book = PredictionBook::new();
        for (id, pair) in PredictionId::ALL.into_iter().zip(chars.chunks(2)) {
            let options = id.prediction().options.len();
            let option = |c: char| c.to_digit(10).map(|d| d as usize).filter(|&d| d < options);
            book.records[id.index()] = match (pair[0], pair[1]) {
                ('-', '-') => None,
                ('-', _) => return None,
                (choice, '-') => Some(Record { choice: option(choice)?, actual: None }),
                (choice, actual) => Some(Record { choice: option(choice)?, actual: Some(option(actual)?) }),
            };
        }
        Some(book)
    }
}

/// The option of [`PredictionId::OfflineOrder`] that `arrived` matches, given the order
/// the same messages were `sent` in: 0 for the same order, 1 for exactly reversed, 2 for
/// anything else (including a missing or extra message). `None` for fewer than two
/// messages, where order says nothing.
pub fn arrival_order<T: PartialEq>(sent: &[T], arrived: &[T]) -> Option<usize> {
    if sent.len() < 2 {
        return None;
    }
    Some(if sent == arrived {
        0
    } else if sent.len() == arrived.len() && sent.iter().rev().eq(arrived.iter()) {
        1
    } else {
        2
    })
}

/// The option of [`PredictionId::RetryRows`] that the server's row count matches:
/// 1 row → 0, one per resend → 1, one per send frame → 2; any other count matches none.
pub fn rows_option(stored_rows: u64) -> Option<usize> {
    match stored_rows {
        1 => Some(0),
        n if n == STORM_RESENDS as u64 => Some(1),
        n if n == STORM_RESENDS as u64 + 1 => Some(2),
        _ => None,
    }
}

/// The option of [`PredictionId::ForwardSecrecy`] that the replay matched.
pub fn secrecy_option(decrypted: bool) -> usize {
    if decrypted { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PredictionId::*;

    #[test]
    fn every_prediction_is_in_page_order_with_two_to_four_options() {
        for (i, id) in PredictionId::ALL.into_iter().enumerate() {
            assert_eq!(PREDICTIONS[i].id, id);
            assert!((2..=4).contains(&id.prediction().options.len()), "{:?}", id);
        }
        let keys: std::collections::HashSet<_> = PREDICTIONS.iter().map(|p| p.key).collect();
        assert_eq!(keys.len(), TOTAL);
    }

    #[test]
    fn progress_counts_made_and_right() {
        let mut book = PredictionBook::new();
        assert_eq!(book.summary(), "Predictions: 0 of 3 made, 0 right");
        book.commit(OfflineOrder, 0).unwrap();
        book.commit(RetryRows, 2).unwrap();
        assert_eq!((book.made(), book.right()), (2, 0), "unrevealed predictions are not right yet");
        assert_eq!(book.reveal(OfflineOrder, 0), Ok(true));
        assert_eq!(book.reveal(RetryRows, 0), Ok(false));
        assert_eq!(book.summary(), "Predictions: 2 of 3 made, 1 right");
        assert_eq!(book.record(RetryRows), Some(Record { choice: 2, actual: Some(0) }));
        assert_eq!(book.record(RetryRows).unwrap().held(), Some(false));
        assert_eq!(book.record(ForwardSecrecy), None);
    }

    #[test]
    fn a_prediction_is_committed_once_and_revealed_once() {
        let mut book = PredictionBook::new();
        assert_eq!(book.reveal(ForwardSecrecy, 1), Err(PredictionError::NotMade), "no reveal before the prediction");
        assert_eq!(book.commit(ForwardSecrecy, 2), Err(PredictionError::NoSuchOption(2)), "two options only");
        book.commit(ForwardSecrecy, 0).unwrap();
        assert_eq!(book.commit(ForwardSecrecy, 1), Err(PredictionError::AlreadyMade));
        assert_eq!(book.reveal(ForwardSecrecy, 5), Err(PredictionError::NoSuchOption(5)));
        assert_eq!(book.reveal(ForwardSecrecy, 1), Ok(false));
        assert_eq!(book.reveal(ForwardSecrecy, 0), Err(PredictionError::AlreadyRevealed), "the first outcome stands");
        assert_eq!(book.record(ForwardSecrecy).unwrap().choice, 0, "the first answer stands");
        book.forget(ForwardSecrecy);
        assert_eq!(book.made(), 0);
        book.commit(ForwardSecrecy, 1).unwrap();
    }

    #[test]
    fn saved_form_round_trips() {
        let mut book = PredictionBook::new();
        let mut seen = vec![book.clone()];
        book.commit(RetryRows, 2).unwrap();
        seen.push(book.clone());
        assert_eq!(book.to_saved(), "p1:--2---");
        book.reveal(RetryRows, 0).unwrap();
        book.commit(OfflineOrder, 1).unwrap();
        seen.push(book.clone());
        assert_eq!(book.to_saved(), "p1:1-20--");
        book.commit(ForwardSecrecy, 1).unwrap();
        book.reveal(ForwardSecrecy, 1).unwrap();
        seen.push(book.clone());
        for state in seen {
            assert_eq!(PredictionBook::from_saved(&state.to_saved()), state);
        }
    }

    #[test]
    fn garbage_restores_a_fresh_book() {
        let long = "0".repeat(10_000);
        for saved in [
            "",
            "p1",
            "p1:",
            "p0:------",
            "p1:-----",
            "p1:-------",
            "p1:-0----",
            "p1:3-----",
            "p1:----2-",
            "p1:--3---",
            "p1:x-----",
            "p1:٣-----",
            "q1:0:-----",
            "null",
            &long,
        ] {
            assert_eq!(PredictionBook::from_saved(saved), PredictionBook::new(), "{saved:?}");
        }
        assert_eq!(PredictionBook::from_saved(" p1:00---- \n").right(), 1, "whitespace is tolerated");
    }

    #[test]
    fn the_real_arrival_order_picks_the_option() {
        assert_eq!(arrival_order(&[1, 2, 3], &[1, 2, 3]), Some(0));
        assert_eq!(arrival_order(&[1, 2, 3], &[3, 2, 1]), Some(1));
        assert_eq!(arrival_order(&[1, 2, 3], &[2, 1, 3]), Some(2));
        assert_eq!(arrival_order(&[1, 2, 3], &[1, 2]), Some(2), "a missing message is not in order");
        assert_eq!(arrival_order(&[1, 2, 3], &[3, 2, 1, 1]), Some(2), "a duplicate is not a reversal");
        assert_eq!(arrival_order(&[1], &[1]), None, "one message has no order");
    }

    #[test]
    fn the_real_counts_pick_the_option() {
        assert_eq!(rows_option(1), Some(0));
        assert_eq!(rows_option(20), Some(1));
        assert_eq!(rows_option(21), Some(2));
        assert_eq!(rows_option(0), None);
        assert_eq!(rows_option(2), None);
        assert_eq!(secrecy_option(false), 1);
        assert_eq!(secrecy_option(true), 0);
    }
}
