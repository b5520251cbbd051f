//! Stand-ins for GitHub's OIDC side shared by unit tests: [`FakeTokens`] verifies
//! "tokens" against a JWKS of key ids, [`FakeRun`] signs records as a workflow run would.

use chrono::{DateTime, Utc};

/// The `sha` claim of every token [`FakeTokens`] verifies.
pub(crate) const TOKEN_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A stand-in for GitHub's token service and its JWKS: a "token" is
/// `kid|repository|job_workflow_ref|audience`, and it verifies when its key id is in
/// the trusted JWKS and its audience is the one asked for.
pub(crate) struct FakeTokens {
    pub kids: Vec<&'static str>,
}

impl crate::audit::OidcVerifier for FakeTokens {
    fn kid(&self, token: &str) -> Result<String, crate::oidc::OidcError> {
        Ok(token.split('|').next().unwrap_or_default().to_string())
    }
    fn trusted_key(&self, kid: &str) -> Result<Option<crate::oidc::Jwk>, crate::oidc::OidcError> {
        Ok(self.kids.contains(&kid).then(|| {
            serde_json::from_value(serde_json::json!({
                "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"
            }))
            .unwrap()
        }))
    }
    fn source(&self) -> String {
        "the issuer's JWKS (test)".into()
    }
    fn verify(
        &self,
        token: &str,
        _key: &crate::oidc::Jwk,
        expected_audience: &str,
        _record_time: DateTime<Utc>,
    ) -> Result<crate::oidc::Context, crate::oidc::OidcError> {
        let parts: Vec<&str> = token.split('|').collect();
        if parts[3] != expected_audience {
            return Err(crate::oidc::OidcError::Audience {
                expected: expected_audience.into(),
                found: parts[3].into(),
            });
        }
        let claims = serde_json::json!({
            "iss": "https://issuer.test", "aud": expected_audience,
            "repository": parts[1], "repository_id": "1", "repository_owner": "acme",
            "repository_owner_id": "1", "actor": "bob", "actor_id": "2",
            "ref": "refs/heads/main", "ref_type": "branch", "sha": TOKEN_SHA,
            "event_name": "issue_comment", "workflow": "jitaa",
            "workflow_ref": parts[2], "job_workflow_ref": parts[2],
            "run_id": "1", "run_number": "1", "run_attempt": "1", "iat": 0, "exp": 0
        });
        Ok(serde_json::from_value(claims).unwrap())
    }
}

/// Signs as a workflow run of `repository` at `job_workflow_ref` would, with key `kid`.
pub(crate) struct FakeRun {
    pub kid: &'static str,
    pub repository: &'static str,
    pub job_workflow_ref: &'static str,
}

impl crate::audit::OidcSigner for FakeRun {
    fn token_for(&self, audience: &str) -> Result<String, crate::oidc::OidcError> {
        Ok(format!(
            "{}|{}|{}|{audience}",
            self.kid, self.repository, self.job_workflow_ref
        ))
    }
}
