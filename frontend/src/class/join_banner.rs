//! The line at the top of the page for a student with a class: the join form when they
//! came by the instructor's link, then which class they are in and under what name.

use bluetick_shared::class::MAX_NAME_CHARS;
use leptos::prelude::*;

use super::{code_in_address, use_class};

#[component]
pub fn JoinBanner() -> impl IntoView {
    let Some(link) = use_class() else { return ().into_any() };
    let code = code_in_address();
    let name = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let joining = RwSignal::new(false);
    let form_code = code.clone();
    let on_submit = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let Some(code) = form_code.clone() else { return };
        let typed = name.get_untracked();
        joining.set(true);
        problem.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = link.join(&code, &typed).await {
                problem.try_set(Some(format!("Could not join: {e}")));
            }
            joining.try_set(false);
        });
    };
    let shown_code = code.clone().unwrap_or_default();
    let has_code = code.is_some();
    view! {
        {move || match (link.joined.get(), has_code) {
            (Some(joined), _) => view! {
                <p class="class-banner" data-testid="class-joined" role="status">
                    <span aria-hidden="true">"🎓 "</span>
                    {format!("You are in {} as {}. Your instructor sees the sections you visit, your predictions, \
                              quiz answers and the labs you run; nothing else.", joined.class_name, joined.name)}
                </p>
            }.into_any(),
            (None, true) => view! {
                <form class="class-banner class-join" data-testid="class-join" on:submit=on_submit.clone()>
                    <p>
                        <strong>{format!("Join class {}", shown_code.clone())}</strong>
                        " — your instructor will see the sections you visit, your predictions, quiz answers and the \
                         labs you run under the name you choose here. No account, nothing else."
                    </p>
                    <div class="field">
                        <label for="class-name">"Your display name"</label>
                        <input id="class-name" type="text" autocomplete="nickname" required
                            maxlength=MAX_NAME_CHARS.to_string()
                            prop:value=move || name.get()
                            on:input=move |e| name.set(event_target_value(&e)) />
                    </div>
                    <button type="submit" disabled=move || joining.get()>"Join the class"</button>
                    {move || problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
                </form>
            }.into_any(),
            (None, false) => ().into_any(),
        }}
    }
    .into_any()
}
