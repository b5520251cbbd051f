//! Whether a record on the audit branch approves something: the one rule that the gate's
//! push check, re-run reuse, the hook's grants and the last-deployment base all use.
//!
//! A record counts when it is an approving `decision` for this repository and subject
//! (sha plus environment, or `refs/heads/BRANCH`), has not expired, its digest
//! recomputes from the bytes on the branch, and it is **certified by someone other than
//! the requester**: an `ssh` signature that verifies against a key of the default
//! branch's `audit.allowed_signers` (the certifiers), whose principal is not the
//! requester; or a `github-oidc` token, verified against the issuer's own JWKS, of a run
//! of a workflow listed in the default branch's `audit.trusted_workflows` on the default
//! branch itself (keyless). Keys found on the audit branch itself never count, nor do
//! developers' pusher keys (`audit.pusher_signers`): they sign `push` records, which are
//! evidence of the local check, not certifications. A token of any other run (another
//! branch, a PR's merge ref) proves only which code wrote the record: it never counts.
//!
//! Records are read once per run ([`Records::load`]); each candidate's file is re-read
//! from its commit so the digest is recomputed over exactly what the branch holds.

use chrono::{DateTime, Utc};
use git2::{Oid, Repository};
use serde_json::Value;

use super::chain::{self, Listed};
use super::record::{self, Decision, Kind, Record, Signature};
use super::sign::RECORD_NAMESPACE;
use super::{AuditError, Publisher, Settings};
use crate::base::Trust;
use crate::exit::full_message;

/// Why a record does not count as certified, or a key would not certify.
#[derive(Debug, thiserror::Error)]
pub enum Uncertified {
    #[error("it has no payload")]
    NoPayload,
    #[error("it has no digest")]
    NoDigest,
    #[error(
        "digest mismatch: it states {stated} but its payload hashes to {digest} (the record was altered)"
    )]
    DigestMismatch { stated: String, digest: String },
    #[error(
        "no trusted keys: {0} is not on the default branch, so no record can certify an approval"
    )]
    NoTrustedKeys(String),
    #[error("signatures")]
    Signatures(#[source] serde_json::Error),
    /// No signature certifies; `reasons` says why for each (or that there is none).
    #[error("not certified by {file}: {}", reasons.join("; "))]
    NotCertified { file: String, reasons: Vec<String> },
    /// The record file cannot be read back from its commit.
    #[error("{path}")]
    Read {
        path: String,
        #[source]
        source: git2::Error,
    },
    #[error("{path}: not JSON")]
    NotJson {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// What a record must approve.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// A re-run of the same deployment: same environment (or ref), rule name, policy
    /// digest and requester as when it was approved.
    Reuse {
        environment: Option<&'a str>,
        git_ref: &'a str,
        rule: &'a str,
        policy_digest: &'a str,
        requester: &'a str,
    },
    /// A push of the sha to `git_ref` (`refs/heads/BRANCH`): a grant.
    Grant { git_ref: &'a str },
}

/// The record sought.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// `owner/name`, compared case-insensitively as GitHub does.
    pub repository: &'a str,
    /// The sha (all zeros for a branch deletion's grant).
    pub sha: &'a str,
    pub purpose: Purpose<'a>,
}

/// A record that counts.
#[derive(Debug, Clone)]
pub struct Found<'r> {
    pub record: &'r Record,
    pub digest: String,
    pub expires_at: DateTime<Utc>,
}

/// The record that counts (the one valid longest) and why each other candidate for the
/// same subject did not.
#[derive(Debug, Clone, Default)]
pub struct Search<'r> {
    pub found: Option<Found<'r>>,
    pub rejected: Vec<String>,
}

/// The audit branch's records, read once.
pub struct Records<'r> {
    repo: Option<&'r Repository>,
    listed: Vec<Listed>,
}

