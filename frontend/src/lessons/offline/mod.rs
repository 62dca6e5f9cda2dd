//! The offline queue: Bob's server-side queue filling and flushing in order, and the retry
//! storm, each with a prediction to make before it runs.

pub mod arrival_prediction;
pub mod offline_queue_lab;
pub mod retry_storm;
pub mod server_queue_view;
