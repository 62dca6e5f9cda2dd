//! The wire inspector's record: every frame the page's devices send and receive, as
//! text on the wire, with direction, time, size and which device. Sockets write here;
//! the inspector panel reads it.

use std::cell::RefCell;

use leptos::prelude::*;

/// Frames kept; older ones scroll away.
const KEPT: usize = 400;

#[derive(Debug, Clone, PartialEq)]
pub struct WireFrame {
    pub id: u64,
    pub device: String,
    /// True for frames the page sent (→ server).
    pub outgoing: bool,
    pub at_ms: u64,
    pub bytes: usize,
    /// The frame's `type` field.
    pub kind: String,
    pub text: String,
}

#[derive(Clone, Copy)]
pub struct WireLog {
    pub frames: RwSignal<Vec<WireFrame>>,
    pub paused: RwSignal<bool>,
}

thread_local! {
    static LOG: RefCell<Option<(WireLog, u64)>> = const { RefCell::new(None) };
}

/// Starts recording; the page calls this once.
pub fn start() -> WireLog {
    let log = WireLog { frames: RwSignal::new(Vec::new()), paused: RwSignal::new(false) };
    LOG.with(|cell| *cell.borrow_mut() = Some((log, 0)));
    log
}

/// Records one frame, unless recording is paused or was never started.
pub fn record(device: &str, outgoing: bool, text: &str) {
    LOG.with(|cell| {
        let mut cell = cell.borrow_mut();
        let Some((log, next_id)) = cell.as_mut() else { return };
        if log.paused.get_untracked() {
            return;
        }
        *next_id += 1;
        // Frames lead with their type (`{"type":"trace",…`): a fan-out brings thousands a
        // second, so the kind is read off the text rather than by parsing it.
        let kind = text
            .split_once("\"type\":\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(kind, _)| kind.to_string())
            .unwrap_or_else(|| "?".into());
        let frame = WireFrame {
            id: *next_id,
            device: device.to_string(),
            outgoing,
            at_ms: crate::clock::now_ms(),
            bytes: text.len(),
            kind,
            text: text.to_string(),
        };
        log.frames.update(|frames| {
            frames.push(frame);
            if frames.len() > KEPT {
                let extra = frames.len() - KEPT;
                frames.drain(..extra);
            }
        });
    });
}
