//! The audit side of a request: signers as the policy's `audit.signing` says (a
//! configured signer that cannot sign is an error, never a silent skip), appending and
//! publishing records, and finding earlier trusted approvals on the audit branch (for
//! re-run reuse and the push check). A record counts only when its digest recomputes
//! and an SSH signature verifies against the trusted keys read from the protected base.

use chrono::{DateTime, Utc};
use git2::{Oid, Repository};

use crate::audit::{
    self, AllowedSigners, Appended, Draft, OidcSigner, Record, Settings, Signers, SshSigner,
};
use crate::exit::Failure;
use crate::keys::SigningKey;
use crate::policy::{Policy, SigningMethod};
use crate::repo::{FileAt, Repo};

/// The audit settings of a policy.
pub fn settings(policy: &Policy) -> Settings {
    Settings {
        branch: policy.audit.branch.clone(),
        remote: policy.audit.remote.clone(),
        allowed_signers: Some(policy.audit.allowed_signers.clone()),
    }
}

/// An Actions OIDC token for the audience `jitaa:` + digest, fetched from the runner.
/// The audit store is synchronous, so each token is fetched on its own small runtime.
pub struct ActionsOidcSigner;

impl OidcSigner for ActionsOidcSigner {
    fn token_for(&self, audience: &str) -> Result<String, String> {
        let audience = audience.to_string();
        let fetch = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("runtime: {e}"))?;
            rt.block_on(crate::oidc::request_token(&audience))
                .map_err(|f| f.message)
        });
        fetch
            .join()
            .map_err(|_| "the token request thread failed".to_string())?
    }
}

/// Whether the runner can hand out OIDC tokens (the job has `id-token: write`).
pub fn oidc_available() -> bool {
    [
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ]
    .iter()
    .all(|v| crate::oidc::process_env(v).is_some())
}

/// The gate's signers: exactly the policy's `audit.signing`, each able to sign.
pub fn gate_signers(policy: &Policy) -> Result<Signers, Failure> {
    let mut signers = Signers::default();
    for method in &policy.audit.signing {
        match method {
            SigningMethod::Ssh => match SigningKey::from_env()? {
                Some(k) => signers.ssh = Some(SshSigner::Key(k)),
                None => {
                    return Err(Failure::usage(
                        "policy audit.signing lists `ssh`, but JITAA_SIGNING_KEY is not set (make a key with `jitaa keygen`, or remove `ssh` from audit.signing)",
                    ));
                }
            },
            SigningMethod::GithubOidc => {
                if !oidc_available() {
                    return Err(Failure::usage(format!(
                        "policy audit.signing lists `github-oidc`, but the job cannot request an OIDC token: {}",
                        crate::oidc::PERMISSIONS_HINT
                    )));
                }
                signers.oidc = Some(Box::new(ActionsOidcSigner));
            }
        }
    }
    if signers.ssh.is_none() && signers.oidc.is_none() {
        return Err(Failure::usage(
            "policy audit.signing is empty: records must be signed (ssh and/or github-oidc)",
        ));
    }
    Ok(signers)
}

/// A developer's signers (`jitaa request`): JITAA_SIGNING_KEY, else git's SSH signing
/// key (`gpg.format=ssh`, `user.signingkey`). OIDC tokens exist only inside Actions.
pub fn developer_signers(repo: &Repo) -> Result<Signers, Failure> {
    if let Some(k) = SigningKey::from_env()? {
        return Ok(Signers::ssh(SshSigner::Key(k)));
    }
    let config = repo
        .git()
        .config()
        .map_err(|e| Failure::usage(format!("reading git config: {}", e.message())))?;
    match SshSigner::from_git_config(&config).map_err(Failure::from)? {
        Some(s) => Ok(Signers::ssh(s)),
        None => Err(Failure::usage(
            "no key to sign the approval record with: set JITAA_SIGNING_KEY, or configure git SSH signing (git config gpg.format ssh; git config user.signingkey ~/.ssh/id_ed25519.pub)",
        )),
    }
}

/// Appends `draft` and publishes the branch. A record that could not be pushed stays on
/// the local branch; `pushed` says which.
pub struct Written {
    pub appended: Appended,
    pub pushed: Result<(), String>,
}

