//! How a request ended, said once for every flow that waits or decides (the gate,
//! `jitaa request --wait`, `decide`): the record's decision, the exit code, the check
//! run's conclusion and title, the mark on the request comment and the step output.
//! Pure: the flows write and post what this says.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Approval, Decision};
use crate::audit;
use crate::exit::Code;

/// The end of one request, as every flow reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conclusion {
    /// Approved and still valid: the change may go.
    Approved {
        /// Approved by the policy (`approvals: 0`), nobody's approval needed.
        auto: bool,
        approvals: Vec<Approval>,
        valid_until: DateTime<Utc>,
    },
    /// Approved, but the approval's ttl ran out before it could be used (fail closed:
    /// the engine does not compare `valid_until` with the clock, this does).
    Lapsed { reason: String },
    /// Denied by an eligible approver.
    Denied { reason: Option<String> },
    /// No decision before the request's deadline.
    TimedOut,
    /// The waiting process was stopped (SIGTERM/SIGINT); not a decision.
    Cancelled { signal: String },
}

impl Conclusion {
    /// How `decision` ends the request at `now`, for a rule with this `ttl`.
    pub(crate) fn of(decision: &Decision, ttl: Duration, now: DateTime<Utc>) -> Conclusion {
        match decision {
            Decision::Approved {
                auto,
                approvals,
                valid_until,
                ..
            } if *valid_until > now => Conclusion::Approved {
                auto: *auto,
                approvals: approvals.clone(),
                valid_until: *valid_until,
            },
            Decision::Approved { valid_until, .. } => Conclusion::Lapsed {
                reason: format!(
                    "the approval lapsed at {} (ttl {}) before it could be used",
                    audit::record::format_time(*valid_until),
                    humantime::format_duration(ttl)
                ),
            },
            Decision::Denied { reason, .. } => Conclusion::Denied {
                reason: reason.clone(),
            },
            Decision::Expired { .. } | Decision::Pending { .. } => Conclusion::TimedOut,
        }
    }

    /// The process's exit code (DESIGN.md): approved 0, denied or cancelled 1, timed
    /// out or lapsed 3.
    pub(crate) fn code(&self) -> Code {
        match self {
            Conclusion::Approved { .. } => Code::Ok,
            Conclusion::Denied { .. } | Conclusion::Cancelled { .. } => Code::Denied,
            Conclusion::Lapsed { .. } | Conclusion::TimedOut => Code::TimedOut,
        }
    }

    /// The audit record's `decision`.
    pub(crate) fn record(&self) -> audit::Decision {
        match self {
            Conclusion::Approved { auto: true, .. } => audit::Decision::Auto,
            Conclusion::Approved { .. } => audit::Decision::Approved,
            Conclusion::Lapsed { .. } | Conclusion::TimedOut => audit::Decision::Expired,
            Conclusion::Denied { .. } => audit::Decision::Denied,
            Conclusion::Cancelled { .. } => audit::Decision::Cancelled,
        }
    }

    /// The audit record's `reason`, given the engine's one-line `summary`.
    pub(crate) fn reason(&self, summary: &str) -> Option<String> {
        match self {
            Conclusion::Approved { .. } => None,
            Conclusion::Lapsed { reason } => Some(reason.clone()),
            Conclusion::Denied { reason } => reason.clone().or_else(|| Some(summary.into())),
            Conclusion::TimedOut => Some(summary.into()),
            Conclusion::Cancelled { signal } => {
                Some(format!("cancelled by {signal} while waiting"))
            }
        }
    }

    /// The check run's conclusion and title.
    pub(crate) fn check(&self) -> (&'static str, &'static str) {
        match self {
            Conclusion::Approved { .. } => ("success", "Approved"),
            Conclusion::Lapsed { .. } => ("timed_out", "Approval lapsed"),
            Conclusion::Denied { .. } => ("failure", "Denied"),
            Conclusion::TimedOut => ("timed_out", "Timed out"),
            Conclusion::Cancelled { .. } => ("cancelled", "Cancelled"),
        }
    }

