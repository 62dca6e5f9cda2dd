//! The load run's two charts as inline SVG: messages per second per second on a log scale
//! with the 58K line across the top, and each second's p99 latency on a linear one.
//!
//! A log scale because this one box reaches a few thousand a second: on a linear axis up
//! to 58,000 its bars would be slivers. The captions say which scale each chart uses, and
//! the panel gives every figure as text too, so the charts are never the only way in.

use bluetick_shared::lab_load::{LoadRun, WHATSAPP_MSGS_PER_SEC};
use leptos::prelude::*;

/// The drawing area inside each chart's viewBox (user units; the SVG scales to its box).
const WIDTH: f64 = 400.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 392.0;

/// The rate chart's decades: 10 to 100,000 messages a second.
const DECADES: [(f64, &str); 5] = [(1.0, "10"), (2.0, "100"), (3.0, "1K"), (4.0, "10K"), (5.0, "100K")];
const RATE_TOP: f64 = 10.0;
const RATE_BOTTOM: f64 = 160.0;
const RATE_HEIGHT: f64 = 186.0;

const P99_TOP: f64 = 12.0;
const P99_BOTTOM: f64 = 96.0;
const P99_HEIGHT: f64 = 122.0;

/// Where a rate lands on the log axis; anything under 10 a second sits on the floor.
fn rate_y(per_sec: f64) -> f64 {
    let decades = (per_sec.max(10.0).log10() - 1.0) / 4.0;
    RATE_BOTTOM - decades.min(1.0) * (RATE_BOTTOM - RATE_TOP)
}

/// The `i`th of `n` one-second slots: its left edge and width.
fn slot(i: usize, n: usize) -> (f64, f64) {
    let width = (RIGHT - LEFT) / n.max(1) as f64;
    (LEFT + i as f64 * width, width)
}

/// A latency axis label, short enough for the margin: `500 ms`, `2 s`.
fn duration_label(ms: f64) -> String {
    if ms >= 1000.0 { format!("{} s", ms / 1000.0) } else { format!("{ms} ms") }
}

/// The smallest 1, 2 or 5 × 10ᵏ at or above `value`: a round top for the latency axis.
fn round_up(value: f64) -> f64 {
    let mut scale = 1.0;
    while scale * 10.0 < value {
        scale *= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * scale).find(|top| *top >= value).unwrap_or(value)
}

fn x_axis(bottom: f64, seconds: usize) -> String {
    let mut svg = format!(r#"<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{RIGHT}" y2="{bottom}"/>"#);
    let label_y = bottom + 16.0;
    svg += &format!(r#"<text class="tick-label" x="{LEFT}" y="{label_y}">0 s</text>"#);
    svg += &format!(r#"<text class="tick-label" x="{RIGHT}" y="{label_y}" text-anchor="end">{seconds} s</text>"#);
    svg
}

/// Bars of messages per second against the 58K line.
pub fn rate_svg(run: Option<&LoadRun>) -> String {
    let mut svg = String::new();
    for (decade, label) in DECADES {
        let y = rate_y(10f64.powf(decade));
        svg += &format!(r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}"/>"#);
        svg += &format!(
            r#"<text class="tick-label" x="{}" y="{:.1}" text-anchor="end">{label}</text>"#,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let seconds = run.map_or(10, |r| r.request.seconds as usize);
    if let Some(run) = run {
        for sample in &run.samples {
            let (x, width) = slot(sample.second as usize, seconds);
            if sample.delivered == 0 {
                continue;
            }
            let y = rate_y(sample.delivered as f64);
            svg += &format!(
                r#"<rect class="bar" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"/>"#,
                x + width * 0.18,
                width * 0.64,
                (RATE_BOTTOM - y).max(1.5)
            );
        }
    }
    let y58 = rate_y(WHATSAPP_MSGS_PER_SEC as f64);
    svg += &format!(r#"<line class="target" x1="{LEFT}" y1="{y58:.1}" x2="{RIGHT}" y2="{y58:.1}"/>"#);
    svg += &format!(
        r#"<text class="target-label" x="{}" y="{:.1}" text-anchor="end">58K/s: all of WhatsApp, on average</text>"#,
        RIGHT - 4.0,
        y58 + 15.0
    );
    svg + &x_axis(RATE_BOTTOM, seconds)
}

/// Each second's p99 latency as a line of dots.
pub fn p99_svg(run: Option<&LoadRun>) -> String {
    let samples: Vec<(usize, f64)> = run
        .map(|r| r.samples.iter().filter(|s| s.delivered > 0).map(|s| (s.second as usize, s.p99_ms)).collect())
        .unwrap_or_default();
    let top = round_up(samples.iter().map(|(_, ms)| *ms).fold(5.0, f64::max));
    let y = |ms: f64| P99_BOTTOM - (ms / top).min(1.0) * (P99_BOTTOM - P99_TOP);
    let mut svg = String::new();
    for value in [0.0, top / 2.0, top] {
        let at = y(value);
        svg += &format!(r#"<line class="grid" x1="{LEFT}" y1="{at:.1}" x2="{RIGHT}" y2="{at:.1}"/>"#);
        svg += &format!(
            r#"<text class="tick-label" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            at + 4.0,
            duration_label(value)
        );
    }
    let seconds = run.map_or(10, |r| r.request.seconds as usize);
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|(second, ms)| {
            let (x, width) = slot(*second, seconds);
            (x + width / 2.0, y(*ms))
        })
        .collect();
    if points.len() > 1 {
        let line: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        svg += &format!(r#"<polyline class="p99-line" points="{}"/>"#, line.join(" "));
    }
    for (x, y) in points {
        svg += &format!(r#"<circle class="p99-dot" cx="{x:.1}" cy="{y:.1}" r="3.5"/>"#);
    }
    svg + &x_axis(P99_BOTTOM, seconds)
}

/// Both charts, redrawn from the run the panel last polled. `id` prefixes the element
/// ids and test ids, so the page may show two runs (the student's own and the
/// instructor's projector) without two elements sharing an id.
#[component]
pub fn LoadChart(
    #[prop(into)] run: Signal<Option<LoadRun>>,
    #[prop(into)] summary: Signal<String>,
    #[prop(default = "load")] id: &'static str,
) -> impl IntoView {
    let rate_caption = format!("{id}-rate-caption");
    let p99_caption = format!("{id}-p99-caption");
    let summary_id = format!("{id}-chart-summary");
    view! {
        <figure class="load-chart" data-testid=format!("{id}-chart")>
            <figcaption id=rate_caption.clone()>
                "Messages per second, each counted when its sender sees DELIVERED. "
                <strong>"Log scale"</strong>
                ": each gridline is ten times the one below, so the 58K line fits on the same chart."
            </figcaption>
            <svg class="chart chart-rate" viewBox=format!("0 0 {WIDTH} {RATE_HEIGHT}") role="img"
                aria-labelledby=rate_caption aria-describedby=summary_id.clone()
                inner_html=move || run.with(|r| rate_svg(r.as_ref()))></svg>
            <p class="chart-caption" id=p99_caption.clone()>"p99 latency of each second (send → DELIVERED), linear scale"</p>
            <svg class="chart chart-p99" viewBox=format!("0 0 {WIDTH} {P99_HEIGHT}") role="img"
                aria-labelledby=p99_caption aria-describedby=summary_id.clone()
                inner_html=move || run.with(|r| p99_svg(r.as_ref()))></svg>
            <p class="visually-hidden" id=summary_id>{move || summary.get()}</p>
        </figure>
    }
}
