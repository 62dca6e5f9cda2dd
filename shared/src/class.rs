//! Classes: an instructor's group of students following the lesson together, as JSON.
//!
//! An instructor (holding the server's instructor token) creates a class and gets a short
//! join code. A student's lab joins it under a display name they choose; nothing else is
//! collected. From then on the page reports the student's progress (sections visited,
//! predictions, quiz answers, labs run) and the instructor's view shows the class live.
//! Without a code the page works exactly as without classes.
//!
//! - `POST /api/classes` `{name}` → [`ClassInfo`] (instructor).
//! - `GET /api/classes/{id}` → [`ClassView`] (instructor); `…/results.csv` the same as CSV.
//! - `POST /api/class/join` `{code, name}` → [`Joined`] (a lab device).
//! - `POST /api/class/progress` [`Progress`] (a lab device of a joined lab).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::lab::LabId;
use crate::lab_load::LoadView;

/// A class's id.
pub type ClassId = Uuid;

/// The letters a join code is made of: no 0/O, 1/I/L, so it can be read off a projector
/// and typed without doubt.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a join code.
pub const CODE_LEN: usize = 6;
/// Longest class or display name, in characters.
pub const MAX_NAME_CHARS: usize = 40;
/// Longest progress key (a section, question or lab name) and answer, in characters.
pub const MAX_KEY_CHARS: usize = 64;
pub const MAX_ANSWER_CHARS: usize = 200;

/// A class as the instructor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassInfo {
    pub class_id: ClassId,
    pub name: String,
    /// What students type, or find in the join link (`/?class=CODE`).
    pub code: String,
    pub created_at: i64,
}

/// `POST /api/classes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClass {
    pub name: String,
}

/// `POST /api/class/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinClass {
    pub code: String,
    pub name: String,
}

/// The answer to a join, and `GET /api/class`: the student's class and name in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    pub class_id: ClassId,
    pub class_name: String,
    pub name: String,
}

/// One thing a student did, as the page reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Progress {
    /// A section of the lesson came into view (its anchor id, e.g. `offline`).
    Section { key: String },
    /// A lab prediction committed (its key) and, once the run revealed it, whether it
    /// was right.
    Prediction { key: String, answer: String, correct: Option<bool> },
    /// A quiz question answered (its number, from 1) and whether it was right.
    Quiz { key: String, answer: String, correct: bool },
    /// A lab was run (its name, e.g. `fanout`).
    Lab { key: String },
}

impl Progress {
    /// The kind as stored and exported: `section`, `prediction`, `quiz`, `lab`.
    pub fn kind(&self) -> &'static str {
        match self {
            Progress::Section { .. } => "section",
            Progress::Prediction { .. } => "prediction",
            Progress::Quiz { .. } => "quiz",
            Progress::Lab { .. } => "lab",
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Progress::Section { key }
            | Progress::Prediction { key, .. }
            | Progress::Quiz { key, .. }
            | Progress::Lab { key } => key,
        }
    }

    /// The answer and its verdict, for the kinds that have one.
    pub fn answer(&self) -> Option<(&str, Option<bool>)> {
        match self {
            Progress::Prediction { answer, correct, .. } => Some((answer, *correct)),
            Progress::Quiz { answer, correct, .. } => Some((answer, Some(*correct))),
            _ => None,
        }
    }

    /// Why the report cannot be kept, as a sentence; `None` if it can.
    pub fn refusal(&self) -> Option<String> {
        let key = self.key();
        if key.is_empty()
            || key.chars().count() > MAX_KEY_CHARS
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Some(format!(
                "key must be 1 to {MAX_KEY_CHARS} letters, digits, '-' or '_' (a section, question or lab name)"
            ));
        }
        if let Some((answer, _)) = self.answer()
            && (answer.chars().count() > MAX_ANSWER_CHARS || answer.chars().any(char::is_control))
        {
            return Some(format!("answer must be at most {MAX_ANSWER_CHARS} characters, without control characters"));
        }
        None
    }
}

/// A class or display name, trimmed and checked: 1 to [`MAX_NAME_CHARS`] characters,
/// no control characters. The error is a sentence for the person who typed it.
pub fn clean_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a name must be 1 to {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("a name may not hold control characters (tabs, new lines)".into());
    }
    Ok(name.to_string())
}

