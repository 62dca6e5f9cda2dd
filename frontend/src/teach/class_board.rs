//! One class, live: the join code and link to show on the projector, the server's
//! health, a row per student (connected or not, sections, predictions, quiz, labs) and,
//! per question, how the class answered first — the common wrong answer linked to the
//! lab that shows why.

use bluetick_shared::class::{ClassInfo, ClassView, StudentView, Tally, WriterHealth, tally};
use bluetick_shared::prediction::PREDICTIONS;
use bluetick_shared::quiz::QUESTIONS;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::projector_card::ProjectorCard;
use super::watch::watch;
use crate::class::watch_socket::WatchState;
use crate::lab::api::ApiError;

/// Sections of the lesson a student can visit (the page's section nav).
const SECTIONS: usize = 11;

fn yes_no(online: bool) -> (&'static str, &'static str) {
    if online { ("●", "connected") } else { ("○", "away") }
}

/// The question a tally key names, its right answer and where the lesson shows it.
fn question_of(key: &str) -> Option<(String, Option<(&'static str, &'static str)>)> {
    if let Some(n) = key.strip_prefix('q').and_then(|n| n.parse::<usize>().ok())
        && let Some(q) = n.checked_sub(1).and_then(|i| QUESTIONS.get(i))
    {
        return Some((format!("Quiz {n}: {}", q.stem), Some(q.shown_in)));
    }
    PREDICTIONS.iter().find(|p| p.key == key).map(|p| (format!("Prediction: {}", p.question), None))
}