pub fn write(
    repo: &Repository,
    settings: &Settings,
    draft: &Draft,
    signers: &Signers,
) -> Result<Written, Failure> {
    let (appended, outcome) =
        audit::append_and_publish(repo, settings, draft, signers).map_err(Failure::from)?;
    let pushed = match outcome {
        audit::Outcome::Pending { reason } => Err(reason),
        _ => Ok(()),
    };
    Ok(Written { appended, pushed })
}

/// The trusted keys: the policy's `audit.allowed_signers` read at `commit` (the protected
/// base). `None` when the file is missing or unreadable: then no record is trusted.
pub fn trusted_at(repo: &Repo, commit: Oid, policy: &Policy) -> Option<AllowedSigners> {
    let path = &policy.audit.allowed_signers;
    match repo.read_file(commit, path, 1024 * 1024) {
        Ok(FileAt::Found(bytes)) => {
            let text = String::from_utf8(bytes).ok()?;
            match AllowedSigners::parse(&text, path) {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::warn!("{path}: {e}; earlier approvals are not trusted");
                    None
                }
            }
        }
        _ => None,
    }
}

/// The records of the audit branch, newest last: the remote's (fetched now), else the
/// local branch. An absent branch has no records.
pub fn records(repo: &Repository, settings: &Settings) -> Result<Vec<Record>, Failure> {
    let publisher = audit::Publisher::new(repo, settings).map_err(Failure::from)?;
    let remote_tip = match publisher.fetch() {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("audit: {e}; reading the local branch");
            None
        }
    };
    let tip = match remote_tip {
        Some(t) => Some(t),
        None => publisher.store().tip().map_err(Failure::from)?,
    };
    let Some(tip) = tip else {
        return Ok(Vec::new());
    };
    Ok(audit::chain::list(repo, tip)
        .map_err(Failure::from)?
        .into_iter()
        .map(|l| l.record)
        .collect())
}

/// The digest recomputes and an SSH signature verifies against `trusted`.
pub fn is_trusted(record: &Record, trusted: Option<&AllowedSigners>) -> bool {
    let Some(trusted) = trusted else {
        return false;
    };
    let Ok(jcs) = record.payload.jcs() else {
        return false;
    };
    if audit::record::digest_of(&jcs) != record.digest {
        return false;
    }
    record.signatures.iter().any(|s| match s {
        audit::record::Signature::Ssh { principal, sig } => trusted
            .verify(
                sig,
                audit::sign::RECORD_NAMESPACE,
                &jcs,
                Some(principal.as_str()),
            )
            .is_ok(),
        _ => false,
    })
}

/// Not expired at `now`: `expires_at` is in the future.
pub fn unexpired(record: &Record, now: DateTime<Utc>) -> bool {
    record
        .payload
        .expires_at
        .as_deref()
        .and_then(|t| audit::record::parse_time(t).ok())
        .is_some_and(|t| t > now)
}

/// An approved (or auto-approved) decision record.
pub fn is_approval(record: &Record) -> bool {
    record.payload.kind == audit::Kind::Decision
        && matches!(
            record.payload.decision,
            Some(audit::Decision::Approved | audit::Decision::Auto)
        )
}

/// The newest trusted, unexpired approval of (repository, sha, environment).
pub fn reusable<'a>(
    records: &'a [Record],
    repository: &str,
    sha: &str,
    environment: Option<&str>,
    trusted: Option<&AllowedSigners>,
    now: DateTime<Utc>,
) -> Option<&'a Record> {
    records.iter().rev().find(|r| {
        let p = &r.payload;
        is_approval(r)
            && p.repository.eq_ignore_ascii_case(repository)
            && p.subject.sha.eq_ignore_ascii_case(sha)
            && p.subject.environment.as_deref() == environment
            && unexpired(r, now)
            && is_trusted(r, trusted)
    })
}

/// The record's approvals.
pub fn approvals(list: &[crate::approval::Approval]) -> Vec<audit::Approval> {
    list.iter().map(audit::Approval::from).collect()
}
