//! The five questions, in the order the lesson teaches their topics. Each wrong option
//! is a mistake students really make, and its explanation says what the mistake misses.
//! Each question names the lab on the page that shows its answer happening.

use super::{Choice, Question};

const fn choice(text: &'static str, why: &'static str) -> Choice {
    Choice { text, why }
}

pub const QUESTIONS: [Question; 5] = [
    Question {
        topic: "WebSocket vs HTTP polling",
        stem: "WhatsApp keeps a WebSocket open instead of polling over HTTP. Why?",
        choices: [
            choice(
                "HTTP cannot carry UTF-8 text such as emoji.",
                "HTTP carries any bytes at all; text encoding has nothing to do with the choice.",
            ),
            choice(
                "The server can push a message the instant it arrives, with no request from the phone.",
                "HTTP only ever answers a request. After the upgrade, a WebSocket is a full-duplex channel \
                 over TCP, so the server speaks first whenever it has something. Polling at 58K messages a \
                 second would mostly fetch nothing: about 99.9% of polls come back empty.",
            ),
            choice(
                "A WebSocket guarantees that every message is delivered exactly once.",
                "A WebSocket only keeps bytes in order while the connection lives. A dropped connection can \
                 lose or repeat messages; exactly-once comes from message_id deduplication and \
                 application-level acks on top.",
            ),
            choice(
                "A WebSocket encrypts each message end to end.",
                "A secure WebSocket (wss) protects the hop to the server, which can still read what it \
                 receives. End-to-end encryption happens on the devices, with the Signal protocol.",
            ),
        ],
        answer: 1,
        shown_in: ("state-machine", "the WebSocket state machine lab"),
    },
    Question {
        topic: "Idempotent send",
        stem: "A message carries message_id = a UUID. Hearing no ack, the sender resends it, so the server \
               receives it twice. What does the idempotency check do?",
        choices: [
            choice(
                "Stores both copies and lets the recipient's app hide the second one.",
                "Then the server has already delivered twice and every client must clean up after it. The \
                 check belongs on the server, where the message_id is unique.",
            ),
            choice(
                "Rejects the retry with an error so the sender learns it was a duplicate.",
                "The sender retried because it never heard back; an error would look like a failure. The \
                 retry must get the same answer the first attempt would have got.",
            ),
            choice(
                "Finds the message_id already stored, does nothing (ON CONFLICT DO NOTHING) and answers the \
                 retry exactly as it answered the first send.",
                "The insert is idempotent: the second one hits the unique key and is ignored. No second \
                 delivery, no error, no extra state, and the sender gets the same SENT ack either way.",
            ),
            choice(
                "Compares the message text and drops the second copy if it matches.",
                "Two different messages can say the same thing (\"ok\"), and with end-to-end encryption the \
                 server cannot read the text anyway. Identity is the message_id, not the content.",
            ),
        ],
        answer: 2,
        shown_in: ("retry-storm", "the retry storm"),
    },
    Question {
        topic: "Offline queue",
        stem: "A user is offline while 50 messages arrive for them. When they reconnect, the offline queue \
               makes sure that…",
        choices: [
            choice(
                "all 50 arrive, each exactly once, in the order the server received them (FIFO).",
                "The server kept them in a per-recipient queue while the phone was away, and a push \
                 notification (APNs or FCM) woke the app. On reconnect the queue drains oldest first, so \
                 the conversation reads in order.",
            ),
            choice(
                "only the newest message is delivered, with a count of the others.",
                "Every message matters to the person reading; summarising would lose data, and the promise \
                 is no drops.",
            ),
            choice(
                "nothing is waiting: the sends failed while the user was offline and the senders must try \
                 again.",
                "Senders got SENT as soon as the server stored the message. The server holds it until the \
                 recipient can take it; nobody resends.",
            ),
            choice(
                "the 50 arrive in whatever order the delivery servers finish them.",
                "Out-of-order delivery would scramble the conversation. The queue flushes first in, first \
                 out.",
            ),
        ],
        answer: 0,
        shown_in: ("offline-queue", "the offline queue lab"),
    },
    Question {
        topic: "End-to-end encryption",
        stem: "What does end-to-end encryption mean?",
        choices: [
            choice(
                "The connection between the phone and the server uses TLS.",
                "That is transport encryption: it ends at the server, which decrypts and can read \
                 everything.",
            ),
            choice(
                "Messages are encrypted in the database with a key the operator keeps.",
                "That is encryption at rest. Whoever holds the key, the operator included, can read the \
                 messages, and can be ordered to hand them over.",
            ),
            choice(
                "The server encrypts each message before forwarding it to the recipient.",
                "Then the server saw the plain text before encrypting it: one end of the conversation would \
                 be the server, not the other person.",
            ),
            choice(
                "Only the two devices hold the keys: the sender's phone encrypts, the server relays \
                 ciphertext it cannot read, and the recipient's phone decrypts.",
                "With the Signal protocol the keys never leave the devices. Not the operator, not a court \
                 order served on the operator, can turn the stored ciphertext back into the message.",
            ),
        ],
        answer: 3,
        shown_in: ("encryption", "the end-to-end encryption labs"),
    },
    Question {
        topic: "Group fan-out",
        stem: "A group has 1,000 members and one of them sends a message. How many server operations does \
               delivering it take?",
        choices: [
            choice(
                "One: the server broadcasts once and every member receives it.",
                "Each member has their own devices, connections and receipts, and some are offline. There \
                 is no single broadcast; a naive one would melt a cluster.",
            ),
            choice(
                "About 1,000 deliveries, one per member, while the content is stored only once.",
                "Fan-out multiplies by the group size: at 58K messages a second, 1,000-member groups mean \
                 58 million delivery operations a second. Storing the content once and queueing the \
                 deliveries (Kafka) keeps that affordable.",
            ),
            choice(
                "1,000 full copies of the message are stored, then 1,000 deliveries are made.",
                "The deliveries are right, the storage is not: the content is written once, and each \
                 recipient gets only a small delivery record pointing at it.",
            ),
            choice(
                "About 1,000,000, because every member passes it on to every other member.",
                "Members do not relay to each other; the servers fan out from the one stored message.",
            ),
        ],
        answer: 1,
        shown_in: ("fan-out", "the fan-out lab"),
    },
];
