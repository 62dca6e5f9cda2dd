//! A thin wrapper over the browser's `WebSocket`: frames in as [`SocketEvent`]s,
//! frames out as [`ClientFrame`]s.

use bluetick_shared::frames::{ClientFrame, ServerFrame};
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// What the browser reports about a socket.
#[derive(Debug, Clone)]
pub enum SocketEvent {
    Open,
    Frame(ServerFrame),
    /// A text message that is not a frame this build understands.
    Undecodable(String),
    Closed {
        code: u16,
        reason: String,
        clean: bool,
    },
}

/// An open (or opening) socket. Dropping it detaches the handlers and closes it.
pub struct LabSocket {
    ws: WebSocket,
    /// The device's name in the wire inspector.
    label: String,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl LabSocket {
    pub fn open(url: &str, label: &str, on_event: impl Fn(SocketEvent) + 'static) -> Result<LabSocket, String> {
        let name = label.to_string();
        let ws = WebSocket::new(url).map_err(|e| format!("{e:?}"))?;
        let on_event = std::rc::Rc::new(on_event);

        let handler = on_event.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| handler(SocketEvent::Open));
        let handler = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let event = match e.data().as_string() {
                Some(text) => {
                    super::wire::record(&name, false, &text);
                    match ServerFrame::from_json(&text) {
                        Ok(frame) => SocketEvent::Frame(frame),
                        Err(_) => SocketEvent::Undecodable(text),
                    }
                }
                None => SocketEvent::Undecodable("(binary message)".into()),
            };
            handler(event);
        });
        let handler = on_event;
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            handler(SocketEvent::Closed { code: e.code(), reason: e.reason(), clean: e.was_clean() })
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(LabSocket { ws, label: label.to_string(), _on_open: on_open, _on_message: on_message, _on_close: on_close })
    }

    pub fn send(&self, frame: &ClientFrame) -> Result<(), String> {
        let text = frame.to_json();
        self.ws.send_with_str(&text).map_err(|e| format!("{e:?}"))?;
        super::wire::record(&self.label, true, &text);
        Ok(())
    }

    /// A clean close: close frame 1000.
    pub fn close(&self) {
        let _ = self.ws.close_with_code_and_reason(1000, "client disconnect");
    }
}

impl Drop for LabSocket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
