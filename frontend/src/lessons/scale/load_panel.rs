//! "Live in the lab": the student starts a bounded load run on the server (real device
//! pairs in their lab, real WebSockets, durable and exactly once) and watches messages per
//! second and p99 latency arrive second by second against the 58K line, with the run's
//! ledger at the end: lost 0 · duplicated 0.

use bluetick_shared::lab_load::{LoadCaps, LoadRequest, LoadRun, LoadView, MAX_LOAD_RATE, WHATSAPP_MSGS_PER_SEC};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use crate::components::guide::guide_moments;
use crate::components::lab_reset::LabReset;
use crate::lab::Lab;
use crate::lessons::scale::load_chart::LoadChart;
use crate::lessons::scale::load_figures::{LoadFigures, rates_summary, run_status, thousands};

/// How often the page asks for the run's progress while it goes.
const POLL_MS: u32 = 500;
/// Until the server says otherwise.
const DEFAULT_CAPS: LoadCaps = LoadCaps { max_pairs: 50, max_seconds: 20, max_rate: MAX_LOAD_RATE };

/// The run's state in words, with a symbol, so it never rests on colour alone.
fn status_line(view: Option<&LoadView>) -> (&'static str, String) {
    let Some(view) = view else { return ("idle", "Asking the server for its limits…".into()) };
    let Some(run) = &view.run else {
        return if view.busy_elsewhere {
            let waiting = match view.queued {
                0 => String::new(),
                1 => " (1 run waits in line)".into(),
                n => format!(" ({n} runs wait in line)"),
            };
            (
                "busy",
                format!(
                    "⏸ Another lab's run is using the server{waiting}. One runs at a time, so each run measures the \
                     server alone: start yours and it waits its turn."
                ),
            )
        } else {
            ("idle", "No run yet: choose a size and start one.".into())
        };
    };
    (run.state.label(), run_status(run, view.queue_position, view.queued))
}

/// The honest comparison with the lesson's headline.
pub fn comparison(run: &LoadRun, cores: u32) -> Option<String> {
    let peak = run.peak_per_sec();
    (peak > 0).then(|| {
        let share = peak as f64 / WHATSAPP_MSGS_PER_SEC as f64 * 100.0;
        format!(
            "This server's best second was {} messages, {share:.1}% of WhatsApp's 58,000 a second (about 1/{:.0} of it). \
             It is one machine with {cores} CPU core{}, shared with other work and running both ends of every \
             conversation itself, and it writes each message to SQLite before the sender gets SENT. WhatsApp spreads \
             the same work over many servers.",
            thousands(peak),
            WHATSAPP_MSGS_PER_SEC as f64 / peak as f64,
            if cores == 1 { "" } else { "s" },
        )
    })
}

/// Asks for the run's progress every [`POLL_MS`] until it is over and the server is free;
/// stops quietly if the panel goes away.
fn poll(lab: Lab, view: RwSignal<Option<LoadView>>, problem: RwSignal<Option<String>>, polling: StoredValue<bool>) {
    if polling.try_get_value() != Some(false) {
        return;
    }
    polling.set_value(true);
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            match lab.load().await {
                Ok(found) => {
                    let over = found.run.as_ref().is_none_or(|r| r.state.is_over()) && !found.busy_elsewhere;
                    if view.try_set(Some(found)).is_some() {
                        return;
                    }
                    if over {
                        break;
                    }
                }
                Err(e) => {
                    if problem.try_set(Some(format!("Could not read the run: {e}"))).is_some() {
                        return;
                    }
                }
            }
            TimeoutFuture::new(POLL_MS).await;
        }
        polling.try_set_value(false);
    });
}

