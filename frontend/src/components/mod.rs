//! What the student sees, one component per file.

pub mod connection_lab;
pub mod event_log;
pub mod fan_out_facts;
pub mod lesson_header;
pub mod quiz;
pub mod scale_section;
pub mod section_nav;
pub mod state_machine_diagram;
pub mod technology_cards;
pub mod tick_pipeline;
pub mod tick_table;
pub mod why_websocket_callout;
