//! Starting the fan-out lab's crowd with a read delay a student can see. The crowd API
//! (`POST /api/groups/{g}/crowd`) takes `read_delay_ms`; its default (0.2 to 1.5 s)
//! turns most cells from delivered to read faster than the eye follows, so the
//! DELIVERED-before-READ step the tick table teaches would never be seen.

use bluetick_shared::frames::GroupId;

use crate::lab::api::{ApiError, call};
use crate::lab::{CrowdStarted, Lab};

/// Each member reads the message this long after it arrives (a range, in ms).
pub const READ_DELAY_MS: (u64, u64) = (2_000, 6_000);

/// Starts `size` simulated members in Alice's group, the first `offline` of them
/// offline for `back_after_ms`, each reading after [`READ_DELAY_MS`].
pub async fn start_reading_crowd(
    lab: &Lab,
    group: GroupId,
    size: usize,
    offline: usize,
    back_after_ms: u64,
) -> Result<CrowdStarted, ApiError> {
    let body = serde_json::json!({
        "size": size,
        "offline": offline,
        "back_after_ms": back_after_ms,
        "read_delay_ms": [READ_DELAY_MS.0, READ_DELAY_MS.1],
    })
    .to_string();
    call("POST", &format!("/api/groups/{group}/crowd"), Some(lab.alice()), Some(body)).await
}
