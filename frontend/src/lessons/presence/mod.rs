//! Presence: heartbeats, a TTL, and last seen.

pub mod presence_lab;
