//! What the smoke tests share: running the real `bluetick-load` binary with `--json`.

use std::process::{Command, Output};

use serde_json::Value;

/// Runs `bluetick-load --json ARGS` and returns its report and how it exited.
pub fn run_json(args: &[&str]) -> (Value, Output) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_bluetick-load")).arg("--json").args(args).output().expect("run bluetick-load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stdout: {stdout}\nstderr: {stderr}"));
    (report, output)
}
