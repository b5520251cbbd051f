//! The audit side of a request: signers as the policy's `audit.signing` says (a
//! configured signer that cannot sign is an error, never a silent skip), and appending
//! and publishing records. Whether an earlier record approves anything is decided in
//! `audit::approvals`, nowhere else.

use git2::Repository;

use crate::audit::{self, Appended, Draft, OidcSigner, Settings, Signers, SshSigner};
use crate::exit::Failure;
use crate::keys::SigningKey;
use crate::oidc::OidcError;
use crate::policy::{Policy, SigningMethod};

/// The audit settings of a policy.
pub(crate) fn settings(policy: &Policy) -> Settings {
    Settings {
        branch: policy.audit.branch.clone(),
        remote: policy.audit.remote.clone(),
        allowed_signers: Some(policy.audit.allowed_signers.clone()),
    }
}

/// An Actions OIDC token for the audience `jitaa:` + digest, fetched from the runner.
/// The audit store is synchronous: each token is fetched on the process's runtime.
pub(crate) struct ActionsOidcSigner;

impl OidcSigner for ActionsOidcSigner {
    fn token_for(&self, audience: &str) -> Result<String, OidcError> {
        crate::runtime::block_on(|| crate::oidc::request_token(audience))
            .map_err(OidcError::Runtime)?
    }
}

/// Whether the runner can hand out OIDC tokens (the job has `id-token: write`).
pub(crate) fn oidc_available() -> bool {
    [
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ]
    .iter()
    .all(|v| crate::oidc::process_env(v).is_some())
}

/// The gate's signers: exactly the policy's `audit.signing`, each able to sign.
pub(crate) fn gate_signers(policy: &Policy) -> Result<Signers, Failure> {
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

/// Appends `draft` and publishes the branch. A record that could not be pushed stays on
/// the local branch; `pushed` says which.
pub(crate) struct Written {
    pub appended: Appended,
    pub pushed: Result<(), String>,
}

pub(crate) fn write(
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

/// The record's approvals.
pub(crate) fn approvals(list: &[crate::approval::Approval]) -> Vec<audit::Approval> {
    list.iter().map(audit::Approval::from).collect()
}
