//! What the student sees, one component per file.

pub mod connection_lab;
pub mod event_log;
pub mod expiry_control;
pub mod fan_out_facts;
pub mod fan_out_lab;
pub mod idempotent_insert_code;
pub mod lab_gate;
pub mod lesson_header;
pub mod member_grid;
pub mod message_journey;
pub mod offline_queue_lab;
pub mod phone_messages;
pub mod presence_lab;
pub mod quiz;
pub mod retry_storm;
pub mod scale_section;
pub mod section_nav;
pub mod server_queue_view;
pub mod state_machine_diagram;
pub mod technology_cards;
pub mod tick_mark;
pub mod tick_pipeline;
pub mod tick_table;
pub mod why_websocket_callout;
pub mod wire_inspector;
