//! The MQTT side of `mqtt-baseline`: a small MQTT 3.1.1 client of the load generator's
//! own ([`codec`]: the packets and their bytes; [`conn`]: one TCP connection).

pub mod codec;
pub mod conn;
