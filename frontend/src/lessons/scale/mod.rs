//! The scale section: the lesson's figures, and a bounded load run of real device pairs charted against them.

pub mod load_chart;
pub mod load_figures;
pub mod load_panel;
pub mod scale_section;
