//! A minimal HTTP/1.1 client for tests, so the suite needs no HTTP client crate.

use std::net::SocketAddr;

use bluetick_shared::frames::Registration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Status code and body of `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, None).await
}

/// Status code and body of `POST path` with a JSON body.
pub async fn post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    request(addr, "POST", path, Some(body)).await
}

/// Status code and body of an empty `POST path` with `Authorization: Bearer <bearer>`.
pub async fn post_with_bearer(addr: SocketAddr, path: &str, bearer: &str) -> (u16, String) {
    request_with(addr, "POST", path, None, &format!("Authorization: Bearer {bearer}\r\n")).await
}

/// `METHOD path` with an optional JSON body, as `device`.
pub async fn as_device(
    addr: SocketAddr,
    device: &Registration,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let header = format!("Authorization: Bearer {}:{}\r\n", device.device_id, device.token);
    request_with(addr, method, path, body, &header).await
}

async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    request_with(addr, method, path, body, "").await
}

async fn request_with(addr: SocketAddr, method: &str, path: &str, body: Option<&str>, headers: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read response");
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    (status, body.to_string())
}

/// Registers a new user with one device.
pub async fn register(addr: SocketAddr, name: &str) -> Registration {
    let (status, body) = post_json(addr, "/api/devices", &serde_json::json!({ "name": name }).to_string()).await;
    assert_eq!(status, 201, "register {name}: {body}");
    serde_json::from_str(&body).expect("a registration")
}
