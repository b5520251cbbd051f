//! Connects the audit commands to the rest of jitaa: the policy's `audit` section read
//! from the default branch, and the OIDC module's verifier for `github-oidc` signatures.

use chrono::{DateTime, Utc};

use super::{OidcVerifier, Settings};
use crate::cli::{AuditArgs, Global};
use crate::exit::{Code, Failure};
use crate::oidc;
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
pub fn settings_from_default_branch(repo: &Repo) -> Result<Settings, Failure> {
    let remote = AuditSettings::default().remote;
    let Some(branch) = repo.default_branch(&remote) else {
        return Ok(Settings::from(&AuditSettings::default()));
    };
    let tip = [
        format!("refs/remotes/{remote}/{branch}"),
        format!("refs/heads/{branch}"),
    ]
    .iter()
    .find_map(|r| repo.git().refname_to_id(r).ok());
    let Some(tip) = tip else {
        return Ok(Settings::from(&AuditSettings::default()));
    };
    let files = crate::base::GitFiles::new(repo, tip, format!("the default branch `{branch}`"));
    let loaded = crate::base::rules(&files, None)?.policy;
    Ok(Settings::from(&loaded.policy.audit))
}

/// Verifies a record's `github-oidc` token against the JWKS archived on the audit
/// branch (no network): RS256, the configured issuer, audience `jitaa:<digest>`, and
/// an `iat` close to the record's time.
pub struct ArchivedJwksVerifier {
    pub issuer: String,
}

impl ArchivedJwksVerifier {
    /// The issuer from `JITAA_OIDC_ISSUER`, else GitHub's.
    pub fn from_env() -> Self {
        ArchivedJwksVerifier {
            issuer: oidc::process_env("JITAA_OIDC_ISSUER")
                .unwrap_or_else(|| oidc::DEFAULT_ISSUER.to_string()),
        }
    }
}

impl OidcVerifier for ArchivedJwksVerifier {
    fn verify(
        &self,
        token: &str,
        jwks: &dyn Fn(&str) -> Option<String>,
        expected_audience: &str,
        record_time: DateTime<Utc>,
    ) -> Result<serde_json::Value, String> {
        let unverified = oidc::parse_unverified(token).map_err(|e| e.to_string())?;
        let key = jwks(&unverified.kid)
            .ok_or_else(|| format!("key `{}` is not archived in jwks/", unverified.kid))?;
        let set = oidc::parse_jwks(format!("{{\"keys\":[{key}]}}").as_bytes())
            .map_err(|e| format!("archived key `{}`: {e}", unverified.kid))?;
        let context =
            oidc::verify_record_token(token, &set, &self.issuer, expected_audience, record_time)
                .map_err(|e| e.to_string())?;
        serde_json::to_value(&context).map_err(|e| e.to_string())
    }
}

/// `jitaa audit ...` with the policy's settings and the OIDC verifier wired in.
pub fn run(global: &Global, args: &AuditArgs) -> Result<Code, Failure> {
    let repo = Repo::discover(global.repo.as_deref())?;
    let settings = settings_from_default_branch(&repo)?;
    let verifier = ArchivedJwksVerifier::from_env();
    super::cmd::run(global, args, &settings, Some(&verifier))
}
