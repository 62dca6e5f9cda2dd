//! The student's lab sandbox: created on the first visit, kept in `localStorage` so a
//! reload finds the same devices, and recreated if the server no longer knows it (an
//! instructor reset the database, or the lab sat idle long enough to be cleaned up).
//!
//! [`api`] is the HTTP side; [`Lab`] is what components use: the three devices' ids and
//! credentials, and the lab controls as methods.

pub mod api;
pub mod pace;

use bluetick_shared::frames::{DeviceId, GroupId, MessageId, Registration, UserId};
use bluetick_shared::lab::{
    ControlDone, ExpiryRequest, LAB_DEVICE_NAMES, LabCreated, LabView, MessageCopies, NextHop, OutageRequest, Pace,
    PaceView, QueueView,
};
use bluetick_shared::lab_load::{LoadRequest, LoadView};
use leptos::prelude::*;

use api::{ApiError, call};

/// Where the lab's credentials are kept between visits.
const STORAGE_KEY: &str = "bluetick.lab.v1";

/// A lab whose devices are known.
#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    pub created: LabCreated,
}

impl Lab {
    fn device(&self, index: usize) -> &Registration {
        &self.created.devices[index]
    }
    /// The state-machine lab's device.
    pub fn you(&self) -> &Registration {
        self.device(0)
    }
    pub fn alice(&self) -> &Registration {
        self.device(1)
    }
    pub fn bob(&self) -> &Registration {
        self.device(2)
    }

    pub async fn view(&self) -> Result<LabView, ApiError> {
        call("GET", "/api/lab", Some(self.you()), None).await
    }

    /// Cuts `device`'s connection without a close frame.
    pub async fn drop_network(&self, device: DeviceId) -> Result<ControlDone, ApiError> {
        call("POST", &format!("/api/lab/devices/{device}/drop"), Some(self.you()), None).await
    }

    /// [`Lab::drop_network`], told as a sentence for the student: what happened, or (as
    /// the error) why it could not.
    pub async fn drop_network_told(&self, device: DeviceId) -> Result<&'static str, String> {
        match self.drop_network(device).await {
            Ok(done) if done.dropped > 0 => {
                Ok("The server cut the TCP connection without a close frame, like a network failure.")
            }
            Ok(_) => Ok("No connection to drop: connect first."),
            Err(e) => Err(format!("Could not drop the network: {e}")),
        }
    }

    /// Cuts `device` and refuses it for `seconds`.
    pub async fn outage(&self, device: DeviceId, seconds: u64) -> Result<ControlDone, ApiError> {
        let body = serde_json::to_string(&OutageRequest { seconds }).expect("serializes");
        call("POST", &format!("/api/lab/devices/{device}/outage"), Some(self.you()), Some(body)).await
    }

    /// Ends `device`'s outage now, if it has one (a lab's reset).
    pub async fn end_outage(&self, device: DeviceId) -> Result<ControlDone, ApiError> {
        call("DELETE", &format!("/api/lab/devices/{device}/outage"), Some(self.you()), None).await
    }

    /// Sets (or with `None` clears) the lab's compressed message expiry.
    pub async fn set_expiry(&self, seconds: Option<u64>) -> Result<LabView, ApiError> {
        let body = serde_json::to_string(&ExpiryRequest { seconds }).expect("serializes");
        call("PUT", "/api/lab/expiry", Some(self.you()), Some(body)).await
    }

    pub async fn pace(&self) -> Result<PaceView, ApiError> {
        call("GET", "/api/lab/pace", Some(self.you()), None).await
    }

    /// Runs this lab's pipeline live, in slow motion or one hop at a time.
    pub async fn set_pace(&self, pace: Pace) -> Result<PaceView, ApiError> {
        let body = serde_json::to_string(&pace).expect("serializes");
        call("PUT", "/api/lab/pace", Some(self.you()), Some(body)).await
    }

    /// In step mode: lets the oldest waiting hop go.
    pub async fn next_hop(&self) -> Result<NextHop, ApiError> {
        call("POST", "/api/lab/pace/next", Some(self.you()), None).await
    }

    pub async fn queue(&self, device: DeviceId) -> Result<QueueView, ApiError> {
        call("GET", &format!("/api/lab/devices/{device}/queue"), Some(self.you()), None).await
    }

    pub async fn copies(&self, id: MessageId) -> Result<MessageCopies, ApiError> {
        call("GET", &format!("/api/lab/messages/{id}"), Some(self.you()), None).await
    }

    /// The database's copy of message `id` once it is committed: asked a few times, as
    /// the SENT ack and this call race. `None` if it never showed up.
    pub async fn stored(&self, id: MessageId) -> Option<MessageCopies> {
        self.stored_until(id, |_| true).await
    }

    /// Like [`Lab::stored`], but keeps asking (for a few seconds) until `done` holds —
    /// say, until a group message's fan-out has made every delivery. Returns the last
    /// answer either way.
    pub async fn stored_until(&self, id: MessageId, done: impl Fn(&MessageCopies) -> bool) -> Option<MessageCopies> {
        let mut last = None;
        for _ in 0..25 {
            match self.copies(id).await {
                Ok(found) if found.stored_rows > 0 => {
                    let finished = done(&found);
                    last = Some(found);
                    if finished {
                        break;
                    }
                }
                _ => {}
            }
            gloo_timers::future::TimeoutFuture::new(200).await;
        }
        last
    }

    /// Alice adds `user` to her group.
    pub async fn add_member(&self, group: GroupId, user: UserId) -> Result<(), ApiError> {
        let body = serde_json::json!({ "user_id": user }).to_string();
        call::<serde_json::Value>("POST", &format!("/api/groups/{group}/members"), Some(self.alice()), Some(body))
            .await
            .map(|_| ())
    }

    /// Alice removes `user` from her group.
    pub async fn remove_member(&self, group: GroupId, user: UserId) -> Result<(), ApiError> {
        call("DELETE", &format!("/api/groups/{group}/members/{user}"), Some(self.alice()), None).await
    }

    /// Starts a bounded load run of real device pairs in this lab.
    pub async fn start_load(&self, request: LoadRequest) -> Result<LoadView, ApiError> {
        let body = serde_json::to_string(&request).expect("serializes");
        call("POST", "/api/lab/load", Some(self.you()), Some(body)).await
    }

    /// Takes this lab's load run out of the server's line of waiting runs.
    pub async fn leave_load_queue(&self) -> Result<LoadView, ApiError> {
        call("DELETE", "/api/lab/load", Some(self.you()), None).await
    }

    /// The caps and this lab's current or latest load run.
    pub async fn load(&self) -> Result<LoadView, ApiError> {
        call("GET", "/api/lab/load", Some(self.you()), None).await
    }

    /// A new group with Alice as its first member.
    pub async fn create_group(&self, name: &str) -> Result<GroupCreated, ApiError> {
        let body = serde_json::json!({ "name": name }).to_string();
        call("POST", "/api/groups", Some(self.alice()), Some(body)).await
    }

    /// Starts `size` simulated members in Alice's group, the first `offline` of them
    /// offline for `back_after_ms`.
    pub async fn start_crowd(
        &self,
        group: GroupId,
        size: usize,
        offline: usize,
        back_after_ms: u64,
    ) -> Result<CrowdStarted, ApiError> {
        let body = serde_json::json!({ "size": size, "offline": offline, "back_after_ms": back_after_ms }).to_string();
        call("POST", &format!("/api/groups/{group}/crowd"), Some(self.alice()), Some(body)).await
    }

    pub async fn stop_crowd(&self, crowd: uuid::Uuid) -> Result<(), ApiError> {
        call("DELETE", &format!("/api/crowds/{crowd}"), Some(self.alice()), None).await
    }

    /// Which crowd members are online.
    pub async fn crowd_online(&self, crowd: uuid::Uuid) -> Result<Vec<bool>, ApiError> {
        let report: CrowdReport = call("GET", &format!("/api/crowds/{crowd}"), Some(self.alice()), None).await?;
        Ok(report.members.into_iter().map(|m| m.online).collect())
    }
}

