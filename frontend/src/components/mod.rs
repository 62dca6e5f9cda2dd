//! Widgets that several sections share, and the page's own chrome (header, nav, wire
//! inspector). Each section's own pieces are in [`crate::lessons`].

pub mod event_log;
pub mod focus_keeper;
pub mod guide;
pub mod lab_gate;
pub mod lab_reset;
pub mod lesson_header;
pub mod pace_control;
pub mod phone_messages;
pub mod prediction;
pub mod replay_control;
pub mod section_nav;
pub mod tick_mark;
pub mod wire_inspector;
