//! Classes against a real server and a real SQLite file: an instructor creates a class,
//! students' labs join it by code, and what they do arrives live on the instructor's
//! WebSocket; one class sees nothing of another, and nobody without the instructor
//! token reads a class.

use bluetick_client::http::request;
use bluetick_shared::class::{ClassView, Joined, TeachFrame};
use bluetick_shared::frames::Registration;
use bluetick_tests::classes::{
    TOKEN, as_instructor, close_code, create_class, join, next_change, server, student, watch,
};
use bluetick_tests::http::as_device;
use bluetick_tests::server::TestServer;

async fn report(server: &TestServer, me: &Registration, progress: serde_json::Value) -> u16 {
    as_device(server.addr, me, "POST", "/api/class/progress", Some(&progress.to_string())).await.0
}

#[tokio::test]
async fn class_join_and_progress() {
    let server = server().await;
    let class = create_class(&server, "  Systems design, period 3 ").await;
    assert_eq!(class.name, "Systems design, period 3");
    assert_eq!(class.code.len(), 6);

    let mut ws = watch(&server, &class, TOKEN).await;
    let TeachFrame::Snapshot { view } = next_change(&mut ws).await else { panic!("a snapshot first") };
    assert_eq!(view.class, class);
    assert!(view.students.is_empty());

    // A student joins with the code as typed from a projector (any case, a dash).
    let ada = student(&server).await;
    let typed = format!("{}-{}", &class.code[..3].to_lowercase(), &class.code[3..]);
    let (status, body) = join(&server, &ada, &typed, " Ada ").await;
    assert_eq!(status, 200, "{body}");
    let joined: Joined = serde_json::from_str(&body).unwrap();
    assert_eq!((joined.class_id, joined.name.as_str()), (class.class_id, "Ada"));
    let TeachFrame::Student { student: row } = next_change(&mut ws).await else { panic!("the student's row") };
    assert_eq!(row.name, "Ada");

    // Her section visit and quiz answers arrive live; a second answer keeps the first.
    assert_eq!(report(&server, &ada, serde_json::json!({"kind": "section", "key": "offline"})).await, 204);
    let TeachFrame::Student { student: row } = next_change(&mut ws).await else { panic!("a row") };
    assert_eq!(row.sections, ["offline"]);
    let wrong = serde_json::json!({"kind": "quiz", "key": "q1", "answer": "UDP", "correct": false});
    assert_eq!(report(&server, &ada, wrong).await, 204);
    let TeachFrame::Student { student: row } = next_change(&mut ws).await else { panic!("a row") };
    assert_eq!((row.quiz[0].first.as_str(), row.quiz[0].first_correct), ("UDP", Some(false)));
    let right = serde_json::json!({"kind": "quiz", "key": "q1", "answer": "WebSocket", "correct": true});
    assert_eq!(report(&server, &ada, right).await, 204);
    let TeachFrame::Student { student: row } = next_change(&mut ws).await else { panic!("a row") };
    let answer = &row.quiz[0];
    assert_eq!((answer.first.as_str(), answer.latest.as_str(), answer.correct), ("UDP", "WebSocket", Some(true)));
    assert_eq!(report(&server, &ada, serde_json::json!({"kind": "lab", "key": "fanout"})).await, 204);
    let TeachFrame::Student { student: row } = next_change(&mut ws).await else { panic!("a row") };
    assert_eq!(row.labs, ["fanout"]);

    // The same class over HTTP, and as CSV with a formula-looking name made harmless.
    let (status, body) = as_instructor(&server, "GET", &format!("/api/classes/{}", class.class_id), None).await;
    assert_eq!(status, 200, "{body}");
    let view: ClassView = serde_json::from_str(&body).unwrap();
    assert_eq!(view.students.len(), 1);
    let eve = student(&server).await;
    assert_eq!(join(&server, &eve, &class.code, "=HYPERLINK(1)").await.0, 200);
    let (status, csv) =
        as_instructor(&server, "GET", &format!("/api/classes/{}/results.csv", class.class_id), None).await;
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "student,joined_at_unix_ms,sections,labs,quiz_right,quiz q1,quiz q1 verdict");
    assert!(lines[1].starts_with("Ada,"), "{csv}");
    assert!(lines[1].ends_with(",offline,fanout,1,UDP,wrong"), "{csv}");
    assert!(lines[2].starts_with("'=HYPERLINK(1),"), "{csv}");
    server.stop().await;
}

#[tokio::test]
async fn class_isolation() {
    let server = server().await;
    let a = create_class(&server, "Class A").await;
    let b = create_class(&server, "Class B").await;
    assert_ne!(a.code, b.code);
    let ada = student(&server).await;
    let bob = student(&server).await;
    assert_eq!(join(&server, &ada, &a.code, "Ada").await.0, 200);
    assert_eq!(join(&server, &bob, &b.code, "Bob").await.0, 200);
    assert_eq!(report(&server, &ada, serde_json::json!({"kind": "section", "key": "ticks"})).await, 204);

    // Each class lists only its own students.
    for (class, name) in [(&a, "Ada"), (&b, "Bob")] {
        let (_, body) = as_instructor(&server, "GET", &format!("/api/classes/{}", class.class_id), None).await;
        let view: ClassView = serde_json::from_str(&body).unwrap();
        assert_eq!(view.students.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), [name]);
    }
    // A student learns their own class only.
    let (status, body) = as_device(server.addr, &bob, "GET", "/api/class", None).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Joined>(&body).unwrap().class_name, "Class B");

    // Without the instructor token nobody reads or creates a class: not a student's
    // device credentials, not a wrong token, not nothing.
    let path = format!("/api/classes/{}", a.class_id);
    let bearer = format!("{}:{}", ada.device_id, ada.token);
    for (who, bearer) in [("a student", Some(bearer.as_str())), ("a wrong token", Some("guess")), ("nobody", None)] {
        for (method, path) in [("GET", path.as_str()), ("GET", "/api/classes"), ("POST", "/api/classes")] {
            let (status, _) = request(server.addr, method, path, Some(r#"{"name": "x"}"#), bearer).await.unwrap();
            assert_eq!(status, 401, "{who}: {method} {path}");
        }
    }
    let mut ws = watch(&server, &a, "guess").await;
    assert_eq!(close_code(&mut ws).await, 4401);

    // Bad input is refused with a sentence and changes nothing.
    for (code, name, sentence) in [
        ("NOPE00", "Ada", "a join code is 6 letters"),
        ("ZZZZZZ", "Ada", "no class has the code ZZZZZZ"),
        (a.code.as_str(), "   ", "your name: a name must be 1 to 40"),
    ] {
        let (status, body) = join(&server, &bob, code, name).await;
        assert!(status == 400 || status == 404, "{status} {body}");
        assert!(body.contains(sentence), "{body}");
    }
    let (_, body) = as_device(server.addr, &bob, "GET", "/api/class", None).await;
    assert_eq!(serde_json::from_str::<Joined>(&body).unwrap().class_name, "Class B", "still in B");
    let outsider = student(&server).await;
    assert_eq!(as_device(server.addr, &outsider, "GET", "/api/class", None).await, (200, "null".to_string()));
    let (status, body) = as_device(
        server.addr,
        &outsider,
        "POST",
        "/api/class/progress",
        Some(r#"{"kind": "section", "key": "ticks"}"#),
    )
    .await;
    assert_eq!(status, 409, "a lab outside every class: {body}");
    assert_eq!(report(&server, &ada, serde_json::json!({"kind": "section", "key": "not a key"})).await, 400);
    server.stop().await;
}
