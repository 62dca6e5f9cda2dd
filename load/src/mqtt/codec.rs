//! The MQTT 3.1.1 packets `mqtt-baseline` needs, and their bytes on the wire (OASIS MQTT
//! 3.1.1, section 2 and 3): CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH and the QoS 2
//! handshake PUBREC/PUBREL/PUBCOMP, DISCONNECT. Nothing else is spoken: no will, no
//! username, no keep-alive pings (a run is far shorter than any keep-alive would be),
//! one topic filter per SUBSCRIBE.
//!
//! Every packet is a fixed header (type and flags in one byte, then the remaining length
//! as a variable-length integer of 1 to 4 bytes) and a body. [`encode`] appends a packet
//! to a buffer; [`decode`] takes one from the front of a buffer, or says it is not all
//! there yet.

pub const CONNECT: u8 = 1;
pub const CONNACK: u8 = 2;
pub const PUBLISH: u8 = 3;
pub const PUBREC: u8 = 5;
pub const PUBREL: u8 = 6;
pub const PUBCOMP: u8 = 7;
pub const SUBSCRIBE: u8 = 8;
pub const SUBACK: u8 = 9;
pub const PINGRESP: u8 = 13;
pub const DISCONNECT: u8 = 14;

/// The largest remaining length four bytes can hold.
const MAX_REMAINING: usize = 268_435_455;

/// A PUBLISH: `id` is present exactly when `qos` is 1 or 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: u8,
    pub retain: bool,
    pub topic: String,
    pub id: Option<u16>,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Protocol level 4 (3.1.1); `clean_session: false` asks for a persistent session.
    Connect {
        client_id: String,
        clean_session: bool,
        keep_alive_s: u16,
    },
    /// `code` 0 is accepted.
    ConnAck {
        session_present: bool,
        code: u8,
    },
    Subscribe {
        id: u16,
        filter: String,
        qos: u8,
    },
    /// One return code per filter: the granted QoS, or 0x80 for failure.
    SubAck {
        id: u16,
        codes: Vec<u8>,
    },
    Publish(Publish),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    PingResp,
    Disconnect,
}

/// Appends `packet`'s bytes to `out`. Panics on a packet no broker could accept (a
/// string over 65,535 bytes, a QoS over 2, a QoS 1/2 PUBLISH without an id): those are
/// the caller's bugs, not the network's.
pub fn encode(packet: &Packet, out: &mut Vec<u8>) {
    match packet {
        Packet::Connect { client_id, clean_session, keep_alive_s } => {
            header(out, CONNECT << 4, 10 + 2 + client_id.len());
            string(out, "MQTT");
            out.push(4);
            out.push(if *clean_session { 0x02 } else { 0x00 });
            out.extend_from_slice(&keep_alive_s.to_be_bytes());
            string(out, client_id);
        }
        Packet::ConnAck { session_present, code } => {
            header(out, CONNACK << 4, 2);
            out.extend_from_slice(&[*session_present as u8, *code]);
        }
        Packet::Subscribe { id, filter, qos } => {
            assert!(*qos <= 2, "QoS {qos}");
            // SUBSCRIBE's reserved flags are 0b0010 [MQTT-3.8.1-1].
            header(out, SUBSCRIBE << 4 | 0b0010, 2 + 2 + filter.len() + 1);
            out.extend_from_slice(&id.to_be_bytes());
            string(out, filter);
            out.push(*qos);
        }
        Packet::SubAck { id, codes } => {
            header(out, SUBACK << 4, 2 + codes.len());
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(codes);
        }
        Packet::Publish(p) => {
            assert!(p.qos <= 2 && (p.qos > 0) == p.id.is_some(), "QoS {} with id {:?}", p.qos, p.id);
            let flags = (p.dup as u8) << 3 | p.qos << 1 | p.retain as u8;
            header(out, PUBLISH << 4 | flags, 2 + p.topic.len() + 2 * p.id.is_some() as usize + p.payload.len());
            string(out, &p.topic);
            if let Some(id) = p.id {
                out.extend_from_slice(&id.to_be_bytes());
            }
            out.extend_from_slice(&p.payload);
        }
        Packet::PubRec(id) => ack(out, PUBREC << 4, *id),
        // PUBREL's reserved flags are 0b0010 [MQTT-3.6.1-1].
        Packet::PubRel(id) => ack(out, PUBREL << 4 | 0b0010, *id),
        Packet::PubComp(id) => ack(out, PUBCOMP << 4, *id),
        Packet::PingResp => header(out, PINGRESP << 4, 0),
        Packet::Disconnect => header(out, DISCONNECT << 4, 0),
    }
}

