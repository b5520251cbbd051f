//! A GitHub-hosted job runs at most 6 hours: a gate that waits longer is cancelled by
//! GitHub before its own timeout, with no `expired` record. Warned about (not refused:
//! self-hosted runners allow longer jobs) by `policy check` and by the gate.

use std::time::Duration;

use super::{Policy, Rule};

/// The longest a job on a GitHub-hosted runner may run.
pub const HOSTED_JOB_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// The warning for a rule whose `timeout` exceeds [`HOSTED_JOB_LIMIT`], if it does.
pub fn timeout_warning(rule: &Rule) -> Option<String> {
    (rule.timeout > HOSTED_JOB_LIMIT).then(|| {
        format!(
            "rule `{}`: timeout {} exceeds the 6h limit of a job on a GitHub-hosted runner; \
GitHub cancels the job first (no `expired` record). Use a shorter timeout, a self-hosted \
runner, or `jitaa request` ahead of the push",
            rule.name,
            humantime::format_duration(rule.timeout)
        )
    })
}

/// The warnings for every rule of `policy`, the implicit `default` last.
pub fn timeout_warnings(policy: &Policy) -> Vec<String> {
    policy
        .rules()
        .chain(std::iter::once(&policy.defaults))
        .filter_map(timeout_warning)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_over_six_hours_warn() {
        let mut rule = Rule::builtin("prod");
        rule.timeout = HOSTED_JOB_LIMIT;
        assert_eq!(timeout_warning(&rule), None, "exactly 6h fits");
        rule.timeout = HOSTED_JOB_LIMIT + Duration::from_secs(60);
        let w = timeout_warning(&rule).expect("6h 1m warns");
        assert!(w.contains("rule `prod`") && w.contains("6h 1m"), "{w}");
    }
}
