//! The phone model driven frame by frame, as the page and the tests' clients drive it.

use uuid::Uuid;

use super::*;
use crate::frames::{Delivery, TraceStage};

/// A world that records what the phone did, and can lose its connection.
#[derive(Default)]
struct Recorder {
    frames: Vec<ClientFrame>,
    log: Vec<String>,
    member_traces: Vec<MemberTrace>,
    offline: bool,
}

impl PhoneIo for Recorder {
    fn put(&mut self, frame: &ClientFrame) -> bool {
        if self.offline {
            return false;
        }
        self.frames.push(frame.clone());
        true
    }
    fn log(&mut self, text: String) {
        self.log.push(text);
    }
    fn open(&mut self, _delivery: Delivery) -> Option<Vec<Opened>> {
        None
    }
    fn member_trace(&mut self, trace: MemberTrace) {
        self.member_traces.push(trace);
    }
}

impl Recorder {
    fn acks(&self) -> Vec<u64> {
        self.frames
            .iter()
            .filter_map(|f| if let ClientFrame::Ack { up_to } = f { Some(*up_to) } else { None })
            .collect()
    }
    fn sends_of(&self, id: MessageId) -> usize {
        self.frames.iter().filter(|f| matches!(f, ClientFrame::Send { id: sent, .. } if *sent == id)).count()
    }
}

fn message(seq: u64, body: &str) -> ServerFrame {
    ServerFrame::Message {
        seq,
        message: Delivery {
            id: Uuid::now_v7(),
            from_user: Uuid::now_v7(),
            from_device: Uuid::now_v7(),
            from_name: "Alice".into(),
            to: Recipient::User(Uuid::now_v7()),
            body: body.into(),
            sent_at: 0,
        },
    }
}

fn receipt(seq: u64, id: MessageId, state: TickState) -> ServerFrame {
    ServerFrame::Receipt { seq, id, state, at: 0, reason: None, progress: None }
}

fn handle_all(phone: &mut Phone, io: &mut Recorder) -> Changed {
    let mut changed = Changed::default();
    while let Some(step) = phone.handle_next(io) {
        changed = changed.and(step);
    }
    changed
}

#[test]
fn pushed_entries_wait_to_be_handled_in_order_and_are_acked_cumulatively() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    for seq in 1..=3 {
        phone.on_frame(message(seq, &format!("m{seq}")), &mut io);
    }
    assert_eq!(phone.handling(), 3);
    assert!(phone.received().is_empty(), "nothing is shown before it is handled");
    let changed = handle_all(&mut phone, &mut io);
    assert_eq!(phone.received().iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["m1", "m2", "m3"]);
    assert_eq!(io.acks(), [1, 2, 3]);
    assert_eq!(changed.acked, Some(3));
    assert_eq!(phone.resume_after(), 3);
}

#[test]
fn a_redelivered_entry_is_dropped_but_acknowledged_again() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    phone.on_frame(message(1, "once"), &mut io);
    handle_all(&mut phone, &mut io);
    phone.on_frame(message(1, "once"), &mut io);
    handle_all(&mut phone, &mut io);
    assert_eq!(phone.received().len(), 1);
    assert!(io.log.iter().any(|l| l.starts_with("dropped #1")), "{:?}", io.log);
}

#[test]
fn a_reloaded_phone_drops_what_it_acknowledged_before() {
    let (mut phone, mut io) = (Phone::new(5), Recorder::default());
    assert_eq!(phone.resume_after(), 5);
    phone.on_frame(message(5, "old"), &mut io);
    phone.on_frame(message(6, "new"), &mut io);
    handle_all(&mut phone, &mut io);
    assert_eq!(phone.received().iter().map(|m| m.seq).collect::<Vec<_>>(), [6]);
}

#[test]
fn an_offline_send_waits_and_goes_again_with_its_id_after_welcome() {
    let (mut phone, mut io) = (Phone::new(0), Recorder { offline: true, ..Recorder::default() });
    let id = Uuid::now_v7();
    phone.send(
        Draft { id, to: Recipient::User(Uuid::now_v7()), shown: "hi".into(), wire: "hi".into() },
        0,
        false,
        &mut io,
    );
    assert_eq!(phone.sent()[0].sends, 0);
    assert!(io.log.iter().any(|l| l.contains("waits in the outbox")));
    io.offline = false;
    phone.on_welcome(&mut io);
    assert_eq!(io.sends_of(id), 1);
    assert_eq!(phone.sent()[0].sends, 1);
    // Still unacknowledged: the next welcome sends it again, same id.
    phone.on_welcome(&mut io);
    assert_eq!(io.sends_of(id), 2);
    phone.on_frame(ServerFrame::Sent { id, at: 1 }, &mut io);
    phone.on_welcome(&mut io);
    assert_eq!(io.sends_of(id), 2, "an acknowledged send is not resent");
    assert_eq!(phone.sent()[0].tick, Some(TickState::Sent));
    assert_eq!(phone.sent()[0].acks, 1);
}

