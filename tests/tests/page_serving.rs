//! The built page as a browser fetches it: the precompressed copy when the browser
//! accepts it, the plain file when it does not, and cache headers by content hash.

use std::path::Path;

use bluetick_tests::server::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WASM: &str = "bluetick-frontend-0123456789abcdef_bg.wasm";

/// A page laid out as `scripts/build-frontend.sh` lays it out, with each copy's bytes
/// telling which copy was sent.
fn write_page(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, body) in [("index.html", "<!DOCTYPE html>plain"), (WASM, "wasm plain")] {
        std::fs::write(dir.join(name), body).unwrap();
        std::fs::write(dir.join(format!("{name}.br")), format!("{body} as brotli")).unwrap();
        std::fs::write(dir.join(format!("{name}.gz")), format!("{body} as gzip")).unwrap();
    }
}

/// `GET path` with the given Accept-Encoding: the head (lowercased) and the body.
async fn fetch(server: &TestServer, path: &str, accept: &str) -> (String, String) {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: test\r\naccept-encoding: {accept}\r\nconnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    (head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test]
async fn the_page_is_sent_precompressed_and_hashed_files_are_cached_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write_page(&site);
    let server = TestServer::start_with(|config| config.static_dir = site.clone()).await;

    let (head, body) = fetch(&server, &format!("/{WASM}"), "gzip, deflate, br").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, "wasm plain as brotli");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(head.contains("cache-control: public, max-age=31536000, immutable"), "{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");

    let (head, body) = fetch(&server, &format!("/{WASM}"), "gzip").await;
    assert_eq!(body, "wasm plain as gzip");
    assert!(head.contains("content-encoding: gzip"), "{head}");

    let (head, body) = fetch(&server, &format!("/{WASM}"), "identity").await;
    assert_eq!(body, "wasm plain");
    assert!(!head.contains("content-encoding"), "{head}");

    // index.html names the current files, so a browser must ask again every time.
    let (head, body) = fetch(&server, "/", "br").await;
    assert_eq!(body, "<!DOCTYPE html>plain as brotli");
    assert!(head.contains("cache-control: no-cache"), "{head}");

    let (head, _) = fetch(&server, "/no-such-file.js", "br").await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(!head.contains("immutable"), "{head}");
    server.stop().await;
}