impl<'r> Records<'r> {
    /// The records of the audit branch, oldest first: the remote's (fetched now), else
    /// the local branch. An absent branch has none.
    pub fn load(repo: &'r Repository, settings: &Settings) -> Result<Records<'r>, AuditError> {
        let publisher = Publisher::new(repo, settings)?;
        let remote_tip = match publisher.fetch() {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("audit: {}; reading the local branch", full_message(&e));
                None
            }
        };
        let tip = match remote_tip {
            Some(t) => Some(t),
            None => publisher.store().tip()?,
        };
        Records::at(repo, tip)
    }

    /// The records of the chain ending at `tip` (none without a tip).
    pub fn at(repo: &'r Repository, tip: Option<Oid>) -> Result<Records<'r>, AuditError> {
        let listed = match tip {
            Some(t) => chain::list(repo, t)?,
            None => Vec::new(),
        };
        Ok(Records {
            repo: Some(repo),
            listed,
        })
    }

    /// Records held in memory (unit tests): certified from their serialised form.
    #[cfg(test)]
    pub fn in_memory(records: Vec<Record>) -> Records<'static> {
        Records {
            repo: None,
            listed: records
                .into_iter()
                .map(|record| Listed {
                    commit: Oid::ZERO_SHA1,
                    path: String::new(),
                    record,
                })
                .collect(),
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Record> {
        self.listed.iter().map(|l| &l.record)
    }

    /// The approving record for `q` that stays valid longest, if any counts.
    pub fn find(&self, q: &Query<'_>, trust: &Trust, now: DateTime<Utc>) -> Search<'_> {
        let mut out = Search::default();
        let noun = match q.purpose {
            Purpose::Grant { .. } => "grant",
            Purpose::Reuse { .. } => "approval record",
        };
        for l in self.listed.iter().rev() {
            let r = &l.record;
            if !approves(r, q) {
                continue;
            }
            let id = &r.payload.id;
            let expires_at = match r.payload.expires_at.as_deref().map(record::parse_time) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    out.rejected
                        .push(format!("{noun} {id}: expires_at: {}", full_message(&e)));
                    continue;
                }
                None => {
                    out.rejected.push(format!("{noun} {id} has no expires_at"));
                    continue;
                }
            };
            if expires_at <= now {
                out.rejected.push(format!(
                    "{noun} {id} expired at {}",
                    record::format_time(expires_at)
                ));
                continue;
            }
            match self.certified(l, trust) {
                Ok(digest) => {
                    if out.found.as_ref().is_none_or(|f| f.expires_at < expires_at) {
                        out.found = Some(Found {
                            record: r,
                            digest,
                            expires_at,
                        });
                    }
                }
                Err(e) => out
                    .rejected
                    .push(format!("{noun} {id} does not count: {}", full_message(&e))),
            }
        }
        out
    }

    /// The newest certified approved deployment of `environment` whose sha `accept`s
    /// (the caller's ancestry check), expired or not: the base of a later deployment.
    pub fn last_deployment(
        &self,
        repository: &str,
        environment: &str,
        trust: &Trust,
        accept: &dyn Fn(&str) -> bool,
    ) -> Option<&Record> {
        self.listed
            .iter()
            .rev()
            .filter(|l| {
                let p = &l.record.payload;
                is_approving_decision(&l.record)
                    && p.repository.eq_ignore_ascii_case(repository)
                    && p.subject
                        .environment
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(environment))
            })
            .find(|l| accept(&l.record.payload.subject.sha) && self.certified(l, trust).is_ok())
            .map(|l| &l.record)
    }

    /// The decision already recorded for request `id` (a record naming it in
    /// `context.jitaa_request`), certified or not: a request is decided once.
    pub fn decision_of(&self, id: &str) -> Option<&Record> {
        self.listed
            .iter()
            .rev()
            .map(|l| &l.record)
            .find(|r| r.payload.kind == Kind::Decision && request_link(r) == Some(id))
    }