/// A join code as typed (any case, spaces and dashes ignored), or `None` if it cannot
/// be one.
pub fn clean_code(raw: &str) -> Option<String> {
    let code: String =
        raw.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// A new join code from `draw`, a source of random numbers (called [`CODE_LEN`] times).
pub fn new_code(mut draw: impl FnMut() -> u32) -> String {
    (0..CODE_LEN).map(|_| CODE_ALPHABET[draw() as usize % CODE_ALPHABET.len()] as char).collect()
}

/// One answer of a student: the first one counts for the class's tally (it shows what
/// the student thought before the lab told them), the latest is shown too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub key: String,
    pub first: String,
    pub first_correct: Option<bool>,
    pub latest: String,
    pub correct: Option<bool>,
    pub at: i64,
}

/// One student of a class, as the instructor's view lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentView {
    /// The student's lab (their browser).
    pub student: LabId,
    pub name: String,
    pub joined_at: i64,
    /// Whether any of the student's lab phones is connected right now.
    pub online: bool,
    /// Sections visited, in the order first seen.
    pub sections: Vec<String>,
    pub labs: Vec<String>,
    pub predictions: Vec<Answer>,
    pub quiz: Vec<Answer>,
    /// When the student last did anything the class records.
    pub last_active_at: i64,
}

/// The server as the class uses it, for the instructor's health line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClassHealth {
    /// WebSocket connections on the server (every class, load runs and crowds included).
    pub connections: u32,
    pub students_online: u32,
    /// Simulated crowd members running on the server.
    pub crowd_members: u32,
    pub load_running: bool,
    pub load_queued: u32,
    /// The store's writer over the last few seconds.
    #[serde(default)]
    pub writer: WriterHealth,
}

/// How busy the store's single writer is, over the last few seconds: what every
/// message's SENT waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WriterHealth {
    /// Messages stored per second.
    pub msgs_per_sec: u32,
    /// Commits (each one fsync) per second.
    pub commits_per_sec: u32,
    /// How long a commit took, statements and fsync, median and 99th percentile
    /// (microseconds; 0 without commits).
    pub commit_p50_us: u32,
    pub commit_p99_us: u32,
}

/// `GET /api/classes/{id}`: the class now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassView {
    pub class: ClassInfo,
    pub students: Vec<StudentView>,
    pub health: ClassHealth,
    /// The run the instructor put on the projector, while it is shown.
    #[serde(default)]
    pub projector: Option<LoadView>,
}

impl ClassView {
    /// The view after `frame` (a snapshot replaces it; a student's row replaces theirs or
    /// joins the list; health sets who is connected).
    pub fn apply(&mut self, frame: TeachFrame) {
        match frame {
            TeachFrame::Snapshot { view } => *self = view,
            TeachFrame::Student { student } => match self.students.iter_mut().find(|s| s.student == student.student) {
                Some(row) => *row = student,
                None => self.students.push(student),
            },
            TeachFrame::Health { health, online } => {
                self.health = health;
                for student in &mut self.students {
                    student.online = online.contains(&student.student);
                }
            }
            TeachFrame::Projector { projector } => self.projector = projector,
        }
    }
}

/// What the instructor's page receives over its WebSocket
/// (`/api/classes/{id}/watch`, first frame from the page: `{"token": "…"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TeachFrame {
    /// The whole class, first and after anything the page may have missed.
    Snapshot { view: ClassView },
    /// One student's row, changed (joined, renamed, made progress).
    Student { student: StudentView },
    /// Who is connected and the server's health, when either changed.
    Health { health: ClassHealth, online: Vec<LabId> },
    /// The projector's run changed (it started, moved on a second, ended), or the
    /// instructor cleared it (`None`).
    Projector { projector: Option<LoadView> },
}

/// What a student's page receives over its class socket (`/api/class/watch`, first
/// frame from the page: `{"token": "<device id>:<token>"}`): the run the instructor put
/// on the projector, first as it is now, then whenever it changes. Read-only: nothing a
/// student sends on this socket or to the lab API can start, stop or change it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClassFrame {
    Projector { projector: Option<LoadView> },
}

/// The page's first frame on a watch socket: the instructor token on the instructor's,
/// a lab device's `<device id>:<token>` on a student's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchHello {
    pub token: String,
}

/// How the class answered one question: each answer given first, how many gave it, and
/// whether it is right, most common first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub key: String,
    pub answers: Vec<(String, u32, Option<bool>)>,
}

