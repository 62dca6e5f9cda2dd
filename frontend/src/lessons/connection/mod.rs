//! Why a WebSocket, and the connection lab: the state machine with backoff, driven by a real socket.

pub mod backoff_timeline_view;
pub mod connection_lab;
pub mod state_machine_diagram;
pub mod why_websocket_callout;