    /// The newest request record of request `id`, with the claims of the run that posted
    /// it as GitHub signed them: its `github-oidc` token verified (against `tokens`,
    /// audience `jitaa:` + the digest recomputed from the branch's bytes). The claims, not
    /// the payload, are the facts of the request: a run can write any payload, but only
    /// GitHub signs the claims. `Ok(None)` when the branch has no such record.
    pub fn request_of(
        &self,
        id: &str,
        tokens: &dyn super::OidcVerifier,
    ) -> Result<Option<(&Record, crate::oidc::Context)>, Uncertified> {
        let Some(l) = self.listed.iter().rev().find(|l| {
            l.record.payload.kind == Kind::Request && request_link(&l.record) == Some(id)
        }) else {
            return Ok(None);
        };
        let doc = match self.repo {
            Some(repo) => raw_record(repo, l.commit, &l.path)?,
            None => serde_json::to_value(&l.record).map_err(|source| AuditError::Encode {
                what: "record",
                source,
            })?,
        };
        let claims = run_claims(&doc, tokens)?;
        Ok(Some((&l.record, claims)))
    }

    /// The digest, when the record's file recomputes and a certifier signed it.
    fn certified(&self, l: &Listed, trust: &Trust) -> Result<String, Uncertified> {
        let doc = match self.repo {
            Some(repo) => raw_record(repo, l.commit, &l.path)?,
            None => serde_json::to_value(&l.record).map_err(|source| AuditError::Encode {
                what: "record",
                source,
            })?,
        };
        certify(&doc, trust, &l.record.payload.requester.login)
    }
}

/// An `approved` (or `auto`) decision.
fn is_approving_decision(r: &Record) -> bool {
    r.payload.kind == Kind::Decision
        && matches!(
            r.payload.decision,
            Some(Decision::Approved | Decision::Auto)
        )
}

/// Whether the record's fields approve `q` (its certification is checked apart).
fn approves(r: &Record, q: &Query<'_>) -> bool {
    let p = &r.payload;
    if !p.repository.eq_ignore_ascii_case(q.repository)
        || !p.subject.sha.eq_ignore_ascii_case(q.sha)
    {
        return false;
    }
    match q.purpose {
        Purpose::Reuse {
            environment,
            git_ref,
            rule,
            policy_digest,
            requester,
        } => {
            let subject_ok = match environment {
                Some(env) => p
                    .subject
                    .environment
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(env)),
                None => {
                    p.subject.environment.is_none()
                        && same_ref(p.subject.git_ref.as_deref(), git_ref)
                }
            };
            is_approving_decision(r)
                && subject_ok
                && p.rule
                    .as_ref()
                    .is_some_and(|x| x.name == rule && x.policy_digest == policy_digest)
                && p.requester.login.eq_ignore_ascii_case(requester)
        }
        Purpose::Grant { git_ref } => {
            p.kind == Kind::Decision
                && p.decision == Some(Decision::Approved)
                && p.subject.environment.is_none()
                && same_ref(p.subject.git_ref.as_deref(), git_ref)
        }
    }
}

/// `refs/heads/main`, also when a record names the branch as just `main`.
pub fn same_ref(granted: Option<&str>, want: &str) -> bool {
    granted.is_some_and(|g| g == want || want.strip_prefix("refs/heads/") == Some(g))
}

/// The record file as JSON, straight from the commit's tree.
fn raw_record(repo: &Repository, commit: Oid, path: &str) -> Result<Value, Uncertified> {
    let blob = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .and_then(|t| t.get_path(std::path::Path::new(path)))
        .and_then(|e| repo.find_blob(e.id()))
        .map_err(|source| Uncertified::Read {
            path: path.to_string(),
            source,
        })?;
    serde_json::from_slice(blob.content()).map_err(|source| Uncertified::NotJson {
        path: path.to_string(),
        source,
    })
}

