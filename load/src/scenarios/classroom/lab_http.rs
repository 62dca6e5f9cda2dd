//! The lab's HTTP calls as the lesson page makes them, for `classroom`: one request per
//! call over the client library's small HTTP client ([`bluetick_client::http`]), bearer
//! `<device id>:<token>` of one of the lab's devices, JSON in and out.
//!
//! Every 4xx/5xx answer is a [`Refusal`]: its status and the server's `{"error",
//! "message"}` body. The scenario counts refusals per step (a crowd cap or a busy load
//! run is information for the teacher, not a crash), so a call hands a refusal back as
//! a value instead of a formatted error. Bodies are read as `serde_json::Value` where the
//! server's types are changing (the load run's view) and as the shared types elsewhere.

use std::net::SocketAddr;

use bluetick_client::http::request;
use bluetick_shared::frames::Registration;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// An answer the server gave with a 4xx or 5xx status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status code.
    pub status: u16,
    /// The body's `error` code (`load_running`, `too_many`, …), or `http_<status>` when
    /// the body had none.
    pub code: String,
    /// The body's `message`, or the raw body.
    pub message: String,
}

impl Refusal {
    /// A refusal from a status and the body the server sent with it.
    pub fn from_answer(status: u16, body: &str) -> Refusal {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let field = |name: &str| parsed.as_ref().and_then(|v| v[name].as_str()).map(str::to_string);
        Refusal {
            status,
            code: field("error").unwrap_or_else(|| format!("http_{status}")),
            message: field("message").unwrap_or_else(|| body.chars().take(200).collect()),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

/// Why a call did not give a usable answer.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The server answered 4xx/5xx.
    Refused(Refusal),
    /// No answer (connection refused, reset) or one that was not what the call expects.
    Broken(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused(r) => write!(f, "refused: {r}"),
            CallError::Broken(why) => f.write_str(why),
        }
    }
}

/// One student's view of the server's HTTP API.
#[derive(Debug, Clone, Copy)]
pub struct LabHttp {
    /// The server's address.
    pub addr: SocketAddr,
}

impl LabHttp {
    /// `METHOD path` as `device`, with an optional JSON body; the answer's status and
    /// body (any status).
    pub async fn raw(
        &self,
        device: Option<&Registration>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), CallError> {
        let bearer = device.map(|d| format!("{}:{}", d.device_id, d.token));
        let body = body.map(Value::to_string);
        request(self.addr, method, path, body.as_deref(), bearer.as_deref())
            .await
            .map_err(|e| CallError::Broken(format!("{method} {path}: {e}")))
    }

    /// Like [`LabHttp::raw`], 2xx only, the body parsed as `T` (an empty body reads as
    /// JSON `null`).
    pub async fn call<T: DeserializeOwned>(
        &self,
        device: Option<&Registration>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, CallError> {
        let (status, text) = self.raw(device, method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(CallError::Refused(Refusal::from_answer(status, &text)));
        }
        let text = if text.trim().is_empty() { "null" } else { text.as_str() };
        serde_json::from_str(text)
            .map_err(|e| CallError::Broken(format!("{method} {path} → {status}: unexpected body ({e}): {text}")))
    }
}

/// The lab's load run's state in a `GET`/`POST /api/lab/load` answer (`run.state`), if
/// there is a run.
pub fn load_state(view: &Value) -> Option<&str> {
    view["run"]["state"].as_str()
}

/// This lab's place in the server's line of load runs, if the answer says it waits.
///
/// Read loosely: the server is gaining a queue for load runs and the field's final name
/// is not settled (`queue_position` in the work in progress); any of the names below
/// holding a number counts, and so does a run whose state is `queued` (position unknown:
/// 0).
pub fn queue_position(view: &Value) -> Option<u64> {
    for name in ["queue_position", "position", "queued_at_position", "place_in_line"] {
        if let Some(n) = view[name].as_u64().or_else(|| view["run"][name].as_u64()) {
            return Some(n);
        }
    }
    (load_state(view) == Some("queued")).then_some(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refusal_keeps_the_servers_code_and_message() {
        let r = Refusal::from_answer(409, r#"{"error":"load_running","message":"one at a time"}"#);
        assert_eq!((r.status, r.code.as_str(), r.message.as_str()), (409, "load_running", "one at a time"));
        let r = Refusal::from_answer(502, "bad gateway");
        assert_eq!((r.code.as_str(), r.message.as_str()), ("http_502", "bad gateway"));
    }

    #[test]
    fn the_queue_position_is_read_whatever_it_is_called() {
        assert_eq!(queue_position(&json!({"queue_position": 3, "run": {"state": "queued"}})), Some(3));
        assert_eq!(queue_position(&json!({"queue_position": null, "run": {"state": "queued"}})), Some(0));
        assert_eq!(queue_position(&json!({"run": {"state": "running"}})), None);
        assert_eq!(queue_position(&json!({"position": 1})), Some(1));
        assert_eq!(load_state(&json!({"run": null})), None);
    }
}
