//! How the gate reports: audit records (drafted from the run, signed and published), the
//! check run (or commit status) on the sha, step outputs and the job summary.

use chrono::{DateTime, Utc};

use crate::actions;
use crate::audit::{self, Actor, Decision, Draft, Kind, RuleRef, Signers, Subject};
use crate::exit::Failure;
use crate::github::{CheckAction, CheckHandle, CheckSpec, Client, GitHub};
use crate::repo::Repo;
use crate::request::record::{self, Written};

use super::context::{RecordContext, Run};

/// What every record of this run shares.
pub(super) struct Reporter<'a> {
    pub repo: &'a Repo,
    pub client: &'a Client,
    pub run: &'a Run,
    pub settings: audit::Settings,
    pub signers: Signers,
    pub context: RecordContext,
    pub requester: Actor,
    pub rule: Option<RuleRef>,
    pub check: Option<CheckHandle>,
}

/// A written record, as outputs show it.
pub(super) struct Recorded {
    pub id: String,
    pub digest: String,
}

impl Reporter<'_> {
    pub(super) fn subject(&self) -> Subject {
        Subject {
            sha: self.run.sha.clone(),
            git_ref: Some(self.run.git_ref.clone()),
            environment: self.run.environment.clone(),
        }
    }

    pub(super) fn draft(&self, kind: Kind, decision: Option<Decision>) -> Draft {
        let mut d = Draft::new(
            kind,
            self.run.repo.to_string(),
            self.subject(),
            self.requester.clone(),
        );
        d.decision = decision;
        d.rule = self.rule.clone();
        d.context = self.context.value.clone();
        d.context_source = Some(self.context.source);
        d.jwks = self.context.jwks.clone();
        d
    }

    /// Appends and publishes. `must_publish`: a record that could not be pushed is an
    /// error (an approval nobody can see later must not deploy).
    pub(super) fn write(&self, draft: &Draft, must_publish: bool) -> Result<Recorded, Failure> {
        let Written { appended, pushed } =
            record::write(self.repo.git(), &self.settings, draft, &self.signers)?;
        if let Err(reason) = pushed {
            if must_publish {
                return Err(Failure::unreachable(format!(
                    "the {} record {} could not be published: {reason}",
                    draft.kind, appended.id
                )));
            }
            actions::warning(&reason);
        }
        Ok(Recorded {
            id: appended.id,
            digest: appended.digest,
        })
    }

    /// Creates or updates the check run (best effort: a failure is a warning).
    pub(super) async fn check(&mut self, conclusion: Option<&str>, title: &str, summary: &str) {
        self.check_with(conclusion, title, summary, None).await;
    }

    /// [`Reporter::check`], with the Approve and Deny buttons of the pending request
    /// `buttons` (its id is the run's `external_id`).
    pub(super) async fn check_with(
        &mut self,
        conclusion: Option<&str>,
        title: &str,
        summary: &str,
        buttons: Option<&str>,
    ) {
        let name = match &self.run.environment {
            Some(e) => format!("jitaa / {e}"),
            None => "jitaa".to_string(),
        };
        let spec = CheckSpec {
            name,
            head_sha: self.run.sha.clone(),
            conclusion: conclusion.map(str::to_string),
            title: title.to_string(),
            summary: summary.to_string(),
            details_url: self.run.run_url.clone(),
            external_id: buttons.map(str::to_string),
            actions: if buttons.is_some() {
                CheckAction::approve_deny()
            } else {
                Vec::new()
            },
        };
        match self
            .client
            .publish_check(&self.run.repo, &spec, self.check.as_ref())
            .await
        {
            Ok(h) => self.check = Some(h),
            Err(e) => tracing::warn!("could not publish the check run: {e}"),
        }
    }
}

/// Step outputs: decision, approvers, record-id, record-digest, expires-at.
pub(super) fn outputs(
    decision: &str,
    approvers: &[String],
    recorded: Option<&Recorded>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), Failure> {
    let list = [
        ("decision", decision.to_string()),
        ("approvers", approvers.join(",")),
        (
            "record-id",
            recorded.map(|r| r.id.clone()).unwrap_or_default(),
        ),
        (
            "record-digest",
            recorded.map(|r| r.digest.clone()).unwrap_or_default(),
        ),
        (
            "expires-at",
            expires_at
                .map(audit::record::format_time)
                .unwrap_or_default(),
        ),
    ];
    actions::set_outputs(&list)
        .map_err(|e| Failure::unreachable(format!("writing GITHUB_OUTPUT: {e}")))
}

/// The job summary: a heading, a table of facts, and free text.
pub(super) fn summary(title: &str, rows: &[(&str, String)], text: &str) {
    let mut md = format!("### jitaa: {title}\n\n| | |\n|---|---|\n");
    for (k, v) in rows {
        md.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
    }
    if !text.is_empty() {
        md.push_str(&format!("\n{text}\n"));
    }
    if let Err(e) = actions::append_summary(&md) {
        tracing::warn!("could not write the job summary: {e}");
    }
}
