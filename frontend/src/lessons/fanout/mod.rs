//! Group fan-out: the lesson's figures and a live grid of up to 1,024 real simulated members.

pub mod fan_out_facts;
pub mod fan_out_figures;
pub mod fan_out_lab;
pub mod member_grid;
pub mod reading_crowd;
