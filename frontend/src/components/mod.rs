//! What the student sees, one component per file.

pub mod connection_lab;
pub mod event_log;
pub mod lesson_header;
pub mod state_machine_diagram;
