//! The instructor's page at `/teach`: sign in with the instructor token the server
//! printed, create a class or pick one, and watch it live ([`class_board`]). The token
//! stays in this tab's `sessionStorage` only, so closing the tab signs out.
//!
//! - [`class_board`]: one class live: the join code, health, every student's row, how
//!   the class answered each question; [`watch`]: the WebSocket that keeps it live;
//!   [`projector_card`]: a load run the instructor shows on every student's page.

pub mod class_board;
pub mod projector_card;
pub mod watch;

use bluetick_shared::class::{ClassInfo, MAX_NAME_CHARS, NewClass};
use leptos::prelude::*;

use crate::lab::api::{ApiError, call_with};
use class_board::ClassBoard;

const TOKEN_KEY: &str = "bluetick.teach.token";

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Whether the page's address is the instructor's page.
pub fn is_teach_page() -> bool {
    web_sys::window().and_then(|w| w.location().pathname().ok()).is_some_and(|p| p.trim_end_matches('/') == "/teach")
}

async fn classes(token: &str) -> Result<Vec<ClassInfo>, ApiError> {
    call_with("GET", "/api/classes", Some(token), None).await
}

#[component]
pub fn TeachApp() -> impl IntoView {
    let token = RwSignal::new(session().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten()));
    let list = RwSignal::new(None::<Vec<ClassInfo>>);
    let chosen = RwSignal::new(None::<ClassInfo>);
    let problem = RwSignal::new(None::<String>);
    // Whenever the token changes, check it by listing the classes.
    Effect::new(move || {
        let Some(t) = token.get() else { return };
        wasm_bindgen_futures::spawn_local(async move {
            match classes(&t).await {
                Ok(found) => {
                    if let Some(s) = session() {
                        let _ = s.set_item(TOKEN_KEY, &t);
                    }
                    problem.try_set(None);
                    list.try_set(Some(found));
                }
                Err(e) => {
                    if let Some(s) = session() {
                        let _ = s.remove_item(TOKEN_KEY);
                    }
                    token.try_set(None);
                    problem.try_set(Some(format!("That token did not open the class list: {e}")));
                }
            }
        });
    });
    let typed_token = RwSignal::new(String::new());
    let sign_in = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let t = typed_token.get_untracked().trim().to_string();
        if !t.is_empty() {
            token.set(Some(t));
        }
    };
    let new_name = RwSignal::new(String::new());
    let create = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let Some(t) = token.get_untracked() else { return };
        let body = serde_json::to_string(&NewClass { name: new_name.get_untracked() }).expect("serializes");
        wasm_bindgen_futures::spawn_local(async move {
            match call_with::<ClassInfo>("POST", "/api/classes", Some(&t), Some(body)).await {
                Ok(class) => {
                    list.update(|l| l.get_or_insert_with(Vec::new).push(class.clone()));
                    new_name.set(String::new());
                    chosen.set(Some(class));
                }
                Err(e) => {
                    problem.try_set(Some(format!("Could not create the class: {e}")));
                }
            }
        });
    };

    view! {
        <a class="skip-link" href="#teach-main">"Skip to the class"</a>
        <header class="lesson-header teach-header">
            <p class="kicker">"bluetick · instructor"</p>
            <h1>"Your class, live"</h1>
            <p class="subtitle">
                "Who is here, which sections they reached, how they predicted and answered, and how busy the \
                 server is — pushed as it happens. "
                <a href="/">"Open the lesson"</a>
            </p>
        </header>
        <main id="teach-main" class="teach">
            {move || problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
            {move || match (token.get(), list.get()) {
                (None, _) => view! {
                    <form class="teach-card" on:submit=sign_in data-testid="teach-sign-in">
                        <h2>"Sign in"</h2>
                        <p>"The server printed an instructor token when it started (or was given one with \
                            --instructor-token)."</p>
                        <div class="field">
                            <label for="teach-token">"Instructor token"</label>
                            <input id="teach-token" type="password" autocomplete="off" required
                                on:input=move |e| typed_token.set(event_target_value(&e)) />
                        </div>
                        <button type="submit">"Sign in"</button>
                    </form>
                }.into_any(),
                (Some(_), None) => view! { <p role="status">"Opening your classes…"</p> }.into_any(),
                (Some(t), Some(found)) => view! {
                    <section class="teach-card" aria-labelledby="teach-classes">
                        <h2 id="teach-classes">"Classes"</h2>
                        <ul class="teach-classes">
                            {found.into_iter().map(|class| {
                                let pick = class.clone();
                                let label = format!("{} · code {}", class.name, class.code);
                                let current = class.class_id;
                                view! {
                                    <li>
                                        <button type="button"
                                            aria-pressed=move || chosen.with(|c| c.as_ref().is_some_and(|c| c.class_id == current)).to_string()
                                            on:click=move |_| chosen.set(Some(pick.clone()))>{label}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <form class="teach-new" on:submit=create>
                            <div class="field">
                                <label for="teach-new-name">"New class"</label>
                                <input id="teach-new-name" type="text" required maxlength=MAX_NAME_CHARS.to_string()
                                    placeholder="e.g. Systems design, period 3"
                                    prop:value=move || new_name.get()
                                    on:input=move |e| new_name.set(event_target_value(&e)) />
                            </div>
                            <button type="submit">"Create the class"</button>
                        </form>
                    </section>
                    {move || chosen.get().map(|class| view! { <ClassBoard class token=t.clone() /> })}
                }.into_any(),
            }}
        </main>
    }
}
