//! The tick pipeline: one message through its hops to blue ticks (or ⚠ after a compressed expiry), and the real idempotent insert.

pub mod expiry_control;
pub mod idempotent_insert_code;
pub mod message_journey;
pub mod tick_pipeline;
pub mod tick_table;
