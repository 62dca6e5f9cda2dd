//! The JSON bodies of the groups API (`/api/groups/…`), shared by the server that answers
//! them and the clients (the Rust client library, the page, the tests) that call it.

use serde::{Deserialize, Serialize};

use crate::frames::{GroupId, UserId};

/// `POST /api/groups`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    pub name: String,
}

/// `POST /api/groups/{g}/members`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub user_id: UserId,
}

/// One member of a group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
}

/// A group and its members: the answer of every groups call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupView {
    pub id: GroupId,
    pub name: String,
    /// The owner: the creator, the only one who may remove other members.
    pub owner: UserId,
    pub members: Vec<Member>,
    pub max_members: usize,
}
