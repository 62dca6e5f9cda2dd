//! The hello/welcome handshake and the errors around it.

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, PROTOCOL_VERSION, ServerFrame};
use bluetick_tests::client::RawClient;
use bluetick_tests::server::TestServer;

#[tokio::test]
async fn handshake_welcomes_the_current_protocol() {
    let server = TestServer::start().await;
    let (_client, welcome) = RawClient::connect_and_hello(&server.ws_url()).await;
    match welcome {
        ServerFrame::Welcome { protocol, server: name, connection_id, .. } => {
            assert_eq!(protocol, PROTOCOL_VERSION);
            assert!(name.starts_with("bluetick/"), "{name}");
            assert!(!connection_id.is_nil());
        }
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn handshake_wrong_version_gets_error_frame_then_close() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(&server.ws_url()).await;
    client
        .send(&ClientFrame::Hello {
            protocol: PROTOCOL_VERSION + 41,
            client: "old".into(),
            auth: None,
            resume_after: 0,
        })
        .await;
    match client.recv().await {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::UnsupportedVersion);
            assert!(message.contains(&PROTOCOL_VERSION.to_string()), "{message}");
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
    let close = client.expect_close().await.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), ErrorCode::UnsupportedVersion.close_code());
    assert!(!close.reason.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn handshake_garbage_first_gets_an_error_and_the_connection_survives() {
    let server = TestServer::start().await;
    let mut client = RawClient::connect(&server.ws_url()).await;
    client.send_text("this is not json").await;
    match client.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::MalformedFrame),
        other => panic!("{other:?}"),
    }
    client.send(&ClientFrame::hello("late")).await;
    assert!(matches!(client.recv().await, ServerFrame::Welcome { .. }));
    server.stop().await;
}

#[tokio::test]
async fn handshake_twice_is_refused_but_not_fatal() {
    let server = TestServer::start().await;
    let (mut client, _) = RawClient::connect_and_hello(&server.ws_url()).await;
    client.send(&ClientFrame::hello("again")).await;
    match client.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::AlreadyHandshaken),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn handshake_timeout_closes_a_silent_connection() {
    let server = TestServer::start_with(|c| c.handshake_timeout_secs = 1).await;
    let mut client = RawClient::connect(&server.ws_url()).await;
    match client.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::HandshakeRequired),
        other => panic!("{other:?}"),
    }
    let close = client.expect_close().await.unwrap();
    assert_eq!(u16::from(close.code), ErrorCode::HandshakeRequired.close_code());
    server.stop().await;
}

#[tokio::test]
async fn oversized_frame_gets_frame_too_large() {
    let server = TestServer::start_with(|c| c.max_frame_bytes = 1024).await;
    let (mut client, _) = RawClient::connect_and_hello(&server.ws_url()).await;
    client.send_text(&"x".repeat(2048)).await;
    match client.recv().await {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::FrameTooLarge);
            assert!(message.contains("1024"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_stream_of_garbage_is_closed_with_a_reason() {
    let server = TestServer::start().await;
    let (mut client, _) = RawClient::connect_and_hello(&server.ws_url()).await;
    let mut errors = 0;
    for _ in 0..8 {
        client.send_text("{\"type\":\"nope\"}").await;
    }
    let close = loop {
        match client.recv_or_close().await {
            Ok(ServerFrame::Error { .. }) => errors += 1,
            Ok(other) => panic!("{other:?}"),
            Err(close) => break close,
        }
    };
    assert_eq!(errors, 8, "every bad frame is answered before the close");
    assert_eq!(u16::from(close.unwrap().code), ErrorCode::TooManyErrors.close_code());
    server.stop().await;
}
