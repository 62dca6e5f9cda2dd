//! The MQTT side of `mqtt-baseline`: a Mosquitto broker as a child process
//! ([`broker`]) and a small MQTT 3.1.1 client of the load generator's own ([`codec`]:
//! the packets and their bytes; [`conn`]: one TCP connection; [`pair`]: a QoS 2
//! publisher and subscriber with an exact ledger).
//!
//! The client speaks only what the comparison needs: persistent sessions (clean session
//! off), QoS 2 both ways, one topic per pair. It does not reconnect, send pings or
//! resume a session: a run is seconds long on loopback, and a connection that fails
//! fails the run.

pub mod broker;
pub mod codec;
pub mod conn;
pub mod pair;