#[component]
pub fn LoadPanel(lab: Lab) -> impl IntoView {
    let view = RwSignal::new(None::<LoadView>);
    let problem = RwSignal::new(None::<String>);
    let polling = StoredValue::new(false);
    let pairs = RwSignal::new(10u32);
    let seconds = RwSignal::new(5u32);
    let caps = move || view.with(|v| v.as_ref().map_or(DEFAULT_CAPS, |v| v.caps));
    // Said aloud when a request is bigger than this server allows, never applied silently.
    let capped = RwSignal::new(Vec::<String>::new());
    let pick = move |e: &web_sys::Event, default: u32, cap: u32, what: &'static str| {
        let input = event_target::<web_sys::HtmlInputElement>(e);
        let asked: u32 = input.value().trim().parse().unwrap_or(default);
        // The field shows what will run, even when the signal already held that value.
        input.set_value(&asked.clamp(1, cap).to_string());
        let note = (asked > cap).then(|| {
            format!("You asked for {asked} {what}: capped at {cap} {what} on this server, so the run uses {cap}.")
        });
        capped.update(|notes| {
            notes.retain(|n| !n.contains(&format!(" {what} on this server")));
            notes.extend(note);
        });
        asked.clamp(1, cap)
    };
    poll(lab.clone(), view, problem, polling);

    // A reset hides the finished run from the page (the server keeps the lab's last run).
    let hidden = RwSignal::new(false);
    // A memo: the figures read it many times per update, and a derived signal would
    // clone the whole view for each read.
    let shown = Memo::new(move |_| {
        let mut now = view.get();
        if hidden.get()
            && let Some(v) = now.as_mut()
        {
            v.run = None;
        }
        now
    });
    let run = Signal::derive(move || shown.with(|v| v.as_ref().and_then(|v| v.run.clone())));
    // This lab's own run is queued or going (another lab's run does not stop a start:
    // the new run waits in line).
    let going = move || view.with(|v| v.as_ref().is_some_and(|v| v.run.as_ref().is_some_and(|r| !r.state.is_over())));
    let queued = move || view.with(|v| v.as_ref().is_some_and(|v| v.queue_position.is_some()));
    let starting = RwSignal::new(false);
    let lab_for_reset = lab.clone();
    let on_submit = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let request = LoadRequest { pairs: pairs.get_untracked(), seconds: seconds.get_untracked(), rate: None };
        let lab = lab.clone();
        starting.set(true);
        hidden.set(false);
        problem.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            match lab.start_load(request).await {
                Ok(started) => {
                    view.try_set(Some(started));
                    poll(lab, view, problem, polling);
                }
                Err(e) => {
                    problem.try_set(Some(format!("The server refused: {e}")));
                }
            }
            starting.try_set(false);
        });
    };

    // The guided path's step: a run of this lab's finished.
    if let Some(moments) = guide_moments() {
        Effect::new(move || {
            if run.with(|r| r.as_ref().is_some_and(|r| r.state.is_over())) {
                moments.load_done.set(true);
            }
        });
    }
    let status = move || shown.with(|v| status_line(v.as_ref()));
    let reset_panel = move |lab: Lab| async move {
        if queued() {
            // Leaving the line is the reset's first half; the form's reset follows.
            match lab.leave_load_queue().await {
                Ok(left) => {
                    view.try_set(Some(left));
                }
                Err(e) => return Err(format!("Could not leave the line: {e}")),
            }
        } else if going() {
            return Err("A run is going: it ends by itself within its seconds; reset once it is over.".into());
        }
        pairs.set(10);
        seconds.set(5);
        capped.set(Vec::new());
        problem.set(None);
        hidden.set(true);
        Ok("Reset: the form is back to 10 pairs for 5 s and the last run is cleared from the page.".to_string())
    };
    let reset = move || {
        let lab = lab_for_reset.clone();
        async move { reset_panel(lab).await }
    };
    let summary = Signal::derive(move || run.with(|r| rates_summary(r.as_ref())));

    view! {
        <div class="load-panel" role="group" aria-labelledby="load-title">
            <h3 id="load-title">"Live in the lab: how close does this server get?"</h3>
            <LabReset lab="the load panel" first="load-pairs" reset />
            <p>
                "Start a run and the server opens WebSockets for pairs of real devices in your lab. Each sender "
                "sends 1:1 messages to its partner through the normal gateway: stored in SQLite, pushed, "
                "acknowledged, ticked. A message counts once its sender sees DELIVERED."
            </p>
            <form class="load-controls" on:submit=on_submit>
                <div class="field">
                    <label for="load-pairs">{move || format!("Pairs (1–{})", caps().max_pairs)}</label>
                    <input id="load-pairs" type="number" min="1" inputmode="numeric"
                        max=move || caps().max_pairs.to_string()
                        prop:value=move || pairs.get().to_string()
                        aria-describedby="load-capped"
                        on:change=move |e| pairs.set(pick(&e, 10, caps().max_pairs, "pairs")) />
                </div>
                <div class="field">
                    <label for="load-seconds">{move || format!("Seconds (1–{})", caps().max_seconds)}</label>
                    <input id="load-seconds" type="number" min="1" inputmode="numeric"
                        max=move || caps().max_seconds.to_string()
                        prop:value=move || seconds.get().to_string()
                        aria-describedby="load-capped"
                        on:change=move |e| seconds.set(pick(&e, 5, caps().max_seconds, "seconds")) />
                </div>
                <button type="submit" disabled=move || going() || starting.get()>"Start the load run"</button>
            </form>
            <p id="load-capped" class="load-capped" data-testid="load-capped" aria-live="polite">
                {move || capped.get().join(" ")}
            </p>
            <p class="load-status" data-testid="load-status" data-state=move || status().0 role="status" aria-live="polite">
                <span class="load-pulse" aria-hidden="true"></span>
                {move || status().1}
            </p>
            {move || problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
            <LoadChart run summary />
            <LoadFigures run id="load" />
            <p class="load-compare" data-testid="load-compare">
                {move || {
                    let cores = view.with(|v| v.as_ref().map_or(1, |v| v.cores.max(1)));
                    run.with(|r| r.as_ref().and_then(|r| comparison(r, cores))).unwrap_or_else(|| {
                        "WhatsApp averages 58,000 messages a second across all its servers. Run this one and compare."
                            .into()
                    })
                }}
            </p>
        </div>
    }
}
