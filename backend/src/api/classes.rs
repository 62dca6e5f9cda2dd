//! Classes over HTTP. The instructor's side is authorised by the instructor token
//! ([`Instructor`]), the student's side by one of the lab's devices ([`Authenticated`]).
//!
//! - `POST /api/classes` `{name}` (instructor): a new class with its join code (201).
//! - `GET /api/classes` (instructor): every class.
//! - `GET /api/classes/{id}` (instructor): the class now (students, progress, health);
//!   `GET /api/classes/{id}/results.csv`: one row per student; `GET /api/classes/{id}/watch`:
//!   the same live over a WebSocket ([`crate::classes::watch`]).
//! - `POST /api/class/join` `{code, name}` (lab device): the caller's lab joins the class
//!   under that display name (a second join renames; another code moves it).
//! - `GET /api/class` (lab device): the caller's class, or `null`.
//! - `POST /api/class/progress` (lab device, in a class): one thing the student did
//!   ([`Progress`]); 204.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use bluetick_shared::class::{
    ClassId, ClassInfo, ClassView, JoinClass, Joined, NewClass, Progress, StudentView, clean_code, clean_name,
};

use super::auth::Authenticated;
use super::instructor::Instructor;
use super::labs::my_lab;
use crate::classes;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::unix_millis;

/// A JSON body, or a 400 that says what was expected.
fn body<T>(body: Result<Json<T>, JsonRejection>, expected: &str) -> Result<T, AppError> {
    body.map(|Json(b)| b).map_err(|e| AppError::BadRequest(format!("expected {expected}: {}", e.body_text())))
}

pub async fn create(
    State(state): State<AppState>,
    _: Instructor,
    request: Result<Json<NewClass>, JsonRejection>,
) -> Result<(StatusCode, Json<ClassInfo>), AppError> {
    let NewClass { name } = body(request, "{\"name\": \"…\"}")?;
    let name = clean_name(&name).map_err(|why| AppError::BadRequest(format!("the class's name: {why}")))?;
    let class = state.store.create_class(&name, unix_millis()).await?;
    tracing::info!(class = %class.class_id, code = %class.code, "class created");
    Ok((StatusCode::CREATED, Json(class)))
}

pub async fn list(State(state): State<AppState>, _: Instructor) -> Result<Json<Vec<ClassInfo>>, AppError> {
    Ok(Json(state.store.classes().await?))
}

pub async fn view(
    State(state): State<AppState>,
    _: Instructor,
    Path(class): Path<ClassId>,
) -> Result<Json<ClassView>, AppError> {
    classes::view(&state, class).await?.map(Json).ok_or_else(no_class)
}

fn no_class() -> AppError {
    AppError::NotFound("no such class".into())
}

pub async fn results_csv(
    State(state): State<AppState>,
    _: Instructor,
    Path(class): Path<ClassId>,
) -> Result<impl IntoResponse, AppError> {
    let view = classes::view(&state, class).await?.ok_or_else(no_class)?;
    let csv = results(&view.students).map_err(|e| AppError::BadRequest(format!("could not write the CSV: {e}")))?;
    let file = format!("attachment; filename=\"bluetick-class-{}.csv\"", view.class.code);
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, file)], csv))
}

/// A spreadsheet cell from text a student typed: one that starts like a formula is
/// prefixed with `'`, so opening the export never runs it.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() }
}

fn verdict(correct: Option<bool>) -> &'static str {
    match correct {
        Some(true) => "right",
        Some(false) => "wrong",
        None => "",
    }
}

/// One row per student: name, when they joined, sections and labs, then each question's
/// first answer and verdict (the class's questions, in key order).
fn results(students: &[StudentView]) -> Result<Vec<u8>, csv::Error> {
    let mut quiz: Vec<&str> = students.iter().flat_map(|s| s.quiz.iter().map(|a| a.key.as_str())).collect();
    quiz.sort_unstable();
    quiz.dedup();
    let mut predictions: Vec<&str> =
        students.iter().flat_map(|s| s.predictions.iter().map(|a| a.key.as_str())).collect();
    predictions.sort_unstable();
    predictions.dedup();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header =
        vec!["student".to_string(), "joined_at_unix_ms".into(), "sections".into(), "labs".into(), "quiz_right".into()];
    header.extend(quiz.iter().flat_map(|q| [format!("quiz {q}"), format!("quiz {q} verdict")]));
    header.extend(predictions.iter().flat_map(|p| [format!("prediction {p}"), format!("prediction {p} verdict")]));
    out.write_record(&header)?;
    for s in students {
        let mut row = vec![
            cell(&s.name),
            s.joined_at.to_string(),
            s.sections.join(" "),
            s.labs.join(" "),
            s.quiz.iter().filter(|a| a.correct == Some(true)).count().to_string(),
        ];
        for (keys, answers) in [(&quiz, &s.quiz), (&predictions, &s.predictions)] {
            for key in keys {
                match answers.iter().find(|a| a.key == *key) {
                    Some(a) => row.extend([cell(&a.first), verdict(a.first_correct).to_string()]),
                    None => row.extend([String::new(), String::new()]),
                }
            }
        }
        out.write_record(&row)?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

pub async fn join(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    request: Result<Json<JoinClass>, JsonRejection>,
) -> Result<Json<Joined>, AppError> {
    let lab = my_lab(&state, &me)?;
    let JoinClass { code, name } = body(request, "{\"code\": \"ABC234\", \"name\": \"…\"}")?;
    let name = clean_name(&name).map_err(|why| AppError::BadRequest(format!("your name: {why}")))?;
    let code = clean_code(&code).ok_or_else(|| {
        AppError::BadRequest("a join code is 6 letters and digits, as your instructor shows it".into())
    })?;
    let class =
        state.store.class_by_code(&code).await?.ok_or_else(|| {
            AppError::NotFound(format!("no class has the code {code}: check it with your instructor"))
        })?;
    state.store.join_class(class.class_id, lab, &name, unix_millis()).await?;
    classes::publish_student(&state, class.class_id, lab).await?;
    Ok(Json(Joined { class_id: class.class_id, class_name: class.name, name }))
}

/// `null` outside a class: not being in one is the usual case, not an error.
pub async fn mine(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
) -> Result<Json<Option<Joined>>, AppError> {
    let lab = my_lab(&state, &me)?;
    let joined = state.store.lab_class(lab).await?;
    Ok(Json(joined.map(|(class, name)| Joined { class_id: class.class_id, class_name: class.name, name })))
}

pub async fn progress(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    request: Result<Json<Progress>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    let lab = my_lab(&state, &me)?;
    let progress = body(
        request,
        "{\"kind\": \"section\" | \"lab\", \"key\"} or {\"kind\": \"quiz\" | \"prediction\", \"key\", \"answer\", \"correct\"}",
    )?;
    if let Some(why) = progress.refusal() {
        return Err(AppError::BadRequest(why));
    }
    let (class, _) = state
        .store
        .lab_class(lab)
        .await?
        .ok_or_else(|| AppError::Conflict("not_in_class", "your lab has not joined a class".into()))?;
    state.store.record_progress(lab, &progress, unix_millis()).await?;
    classes::publish_student(&state, class.class_id, lab).await?;
    Ok(StatusCode::NO_CONTENT)
}
