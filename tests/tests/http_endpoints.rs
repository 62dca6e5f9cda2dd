//! `/healthz` and the page fallback.

use bluetick_tests::http;
use bluetick_tests::server::TestServer;

#[tokio::test]
async fn healthz_reports_ok() {
    let server = TestServer::start().await;
    let (status, body) = http::get(server.addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["boots"], 1);

    server.stop().await;
}

#[tokio::test]
async fn healthz_counts_boots_across_restarts_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    for expected_boots in 1..=2 {
        let server = TestServer::start_in(dir.path(), |_| {}).await;
        let (status, body) = http::get(server.addr, "/healthz").await;
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["boots"], expected_boots, "the database file persisted");
        server.stop().await;
    }
}

#[tokio::test]
async fn root_explains_how_to_build_the_page_when_it_is_missing() {
    let server = TestServer::start().await;
    let (status, body) = http::get(server.addr, "/").await;
    assert_eq!(status, 503);
    assert!(body.contains("make run"), "{body}");
    server.stop().await;
}