fn tally_view(t: Tally) -> impl IntoView {
    let (question, shown_in) = question_of(&t.key).unwrap_or_else(|| (t.key.clone(), None));
    let total: u32 = t.answers.iter().map(|a| a.1).sum();
    let common_wrong = t.answers.iter().find(|a| a.2 == Some(false)).map(|a| a.0.clone());
    view! {
        <li class="teach-tally" data-testid=format!("tally-{}", t.key)>
            <h4>{question}</h4>
            <ul>
                {t.answers.into_iter().map(|(answer, n, correct)| {
                    let mark = match correct { Some(true) => "✓ right", Some(false) => "✗ wrong", None => "· not yet revealed" };
                    let pct = n * 100 / total.max(1);
                    view! {
                        <li>
                            <span class="teach-bar" style=format!("--share: {pct}%") aria-hidden="true"></span>
                            {format!("{answer} — {n} of {total} ({mark})")}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {common_wrong.zip(shown_in).map(|(wrong, (anchor, lab))| view! {
                <p class="teach-why">
                    {format!("Most common wrong answer: “{}”. Show the class ", wrong.trim_end_matches('.'))}
                    <a href=format!("/#{anchor}") target="_blank">{lab}</a>
                    " — it shows why."
                </p>
            })}
        </li>
    }
}

fn student_row(s: StudentView) -> impl IntoView {
    let (mark, word) = yes_no(s.online);
    let right = s.quiz.iter().filter(|a| a.correct == Some(true)).count();
    let predictions: Vec<String> = s
        .predictions
        .iter()
        .map(|p| {
            let verdict = match p.first_correct {
                Some(true) => "✓",
                Some(false) => "✗",
                None => "…",
            };
            format!("{verdict} {}", p.first)
        })
        .collect();
    view! {
        <tr data-testid="teach-student" data-online=s.online.to_string()>
            <th scope="row">{s.name.clone()}</th>
            <td><span aria-hidden="true">{mark}" "</span>{word}</td>
            <td>{format!("{} of {SECTIONS}", s.sections.len())}</td>
            <td>{if predictions.is_empty() { "–".to_string() } else { predictions.join("; ") }}</td>
            <td data-testid="teach-quiz">{format!("{right} of {} right", s.quiz.len())}</td>
            <td>{if s.labs.is_empty() { "–".to_string() } else { s.labs.join(", ") }}</td>
        </tr>
    }
}

/// The store's writer in words: what every message's SENT waits for.
fn writer_line(w: WriterHealth) -> String {
    if w.commits_per_sec == 0 {
        return "Database writer: idle over the last 5 s (no commits).".into();
    }
    let ms = |us: u32| if us >= 10_000 { format!("{} ms", us / 1000) } else { format!("{:.1} ms", us as f64 / 1000.0) };
    format!(
        "Database writer, last 5 s: {} messages stored a second in {} commits a second · commit (statements and \
         fsync) p50 {} · p99 {}",
        w.msgs_per_sec,
        w.commits_per_sec,
        ms(w.commit_p50_us),
        ms(w.commit_p99_us)
    )
}

/// Downloads the class's CSV (the export needs the token, which a plain link cannot send).
async fn download_csv(class: ClassInfo, token: String) -> Result<(), ApiError> {
    let failed = |e: wasm_bindgen::JsValue| ApiError { status: 0, message: format!("{e:?}") };
    let init = web_sys::RequestInit::new();
    let request =
        web_sys::Request::new_with_str_and_init(&format!("/api/classes/{}/results.csv", class.class_id), &init)
            .map_err(failed)?;
    request.headers().set("Authorization", &format!("Bearer {token}")).map_err(failed)?;
    let window = web_sys::window().ok_or_else(|| failed("no window".into()))?;
    let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(failed)?
        .unchecked_into();
    if !response.ok() {
        return Err(ApiError { status: response.status(), message: "the server refused the export".into() });
    }
    let blob: web_sys::Blob =
        wasm_bindgen_futures::JsFuture::from(response.blob().map_err(failed)?).await.map_err(failed)?.unchecked_into();
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(failed)?;
    let document = window.document().ok_or_else(|| failed("no document".into()))?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(failed)?.unchecked_into();
    a.set_href(&url);
    a.set_download(&format!("bluetick-class-{}.csv", class.code));
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

#[component]
pub fn ClassBoard(class: ClassInfo, token: String) -> impl IntoView {
    let view = RwSignal::new(None::<ClassView>);
    let socket = watch(class.class_id, token.clone(), view);
    let state = socket.state;
    on_cleanup(move || socket.close());
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let link = format!("{origin}/?class={}", class.code);
    let export_problem = RwSignal::new(None::<String>);
    let export = {
        let (class, token) = (class.clone(), token.clone());
        move |_| {
            let (class, token) = (class.clone(), token.clone());
            wasm_bindgen_futures::spawn_local(async move {
                export_problem.try_set(download_csv(class, token).await.err().map(|e| format!("Export failed: {e}")));
            });
        }
    };
    let status = move || match state.get() {
        WatchState::Connecting => "◌ Connecting…".to_string(),
        WatchState::Live => "● Live: changes arrive as students make them".into(),
        WatchState::Reconnecting => "◌ Reconnecting…".into(),
        WatchState::Refused(why) => format!("✕ {why}"),
    };
    let students = move || view.with(|v| v.as_ref().map(|v| v.students.clone()).unwrap_or_default());
    let health = move || view.with(|v| v.as_ref().map(|v| v.health));
    let projector = Signal::derive(move || view.with(|v| v.as_ref().and_then(|v| v.projector.clone())));
    view! {
        <section class="teach-board" aria-labelledby="teach-board-title" data-testid="teach-board">
            <h2 id="teach-board-title">{class.name.clone()}</h2>
            <div class="teach-join">
                <p>"Students join at"</p>
                <p class="teach-link"><a href=link.clone() target="_blank">{link.clone()}</a></p>
                <p>"or with the code"</p>
                <p class="teach-code" data-testid="teach-code" aria-label=format!("join code {}", class.code.chars().map(String::from).collect::<Vec<_>>().join(" "))>
                    {class.code.clone()}
                </p>
            </div>
            <p class="teach-status" role="status" data-testid="teach-status">{status}</p>
            <p class="teach-health" data-testid="teach-health">
                {move || health().map(|h| format!(
                    "{} of {} students connected · {} WebSocket connections on the server · {} crowd members · load run: {}",
                    // Counted from the rows, which each student's own frames keep
                    // current between health frames.
                    students().iter().filter(|s| s.online).count(),
                    students().len(),
                    h.connections,
                    h.crowd_members,
                    match (h.load_running, h.load_queued) {
                        (false, _) => "none".to_string(),
                        (true, 0) => "one going".to_string(),
                        (true, n) => format!("one going, {n} waiting"),
                    },
                ))}
            </p>
            <p class="teach-health" data-testid="teach-writer">
                {move || health().map(|h| writer_line(h.writer))}
            </p>
            <button type="button" on:click=export>"Export results (CSV)"</button>
            <ProjectorCard class=class.class_id token=token.clone() shown=projector />
            {move || export_problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
            <div class="teach-table-wrap" tabindex="0" role="region" aria-label="Students">
                <table class="teach-table">
                    <caption>{move || format!("{} students", students().len())}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Student"</th>
                            <th scope="col">"Now"</th>
                            <th scope="col">"Sections"</th>
                            <th scope="col">"Predictions (first)"</th>
                            <th scope="col">"Quiz"</th>
                            <th scope="col">"Labs run"</th>
                        </tr>
                    </thead>
                    <tbody>{move || students().into_iter().map(student_row).collect_view()}</tbody>
                </table>
            </div>
            <h3>"How the class answered (first answers)"</h3>
            {move || {
                let all = students();
                let mut tallies = tally(&all, |s| &s.quiz);
                tallies.extend(tally(&all, |s| &s.predictions));
                if tallies.is_empty() {
                    view! { <p>"No answers yet."</p> }.into_any()
                } else {
                    view! { <ul class="teach-tallies">{tallies.into_iter().map(tally_view).collect_view()}</ul> }.into_any()
                }
            }}
        </section>
    }
}
