//! Writing a record at most once: a request gets one decision however many `decide`
//! runs race for it (two approvers commenting at once start two runs).
//!
//! The remote branch is the arbiter. Each attempt looks at the remote tip for the
//! record sought; when it is not there, appends on that tip and pushes. A push is a
//! compare-and-swap (no force): when another writer got there first it is rejected, the
//! unpublished record is dropped (never re-linked, unlike ordinary records), and the
//! next attempt looks again, finding the winner's record.

use git2::Repository;

use super::approvals::Records;
use super::publish::{Outcome, Publisher};
use super::record::Draft;
use super::sign::Signers;
use super::store::{Appended, git_err};
use super::{AuditError, Settings};

/// How [`append_once`] ended.
#[derive(Debug)]
pub enum Once {
    /// This run wrote (and published) the record.
    Written(Appended),
    /// The record sought was already there: the id of the one found.
    Exists(String),
}

/// Appends and publishes `draft` unless `exists` finds its counterpart in the records of
/// the remote tip. Earlier unpublished records of this checkout are published first, so
/// that only this record is ever dropped.
pub fn append_once(
    repo: &Repository,
    settings: &Settings,
    draft: &Draft,
    signers: &Signers,
    exists: &dyn Fn(&Records<'_>) -> Option<String>,
) -> Result<Once, AuditError> {
    let publisher = Publisher::new(repo, settings)?;
    if let Some(tip) = publisher.fetch()? {
        publisher.relink(tip, signers)?;
    }
    if let Outcome::Pending { reason } = publisher.publish(signers)? {
        return Err(AuditError::NotPublished {
            what: "earlier audit records of this checkout".into(),
            reason,
        });
    }
    let store = publisher.store();
    let mut last = String::new();
    for attempt in 1..=publisher.max_attempts {
        let tip = store.tip()?;
        if let Some(id) = exists(&Records::at(repo, tip)?) {
            return Ok(Once::Exists(id));
        }
        let appended = store.append(draft, signers)?;
        match publisher.push() {
            Ok(()) => {
                let _ = repo.reference(
                    &publisher.tracking_ref(),
                    appended.commit,
                    true,
                    "jitaa: pushed",
                );
                return Ok(Once::Written(appended));
            }
            Err(e) => last = e,
        }
        tracing::debug!(attempt, "audit push rejected: {last}");
        // Another writer won: drop ours (it was never published) and take theirs.
        let theirs = publisher.fetch()?;
        let reset = match theirs {
            Some(t) => repo.reference(&store.ref_name(), t, true, "jitaa: take the remote's"),
            None => continue,
        };
        reset.map_err(|e| git_err("resetting the audit branch to the remote's", e))?;
        if attempt < publisher.max_attempts {
            std::thread::sleep(publisher.backoff(attempt));
        }
    }
    Err(AuditError::NotPublished {
        what: format!("the {} record", draft.kind),
        reason: format!(
            "{} kept being rejected after {} attempts ({last})",
            store.branch(),
            publisher.max_attempts
        ),
    })
}
