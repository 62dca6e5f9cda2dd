//! What a scenario hands back: figures (name, value, unit), latency summaries, the
//! ledger and its verdict; printed for people, or as one JSON object with `--json`.
//! Also the progress line shown while a scenario runs.

use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::{Map, Value, json};

use bluetick_shared::ledger::Ledger;

/// A latency histogram in microseconds, from 1 µs to 10 minutes, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Latency(Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latency {
    pub fn record(&mut self, elapsed: Duration) {
        self.0.saturating_record((elapsed.as_micros() as u64).max(1));
    }

    pub fn merge(&mut self, other: &Latency) {
        self.0.add(&other.0).expect("histograms with the same bounds add");
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at quantile `q`, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64 / 1000.0
    }

    /// p50, p90, p99 and max in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count(),
            p50_ms: self.ms(0.50),
            p90_ms: self.ms(0.90),
            p99_ms: self.ms(0.99),
            max_ms: self.0.max() as f64 / 1000.0,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Report {
    pub scenario: &'static str,
    parameters: Map<String, Value>,
    figures: Vec<(String, Value, &'static str)>,
    latencies: Vec<(String, LatencySummary)>,
    pub ledger: Ledger,
    notes: Vec<String>,
    /// Structured sections (JSON under `details`) with their own human text, for
    /// scenarios whose results are a table rather than a few figures (`classroom`).
    details: Vec<(String, Value, String)>,
    /// Why the run failed, beyond the ledger (say, connections that did not hold).
    failures: Vec<String>,
}

impl Report {
    pub fn new(scenario: &'static str) -> Report {
        Report {
            scenario,
            parameters: Map::new(),
            figures: Vec::new(),
            latencies: Vec::new(),
            ledger: Ledger::default(),
            notes: Vec::new(),
            details: Vec::new(),
            failures: Vec::new(),
        }
    }

    pub fn parameter(&mut self, name: &str, value: impl Serialize) -> &mut Self {
        self.parameters.insert(name.into(), json!(value));
        self
    }

    pub fn figure(&mut self, name: &str, value: impl Serialize, unit: &'static str) -> &mut Self {
        self.figures.push((name.into(), json!(value), unit));
        self
    }

    pub fn latency(&mut self, name: &str, latency: &Latency) -> &mut Self {
        self.latencies.push((name.into(), latency.summary()));
        self
    }

    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// A structured section: `value` in the JSON under `details.<name>`, `human` (lines,
    /// printed as they are) in the summary.
    pub fn detail(&mut self, name: &str, value: Value, human: impl Into<String>) -> &mut Self {
        self.details.push((name.into(), value, human.into()));
        self
    }

    /// Marks the run failed, with the reason.
    pub fn fail(&mut self, why: impl Into<String>) -> &mut Self {
        self.failures.push(why.into());
        self
    }

    /// Whether the run kept its guarantees (the process exits non-zero otherwise).
    pub fn ok(&self) -> bool {
        self.ledger.is_exact() && self.failures.is_empty()
    }

    pub fn to_json(&self) -> Value {
        let figures: Map<String, Value> = self.figures.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
        let latencies: Map<String, Value> = self.latencies.iter().map(|(n, s)| (n.clone(), json!(s))).collect();
        let mut out = json!({
            "scenario": self.scenario,
            "parameters": self.parameters,
            "figures": figures,
            "latency": latencies,
            "ledger": self.ledger,
            "exact": self.ledger.is_exact(),
            "verdict": self.ledger.verdict(),
            "ok": self.ok(),
            "failures": self.failures,
            "notes": self.notes,
        });
        if !self.details.is_empty() {
            let details: Map<String, Value> = self.details.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
            out["details"] = Value::Object(details);
        }
        out
    }

    pub fn to_human(&self) -> String {
        let mut out = format!("== {} ==\n", self.scenario);
        let params: Vec<String> = self.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out += &format!("  parameters: {}\n", params.join(" "));
        for (_, _, human) in &self.details {
            out += human;
        }
        for (name, value, unit) in &self.figures {
            let value = match value.as_f64() {
                Some(f) if value.is_f64() => format!("{f:.2}"),
                _ => value.to_string(),
            };
            out += &format!("  {name:<28} {value} {unit}\n");
        }
        for (name, s) in &self.latencies {
            out += &format!(
                "  {name:<28} p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (n={})\n",
                s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.count
            );
        }
        let l = &self.ledger;
        out += &format!(
            "  ledger: sent {} committed {} delivered {} delivered-ticks {} redeliveries-dropped {}\n",
            l.sent, l.committed, l.delivered, l.delivered_ticks, l.redeliveries
        );
        out += &format!("  verdict: {}\n", l.verdict());
        for failure in &self.failures {
            out += &format!("  FAILED: {failure}\n");
        }
        for note in &self.notes {
            out += &format!("  note: {note}\n");
        }
        out
    }
}

/// The progress line: a spinner with a message, hidden for `--json` and when stderr is
/// not a terminal (indicatif hides itself then).
pub fn progress(visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_come_out_in_milliseconds() {
        let mut latency = Latency::default();
        for ms in 1..=100 {
            latency.record(Duration::from_millis(ms));
        }
        let s = latency.summary();
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 0.5, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.5, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.5, "{s:?}");
    }

    #[test]
    fn a_report_with_a_lost_message_is_not_ok() {
        let mut report = Report::new("test");
        report.ledger.sent = 1;
        report.ledger.committed = 1;
        report.ledger.lost = 1;
        assert!(!report.ok());
        assert_eq!(report.to_json()["exact"], json!(false));
        assert!(report.to_human().contains("NOT EXACT"));
    }
}
