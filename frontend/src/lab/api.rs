//! The lab API over the browser's `fetch`: JSON in, JSON out, errors as sentences.

use bluetick_shared::frames::Registration;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// A failed call: the HTTP status (0 if the server could not be reached) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            0 => write!(f, "cannot reach the server: {}", self.message),
            status => write!(f, "{} (HTTP {status})", self.message),
        }
    }
}

fn unreachable(e: wasm_bindgen::JsValue) -> ApiError {
    ApiError { status: 0, message: e.as_string().unwrap_or_else(|| format!("{e:?}")) }
}

/// `method path` with an optional JSON body, as `device` if given.
pub async fn call<T: DeserializeOwned>(
    method: &str,
    path: &str,
    device: Option<&Registration>,
    body: Option<String>,
) -> Result<T, ApiError> {
    let bearer = device.map(|d| format!("{}:{}", d.device_id, d.token));
    call_with(method, path, bearer.as_deref(), body).await
}

/// `method path` with an optional JSON body and `Authorization: Bearer <bearer>` if
/// given (a device's `id:token`, or the instructor token).
pub async fn call_with<T: DeserializeOwned>(
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<String>,
) -> Result<T, ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = &body {
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(unreachable)?;
    let headers = request.headers();
    headers.set("Content-Type", "application/json").map_err(unreachable)?;
    if let Some(bearer) = bearer {
        headers.set("Authorization", &format!("Bearer {bearer}")).map_err(unreachable)?;
    }
    let window = web_sys::window().ok_or_else(|| unreachable("no window".into()))?;
    let response: Response =
        JsFuture::from(window.fetch_with_request(&request)).await.map_err(unreachable)?.unchecked_into();
    let text = JsFuture::from(response.text().map_err(unreachable)?)
        .await
        .map_err(unreachable)?
        .as_string()
        .unwrap_or_default();
    // An empty body (204 No Content) reads as JSON null, which `()` accepts.
    let text = if text.is_empty() { "null".to_string() } else { text };
    if !response.ok() {
        // Every error body is {"error": code, "message": sentence}.
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or(text);
        return Err(ApiError { status: response.status(), message });
    }
    serde_json::from_str(&text)
        .map_err(|e| ApiError { status: response.status(), message: format!("unexpected answer: {e}") })
}
