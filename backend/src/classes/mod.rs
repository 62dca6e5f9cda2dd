//! Classes on the server: the instructor's live view of a class.
//!
//! The store keeps the class, its students (labs under a display name) and their
//! progress ([`crate::store::Classes`]). Here the server adds what only it knows, which
//! students are connected right now and how busy it is, and pushes every change to the
//! instructor's page: [`hub`] holds the watching sockets per class, [`watch`] is the
//! instructor's socket. [`projector`] is the run the instructor shows the whole class,
//! and [`follow`] a student's socket that shows it on their page, read-only.

pub mod follow;
pub mod hub;
pub mod projector;
pub mod watch;

use std::collections::HashMap;
use std::sync::Mutex;

use bluetick_shared::class::{ClassHealth, ClassId, ClassView, StudentView, TeachFrame};
use bluetick_shared::frames::DeviceId;
use bluetick_shared::lab::LabId;

use crate::error::AppError;
use crate::state::AppState;
use hub::Audience;

/// The lab's own phones (You, Alice, Bob): a student is connected while one of them is.
const STUDENT_DEVICES: i64 = 3;

/// Each student lab's own phones, looked up once: a lab's first three devices are made
/// with it and never change, and the watch asks every second.
#[derive(Default)]
pub struct LabPhones {
    phones: Mutex<HashMap<LabId, Vec<DeviceId>>>,
}

impl LabPhones {
    async fn of(&self, state: &AppState, lab: LabId) -> Result<Vec<DeviceId>, AppError> {
        if let Some(phones) = self.phones.lock().unwrap().get(&lab) {
            return Ok(phones.clone());
        }
        let members = state.store.lab_members(lab, STUDENT_DEVICES).await?;
        let phones: Vec<DeviceId> = members.iter().map(|m| m.device).collect();
        // A lab still being made has fewer; ask again next time rather than keep that.
        if phones.len() as i64 == STUDENT_DEVICES {
            self.phones.lock().unwrap().insert(lab, phones.clone());
        }
        Ok(phones)
    }

    /// Forgets a deleted lab.
    pub fn forget(&self, lab: LabId) {
        self.phones.lock().unwrap().remove(&lab);
    }
}

/// Whether any of the lab's own phones is connected.
pub async fn lab_online(state: &AppState, lab: LabId) -> Result<bool, AppError> {
    let phones = state.lab_phones.of(state, lab).await?;
    Ok(phones.iter().any(|device| state.connections.is_online(*device)))
}

/// The class's students with who is connected filled in.
pub async fn students(state: &AppState, class: ClassId) -> Result<Vec<StudentView>, AppError> {
    let mut students = state.store.class_students(class).await?;
    for student in &mut students {
        student.online = lab_online(state, student.student).await?;
    }
    Ok(students)
}

/// The server as the class sees it.
pub fn health(state: &AppState, students: &[StudentView]) -> ClassHealth {
    let (load_running, load_queued) = state.load.load_now();
    ClassHealth {
        connections: state.connections.count() as u32,
        students_online: students.iter().filter(|s| s.online).count() as u32,
        crowd_members: state.crowds.members() as u32,
        load_running,
        load_queued,
        writer: state.store.writer_health(),
    }
}

/// The whole class now; `None` if there is no such class.
pub async fn view(state: &AppState, class: ClassId) -> Result<Option<ClassView>, AppError> {
    let Some(info) = state.store.class(class).await? else { return Ok(None) };
    let students = students(state, class).await?;
    let health = health(state, &students);
    let projector = state.projectors.view(state, class);
    Ok(Some(ClassView { class: info, students, health, projector }))
}

/// Tells the class's watchers that `lab`'s row changed.
pub async fn publish_student(state: &AppState, class: ClassId, lab: LabId) -> Result<(), AppError> {
    if !state.class_hub.is_watched(class, Audience::Instructor) {
        return Ok(());
    }
    if let Some(mut student) = state.store.class_student(class, lab).await? {
        student.online = lab_online(state, lab).await?;
        state.class_hub.publish(class, Audience::Instructor, &TeachFrame::Student { student });
    }
    Ok(())
}
