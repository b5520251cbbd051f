//! The `push` record an allowed push leaves on the audit branch, and who signs it.
//!
//! Signing: the pusher's git SSH signing key (`gpg.format=ssh` + `user.signingkey`,
//! through `ssh-keygen -Y sign`, so agents and hardware keys work), else
//! `JITAA_SIGNING_KEY`. Without either the push is refused (exit 2) rather than let
//! through unrecorded: the hook has no GitHub OIDC token, so an `ssh` signature is the
//! only one it can give whatever `audit.signing` lists, and every allowed push is recorded.

use serde_json::{Value, json};

use crate::audit::{self, Draft, Kind, Signers, SshSigner, Subject};
use crate::hook::HookError;
use crate::hook::protocol::RefUpdate;
use crate::keys::SigningKey;

/// The signer for hook records (see the module doc); `None` without a key: the push
/// then goes through unrecorded (DESIGN.md, audit section).
pub fn signers(repo: &git2::Repository) -> Result<Option<Signers>, HookError> {
    let config = repo.config().map_err(HookError::GitConfig)?;
    if let Some(s) = SshSigner::from_git_config(&config)? {
        return Ok(Some(Signers::ssh(s)));
    }
    if let Some(k) = SigningKey::from_env()? {
        return Ok(Some(Signers::ssh(SshSigner::Key(k))));
    }
    Ok(None)
}

/// The pusher's git identity and the push, as the record's `context`.
pub fn context(
    repo: &git2::Repository,
    remote: &str,
    url: &str,
    update: &RefUpdate,
    via: Value,
) -> Value {
    let cfg = repo.config().ok();
    let get = |k: &str| cfg.as_ref().and_then(|c| c.get_string(k).ok());
    json!({
        "git": {"name": get("user.name"), "email": get("user.email")},
        "remote": remote,
        "url": redact_url(url),
        "local_ref": update.local_ref,
        "before": update.remote_sha,
        "via": via,
    })
}

/// A remote URL without any user name or password in it.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// A `push` draft for `update` of `git_ref`.
pub fn draft(repository: &str, update: &RefUpdate, requester: audit::Actor) -> Draft {
    Draft::new(
        Kind::Push,
        repository,
        Subject {
            sha: update.local_sha.clone(),
            git_ref: Some(update.remote_ref.clone()),
            environment: None,
        },
        requester,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_record() {
        assert_eq!(
            redact_url("https://bob:ghp_secret@github.com/acme/api.git"),
            "https://github.com/acme/api.git"
        );
        assert_eq!(
            redact_url("git@github.com:acme/api.git"),
            "git@github.com:acme/api.git"
        );
    }
}
