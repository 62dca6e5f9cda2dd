//! The offline queue: Bob's server-side queue filling and flushing in order, and the retry
//! storm, each with a prediction to make before it runs; the flush replayed from its
//! recorded events.

pub mod arrival_prediction;
pub mod flush_replay;
pub mod offline_queue_lab;
pub mod retry_storm;
pub mod server_queue_view;
