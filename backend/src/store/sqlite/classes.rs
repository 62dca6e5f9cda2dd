//! Classes in the database: the class and its join code, which lab is which student,
//! and each student's progress (first and latest answer per question).

use bluetick_shared::class::{Answer, ClassId, ClassInfo, Progress, StudentView, new_code};
use bluetick_shared::lab::LabId;
use uuid::Uuid;

use super::{SqliteStore, uuid};
use crate::store::{Classes, StorageError};

/// Join codes drawn before giving up (31⁶ ≈ 887 million codes: a clash is rare, ten in
/// a row means something else is wrong).
const CODE_ATTEMPTS: usize = 10;

type ClassRow = (String, String, String, i64);

fn class_info((id, code, name, created_at): ClassRow) -> Result<ClassInfo, StorageError> {
    Ok(ClassInfo { class_id: uuid(&id)?, code, name, created_at })
}

/// A progress row: lab, kind, key, first answer, first verdict, answer, verdict, at.
type ProgressRow = (String, String, String, Option<String>, Option<bool>, Option<String>, Option<bool>, i64);

#[async_trait::async_trait]
impl Classes for SqliteStore {
    async fn create_class(&self, name: &str, now: i64) -> Result<ClassInfo, StorageError> {
        let id = Uuid::now_v7();
        for _ in 0..CODE_ATTEMPTS {
            let code = new_code(|| fastrand::u32(..));
            let done = sqlx::query(
                "INSERT INTO classes (id, code, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(&code)
            .bind(name)
            .bind(now)
            .execute(self.pool())
            .await?;
            if done.rows_affected() == 1 {
                return Ok(ClassInfo { class_id: id, code, name: name.to_string(), created_at: now });
            }
        }
        Err(StorageError::Corrupt(format!("no free join code after {CODE_ATTEMPTS} draws")))
    }

    async fn classes(&self) -> Result<Vec<ClassInfo>, StorageError> {
        let rows: Vec<ClassRow> = sqlx::query_as("SELECT id, code, name, created_at FROM classes ORDER BY created_at")
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(class_info).collect()
    }

    async fn class(&self, class: ClassId) -> Result<Option<ClassInfo>, StorageError> {
        let row: Option<ClassRow> = sqlx::query_as("SELECT id, code, name, created_at FROM classes WHERE id = ?")
            .bind(class.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(class_info).transpose()
    }

    async fn class_by_code(&self, code: &str) -> Result<Option<ClassInfo>, StorageError> {
        let row: Option<ClassRow> = sqlx::query_as("SELECT id, code, name, created_at FROM classes WHERE code = ?")
            .bind(code)
            .fetch_optional(self.pool())
            .await?;
        row.map(class_info).transpose()
    }

    async fn join_class(&self, class: ClassId, lab: LabId, name: &str, now: i64) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO class_students (lab_id, class_id, name, joined_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (lab_id) DO UPDATE SET
                 name = excluded.name,
                 joined_at = CASE WHEN class_id = excluded.class_id THEN joined_at ELSE excluded.joined_at END,
                 class_id = excluded.class_id",
        )
        .bind(lab.to_string())
        .bind(class.to_string())
        .bind(name)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn lab_class(&self, lab: LabId) -> Result<Option<(ClassInfo, String)>, StorageError> {
        let row: Option<(String, String, String, i64, String)> = sqlx::query_as(
            "SELECT c.id, c.code, c.name, c.created_at, s.name FROM class_students s
             JOIN classes c ON c.id = s.class_id WHERE s.lab_id = ?",
        )
        .bind(lab.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|(id, code, class_name, created_at, name)| Ok((class_info((id, code, class_name, created_at))?, name)))
            .transpose()
    }

    async fn record_progress(&self, lab: LabId, progress: &Progress, now: i64) -> Result<(), StorageError> {
        let (answer, correct) = progress.answer().map_or((None, None), |(a, c)| (Some(a), c));
        // A later answer replaces the latest only; a prediction's verdict arrives after
        // its answer (the run reveals it) and fills the first verdict while it is unset.
        sqlx::query(
            "INSERT INTO class_progress (lab_id, kind, key, first_answer, first_correct, answer, correct, seq, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM class_progress WHERE lab_id = ?1), ?6)
             ON CONFLICT (lab_id, kind, key) DO UPDATE SET
                 first_correct = CASE
                     WHEN first_correct IS NULL AND first_answer IS excluded.answer THEN excluded.correct
                     ELSE first_correct END,
                 answer = excluded.answer,
                 correct = excluded.correct,
                 at = excluded.at",
        )
        .bind(lab.to_string())
        .bind(progress.kind())
        .bind(progress.key())
        .bind(answer)
        .bind(correct)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn class_students(&self, class: ClassId) -> Result<Vec<StudentView>, StorageError> {
        self.students_of(class, None).await
    }

    async fn class_student(&self, class: ClassId, lab: LabId) -> Result<Option<StudentView>, StorageError> {
        Ok(self.students_of(class, Some(lab)).await?.pop())
    }
}

impl SqliteStore {
    /// The class's students (all of them, or only `lab`) with their progress.
    async fn students_of(&self, class: ClassId, only: Option<LabId>) -> Result<Vec<StudentView>, StorageError> {
        let only = only.map(|lab| lab.to_string());
        let students: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT lab_id, name, joined_at FROM class_students
             WHERE class_id = ?1 AND (?2 IS NULL OR lab_id = ?2) ORDER BY joined_at, lab_id",
        )
        .bind(class.to_string())
        .bind(only.as_deref())
        .fetch_all(self.pool())
        .await?;
        let rows: Vec<ProgressRow> = sqlx::query_as(
            "SELECT p.lab_id, p.kind, p.key, p.first_answer, p.first_correct, p.answer, p.correct, p.at
             FROM class_progress p JOIN class_students s ON s.lab_id = p.lab_id
             WHERE s.class_id = ?1 AND (?2 IS NULL OR s.lab_id = ?2) ORDER BY p.lab_id, p.seq",
        )
        .bind(class.to_string())
        .bind(only.as_deref())
        .fetch_all(self.pool())
        .await?;
        let mut views = students
            .into_iter()
            .map(|(lab, name, joined_at)| {
                Ok(StudentView {
                    student: uuid(&lab)?,
                    name,
                    joined_at,
                    online: false,
                    sections: Vec::new(),
                    labs: Vec::new(),
                    predictions: Vec::new(),
                    quiz: Vec::new(),
                    last_active_at: joined_at,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        for (lab, kind, key, first, first_correct, latest, correct, at) in rows {
            let lab = uuid(&lab)?;
            let Some(view) = views.iter_mut().find(|v| v.student == lab) else { continue };
            view.last_active_at = view.last_active_at.max(at);
            let answer = || Answer {
                key: key.clone(),
                first: first.clone().unwrap_or_default(),
                first_correct,
                latest: latest.clone().unwrap_or_default(),
                correct,
                at,
            };
            match kind.as_str() {
                "section" => view.sections.push(key.clone()),
                "lab" => view.labs.push(key.clone()),
                "prediction" => view.predictions.push(answer()),
                "quiz" => view.quiz.push(answer()),
                other => return Err(StorageError::Corrupt(format!("progress of unknown kind {other:?}"))),
            }
        }
        for view in &mut views {
            view.quiz.sort_by(|a, b| a.key.cmp(&b.key));
        }
        Ok(views)
    }
}
