//! Copies the backend's real idempotent-insert code path (between the
//! `bluetick:idempotent-insert:start` and `:end` markers in its source) into the build,
//! so the page shows the code the server runs, never a pasted copy that drifts.

use std::path::Path;

const SOURCE: &str = "../backend/src/store/sqlite/messages.rs";
const START: &str = "// bluetick:idempotent-insert:start";
const END: &str = "// bluetick:idempotent-insert:end";

fn main() {
    println!("cargo::rerun-if-changed={SOURCE}");
    let source = std::fs::read_to_string(SOURCE).expect("the backend's store source is in the workspace");
    let start = source.find(START).expect("the start marker is in messages.rs") + START.len();
    let end = source[start..].find(END).expect("the end marker follows the start marker") + start;
    let region = &source[start..end];
    // Drop the region's common indentation and its trailing marker-line indentation.
    let lines: Vec<&str> = region.lines().skip_while(|l| l.trim().is_empty()).collect();
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let text: Vec<&str> = lines.iter().map(|l| if l.len() >= indent { &l[indent..] } else { l.trim_start() }).collect();
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("idempotent_insert.rs.txt");
    std::fs::write(out, text.join("\n").trim_end()).expect("OUT_DIR is writable");
}
