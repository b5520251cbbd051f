//! Grants on the audit branch: a `decision` record with decision `approved` for this
//! repository, the pushed sha and `refs/heads/BRANCH`, not yet expired, whose digest
//! recomputes and whose signatures verify. A deletion's grant names the all-zero sha.
//!
//! Trust: with the policy's `audit.allowed_signers` present on the default branch,
//! every `ssh` signature must verify against those keys (principal included). Without
//! it, an `ssh` signature must at least verify against the key it embeds, which proves
//! the record was not altered after signing but not who signed it (a warning says so).
//! `github-oidc` signatures cannot be checked offline by the hook: a grant needs at least
//! one verified `ssh` signature; unknown signature types make it not count.

use chrono::{DateTime, Utc};
use git2::{Oid, Repository};
use serde_json::Value;

use crate::audit::chain;
use crate::audit::record::{self, Decision, Kind, Payload, Signature};
use crate::audit::sign::RECORD_NAMESPACE;
use crate::audit::{AllowedSigners, AuditError};

/// What a grant must be for.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    /// `owner/name` (compared case-insensitively, as GitHub does).
    pub repository: &'a str,
    /// The pushed sha (all zeros for a deletion).
    pub sha: &'a str,
    /// `refs/heads/BRANCH`.
    pub git_ref: &'a str,
}

/// A grant that counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub payload: Payload,
    pub digest: String,
    pub expires_at: DateTime<Utc>,
}

/// The result of a search: the grant that counts (the one valid longest), and why
/// each other grant for the same subject did not.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub found: Option<Grant>,
    pub rejected: Vec<String>,
}

/// Searches the audit chain ending at `tip` for a grant.
pub fn find(
    repo: &Repository,
    tip: Oid,
    want: &Want<'_>,
    trusted: Option<&AllowedSigners>,
    now: DateTime<Utc>,
) -> Result<Search, AuditError> {
    let mut out = Search::default();
    for listed in chain::list(repo, tip)? {
        let p = &listed.record.payload;
        if p.kind != Kind::Decision
            || p.decision != Some(Decision::Approved)
            || !p.repository.eq_ignore_ascii_case(want.repository)
            || !p.subject.sha.eq_ignore_ascii_case(want.sha)
            || !same_ref(p.subject.git_ref.as_deref(), want.git_ref)
        {
            continue;
        }
        let id = p.id.clone();
        let expires_at = match p.expires_at.as_deref().map(record::parse_time) {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                out.rejected.push(format!("grant {id}: expires_at: {e}"));
                continue;
            }
            None => {
                out.rejected.push(format!("grant {id}: has no expires_at"));
                continue;
            }
        };
        if expires_at <= now {
            out.rejected.push(format!(
                "grant {id} expired at {}",
                record::format_time(expires_at)
            ));
            continue;
        }
        let doc = match raw_record(repo, listed.commit, &listed.path) {
            Ok(d) => d,
            Err(e) => {
                out.rejected.push(format!("grant {id}: {e}"));
                continue;
            }
        };
        match check(&doc, trusted) {
            Ok(digest) => {
                let better = out.found.as_ref().is_none_or(|g| g.expires_at < expires_at);
                if better {
                    out.found = Some(Grant {
                        payload: p.clone(),
                        digest,
                        expires_at,
                    });
                }
            }
            Err(e) => out.rejected.push(format!("grant {id} does not count: {e}")),
        }
    }
    Ok(out)
}

/// `refs/heads/main`, also when a grant names the branch as just `main`.
fn same_ref(granted: Option<&str>, want: &str) -> bool {
    granted.is_some_and(|g| g == want || want.strip_prefix("refs/heads/") == Some(g))
}

/// The record file as JSON, straight from the commit's tree.
fn raw_record(repo: &Repository, commit: Oid, path: &str) -> Result<Value, String> {
    let blob = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .and_then(|t| t.get_path(std::path::Path::new(path)))
        .and_then(|e| repo.find_blob(e.id()))
        .map_err(|e| format!("{path}: {}", e.message()))?;
    serde_json::from_slice(blob.content()).map_err(|e| format!("{path}: not JSON ({e})"))
}

/// Recomputes the digest and checks the signatures; returns the digest.
pub fn check(doc: &Value, trusted: Option<&AllowedSigners>) -> Result<String, String> {
    let payload = doc.get("payload").ok_or("it has no payload")?;
    let stated = doc
        .get("digest")
        .and_then(Value::as_str)
        .ok_or("it has no digest")?;
    let jcs = record::jcs(payload).map_err(|e| e.to_string())?;
    let digest = record::digest_of(&jcs);
    if digest != stated {
        return Err(format!(
            "digest mismatch: it states {stated} but its payload hashes to {digest} (the record was altered)"
        ));
    }
    let sigs: Vec<Signature> = match doc.get("signatures") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("signatures: {e}"))?,
        None => Vec::new(),
    };
    let mut verified = 0;
    for (i, sig) in sigs.iter().enumerate() {
        match sig {
            Signature::Ssh { principal, sig } => {
                match trusted {
                    Some(keys) => keys
                        .verify(sig, RECORD_NAMESPACE, &jcs, Some(principal))
                        .map(|_| ())
                        .map_err(|e| format!("signatures[{i}] (ssh, {principal}): {e}"))?,
                    // Without trusted keys a signature proves only that its own key
                    // signed: anyone who can push could sign a grant. Fail closed.
                    None => {
                        return Err(
                            "no trusted keys: the policy's audit.allowed_signers file is missing on the default branch, so no grant can be trusted"
                                .into(),
                        );
                    }
                }
                verified += 1;
            }
            Signature::GithubOidc { .. } => {}
            Signature::Unknown(v) => {
                let t = v.get("type").and_then(Value::as_str).unwrap_or("?");
                return Err(format!("signatures[{i}]: unknown signature type `{t}`"));
            }
        }
    }
    if verified == 0 {
        return Err("it carries no ssh signature the hook can verify".into());
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::same_ref;

    #[test]
    fn a_grant_names_its_branch_in_full_or_short_but_never_another() {
        assert!(same_ref(Some("refs/heads/main"), "refs/heads/main"));
        assert!(same_ref(Some("main"), "refs/heads/main"));
        assert!(!same_ref(Some("refs/heads/main"), "refs/heads/release/1"));
        assert!(!same_ref(Some("release/1"), "refs/heads/main"));
        assert!(!same_ref(Some("refs/tags/main"), "refs/heads/main"));
        assert!(!same_ref(None, "refs/heads/main"));
    }
}
