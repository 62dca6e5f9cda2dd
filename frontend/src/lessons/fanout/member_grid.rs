//! The fan-out grid: one cell per group member, drawn on a canvas so a thousand members
//! updating at once cost one redraw per frame, not a thousand DOM changes. Each state
//! has its own shape (outline, dot, solid, solid with a tick), not only its own colour.
//!
//! [`GridModel`] is plain state (which members are online, how far the current message
//! got with each, and every step of that as it was recorded, so a replay can redraw any
//! instant of the run); the component redraws it at most every `REDRAW_MS` when it
//! changed, and publishes the counts to signals for the text around it.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

const REDRAW_MS: u32 = 33;
const CELL: f64 = 9.0;
const GAP: f64 = 2.0;

/// How far the current message got with one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    None,
    /// Waiting in the member's inbox: the member is offline.
    Queued,
    Delivered,
    Read,
}

/// Counts for the text beside the grid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridCounts {
    pub members: usize,
    pub online: usize,
    pub queued: usize,
    pub delivered: usize,
    pub read: usize,
    /// Member steps recorded for the current message (what a replay scrubs through).
    pub events: usize,
}

#[derive(Debug, Default)]
pub struct GridModel {
    pub online: Vec<bool>,
    pub reach: Vec<Reach>,
    /// The sender's cell, always shown as having the message.
    pub sender: Option<usize>,
    /// Every forward step of the current message, as it arrived: member, reach, server
    /// time (µs since epoch).
    recorded: Vec<(usize, Reach, i64)>,
    /// Replaying: how many recorded steps are shown (`None`: live).
    replaying: Option<usize>,
    dirty: bool,
}

impl GridModel {
    pub fn reset(&mut self, members: usize, sender: Option<usize>) {
        self.online = vec![true; members];
        self.reach = vec![Reach::None; members];
        self.sender = sender;
        self.clear_reach();
    }

    /// Forgets the previous message's progress (a new send).
    pub fn clear_reach(&mut self) {
        self.reach.iter_mut().for_each(|r| *r = Reach::None);
        self.recorded.clear();
        self.replaying = None;
        self.dirty = true;
    }

    /// Moves a member forward (never back) at server time `at_us`.
    pub fn advance(&mut self, index: usize, to: Reach, at_us: i64) {
        if let Some(reach) = self.reach.get_mut(index)
            && to > *reach
        {
            *reach = to;
            self.recorded.push((index, to, at_us));
            self.dirty = true;
        }
    }

    /// Shows the run as it was after recorded step `k` (from 0), or live with `None`.
    pub fn replay(&mut self, k: Option<usize>) {
        if self.replaying != k {
            self.replaying = k;
            self.dirty = true;
        }
    }

    /// Each member's reach as shown: live, or rebuilt from the recorded steps up to the
    /// replayed one.
    fn shown(&self) -> std::borrow::Cow<'_, [Reach]> {
        let Some(k) = self.replaying else { return std::borrow::Cow::Borrowed(&self.reach) };
        let mut reach = vec![Reach::None; self.reach.len()];
        for &(index, to, _) in self.recorded.iter().take(k + 1) {
            if let Some(r) = reach.get_mut(index) {
                *r = (*r).max(to);
            }
        }
        std::borrow::Cow::Owned(reach)
    }

    /// Recorded step `k`, said: "step 300 of 2,046, +41.2 ms: member 117 delivered ✓✓".
    pub fn step_words(&self, k: usize) -> String {
        let Some(&(index, to, at_us)) = self.recorded.get(k) else { return String::new() };
        let first = self.recorded.first().map_or(at_us, |r| r.2);
        let what = match to {
            Reach::None => "nothing",
            Reach::Queued => "held in the member's inbox (offline)",
            Reach::Delivered => "delivered ✓✓",
            Reach::Read => "read",
        };
        format!(
            "step {} of {}, +{:.1} ms after the first: member {} {what}",
            k + 1,
            self.recorded.len(),
            (at_us - first) as f64 / 1000.0,
            index + 1
        )
    }

    pub fn set_online(&mut self, online: Vec<bool>) {
        if online.len() == self.online.len() && online != self.online {
            self.online = online;
            self.dirty = true;
        }
    }

    pub fn counts(&self) -> GridCounts {
        let shown = self.shown();
        let recipients = |want: fn(Reach) -> bool| {
            shown.iter().enumerate().filter(|(i, r)| Some(*i) != self.sender && want(**r)).count()
        };
        GridCounts {
            events: self.recorded.len(),
            members: self.reach.len(),
            online: self.online.iter().filter(|o| **o).count(),
            queued: recipients(|r| r == Reach::Queued),
            delivered: recipients(|r| r >= Reach::Delivered),
            read: recipients(|r| r == Reach::Read),
        }
    }
}

