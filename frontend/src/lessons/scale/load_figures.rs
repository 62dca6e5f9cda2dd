//! A load run's figures as text: the state in words, the last and best second, p50 and
//! p99, sent and delivered, and the ledger. The lab's load panel shows the student's own
//! run with them, the projector the instructor's; the charts are never the only way in.

use bluetick_shared::lab_load::{LoadRun, LoadState};
use leptos::prelude::*;

/// `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ms(value: f64) -> String {
    if value >= 10.0 { format!("{value:.0} ms") } else { format!("{value:.1} ms") }
}

/// A run's state in words, with a symbol so it never rests on colour alone;
/// `queue_position` is the run's place in the server's line while it waits, of `queued`.
pub fn run_status(run: &LoadRun, queue_position: Option<u32>, queued: u32) -> String {
    let request = run.request;
    match run.state {
        LoadState::Queued => match queue_position {
            Some(place) => format!(
                "⧗ In line for the server: place {place} of {}. One run goes at a time, so each run measures the \
                 server alone; this one starts by itself when its turn comes.",
                queued.max(place)
            ),
            None => "⧗ In line for the server…".into(),
        },
        LoadState::Connecting => format!("◌ Connecting {} devices over WebSockets…", request.pairs * 2),
        LoadState::Running => {
            let second = (run.elapsed_ms / 1000).min(request.seconds as u64);
            format!("▶ Running: {second} of {} s, {} pairs", request.seconds, request.pairs)
        }
        LoadState::Draining => "⧗ Sending is over; waiting for the last DELIVERED ticks…".into(),
        LoadState::Finished => format!(
            "✓ Finished: {} pairs for {} s, {} messages",
            request.pairs,
            request.seconds,
            thousands(run.ledger.sent)
        ),
        LoadState::Failed => format!("✕ Failed: {}", run.reason.as_deref().unwrap_or("no reason given")),
    }
}

/// The run's rates second by second in words, for the chart's screen-reader summary.
pub fn rates_summary(run: Option<&LoadRun>) -> String {
    match run {
        Some(r) if !r.samples.is_empty() => {
            let rates: Vec<String> = r.samples.iter().map(|s| thousands(s.delivered)).collect();
            format!("Messages per second, second by second: {}. The 58K line is far above every bar.", rates.join(", "))
        }
        _ => "No samples yet.".into(),
    }
}

/// The run's figures; `id` prefixes their test ids (`load-now`, `projector-now`, …).
#[component]
pub fn LoadFigures(#[prop(into)] run: Signal<Option<LoadRun>>, id: &'static str) -> impl IntoView {
    let last = move || run.with(|r| r.as_ref().and_then(|r| r.samples.last().copied()));
    let figure = move |f: fn(&LoadRun) -> String| move || run.with(|r| r.as_ref().map_or("–".into(), f));
    view! {
        <dl class="load-figures" data-testid=format!("{id}-figures")>
            <div>
                <dt>"Last second"</dt>
                <dd data-testid=format!("{id}-now")>
                    {move || last().map_or("–".into(), |s| format!("{} msgs/s", thousands(s.delivered)))}
                </dd>
            </div>
            <div>
                <dt>"Best second"</dt>
                <dd data-testid=format!("{id}-peak")>{figure(|r| format!("{} msgs/s", thousands(r.peak_per_sec())))}</dd>
            </div>
            <div>
                <dt>"p99, last second"</dt>
                <dd>{move || last().map_or("–".into(), |s| ms(s.p99_ms))}</dd>
            </div>
            <div>
                <dt>"p50 · p99, whole run"</dt>
                <dd>{figure(|r| format!("{} · {}", ms(r.p50_ms), ms(r.p99_ms)))}</dd>
            </div>
            <div>
                <dt>"Sent · delivered ✓✓"</dt>
                <dd data-testid=format!("{id}-totals")>
                    {figure(|r| format!("{} · {}", thousands(r.ledger.sent), thousands(r.ledger.delivered_ticks)))}
                </dd>
            </div>
            <div>
                <dt>"Ledger"</dt>
                <dd data-testid=format!("{id}-ledger")
                    data-final=move || run.with(|r| r.as_ref().is_some_and(|r| r.state.is_over()).to_string())
                    data-lost=move || run.with(|r| r.as_ref().map(|r| r.ledger.lost.to_string()))
                    data-duplicated=move || run.with(|r| r.as_ref().map(|r| r.ledger.duplicated.to_string()))>
                    {figure(|r| format!("lost {} · duplicated {}", r.ledger.lost, r.ledger.duplicated))}
                </dd>
            </div>
        </dl>
    }
}