/// Recomputes the digest of a record document and finds a certifying signature: an
/// `ssh` signature by a certifier key whose principal is not `requester`, or a
/// `github-oidc` token of a trusted workflow run on the default branch (see
/// [`keyless`]). Returns the digest. Other signatures neither certify nor spoil a record;
/// one that claims to be by a certifier but does not verify makes it not count (it was
/// tampered with).
pub fn certify(doc: &Value, trust: &Trust, requester: &str) -> Result<String, Uncertified> {
    let payload = doc.get("payload").ok_or(Uncertified::NoPayload)?;
    let stated = doc
        .get("digest")
        .and_then(Value::as_str)
        .ok_or(Uncertified::NoDigest)?;
    let jcs = record::jcs(payload)?;
    let digest = record::digest_of(&jcs);
    if digest != stated {
        return Err(Uncertified::DigestMismatch {
            stated: stated.to_string(),
            digest,
        });
    }
    if trust.certifiers.is_none() && trust.keyless.is_none() {
        return Err(Uncertified::NoTrustedKeys(trust.certifiers_file.clone()));
    }
    let sigs: Vec<Signature> = match doc.get("signatures") {
        Some(v) => serde_json::from_value(v.clone()).map_err(Uncertified::Signatures)?,
        None => Vec::new(),
    };
    let mut why = Vec::new();
    for (i, sig) in sigs.iter().enumerate() {
        match sig {
            Signature::Ssh { principal, sig } => {
                let Some(keys) = trust.certifiers.as_ref() else {
                    why.push(format!(
                        "signatures[{i}] (ssh, {principal}): no certifier keys ({} is not on the default branch)",
                        trust.certifiers_file
                    ));
                    continue;
                };
                match keys.verify(sig, RECORD_NAMESPACE, &jcs, Some(principal)) {
                    Err(e) => why.push(format!(
                        "signatures[{i}] (ssh, {principal}): {}",
                        full_message(&e)
                    )),
                    Ok(_) if is_requester(principal, requester) => why.push(format!(
                        "signatures[{i}] is by {principal}, the requester: nobody certifies their own approval"
                    )),
                    Ok(_) => return Ok(digest),
                }
            }
            Signature::GithubOidc { token } => match keyless(trust, token, payload, &digest) {
                Ok(()) => return Ok(digest),
                Err(e) => why.push(format!("signatures[{i}] (github-oidc): {e}")),
            },
            Signature::Unknown(v) => {
                let t = v.get("type").and_then(Value::as_str).unwrap_or("?");
                why.push(format!("signatures[{i}]: unknown signature type `{t}`"));
            }
        }
    }
    if why.is_empty() {
        why.push("it carries no signature".into());
    }
    Err(Uncertified::NotCertified {
        file: certifier_sources(trust),
        reasons: why,
    })
}

/// The request id a record names in its context (`jitaa_request.id`).
pub fn request_link(r: &Record) -> Option<&str> {
    r.payload
        .context
        .get(crate::request::LINK)
        .and_then(|l| l.get("id"))
        .and_then(Value::as_str)
}

/// The verified claims of the run that wrote `doc`: its digest recomputes and one of its
/// `github-oidc` tokens verifies for that digest, naming the record's repository.
fn run_claims(
    doc: &Value,
    tokens: &dyn super::OidcVerifier,
) -> Result<crate::oidc::Context, Uncertified> {
    let payload = doc.get("payload").ok_or(Uncertified::NoPayload)?;
    let stated = doc
        .get("digest")
        .and_then(Value::as_str)
        .ok_or(Uncertified::NoDigest)?;
    let digest = record::digest_of(&record::jcs(payload)?);
    if digest != stated {
        return Err(Uncertified::DigestMismatch {
            stated: stated.to_string(),
            digest,
        });
    }
    let sigs: Vec<Signature> = match doc.get("signatures") {
        Some(v) => serde_json::from_value(v.clone()).map_err(Uncertified::Signatures)?,
        None => Vec::new(),
    };
    let mut why = Vec::new();
    for (i, sig) in sigs.iter().enumerate() {
        if let Signature::GithubOidc { token } = sig {
            match verified_claims(tokens, token, payload, &digest) {
                Ok(c) => return Ok(c),
                Err(e) => why.push(format!("signatures[{i}] (github-oidc): {e}")),
            }
        }
    }
    if why.is_empty() {
        why.push("it carries no github-oidc signature (the job needs `id-token: write`)".into());
    }
    Err(Uncertified::NotCertified {
        file: format!("a GitHub OIDC token ({})", tokens.source()),
        reasons: why,
    })
}

