//! The approval policy (`.github/jitaa.yml`, fallback `.jitaa.yml`): its schema,
//! defaults, and which rule matches an action. Read from a commit, never the work tree.

use std::time::Duration;

use crate::codeowners::Owner;

/// Who may approve under a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approvers {
    /// The CODEOWNERS owners of the changed paths.
    Codeowners,
    /// A fixed list of users and teams.
    List(Vec<Owner>),
}

/// With `approvers: codeowners`, whether approving owners must cover every changed path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coverage {
    /// An eligible approver owns at least one changed path (the default).
    #[default]
    Any,
    /// Every changed path needs one of its owners among the approvers.
    All,
}

/// A rule with the policy's defaults filled in: everything the approval engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub approvals: u32,
    pub approvers: Approvers,
    pub codeowners: Coverage,
    pub self_approval: bool,
    pub timeout: Duration,
    pub ttl: Duration,
}