#[test]
fn ticks_only_move_forward() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    let id = Uuid::now_v7();
    phone.send(
        Draft { id, to: Recipient::User(Uuid::now_v7()), shown: "hi".into(), wire: "hi".into() },
        0,
        true,
        &mut io,
    );
    phone.on_frame(ServerFrame::Sent { id, at: 1 }, &mut io);
    phone.on_frame(receipt(1, id, TickState::Read), &mut io);
    phone.on_frame(receipt(2, id, TickState::Delivered), &mut io);
    handle_all(&mut phone, &mut io);
    assert_eq!(phone.sent()[0].tick, Some(TickState::Read));
    assert_eq!(io.acks(), [1, 2], "a receipt that changes nothing is still acknowledged");
}

#[test]
fn an_ack_that_could_not_be_sent_goes_again_on_welcome() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    phone.on_frame(message(1, "m1"), &mut io);
    io.offline = true;
    handle_all(&mut phone, &mut io);
    assert!(io.acks().is_empty());
    io.offline = false;
    let changed = phone.on_welcome(&mut io);
    assert_eq!(io.acks(), [1]);
    assert_eq!(changed.acked, Some(1));
}

#[test]
fn entries_not_handled_when_the_connection_drops_are_forgotten() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    phone.on_frame(message(1, "m1"), &mut io);
    phone.on_frame(message(2, "m2"), &mut io);
    phone.handle_next(&mut io);
    phone.on_down(&mut io);
    assert_eq!(phone.handling(), 0);
    assert_eq!(phone.resume_after(), 1, "the server pushes #2 again after the next hello");
}

#[test]
fn read_all_marks_every_unread_message_and_tells_the_server_once() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    phone.on_frame(message(1, "m1"), &mut io);
    phone.on_frame(message(2, "m2"), &mut io);
    handle_all(&mut phone, &mut io);
    assert_eq!(phone.read_all(&mut io).0, 2);
    assert!(io.frames.contains(&ClientFrame::Read { seqs: vec![1, 2] }));
    assert_eq!(phone.read_all(&mut io).0, 0);
    assert!(phone.received().iter().all(|m| m.read));
}

#[test]
fn a_group_messages_member_traces_go_to_the_grid_and_its_own_steps_to_the_message() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    let id = Uuid::now_v7();
    phone.send(
        Draft { id, to: Recipient::Group(Uuid::now_v7()), shown: "all".into(), wire: "all".into() },
        1_000,
        true,
        &mut io,
    );
    let trace = |device| ServerFrame::Trace { id, stage: TraceStage::Stored, at_us: 3_000, device, detail: "d".into() };
    phone.on_frame(trace(Some(Uuid::now_v7())), &mut io);
    phone.on_frame(trace(None), &mut io);
    assert_eq!(io.member_traces.len(), 1);
    assert_eq!(phone.sent()[0].stages.len(), 1);
    assert_eq!(phone.sent()[0].stages[0].after_us, 2_000);
}

#[test]
fn group_progress_never_moves_back_when_reports_arrive_out_of_order() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    let id = Uuid::now_v7();
    let report = |delivered, read, fanned_out| GroupProgress { delivered, read, total: 10, fanned_out };
    phone.on_frame(ServerFrame::GroupProgress { id, progress: report(7, 2, true) }, &mut io);
    phone.on_frame(ServerFrame::GroupProgress { id, progress: report(5, 3, false) }, &mut io);
    assert_eq!(phone.progress()[&id], report(7, 3, true));
}

#[test]
fn only_the_last_hundred_messages_are_kept_on_screen() {
    let (mut phone, mut io) = (Phone::new(0), Recorder::default());
    for seq in 1..=(KEPT as u64 + 5) {
        phone.on_frame(message(seq, "m"), &mut io);
    }
    handle_all(&mut phone, &mut io);
    assert_eq!(phone.received().len(), KEPT);
    assert_eq!(phone.received()[0].seq, 6);
}
