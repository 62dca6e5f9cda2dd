//! An inbox entry as stored (an inbox row joined with its message and sender) and as the
//! frame it is delivered as.

use bluetick_shared::frames::{Delivery, DeviceId, GroupProgress, Recipient, ServerFrame};
use uuid::Uuid;

use super::receipts::state_from_code;
use super::uuid;
use crate::store::{InboxEntry, StorageError};

/// One inbox row, joined with its message and the sender's name.
#[derive(sqlx::FromRow)]
pub(super) struct InboxRow {
    seq: i64,
    /// 0: a message; 1: a receipt for one the device's user sent.
    kind: i64,
    receipt_state: Option<i64>,
    created_at: Option<i64>,
    reason: Option<String>,
    #[sqlx(try_from = "String")]
    client_id: Uuid,
    #[sqlx(try_from = "String")]
    sender_user: Uuid,
    #[sqlx(try_from = "String")]
    sender_device: Uuid,
    name: String,
    recipient_user: Option<String>,
    group_id: Option<String>,
    body: String,
    sent_at: i64,
    delivered_count: i64,
    read_count: i64,
    recipients_total: Option<i64>,
}

impl InboxRow {
    /// The frame this entry is delivered as.
    pub(super) fn into_entry(self, device: DeviceId) -> Result<InboxEntry, StorageError> {
        let seq = self.seq as u64;
        let frame = if self.kind == 0 {
            let to = match (&self.group_id, &self.recipient_user) {
                (Some(group), _) => Recipient::Group(uuid(group)?),
                (None, Some(user)) => Recipient::User(uuid(user)?),
                (None, None) => {
                    return Err(StorageError::Sqlx(sqlx::Error::Protocol("message without recipient".into())));
                }
            };
            ServerFrame::Message {
                seq,
                message: Delivery {
                    id: self.client_id,
                    from_user: self.sender_user,
                    from_device: self.sender_device,
                    from_name: self.name,
                    to,
                    body: self.body,
                    sent_at: self.sent_at,
                },
            }
        } else {
            let progress = self.group_id.is_some().then(|| GroupProgress {
                delivered: self.delivered_count as u32,
                read: self.read_count as u32,
                total: self.recipients_total.unwrap_or(0) as u32,
                fanned_out: self.recipients_total.is_some(),
            });
            ServerFrame::Receipt {
                seq,
                id: self.client_id,
                state: state_from_code(self.receipt_state.unwrap_or(0)),
                at: self.created_at.unwrap_or(self.sent_at),
                reason: self.reason,
                progress,
            }
        };
        Ok(InboxEntry { device, seq, frame })
    }
}
