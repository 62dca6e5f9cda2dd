//! SIGKILL while the store's writer holds a large batch. Four senders each put hundreds
//! of sends on the wire without waiting for `sent` (1:1 to Bob, who has two devices, and
//! to Carol, and a share to a group of the three, all offline), so the writer's queue
//! stays full and its transactions hold hundreds of jobs. The server process is killed
//! the moment the database holds messages whose acks have not arrived (a batch has just
//! committed and the next is being written), or at the latest once a quarter of the acks
//! is in, and restarted on the same data dir. Four rounds of this. After each restart:
//!
//! - every message acknowledged SENT is stored, and each recipient device, reading from
//!   its cursor as a real client does, gets each acknowledged 1:1 message once;
//! - whatever else was stored is whole: each 1:1 message has its entry on every device of
//!   its recipient, each group message its fan-out job, and every device's inbox runs
//!   1..n without a gap;
//! - each sender sends its last pipeline again, same ids, as a client does after a
//!   reconnect: every send is answered, an acknowledged one with the very same `sent`
//!   (recognised, not stored again).
//!
//! While the sends stream in, every ack counted is already visible in the database
//! (SENT only after the commit). At the end each send is stored once and delivered once
//! to each of its recipient devices. Raw frames throughout: the product client resends
//! on its own, which would hide a lost acknowledged message behind its retry.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bluetick_shared::frames::{ClientFrame, GroupId, MessageId, Recipient, Registration, ServerFrame, UserId};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::http::{as_device, create_group, register};
use bluetick_tests::server::{ServerProcess, signal_process};
use uuid::Uuid;

const SENDERS: usize = 4;
/// New sends each sender puts on the wire per round: about what its connection may have
/// waiting for the writer (256), so the writer's queue stays full.
const PIPELINE: usize = 250;
const ROUNDS: usize = 4;
/// New messages a round stores before its kill may come: by then the writer's batches
/// have grown from one job to hundreds.
const WARM: i64 = 200;
/// The latest a round's kill comes: with this many of its acks in.
const KILL_BY: usize = SENDERS * PIPELINE / 4;
/// The first sender's every 8th send goes to the group.
const GROUP_EVERY: usize = 8;
/// The devices a group message reaches: Bob's two and Carol's one (not the sender's).
const GROUP_DEVICES: i64 = 3;

/// One send, planned once so that it can be sent again with the same id.
#[derive(Clone)]
struct Planned {
    id: MessageId,
    to: Recipient,
    body: String,
}

impl Planned {
    fn frame(&self) -> ClientFrame {
        ClientFrame::Send { id: self.id, to: self.to, body: self.body.clone() }
    }
}

/// A sender: its device, every send it planned, and its last pipeline.
struct Sender {
    device: Registration,
    planned: Vec<Planned>,
    last: Vec<Planned>,
}

/// A recipient device's inbox as a real client keeps it: by sequence, the last one its
/// cursor.
#[derive(Default)]
struct Inbox {
    by_seq: BTreeMap<u64, MessageId>,
    ids: HashSet<MessageId>,
}

impl Inbox {
    fn cursor(&self) -> u64 {
        self.by_seq.keys().next_back().copied().unwrap_or(0)
    }

    /// A pushed message: a sequence pushed again must carry the same message; a new one
    /// must come next, with a message the device has not had.
    fn take(&mut self, seq: u64, id: MessageId) {
        if let Some(before) = self.by_seq.get(&seq) {
            return assert_eq!(*before, id, "seq {seq} pushed again with another message");
        }
        assert_eq!(seq, self.cursor() + 1, "seq {seq} after {}: a gap, or out of order", self.cursor());
        assert!(self.ids.insert(id), "{id} delivered twice, the second time as seq {seq}");
        self.by_seq.insert(seq, id);
    }
}

/// How far [`read_inbox`] reads.
#[derive(Clone, Copy, PartialEq)]
enum Until {
    /// To `drained`: what the inbox holds now.
    Drained,
    /// Until the inbox holds this many messages, live ones included.
    Holds(usize),
}

