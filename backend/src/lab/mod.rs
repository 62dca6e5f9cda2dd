//! Everything "lab" means at run time, in one place. A lab is one browser's sandbox
//! ([`sandbox`]: its controls, such as a compressed expiry or an injected outage, and the
//! sweep that deletes idle labs); its [`pace`] (live, slow motion or one hop at a time); a lab can run crowds of simulated group members
//! ([`crowd`]); and a lab can run a bounded load test of real device pairs ([`load`]).
//! The lab's rows (devices, messages) live in the store; what is here is in memory.

pub mod crowd;
pub mod load;
pub mod pace;
pub mod sandbox;
