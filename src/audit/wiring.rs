//! Connects the audit commands to the rest of jitaa: the policy's `audit` section read
//! from the default branch, and the OIDC module's verifier for `github-oidc` signatures.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{AuditError, JwksFileError, OidcVerifier, Settings};
use crate::oidc::{self, JwkSet, OidcError};
use crate::policy::AuditSettings;
use crate::repo::Repo;

impl From<&crate::approval::Approval> for super::Approval {
    fn from(a: &crate::approval::Approval) -> super::Approval {
        super::Approval {
            login: a.login.clone(),
            id: a.id,
            via: match a.via {
                crate::approval::Via::Comment => "comment".into(),
                crate::approval::Via::Review => "review".into(),
            },
            url: a.url.clone(),
            at: super::record::format_time(a.at),
        }
    }
}

impl From<&AuditSettings> for Settings {
    fn from(a: &AuditSettings) -> Settings {
        Settings {
            branch: a.branch.clone(),
            remote: a.remote.clone(),
            allowed_signers: Some(a.allowed_signers.clone()),
        }
    }
}

/// The policy's audit settings as committed on the default branch (the remote's tip,
/// else the local branch). A repository with no default branch or no policy file gets
/// the built-in defaults; an invalid policy is an error (exit 2), never ignored.
pub fn settings_from_default_branch(repo: &Repo) -> Result<Settings, AuditError> {
    Ok(Settings::from(&policy_audit_from_default_branch(repo)?))
}

/// [`settings_from_default_branch`] as the policy has it (with `pusher_signers`).
pub fn policy_audit_from_default_branch(repo: &Repo) -> Result<AuditSettings, AuditError> {
    let remote = AuditSettings::default().remote;
    let Some((_, tip)) = default_branch_tip(repo, &remote) else {
        return Ok(AuditSettings::default());
    };
    let files = crate::base::GitFiles::new(repo, tip, "the default branch");
    let rules = crate::base::rules(&files, None).map_err(AuditError::Upstream)?;
    Ok(rules.policy.policy.audit)
}

/// Where `audit verify` takes `github-oidc` keys from: outside the branch.
enum TrustedJwks {
    /// `--jwks FILE` (one or more): these keys, no network.
    Files { names: String, set: JwkSet },
    /// The issuer's live JWKS, fetched on first need and kept for the run.
    Live {
        fetched: Mutex<Option<Result<JwkSet, Arc<OidcError>>>>,
    },
}

/// Verifies a record's `github-oidc` token (RS256, the configured issuer, audience
/// `jitaa:<digest>`, an `iat` close to the record's time) with the key `audit verify`
/// chose, and answers which keys are trusted: those of `--jwks FILE`, else the
/// issuer's live JWKS (fetched at most once, and only when a record needs it).
pub struct RecordTokenVerifier {
    issuer: String,
    keys: TrustedJwks,
}

/// The largest `--jwks` file read.
const MAX_JWKS_FILE: u64 = 1 << 20;

impl RecordTokenVerifier {
    /// Trusts the issuer's live JWKS. `issuer` is `--issuer`, else
    /// `JITAA_OIDC_ISSUER`, else GitHub's.
    pub fn live(issuer: &str) -> Self {
        RecordTokenVerifier {
            issuer: issuer.trim().trim_end_matches('/').to_string(),
            keys: TrustedJwks::Live {
                fetched: Mutex::new(None),
            },
        }
    }

    /// Trusts the keys of these JWKS documents (`--jwks FILE`), and no network. A file
    /// that cannot be read, is not a JWKS, or holds no usable key is exit 2.
    pub fn with_files(issuer: &str, files: &[PathBuf]) -> Result<Self, AuditError> {
        let mut set = JwkSet { keys: Vec::new() };
        for f in files {
            let bad = |source: JwksFileError| AuditError::JwksFile {
                path: f.clone(),
                source,
            };
            let meta = std::fs::metadata(f).map_err(|e| bad(JwksFileError::Read(e)))?;
            if meta.len() > MAX_JWKS_FILE {
                return Err(bad(JwksFileError::TooLarge {
                    size: meta.len(),
                    limit: MAX_JWKS_FILE,
                }));
            }
            let bytes = std::fs::read(f).map_err(|e| bad(JwksFileError::Read(e)))?;
            let one = oidc::parse_jwks(&bytes).map_err(|e| bad(e.into()))?;
            if one.keys.is_empty() {
                return Err(bad(JwksFileError::NoUsableKey));
            }
            set.keys.extend(one.keys);
        }
        let names = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Ok(RecordTokenVerifier {
            issuer: issuer.trim().trim_end_matches('/').to_string(),
            keys: TrustedJwks::Files { names, set },
        })
    }

    /// The issuer's JWKS over the OIDC module's fetcher, on the process's runtime.
    fn fetch(issuer: &str) -> Result<JwkSet, OidcError> {
        let verifier = oidc::Verifier::new(issuer, oidc::DEFAULT_AUDIENCE)?;
        crate::runtime::block_on(|| verifier.jwks()).map_err(OidcError::Runtime)?
    }
}

impl OidcVerifier for RecordTokenVerifier {
    fn kid(&self, token: &str) -> Result<String, OidcError> {
        oidc::parse_unverified(token).map(|u| u.kid)
    }

    fn trusted_key(&self, kid: &str) -> Result<Option<oidc::Jwk>, OidcError> {
        match &self.keys {
            TrustedJwks::Files { set, .. } => Ok(set.find(kid).cloned()),
            TrustedJwks::Live { fetched } => {
                let mut slot = fetched
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let got = slot.get_or_insert_with(|| Self::fetch(&self.issuer).map_err(Arc::new));
                match got {
                    Ok(set) => Ok(set.find(kid).cloned()),
                    Err(why) => Err(OidcError::JwksUnavailable {
                        issuer: self.issuer.clone(),
                        source: Arc::clone(why),
                    }),
                }
            }
        }
    }

    fn source(&self) -> String {
        match &self.keys {
            TrustedJwks::Files { names, .. } => format!("--jwks {names}"),
            TrustedJwks::Live { .. } => format!("the issuer's JWKS ({})", self.issuer),
        }
    }

    fn verify(
        &self,
        token: &str,
        key: &oidc::Jwk,
        expected_audience: &str,
        record_time: DateTime<Utc>,
    ) -> Result<oidc::Context, OidcError> {
        oidc::verify_record_token_with(token, key, &self.issuer, expected_audience, record_time)
    }
}

/// The default branch's name and tip (the remote's, else the local branch).
pub fn default_branch_tip(repo: &Repo, remote: &str) -> Option<(String, git2::Oid)> {
    let branch = repo.default_branch(remote)?;
    let tip = [
        format!("refs/remotes/{remote}/{branch}"),
        format!("refs/heads/{branch}"),
    ]
    .iter()
    .find_map(|r| repo.git().refname_to_id(r).ok())?;
    Some((branch, tip))
}
