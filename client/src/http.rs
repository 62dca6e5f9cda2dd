//! A minimal HTTP/1.1 client for bluetick's own API (the crowd command line, tests): one
//! request per connection, JSON bodies, `Connection: close`. The API is small and local;
//! this keeps a full HTTP client stack out of the build.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot reach {addr}: {source}")]
    Io { addr: SocketAddr, source: std::io::Error },
    #[error("not an HTTP response")]
    Malformed,
}

/// `METHOD path` with an optional JSON body and an optional bearer token; returns the
/// status code and body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    bearer: Option<&str>,
) -> Result<(u16, String), HttpError> {
    let io = |source| HttpError::Io { addr, source };
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    let body = body.unwrap_or("");
    let auth = bearer.map(|b| format!("Authorization: Bearer {b}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(io)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").ok_or(HttpError::Malformed)?;
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or(HttpError::Malformed)?;
    Ok((status, body.to_string()))
}
