//! The backoff timeline: while the connection is being won back, every reconnect
//! attempt n is drawn on its own row at the time its wait began, with the delay the
//! jitter drew (a line ending in the attempt), the window that delay was drawn from (a
//! band), and how the attempt ended (✗ failed, ✓ connected). It grows as attempts
//! happen, the time axis stretching to fit, and the same figures are listed in words
//! under it for anyone who cannot see the drawing.
//!
//! The figures are `bluetick_shared::backoff_timeline`'s; this file only draws them.

use bluetick_shared::backoff_timeline::{AttemptMark, BackoffTimeline, Outcome, axis_marks_ms};
use leptos::prelude::*;

const WIDTH: f64 = 360.0;
/// Room on the left for the attempt number.
const LEFT: f64 = 30.0;
const RIGHT: f64 = 338.0;
/// Room above the first row for the "now" label.
const TOP: f64 = 16.0;
const ROW: f64 = 28.0;
/// Room under the rows for the time axis.
const AXIS: f64 = 30.0;

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn height(rows: usize) -> f64 {
    TOP + ROW * rows as f64 + AXIS
}

/// The drawing's inner SVG for `timeline` at `now_ms`.
fn timeline_svg(timeline: &BackoffTimeline, now_ms: u64) -> String {
    let marks = axis_marks_ms(timeline.span_ms(now_ms));
    // The axis ends on a labelled mark past everything drawn, so nothing sits on the edge.
    let step = marks.get(1).copied().unwrap_or(1_000);
    let span = (marks.last().copied().unwrap_or(0) + step).max(1_000) as f64;
    let x = |ms: u64| LEFT + (ms as f64 / span).min(1.0) * (RIGHT - LEFT);
    let rows = timeline.attempts().len();
    let axis_y = TOP + ROW * rows as f64 + 6.0;
    let mut svg = String::new();
    for (i, attempt) in timeline.attempts().iter().enumerate() {
        let mid = TOP + ROW * i as f64 + ROW / 2.0;
        svg += &attempt_row(attempt, mid, &x);
    }
    svg += &format!(r#"<line class="tl-axis" x1="{LEFT}" y1="{axis_y}" x2="{RIGHT}" y2="{axis_y}"/>"#);
    for mark in marks.iter().copied().chain([span as u64]) {
        let at = x(mark);
        svg += &format!(r#"<line class="tl-axis" x1="{at:.1}" y1="{axis_y}" x2="{at:.1}" y2="{}"/>"#, axis_y + 4.0);
        svg += &format!(
            r#"<text class="tl-mark" x="{at:.1}" y="{}" text-anchor="middle">{} s</text>"#,
            axis_y + 18.0,
            mark / 1000
        );
    }
    if timeline.is_running() {
        let at = x(timeline.elapsed_ms(now_ms));
        svg += &format!(r#"<line class="tl-now" x1="{at:.1}" y1="{}" x2="{at:.1}" y2="{axis_y}"/>"#, TOP - 2.0);
        svg += &format!(r#"<text class="tl-now-label" x="{at:.1}" y="{}" text-anchor="middle">now</text>"#, TOP - 5.0);
    }
    svg
}

fn attempt_row(a: &AttemptMark, mid: f64, x: &impl Fn(u64) -> f64) -> String {
    let (from, due) = (x(a.waited_from_ms), x(a.due_ms()));
    let (low, high) = (x(a.waited_from_ms + a.window_ms.0), x(a.waited_from_ms + a.window_ms.1));
    let mut row = format!(r#"<text class="tl-n" x="2" y="{:.1}">#{}</text>"#, mid + 4.0, a.n);
    row += &format!(
        r#"<rect class="tl-window" x="{low:.1}" y="{:.1}" width="{:.1}" height="14" rx="3"/>"#,
        mid - 7.0,
        (high - low).max(2.0)
    );
    row += &format!(
        r#"<line class="tl-start" x1="{from:.1}" y1="{:.1}" x2="{from:.1}" y2="{:.1}"/>"#,
        mid - 6.0,
        mid + 6.0
    );
    row += &format!(r#"<line class="tl-wait" x1="{from:.1}" y1="{mid:.1}" x2="{due:.1}" y2="{mid:.1}"/>"#);
    let at = a.tried_ms.map_or(due, x);
    row += &match a.outcome {
        Outcome::Waiting => format!(r#"<circle class="tl-due" cx="{at:.1}" cy="{mid:.1}" r="4"/>"#),
        Outcome::Trying => format!(r#"<circle class="tl-trying" cx="{at:.1}" cy="{mid:.1}" r="4.5"/>"#),
        Outcome::Failed => outcome_symbol("tl-failed", "✗", at, mid),
        Outcome::Connected => outcome_symbol("tl-ok", "✓", at, mid),
        Outcome::Stopped => outcome_symbol("tl-stopped", "■", at, mid),
    };
    // The delay in words beside the row's end, or before its start near the right edge.
    let (label_x, anchor) =
        if high.max(at) < RIGHT - 60.0 { (high.max(at) + 8.0, "start") } else { (from - 6.0, "end") };
    row + &format!(
        r#"<text class="tl-delay" x="{label_x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
        mid + 4.0,
        seconds(a.delay_ms)
    )
}

fn outcome_symbol(class: &str, symbol: &str, x: f64, mid: f64) -> String {
    format!(r#"<text class="{class}" x="{x:.1}" y="{:.1}" text-anchor="middle">{symbol}</text>"#, mid + 5.0)
}

/// One attempt in words: "#2 · waited 1.7 s from t = 1.0 s (window 1.0–2.0 s) · failed".
fn attempt_words(a: &AttemptMark) -> String {
    format!(
        "#{} · waited {} from t = {} (jitter window {}–{}) · {}",
        a.n,
        seconds(a.delay_ms),
        seconds(a.waited_from_ms),
        seconds(a.window_ms.0),
        seconds(a.window_ms.1),
        a.outcome.words()
    )
}

#[component]
pub fn BackoffTimelineView(
    #[prop(into)] timeline: Signal<BackoffTimeline>,
    #[prop(into)] now: Signal<u64>,
) -> impl IntoView {
    let rows = move || timeline.with(|t| t.attempts().len());
    let svg = move || timeline.with(|t| timeline_svg(t, if t.is_running() { now.get() } else { 0 }));
    let summary = move || {
        timeline.with(|t| match (t.attempts().len(), t.attempts().last().map(|a| a.outcome)) {
            (n, Some(Outcome::Connected)) => format!("Backoff timeline: connected again on attempt {n}."),
            (n, _) => format!("Backoff timeline: {n} reconnect attempts so far."),
        })
    };
    view! {
        <figure class="backoff-timeline" data-testid="backoff-timeline" data-attempts=rows>
            <figcaption>
                <strong>"Backoff timeline. "</strong>
                "Each row is one reconnect attempt: its wait (line) starts where the last attempt failed and "
                "ends in the attempt; the band is the jitter window the wait was drawn from. The window doubles "
                "with each attempt, up to a cap."
            </figcaption>
            <Show
                when=move || { rows() > 0 }
                fallback=|| view! {
                    <p class="timeline-empty">
                        "No reconnect attempts yet. Drop the network or start an outage, and each attempt appears "
                        "here at its time."
                    </p>
                }
            >
                <svg class="timeline" viewBox=move || format!("0 0 {WIDTH} {}", height(rows())) role="img"
                    aria-label=summary inner_html=svg></svg>
                <ol class="timeline-attempts" aria-label="Reconnect attempts">
                    {move || timeline.with(|t| {
                        t.attempts()
                            .iter()
                            .map(|a| view! { <li data-outcome=a.outcome.words()>{attempt_words(a)}</li> })
                            .collect_view()
                    })}
                </ol>
            </Show>
        </figure>
    }
}