    /// The mark the request comment is updated with.
    pub(crate) fn mark(&self) -> &'static str {
        match self {
            Conclusion::Approved { .. } => "✅",
            Conclusion::Denied { .. } => "❌",
            Conclusion::Lapsed { .. } | Conclusion::TimedOut => "⌛",
            Conclusion::Cancelled { .. } => "⏹",
        }
    }

    /// The `decision` step output.
    pub(crate) fn output(&self) -> &'static str {
        match self {
            Conclusion::Approved { .. } => "approved",
            Conclusion::Denied { .. } => "denied",
            Conclusion::Lapsed { .. } | Conclusion::TimedOut => "expired",
            Conclusion::Cancelled { .. } => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::Via;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn approval() -> Approval {
        Approval {
            login: "bob".into(),
            id: 2,
            via: Via::Comment,
            url: "https://github.com/o/r/issues/1#issuecomment-1".into(),
            at: at("2026-12-01T10:00:00Z"),
        }
    }

    /// Every way a request ends, with what each flow then reports.
    #[test]
    fn each_ending_has_one_record_code_check_and_output() {
        let now = at("2026-12-01T10:05:00Z");
        let ttl = Duration::from_secs(3600);
        let approved = |until: &str| Decision::Approved {
            auto: false,
            approvals: vec![approval()],
            approved_at: at("2026-12-01T10:00:00Z"),
            valid_until: at(until),
        };
        let denied = Decision::Denied {
            login: "bob".into(),
            id: 2,
            reason: Some("not today".into()),
            url: String::new(),
            at: now,
        };
        struct Case {
            name: &'static str,
            ended: Conclusion,
            code: Code,
            record: audit::Decision,
            check: &'static str,
            output: &'static str,
            reason: Option<&'static str>,
        }
        let cases = [
            Case {
                name: "approved and valid",
                ended: Conclusion::of(&approved("2026-12-01T11:00:00Z"), ttl, now),
                code: Code::Ok,
                record: audit::Decision::Approved,
                check: "success",
                output: "approved",
                reason: None,
            },
            Case {
                name: "approved at the instant it lapses (not after: fail closed)",
                ended: Conclusion::of(&approved("2026-12-01T10:05:00Z"), ttl, now),
                code: Code::TimedOut,
                record: audit::Decision::Expired,
                check: "timed_out",
                output: "expired",
                reason: Some(
                    "the approval lapsed at 2026-12-01T10:05:00Z (ttl 1h) before it could be used",
                ),
            },
            Case {
                name: "denied with a reason",
                ended: Conclusion::of(&denied, ttl, now),
                code: Code::Denied,
                record: audit::Decision::Denied,
                check: "failure",
                output: "denied",
                reason: Some("not today"),
            },
            Case {
                name: "timed out",
                ended: Conclusion::TimedOut,
                code: Code::TimedOut,
                record: audit::Decision::Expired,
                check: "timed_out",
                output: "expired",
                reason: Some("the summary"),
            },
            Case {
                name: "cancelled is exit 1 but not a denial",
                ended: Conclusion::Cancelled {
                    signal: "SIGTERM".into(),
                },
                code: Code::Denied,
                record: audit::Decision::Cancelled,
                check: "cancelled",
                output: "cancelled",
                reason: Some("cancelled by SIGTERM while waiting"),
            },
        ];
        for c in cases {
            assert_eq!(c.ended.code(), c.code, "{}", c.name);
            assert_eq!(c.ended.record(), c.record, "{}", c.name);
            assert_eq!(c.ended.check().0, c.check, "{}", c.name);
            assert_eq!(c.ended.output(), c.output, "{}", c.name);
            assert_eq!(
                c.ended.reason("the summary").as_deref(),
                c.reason,
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn a_pending_decision_at_the_deadline_is_a_timeout() {
        let d = Decision::Pending {
            missing: 1,
            uncovered: vec![],
            suggest: vec![],
            deadline: Utc::now(),
        };
        let c = Conclusion::of(&d, Duration::from_secs(60), Utc::now());
        assert_eq!(c, Conclusion::TimedOut);
    }
}
