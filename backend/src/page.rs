//! Serving the built lesson page: precompressed, and cached by content hash.
//!
//! `scripts/build-frontend.sh` names the page's wasm, JS and CSS after a hash of their
//! content and writes a brotli and a gzip copy beside every file. So a browser that
//! accepts brotli is sent the `.br` copy (the 1.3 MB wasm travels as ~0.4 MB), and a
//! hashed file may be cached for a year without revalidation: a new build has new names.
//! `index.html` names the current files, so it is always revalidated.

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, VARY};
use axum::middleware::{self, Next};
use axum::response::Response;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// A year: the longest a browser should keep anything.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Keep it, but ask the server each time whether it changed.
const REVALIDATE: &str = "no-cache";

/// The page's files in `dir`, precompressed variants preferred, with cache headers.
pub fn service(dir: &Path) -> Router {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    // The instructor's page is the same page: it looks at its address and shows `/teach`.
    let teach = ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
    Router::new().route_service("/teach", teach).fallback_service(files).layer(middleware::from_fn(cache_headers))
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let policy = if is_content_hashed(request.uri().path()) { IMMUTABLE } else { REVALIDATE };
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status().as_u16() == 304 {
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
        // The same URL answers brotli, gzip or plain bytes: a shared cache must key on it.
        response.headers_mut().insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// `/bluetick-frontend-0123456789abcdef_bg.wasm`, `/main-0123456789abcdef.css`: a file
/// whose name carries the 16-hex-digit content hash the build gives it.
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    match stem.rsplit_once('-') {
        Some((_, hash)) => hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn only_files_named_by_their_hash_are_immutable() {
        assert!(is_content_hashed("/bluetick-frontend-0123456789abcdef_bg.wasm"));
        assert!(is_content_hashed("/bluetick-frontend-0123456789abcdef.js"));
        assert!(is_content_hashed("/main-fedcba9876543210.css"));
        assert!(!is_content_hashed("/"));
        assert!(!is_content_hashed("/index.html"));
        assert!(!is_content_hashed("/main.css"));
        assert!(!is_content_hashed("/main-0123.css"));
        assert!(!is_content_hashed("/main-0123456789abcdeg.css"));
    }
}
