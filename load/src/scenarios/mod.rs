//! One module per scenario; each returns a [`Report`](crate::report::Report).

pub mod chaos;
pub mod classroom;
pub mod connections;
pub mod crowd_cost;
pub mod fanout;
pub mod mqtt_baseline;
mod pairs_run;
pub mod reconnect_storm;
pub mod relay_baseline;
pub mod throughput;