/// A record token's claims, verified: RS256 with a key of `tokens`, audience `jitaa:` +
/// digest, issued at the record's time, of the record's repository.
fn verified_claims(
    tokens: &dyn super::OidcVerifier,
    token: &str,
    payload: &Value,
    digest: &str,
) -> Result<crate::oidc::Context, String> {
    let repository = payload
        .get("repository")
        .and_then(Value::as_str)
        .ok_or("the record names no repository")?;
    let time = payload
        .get("time")
        .and_then(Value::as_str)
        .ok_or_else(|| "the record has no time".to_string())
        .and_then(|t| record::parse_time(t).map_err(|e| full_message(&e)))?;
    let kid = tokens.kid(token).map_err(|e| full_message(&e))?;
    let key = tokens
        .trusted_key(&kid)
        .map_err(|e| full_message(&e))?
        .ok_or_else(|| format!("its key `{kid}` is not in {}", tokens.source()))?;
    let claims = tokens
        .verify(token, &key, &format!("jitaa:{digest}"), time)
        .map_err(|e| full_message(&e))?;
    if !claims.repository.eq_ignore_ascii_case(repository) {
        return Err(format!(
            "the token is of repository {}, the record of {repository}",
            claims.repository
        ));
    }
    Ok(claims)
}

/// Whether a `github-oidc` token certifies the record `payload` with `digest`: it
/// verifies (RS256, the issuer, audience `jitaa:` + digest, issued at the record's
/// time) with a key of the issuer's own JWKS (never the branch's `jwks/` archive), and
/// its claims name the record's repository and a run of a trusted workflow on the
/// default branch. A `pull_request_review` run (`…@refs/pull/N/merge`) or the same file
/// run from any other branch is the change's own code and proves nothing.
fn keyless(trust: &Trust, token: &str, payload: &Value, digest: &str) -> Result<(), String> {
    let Some(k) = trust.keyless.as_ref() else {
        return Err(
            "does not certify approvals: the policy lists no audit.trusted_workflows".into(),
        );
    };
    let claims = verified_claims(k.tokens.as_ref(), token, payload, digest)?;
    if !k.accepts(&claims.repository, &claims.job_workflow_ref) {
        return Err(format!(
            "signed by a run of `{}`, which is not a trusted workflow on the default branch (audit.trusted_workflows: {})",
            claims.job_workflow_ref,
            k.accepted_refs(&claims.repository).join(", ")
        ));
    }
    Ok(())
}

/// The trust sources, for messages: the keys file and the trusted workflows.
fn certifier_sources(trust: &Trust) -> String {
    match &trust.keyless {
        Some(k) => format!(
            "a key of {} or a default-branch run of audit.trusted_workflows ({})",
            trust.certifiers_file,
            k.workflows.join(", ")
        ),
        None => format!("a key of {}", trust.certifiers_file),
    }
}

/// Whether the records a writer signs would certify, before it writes any: with `ssh`
/// (the key and its principal) when the key is a certifier's (`Some(Some(principal))`),
/// or with the GitHub token of `run` (repository, `job_workflow_ref`) when that run is
/// of a trusted workflow on the default branch (`Some(None)`). `None`: neither counts.
pub fn writer_certifies(
    trust: &Trust,
    ssh: Option<(&ssh_key::PublicKey, &str)>,
    run: Option<(&str, &str)>,
) -> Option<Option<String>> {
    if let (Some((key, principal)), Some(keys)) = (ssh, trust.certifiers.as_ref())
        && keys.trusts(key, RECORD_NAMESPACE, principal)
    {
        return Some(Some(principal.to_string()));
    }
    if let (Some((repository, jwr)), Some(k)) = (run, trust.keyless.as_ref())
        && k.accepts(repository, jwr)
    {
        return Some(None);
    }
    None
}

/// A principal that names the requester (`alice`, `alice@host`).
pub(crate) fn is_requester(principal: &str, requester: &str) -> bool {
    !requester.is_empty()
        && (principal.eq_ignore_ascii_case(requester)
            || principal
                .split_once('@')
                .is_some_and(|(local, _)| local.eq_ignore_ascii_case(requester)))
}

#[cfg(test)]
mod tests;
