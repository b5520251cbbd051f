//! Pushes to protected branches, as the gate sees them on a `push` event: the pushed sha
//! needs a valid approval on the audit branch — a `push` record (the hook let it
//! through), an unexpired grant for that ref, or an unexpired approved decision — each
//! trusted (digest recomputes, SSH signature by a trusted key). Otherwise: a `violation`.

use chrono::{DateTime, Utc};

use crate::audit::{AllowedSigners, Kind, Record};
use crate::request::record::{is_approval, is_trusted, unexpired};

/// Whether a trusted record approves `sha` on `git_ref` of `repository`.
pub fn approved(
    records: &[Record],
    repository: &str,
    git_ref: &str,
    sha: &str,
    trusted: Option<&AllowedSigners>,
    now: DateTime<Utc>,
) -> bool {
    records.iter().any(|r| {
        let p = &r.payload;
        let same = p.repository.eq_ignore_ascii_case(repository)
            && p.subject.sha.eq_ignore_ascii_case(sha);
        let ref_ok = p.subject.git_ref.as_deref().is_none_or(|x| x == git_ref);
        let valid = match p.kind {
            Kind::Push => ref_ok,
            Kind::Decision => is_approval(r) && ref_ok && unexpired(r, now),
            _ => false,
        };
        same && valid && is_trusted(r, trusted)
    })
}
