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

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::audit::{Decision, Subject};
    use crate::request::tests::{deploy, keys, signed};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
    const MAIN: &str = "refs/heads/main";

    fn grant(sha: &str, git_ref: &str) -> Subject {
        Subject {
            sha: sha.into(),
            git_ref: Some(git_ref.into()),
            environment: None,
        }
    }

    #[test]
    fn a_push_record_or_an_unexpired_grant_approves_the_push() {
        let k = keys();
        let now = Utc::now();
        let t = Some(&k.trusted);
        let push = signed(
            &k.signers,
            Kind::Push,
            None,
            grant(SHA, MAIN),
            Duration::zero(),
        );
        assert!(approved(&[push], "acme/api", MAIN, SHA, t, now));
        let g = signed(
            &k.signers,
            Kind::Decision,
            Some(Decision::Approved),
            grant(SHA, MAIN),
            Duration::minutes(5),
        );
        assert!(approved(
            std::slice::from_ref(&g),
            "acme/api",
            MAIN,
            SHA,
            t,
            now
        ));
        let d = signed(
            &k.signers,
            Kind::Decision,
            Some(Decision::Approved),
            deploy(SHA, "prod"),
            Duration::minutes(5),
        );
        assert!(approved(&[d], "acme/api", MAIN, SHA, t, now));
        // Expired, for another ref or sha, denied, or untrusted: not approved.
        assert!(!approved(
            std::slice::from_ref(&g),
            "acme/api",
            MAIN,
            SHA,
            t,
            now + Duration::minutes(6)
        ));
        assert!(!approved(
            std::slice::from_ref(&g),
            "acme/api",
            "refs/heads/release",
            SHA,
            t,
            now
        ));
        assert!(!approved(
            std::slice::from_ref(&g),
            "acme/api",
            MAIN,
            &"f".repeat(40),
            t,
            now
        ));
        assert!(!approved(&[g], "acme/api", MAIN, SHA, None, now));
        let denied = signed(
            &k.signers,
            Kind::Decision,
            Some(Decision::Denied),
            grant(SHA, MAIN),
            Duration::minutes(5),
        );
        assert!(!approved(&[denied], "acme/api", MAIN, SHA, t, now));
        let violation = signed(
            &k.signers,
            Kind::Violation,
            None,
            grant(SHA, MAIN),
            Duration::minutes(5),
        );
        assert!(!approved(&[violation], "acme/api", MAIN, SHA, t, now));
    }
}
