//! Graceful shutdown: open sockets get a close frame, in-process and from Ctrl-C.

use bluetick_shared::errors::ErrorCode;
use bluetick_tests::client::RawClient;
use bluetick_tests::server::{ServerProcess, TestServer};

#[tokio::test]
async fn shutdown_sends_going_away_to_open_sockets() {
    let mut server = TestServer::start().await;
    let (mut a, _) = RawClient::connect_and_hello(&server.ws_url()).await;
    let (mut b, _) = RawClient::connect_and_hello(&server.ws_url()).await;
    server.begin_shutdown();
    for client in [&mut a, &mut b] {
        let close = client.expect_close().await.expect("close frame");
        assert_eq!(u16::from(close.code), ErrorCode::ShuttingDown.close_code());
    }
    server.finished().await;
}

#[tokio::test]
async fn ctrl_c_closes_sockets_and_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let mut process = ServerProcess::start(data.path(), &[]);
    let (mut client, _) = RawClient::connect_and_hello(&process.ws_url()).await;
    process.signal(2); // SIGINT, as Ctrl-C sends
    let close = client.expect_close().await.expect("close frame");
    assert_eq!(u16::from(close.code), 1001);
    let status = tokio::task::spawn_blocking(move || process.child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status}");
}