/// The class's tally of `pick`'s answers (quiz or predictions), questions in key order.
pub fn tally(students: &[StudentView], pick: impl Fn(&StudentView) -> &[Answer]) -> Vec<Tally> {
    let mut tallies: Vec<Tally> = Vec::new();
    for answer in students.iter().flat_map(|s| pick(s).iter()) {
        let at = match tallies.binary_search_by(|t| t.key.as_str().cmp(&answer.key)) {
            Ok(at) => at,
            Err(at) => {
                tallies.insert(at, Tally { key: answer.key.clone(), answers: Vec::new() });
                at
            }
        };
        let answers = &mut tallies[at].answers;
        match answers.iter_mut().find(|(a, _, _)| *a == answer.first) {
            Some(seen) => seen.1 += 1,
            None => answers.push((answer.first.clone(), 1, answer.first_correct)),
        }
    }
    for t in &mut tallies {
        t.answers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    tallies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_any_way_they_are_typed_and_never_hold_look_alikes() {
        assert_eq!(clean_code(" abc-def "), Some("ABCDEF".into()));
        assert_eq!(clean_code("ABCDE"), None, "too short");
        assert_eq!(clean_code("ABCDE0"), None, "0 is not in the alphabet");
        let mut n = 0;
        let code = new_code(|| {
            n += 7;
            n
        });
        assert_eq!(code.len(), CODE_LEN);
        assert_eq!(clean_code(&code), Some(code.clone()));
        assert!(!code.contains(['0', 'O', '1', 'I', 'L']));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Ada  "), Ok("Ada".into()));
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(clean_name("a\nb").is_err());
        assert_eq!(clean_name(&"é".repeat(MAX_NAME_CHARS)).map(|n| n.chars().count()), Ok(MAX_NAME_CHARS));
    }

    #[test]
    fn progress_keys_and_answers_are_checked() {
        assert_eq!(Progress::Section { key: "offline".into() }.refusal(), None);
        assert!(Progress::Lab { key: "".into() }.refusal().is_some());
        assert!(Progress::Lab { key: "a b".into() }.refusal().is_some());
        let long = Progress::Quiz { key: "q1".into(), answer: "x".repeat(MAX_ANSWER_CHARS + 1), correct: false };
        assert!(long.refusal().is_some());
        let json = r#"{"kind":"quiz","key":"q2","answer":"Kafka","correct":true}"#;
        let parsed: Progress = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, Progress::Quiz { key: "q2".into(), answer: "Kafka".into(), correct: true });
    }

    fn student(answers: &[(&str, &str, bool)]) -> StudentView {
        StudentView {
            student: Uuid::nil(),
            name: "s".into(),
            joined_at: 0,
            online: false,
            sections: vec![],
            labs: vec![],
            predictions: vec![],
            quiz: answers
                .iter()
                .map(|(k, a, c)| Answer {
                    key: k.to_string(),
                    first: a.to_string(),
                    first_correct: Some(*c),
                    latest: a.to_string(),
                    correct: Some(*c),
                    at: 0,
                })
                .collect(),
            last_active_at: 0,
        }
    }

    #[test]
    fn frames_update_the_view_in_place() {
        let info = ClassInfo { class_id: Uuid::nil(), name: "c".into(), code: "ABCDEF".into(), created_at: 0 };
        let mut view = ClassView { class: info, students: vec![], health: ClassHealth::default(), projector: None };
        let mut ada = student(&[]);
        ada.student = Uuid::from_u128(1);
        view.apply(TeachFrame::Student { student: ada.clone() });
        ada.sections.push("ticks".into());
        view.apply(TeachFrame::Student { student: ada.clone() });
        assert_eq!(view.students.len(), 1);
        assert_eq!(view.students[0].sections, ["ticks"]);
        let health = ClassHealth { connections: 3, ..ClassHealth::default() };
        view.apply(TeachFrame::Health { health, online: vec![ada.student] });
        assert!(view.students[0].online);
        assert_eq!(view.health.connections, 3);
        view.apply(TeachFrame::Health { health, online: vec![] });
        assert!(!view.students[0].online);
    }

    #[test]
    fn the_tally_counts_first_answers_most_common_first() {
        let class = [
            student(&[("q2", "B", false), ("q1", "A", true)]),
            student(&[("q1", "C", false)]),
            student(&[("q1", "C", false)]),
        ];
        let tallies = tally(&class, |s| &s.quiz);
        assert_eq!(tallies.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), ["q1", "q2"]);
        assert_eq!(tallies[0].answers, [("C".into(), 2, Some(false)), ("A".into(), 1, Some(true))]);
    }
}