fn header(out: &mut Vec<u8>, first: u8, remaining: usize) {
    assert!(remaining <= MAX_REMAINING, "packet of {remaining} bytes");
    out.push(first);
    let mut left = remaining;
    loop {
        let byte = (left % 128) as u8;
        left /= 128;
        if left == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).expect("an MQTT string is at most 65,535 bytes");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn ack(out: &mut Vec<u8>, first: u8, id: u16) {
    header(out, first, 2);
    out.extend_from_slice(&id.to_be_bytes());
}

/// Takes one packet from the front of `buf`: `Ok(Some((packet, bytes used)))`, `Ok(None)`
/// if it is not all there yet, or why the bytes are not a packet this client expects.
pub fn decode(buf: &[u8]) -> Result<Option<(Packet, usize)>, String> {
    let Some(&first) = buf.first() else { return Ok(None) };
    let mut remaining = 0usize;
    let mut at = 1;
    loop {
        let Some(&byte) = buf.get(at) else { return Ok(None) };
        remaining |= ((byte & 0x7f) as usize) << (7 * (at - 1));
        at += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if at == 5 {
            return Err("a remaining length longer than 4 bytes".into());
        }
    }
    let Some(body) = buf.get(at..at + remaining) else { return Ok(None) };
    let (kind, flags) = (first >> 4, first & 0x0f);
    let id = |body: &[u8]| -> Result<u16, String> {
        match body {
            [hi, lo] => Ok(u16::from_be_bytes([*hi, *lo])),
            _ => Err(format!("packet type {kind} with a {}-byte body", body.len())),
        }
    };
    let fixed = |want: u8| -> Result<(), String> {
        if flags == want { Ok(()) } else { Err(format!("packet type {kind} with flags {flags:#06b}")) }
    };
    let packet = match kind {
        CONNACK => {
            fixed(0)?;
            let [ack_flags, code] = body else { return Err(format!("a {}-byte CONNACK", body.len())) };
            Packet::ConnAck { session_present: ack_flags & 1 == 1, code: *code }
        }
        SUBACK => {
            fixed(0)?;
            if body.len() < 3 {
                return Err(format!("a {}-byte SUBACK", body.len()));
            }
            Packet::SubAck { id: id(&body[..2])?, codes: body[2..].to_vec() }
        }
        PUBLISH => Packet::Publish(publish(flags, body)?),
        PUBREC => {
            fixed(0)?;
            Packet::PubRec(id(body)?)
        }
        PUBREL => {
            fixed(0b0010)?;
            Packet::PubRel(id(body)?)
        }
        PUBCOMP => {
            fixed(0)?;
            Packet::PubComp(id(body)?)
        }
        PINGRESP => Packet::PingResp,
        other => return Err(format!("unexpected packet type {other}")),
    };
    Ok(Some((packet, at + remaining)))
}

fn publish(flags: u8, body: &[u8]) -> Result<Publish, String> {
    let qos = (flags >> 1) & 0b11;
    if qos == 3 {
        return Err("a PUBLISH with QoS 3".into());
    }
    let short = || "a PUBLISH shorter than its topic and id".to_string();
    let len = u16::from_be_bytes([*body.first().ok_or_else(short)?, *body.get(1).ok_or_else(short)?]) as usize;
    let topic = body.get(2..2 + len).ok_or_else(short)?;
    let topic = String::from_utf8(topic.to_vec()).map_err(|_| "a topic that is not UTF-8".to_string())?;
    let mut at = 2 + len;
    let id = if qos > 0 {
        let id = body.get(at..at + 2).ok_or_else(short)?;
        at += 2;
        Some(u16::from_be_bytes([id[0], id[1]]))
    } else {
        None
    };
    Ok(Publish { dup: flags & 0b1000 != 0, qos, retain: flags & 1 != 0, topic, id, payload: body[at..].to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(packet: &Packet) -> Vec<u8> {
        let mut out = Vec::new();
        encode(packet, &mut out);
        out
    }

    #[test]
    fn connect_asks_for_a_persistent_3_1_1_session() {
        let packet = Packet::Connect { client_id: "ab".into(), clean_session: false, keep_alive_s: 60 };
        let want = [0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x00, 0, 60, 0, 2, b'a', b'b'];
        assert_eq!(bytes(&packet), want);
        let clean = Packet::Connect { client_id: "ab".into(), clean_session: true, keep_alive_s: 60 };
        assert_eq!(bytes(&clean)[9], 0x02);
    }

    #[test]
    fn subscribe_carries_its_reserved_flags_and_qos() {
        let packet = Packet::Subscribe { id: 10, filter: "a/b".into(), qos: 2 };
        assert_eq!(bytes(&packet), [0x82, 8, 0, 10, 0, 3, b'a', b'/', b'b', 2]);
    }

    #[test]
    fn server_packets_decode_from_their_bytes() {
        assert_eq!(decode(&[0x20, 2, 1, 0]).unwrap(), Some((Packet::ConnAck { session_present: true, code: 0 }, 4)));
        assert_eq!(decode(&[0x90, 3, 0, 10, 2]).unwrap(), Some((Packet::SubAck { id: 10, codes: vec![2] }, 5)));
        assert_eq!(decode(&[0xd0, 0]).unwrap(), Some((Packet::PingResp, 2)));
    }

    #[test]
    fn the_qos_2_handshake_round_trips() {
        for packet in [Packet::PubRec(1), Packet::PubRel(65535), Packet::PubComp(300)] {
            let wire = bytes(&packet);
            assert_eq!(wire.len(), 4);
            assert_eq!(decode(&wire).unwrap(), Some((packet, 4)));
        }
        assert_eq!(bytes(&Packet::PubRel(1))[0], 0x62);
        // A PUBREL without its reserved flags is malformed [MQTT-3.6.1-1].
        assert!(decode(&[0x60, 2, 0, 1]).is_err());
    }

    #[test]
    fn a_publish_round_trips_with_a_multi_byte_length() {
        let publish = Publish {
            dup: true,
            qos: 2,
            retain: false,
            topic: "bluetick-load/pair/7".into(),
            id: Some(513),
            payload: vec![7; 300],
        };
        let wire = bytes(&Packet::Publish(publish.clone()));
        // 2 + 20 (topic) + 2 (id) + 300 = 324 = 0xc4 0x02 as a variable-length integer.
        assert_eq!(&wire[..3], &[0x3c, 0xc4, 0x02]);
        assert_eq!(decode(&wire).unwrap(), Some((Packet::Publish(publish.clone()), wire.len())));
        let qos0 = Publish { qos: 0, id: None, dup: false, ..publish };
        let wire = bytes(&Packet::Publish(qos0.clone()));
        assert_eq!(decode(&wire).unwrap(), Some((Packet::Publish(qos0), wire.len())));
    }

    #[test]
    fn a_packet_cut_short_waits_for_the_rest_and_leaves_what_follows() {
        let mut wire = bytes(&Packet::PubComp(9));
        wire.extend_from_slice(&bytes(&Packet::PubRec(10)));
        for cut in 0..4 {
            assert_eq!(decode(&wire[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(decode(&wire).unwrap(), Some((Packet::PubComp(9), 4)));
        assert_eq!(decode(&wire[4..]).unwrap(), Some((Packet::PubRec(10), 4)));
        // A length still continuing after 4 bytes is malformed, not "wait for more".
        assert!(decode(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
        assert!(decode(&[0x36, 0]).is_err(), "QoS 3");
    }
}
