//! Projector mode against a real server and a real SQLite file: the instructor puts a
//! load run on the class's projector; every student of the class follows it live on
//! their class socket, no student can start, stop or clear it, and another class sees
//! none of it. The run goes to the front of the server's line of load runs.

use bluetick_client::http::request;
use bluetick_shared::class::{ClassFrame, TeachFrame};
use bluetick_shared::frames::Registration;
use bluetick_shared::lab_load::{LoadState, LoadView};
use bluetick_tests::classes::{
    Socket, TOKEN, as_instructor, close_code, create_class, follow, join, next_change, next_class_frame, server,
    student, watch,
};
use bluetick_tests::http::as_device;
use bluetick_tests::server::TestServer;

/// The student's next projector view.
async fn shown(ws: &mut Socket) -> Option<LoadView> {
    let ClassFrame::Projector { projector } = next_class_frame(ws).await;
    projector
}

/// The projector views a student's socket receives until the run is over, the last one
/// included.
async fn follow_to_the_end(ws: &mut Socket) -> Vec<LoadView> {
    let mut seen = Vec::new();
    loop {
        let view = shown(ws).await.expect("the run stays shown until it is cleared");
        let over = view.run.as_ref().is_some_and(|r| r.state.is_over());
        seen.push(view);
        if over {
            return seen;
        }
    }
}

async fn start_load(server: &TestServer, me: &Registration, body: &str) -> (u16, serde_json::Value) {
    let (status, text) = as_device(server.addr, me, "POST", "/api/lab/load", Some(body)).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}")))
}