struct Palette {
    outline: &'static str,
    idle: &'static str,
    delivered: &'static str,
    read: &'static str,
    queued: &'static str,
    /// The tick drawn on a read cell.
    tick: &'static str,
}

fn palette() -> Palette {
    let dark = web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .map(|m| m.matches())
        .unwrap_or(false);
    if dark {
        Palette {
            outline: "#5b6573",
            idle: "#2b323d",
            delivered: "#a0a9b6",
            read: "#53a8ff",
            queued: "#6cb4ff",
            tick: "#10151c",
        }
    } else {
        Palette {
            outline: "#9aa3ae",
            idle: "#e9edf2",
            delivered: "#7b8594",
            read: "#1d8cf8",
            queued: "#0b6bcb",
            tick: "#ffffff",
        }
    }
}

fn draw(canvas: &web_sys::HtmlCanvasElement, model: &GridModel) {
    let n = model.reach.len().max(1);
    let columns = (n as f64).sqrt().ceil().max(1.0) as usize;
    let rows = n.div_ceil(columns);
    let (width, height) = (columns as f64 * (CELL + GAP), rows as f64 * (CELL + GAP));
    if canvas.width() != width as u32 || canvas.height() != height as u32 {
        canvas.set_width(width as u32);
        canvas.set_height(height as u32);
    }
    let Ok(Some(context)) = canvas.get_context("2d") else { return };
    let Ok(ctx) = context.dyn_into::<web_sys::CanvasRenderingContext2d>() else { return };
    let colors = palette();
    ctx.clear_rect(0.0, 0.0, width, height);
    for (i, reach) in model.shown().iter().enumerate() {
        let x = (i % columns) as f64 * (CELL + GAP) + 0.5;
        let y = (i / columns) as f64 * (CELL + GAP) + 0.5;
        let online = model.online.get(i).copied().unwrap_or(true);
        let reach = if Some(i) == model.sender { Reach::Read } else { *reach };
        match reach {
            Reach::Delivered => {
                ctx.set_fill_style_str(colors.delivered);
                ctx.fill_rect(x, y, CELL, CELL);
            }
            Reach::Read => {
                // Blue with a white tick: read differs from delivered by shape, not only by colour.
                ctx.set_fill_style_str(colors.read);
                ctx.fill_rect(x, y, CELL, CELL);
                ctx.set_stroke_style_str(colors.tick);
                ctx.set_line_width(1.5);
                ctx.begin_path();
                ctx.move_to(x + 1.5, y + 4.5);
                ctx.line_to(x + 3.75, y + 6.75);
                ctx.line_to(x + 7.5, y + 2.25);
                ctx.stroke();
                ctx.set_line_width(1.0);
            }
            Reach::Queued => {
                // Held on the server: an outline with a dot in the middle.
                ctx.set_stroke_style_str(colors.queued);
                ctx.stroke_rect(x, y, CELL - 1.0, CELL - 1.0);
                ctx.set_fill_style_str(colors.queued);
                ctx.fill_rect(x + 3.0, y + 3.0, CELL - 6.0, CELL - 6.0);
            }
            Reach::None if online => {
                ctx.set_fill_style_str(colors.idle);
                ctx.fill_rect(x, y, CELL, CELL);
            }
            Reach::None => {
                // Offline: only a faint outline.
                ctx.set_stroke_style_str(colors.outline);
                ctx.stroke_rect(x, y, CELL - 1.0, CELL - 1.0);
            }
        }
    }
}

/// Draws `model` whenever it changed, and keeps `counts` up to date.
#[component]
pub fn MemberGrid(model: Rc<RefCell<GridModel>>, counts: RwSignal<GridCounts>) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    Interval::new(REDRAW_MS, move || {
        let Some(element) = canvas.get_untracked() else { return };
        let mut model = model.borrow_mut();
        if !model.dirty {
            return;
        }
        model.dirty = false;
        draw(&element, &model);
        let now = model.counts();
        if counts.get_untracked() != now {
            counts.set(now);
        }
    })
    .forget();
    view! {
        <canvas node_ref=canvas class="member-grid" role="img" data-testid="member-grid"
            data-delivered=move || counts.get().delivered.to_string()
            data-read=move || counts.get().read.to_string()
            aria-label=move || {
                let c = counts.get();
                format!(
                    "{} members: {} online, {} delivered, {} read, {} waiting offline",
                    c.members, c.online, c.delivered, c.read, c.queued
                )
            }>
        </canvas>
    }
}
