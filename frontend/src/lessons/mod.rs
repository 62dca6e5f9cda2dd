//! The lesson's sections, one folder each, in the order the page teaches them: a
//! section's prose, its live lab and the pieces only that lab uses. Widgets several
//! sections share are in [`crate::components`].

pub mod connection;
pub mod encryption;
pub mod fanout;
pub mod offline;
pub mod presence;
pub mod quiz;
pub mod scale;
pub mod technologies;
pub mod ticks;
