//! The closing quiz.

pub mod quiz;