#[tokio::test]
async fn projector_run_read_only() {
    let server = server().await;
    let a = create_class(&server, "Class A").await;
    let b = create_class(&server, "Class B").await;
    let (ada, bo, cy) = (student(&server).await, student(&server).await, student(&server).await);
    assert_eq!(join(&server, &ada, &a.code, "Ada").await.0, 200);
    assert_eq!(join(&server, &bo, &a.code, "Bo").await.0, 200);
    assert_eq!(join(&server, &cy, &b.code, "Cy").await.0, 200);

    // Every page starts with the projector as it is: nothing on it.
    let mut ada_ws = follow(&server, &ada).await;
    let mut cy_ws = follow(&server, &cy).await;
    assert_eq!(shown(&mut ada_ws).await, None);
    assert_eq!(shown(&mut cy_ws).await, None);
    let mut teach = watch(&server, &a, TOKEN).await;
    let TeachFrame::Snapshot { view } = next_change(&mut teach).await else { panic!("a snapshot first") };
    assert_eq!(view.projector, None);

    // A student's credentials (or none) start, read or clear nothing.
    let path = format!("/api/classes/{}/projector", a.class_id);
    let bearer = format!("{}:{}", ada.device_id, ada.token);
    for bearer in [Some(bearer.as_str()), None] {
        for method in ["POST", "GET", "DELETE"] {
            let (status, body) =
                request(server.addr, method, &path, Some(r#"{"pairs": 1, "seconds": 1}"#), bearer).await.unwrap();
            assert_eq!(status, 401, "{method} as {bearer:?}: {body}");
        }
    }
    // Bad input is refused with a sentence.
    let (status, body) = as_instructor(&server, "POST", &path, Some(r#"{"pairs": 0, "seconds": 1}"#)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("pairs must be 1 to"), "{body}");
    let (status, body) = as_instructor(&server, "POST", &path, Some("{}")).await;
    assert!(status == 400 || status == 422, "{status} {body}");
    let nowhere = format!("/api/classes/{}/projector", uuid::Uuid::nil());
    assert_eq!(as_instructor(&server, "POST", &nowhere, Some(r#"{"pairs": 1, "seconds": 1}"#)).await.0, 404);

    // A student's run holds the server and another waits: the projector's run goes next.
    let (dan, eve) = (student(&server).await, student(&server).await);
    let (status, body) = start_load(&server, &dan, r#"{"pairs": 2, "seconds": 2}"#).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = start_load(&server, &eve, r#"{"pairs": 1, "seconds": 1}"#).await;
    assert_eq!((status, body["queue_position"].as_u64()), (202, Some(1)), "{body}");
    let (status, body) = as_instructor(&server, "POST", &path, Some(r#"{"pairs": 2, "seconds": 1}"#)).await;
    assert_eq!(status, 202, "{body}");
    let started: LoadView = serde_json::from_str(&body).unwrap();
    assert_eq!(started.queue_position, Some(1), "the projector's run goes next");
    let (_, body) = as_device(server.addr, &eve, "GET", "/api/lab/load", None).await;
    let eve_view: LoadView = serde_json::from_str(&body).unwrap();
    assert_eq!(eve_view.queue_position, Some(2), "the student's run waits one more turn, and is told so");

    // Ada's page follows the run live, from its place in the line to its exact ledger.
    let seen = follow_to_the_end(&mut ada_ws).await;
    assert_eq!(seen[0].run.as_ref().map(|r| r.state), Some(LoadState::Queued));
    assert!(seen.iter().any(|v| v.run.as_ref().is_some_and(|r| r.state == LoadState::Running)), "{seen:?}");
    let run = seen.last().unwrap().run.clone().unwrap();
    assert_eq!(run.state, LoadState::Finished, "{:?}", run.reason);
    assert_eq!(run.request.pairs, 2);
    let ledger = run.ledger;
    assert!(ledger.sent > 0);
    assert_eq!((ledger.delivered_ticks, ledger.lost, ledger.duplicated), (ledger.sent, 0, 0), "{ledger:?}");
    // Bo, who never opened the socket, reads the same run; the instructor saw it too.
    let (status, body) = as_device(server.addr, &bo, "GET", "/api/class/projector", None).await;
    assert_eq!(status, 200, "{body}");
    let bo_view: Option<LoadView> = serde_json::from_str(&body).unwrap();
    assert_eq!(bo_view.and_then(|v| v.run).map(|r| r.ledger), Some(ledger));
    loop {
        let TeachFrame::Projector { projector } = next_change(&mut teach).await else { continue };
        if projector.as_ref().and_then(|p| p.run.as_ref()).is_some_and(|r| r.state.is_over()) {
            assert_eq!(projector.unwrap().run.unwrap().ledger, ledger);
            break;
        }
    }

    // The student's own lab controls reach their own lab only: there is no projector run
    // in it to stop, and leaving "the line" is refused.
    let (status, body) = as_device(server.addr, &ada, "DELETE", "/api/lab/load", None).await;
    assert_eq!(status, 409, "{body}");
    let (_, body) = as_device(server.addr, &ada, "GET", "/api/lab/load", None).await;
    assert_eq!(serde_json::from_str::<LoadView>(&body).unwrap().run, None);

    // Class B saw nothing: the first frame it gets after A's run is B's own clearing.
    assert_eq!(as_device(server.addr, &cy, "GET", "/api/class/projector", None).await, (200, "null".to_string()));
    let b_path = format!("/api/classes/{}/projector", b.class_id);
    assert_eq!(as_instructor(&server, "DELETE", &b_path, None).await.0, 204);
    assert_eq!(shown(&mut cy_ws).await, None);

    // The instructor clears A's projector: it leaves every page.
    assert_eq!(as_instructor(&server, "DELETE", &path, None).await.0, 204);
    assert_eq!(shown(&mut ada_ws).await, None);
    assert_eq!(as_device(server.addr, &bo, "GET", "/api/class/projector", None).await, (200, "null".to_string()));

    // The class socket needs a joined lab's device.
    let mut stranger = follow(&server, &student(&server).await).await;
    assert_eq!(close_code(&mut stranger).await, 4404);
    let mut forged = follow(&server, &Registration { token: "guess".into(), ..ada.clone() }).await;
    assert_eq!(close_code(&mut forged).await, 4401);
    server.stop().await;
}