/// A recipient device comes online, resumes after its cursor and reads into `inbox`.
async fn read_inbox(url: &str, device: &Registration, inbox: &mut Inbox, until: Until) {
    let mut raw = RawClient::connect_as(url, device, inbox.cursor()).await;
    loop {
        if let Until::Holds(n) = until
            && inbox.ids.len() >= n
        {
            return;
        }
        match raw.recv().await {
            ServerFrame::Message { seq, message } => inbox.take(seq, message.id),
            ServerFrame::Drained { .. } if until == Until::Drained => return,
            ServerFrame::Drained { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// SIGKILLs the server once, whoever asks first.
struct Killer {
    pid: u32,
    done: AtomicBool,
}

impl Killer {
    fn kill(&self) {
        if !self.done.swap(true, Ordering::SeqCst) {
            signal_process(self.pid, 9);
        }
    }
}

/// Puts every send on the wire, then reads acks until the server process is gone,
/// counting them over all senders in `acks`; the ack that makes `KILL_BY` kills it.
/// Answers the acks that got out, with their `sent` time.
async fn pipeline_until_killed(
    mut raw: RawClient,
    plan: Vec<Planned>,
    acks: Arc<AtomicUsize>,
    killer: Arc<Killer>,
) -> HashMap<MessageId, i64> {
    for send in &plan {
        if !raw.try_send(&send.frame()).await {
            break;
        }
    }
    let mut answered = HashMap::new();
    while let Some(frame) = raw.recv_or_gone().await {
        match frame {
            ServerFrame::Sent { id, at } => {
                assert!(answered.insert(id, at).is_none(), "{id} acknowledged twice");
                if acks.fetch_add(1, Ordering::SeqCst) + 1 >= KILL_BY {
                    killer.kill();
                }
            }
            ServerFrame::Drained { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    answered
}

/// Every sender's new pipeline, on the wire at once, and the kill; answers the acks that
/// got out. Checks all along that what was acknowledged is in the database.
async fn kill_mid_stream(
    server: &ServerProcess,
    dir: &Path,
    round: usize,
    plans: Vec<(RawClient, Vec<Planned>)>,
) -> HashMap<MessageId, i64> {
    let before = db::count(dir, "SELECT COUNT(*) FROM messages").await;
    let acks = Arc::new(AtomicUsize::new(0));
    let killer = Arc::new(Killer { pid: server.child.id(), done: AtomicBool::new(false) });
    let pipelines: Vec<_> = plans
        .into_iter()
        .map(|(raw, plan)| tokio::spawn(pipeline_until_killed(raw, plan, acks.clone(), killer.clone())))
        .collect();
    while !killer.done.load(Ordering::SeqCst) {
        if pipelines.iter().all(|p| p.is_finished()) {
            assert!(killer.done.load(Ordering::SeqCst), "round {round}: the server went away before the kill");
        }
        // An ack counted before the count began is of a commit the count sees.
        let acknowledged = acks.load(Ordering::SeqCst) as i64;
        let stored = db::count(dir, "SELECT COUNT(*) FROM messages").await - before;
        assert!(
            stored >= acknowledged,
            "round {round}: {acknowledged} acknowledged SENT, only {stored} in the database: SENT before the commit"
        );
        // More stored than acknowledged: a batch has committed, its acks are on their
        // way, the writer has begun the next.
        if stored >= WARM && stored > acks.load(Ordering::SeqCst) as i64 {
            killer.kill();
        }
    }
    let mut answered = HashMap::new();
    for pipeline in pipelines {
        answered.extend(pipeline.await.unwrap());
    }
    answered
}

/// Each sender sends its last pipeline again, same ids: every send is answered, one
/// acknowledged before with the very same `sent`.
async fn send_again(url: &str, senders: &mut [Sender], acked: &mut HashMap<MessageId, i64>) {
    let resends: Vec<_> = senders
        .iter_mut()
        .map(|s| tokio::spawn(resend_all(url.to_string(), s.device.clone(), std::mem::take(&mut s.last))))
        .collect();
    for resend in resends {
        for (id, at) in resend.await.unwrap() {
            match acked.entry(id) {
                Entry::Occupied(first) => assert_eq!(*first.get(), at, "{id} answered anew: stored again"),
                Entry::Vacant(first) => {
                    first.insert(at);
                }
            }
        }
    }
}

/// Sends a plan on a new connection; answers every id's `sent`.
async fn resend_all(url: String, device: Registration, plan: Vec<Planned>) -> HashMap<MessageId, i64> {
    let mut raw = RawClient::connect_as(&url, &device, 0).await;
    for send in &plan {
        raw.send(&send.frame()).await;
    }
    let mut answered = HashMap::new();
    while answered.len() < plan.len() {
        match raw.recv().await {
            ServerFrame::Sent { id, at } => assert!(answered.insert(id, at).is_none(), "{id} answered twice"),
            ServerFrame::Drained { .. } => {}
            other => panic!("a send refused after the restart: {other:?}"),
        }
    }
    answered
}

/// Nothing in the database is half-written, whatever the crash interrupted.
async fn assert_whole(dir: &Path, when: &str) {
    let without_all_entries = "SELECT COUNT(*) FROM messages m WHERE m.recipient_user IS NOT NULL
        AND (SELECT COUNT(*) FROM inbox i WHERE i.message_id = m.id AND i.kind = 0)
         <> (SELECT COUNT(*) FROM devices d WHERE d.user_id = m.recipient_user)";
    let n = db::count(dir, without_all_entries).await;
    assert_eq!(n, 0, "{when}: 1:1 messages stored without all their inbox entries");
    let without_job = "SELECT COUNT(*) FROM messages m WHERE m.group_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM fanout_jobs f WHERE f.message_id = m.id)";
    assert_eq!(db::count(dir, without_job).await, 0, "{when}: group messages stored without their fan-out job");
    let orphans = "SELECT COUNT(*) FROM inbox i WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = i.message_id)";
    assert_eq!(db::count(dir, orphans).await, 0, "{when}: inbox entries for messages that were not stored");
    // Sequences are unique per device (the primary key), so count = max = the last one
    // handed out, none below 1, means 1..n without a gap.
    let gaps = "SELECT COUNT(*) FROM devices d
        WHERE d.last_seq <> (SELECT COUNT(*) FROM inbox i WHERE i.device_id = d.id)
           OR d.last_seq <> (SELECT COALESCE(MAX(seq), 0) FROM inbox i WHERE i.device_id = d.id)
           OR EXISTS (SELECT 1 FROM inbox i WHERE i.device_id = d.id AND i.seq < 1)";
    assert_eq!(db::count(dir, gaps).await, 0, "{when}: a device's inbox sequences have a gap");
}

/// How many of `ids` are stored.
async fn stored_of(dir: &Path, ids: impl Iterator<Item = &MessageId>) -> usize {
    let ids = serde_json::to_string(&ids.collect::<Vec<_>>()).unwrap();
    let sql = "SELECT COUNT(*) FROM messages WHERE client_id IN (SELECT value FROM json_each(?1))";
    db::count_with(dir, sql, &[&ids]).await as usize
}

async fn another_device(addr: SocketAddr, of: &Registration) -> Registration {
    let (status, body) = as_device(addr, of, "POST", &format!("/api/users/{}/devices", of.user_id), None).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Sender `s`'s next `PIPELINE` sends: 1:1 to Bob and Carol in turn, every 8th of the
/// first sender's to the group. A body of some size, so that each batch writes many pages.
fn new_sends(s: usize, sender: &mut Sender, bob: UserId, carol: UserId, group: GroupId) -> Vec<Planned> {
    let start = sender.planned.len();
    for i in start..start + PIPELINE {
        let to = match (s, i) {
            (0, i) if i % GROUP_EVERY == 0 => Recipient::Group(group),
            (_, i) if i % 2 == 0 => Recipient::User(bob),
            _ => Recipient::User(carol),
        };
        sender.planned.push(Planned { id: Uuid::now_v7(), to, body: format!("{s}/{i} {}", "x".repeat(200)) });
    }
    sender.planned[start..].to_vec()
}

#[tokio::test]
async fn writer_batch_survives_kill_mid_commit() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let mut server = ServerProcess::start(dir, &[]);
    let bob = register(server.addr, "Bob").await;
    let bob_phone = another_device(server.addr, &bob).await;
    let carol = register(server.addr, "Carol").await;
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let device = register(server.addr, &format!("Sender {i}")).await;
        senders.push(Sender { device, planned: Vec::new(), last: Vec::new() });
    }
    let group = create_group(server.addr, &senders[0].device, "mid-commit", &[&bob, &carol]).await;
    let recipients = [(&bob, bob.user_id), (&bob_phone, bob.user_id), (&carol, carol.user_id)];
    let mut inboxes: Vec<Inbox> = recipients.iter().map(|_| Inbox::default()).collect();
    let mut acked: HashMap<MessageId, i64> = HashMap::new();

    for round in 0..ROUNDS {
        send_again(&server.ws_url(), &mut senders, &mut acked).await;
        // Every sender connected before any sends: the kill may come with the first acks.
        let mut plans = Vec::new();
        for (s, sender) in senders.iter_mut().enumerate() {
            sender.last = new_sends(s, sender, bob.user_id, carol.user_id, group);
            plans.push((RawClient::connect_as(&server.ws_url(), &sender.device, 0).await, sender.last.clone()));
        }
        let answered = kill_mid_stream(&server, dir, round, plans).await;
        let _ = server.child.wait();
        let last: Vec<&MessageId> = senders.iter().flat_map(|s| &s.last).map(|p| &p.id).collect();
        let unanswered = last.len() - answered.len();
        acked.extend(answered);

        // Restarted: every acknowledged message is there, and nothing is half-written.
        server = ServerProcess::start(dir, &[]);
        let lost = acked.len() - stored_of(dir, acked.keys()).await;
        assert_eq!(lost, 0, "after kill {round}: {lost} messages acknowledged SENT were not stored");
        let queued = last.len() - stored_of(dir, last.into_iter()).await;
        assert!(queued > 0, "after kill {round}: all {unanswered} unanswered sends were stored: the kill came late");
        assert_whole(dir, &format!("after kill {round}")).await;
        // The recipient devices read what is new from their cursors: each acknowledged
        // 1:1 message is there (a group message's fan-out may still be resuming).
        for ((device, user), inbox) in recipients.iter().zip(&mut inboxes) {
            read_inbox(&server.ws_url(), device, inbox, Until::Drained).await;
            let missing = senders
                .iter()
                .flat_map(|s| &s.planned)
                .filter(|p| p.to == Recipient::User(*user) && acked.contains_key(&p.id) && !inbox.ids.contains(&p.id))
                .count();
            assert_eq!(missing, 0, "after kill {round}: acknowledged, not in {}'s inbox", device.device_id);
        }
    }

    // The last pipelines again; then every send has been answered, and is stored once.
    send_again(&server.ws_url(), &mut senders, &mut acked).await;
    let planned = senders.iter().map(|s| s.planned.len()).sum::<usize>();
    assert_eq!(acked.len(), planned, "every send answered");
    assert_eq!(db::count(dir, "SELECT COUNT(*) FROM messages").await, planned as i64, "each send stored once");
    // The recipient devices read on until they hold everything sent to them: each once.
    let mut entries = 0;
    for ((device, user), inbox) in recipients.iter().zip(&mut inboxes) {
        let reaches = |to: Recipient| to == Recipient::User(*user) || matches!(to, Recipient::Group(_));
        let expected: HashSet<MessageId> =
            senders.iter().flat_map(|s| &s.planned).filter(|p| reaches(p.to)).map(|p| p.id).collect();
        read_inbox(&server.ws_url(), device, inbox, Until::Holds(expected.len())).await;
        assert_eq!(inbox.ids, expected, "device {}: every message sent to it, once", device.device_id);
        entries += inbox.ids.len() as i64;
    }
    assert_eq!(db::count(dir, "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, entries, "and delivered once");
    let groups = senders[0].planned.iter().filter(|p| matches!(p.to, Recipient::Group(_))).count() as i64;
    let fanned_out = "SELECT COUNT(*) FROM messages m JOIN fanout_jobs f ON f.message_id = m.id
        WHERE f.done_at IS NOT NULL AND m.recipients_total = ?1";
    let done = db::count_with(dir, fanned_out, &[&GROUP_DEVICES.to_string()]).await;
    assert_eq!(done, groups, "every group message fanned out to its three devices, once");
    assert_whole(dir, "at the end").await;
}