/// The parts of `POST /api/groups`'s answer the page uses.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct GroupCreated {
    pub id: GroupId,
}

/// The parts of `POST /api/groups/{g}/crowd`'s answer the page uses.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CrowdStarted {
    pub crowd_id: uuid::Uuid,
    pub devices: Vec<DeviceId>,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct CrowdReport {
    members: Vec<CrowdMember>,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct CrowdMember {
    online: bool,
}

/// Where the page is in getting its lab.
#[derive(Debug, Clone, PartialEq)]
pub enum LabStatus {
    Preparing,
    Ready(Lab),
    Failed(String),
}

fn saved() -> Option<LabCreated> {
    let text = crate::storage::local()?.get_item(STORAGE_KEY).ok()??;
    let created: LabCreated = serde_json::from_str(&text).ok()?;
    (created.devices.len() == LAB_DEVICE_NAMES.len()).then_some(created)
}

fn save(created: &LabCreated) {
    if let Some(storage) = crate::storage::local() {
        let _ = storage.set_item(STORAGE_KEY, &serde_json::to_string(created).expect("serializes"));
    }
}

/// The saved lab if the server still knows it, else a new one.
async fn open_lab() -> Result<Lab, ApiError> {
    if let Some(created) = saved() {
        let lab = Lab { created };
        match lab.view().await {
            Ok(view) if view.lab_id == lab.created.lab_id => return Ok(lab),
            Ok(_) | Err(ApiError { status: 401 | 403 | 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let created: LabCreated = call("POST", "/api/labs", None, None).await?;
    save(&created);
    Ok(Lab { created })
}

/// Starts getting the lab; the signal turns `Ready` (or `Failed`) when it is done.
pub fn start() -> RwSignal<LabStatus> {
    let status = RwSignal::new(LabStatus::Preparing);
    wasm_bindgen_futures::spawn_local(async move {
        status.set(match open_lab().await {
            Ok(lab) => LabStatus::Ready(lab),
            Err(e) => LabStatus::Failed(format!("Could not prepare your lab: {e}. Reload to try again.")),
        });
    });
    status
}
