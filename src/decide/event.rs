//! The event `jitaa decide` runs on, read from `GITHUB_EVENT_PATH`: what happened and to
//! which request, with nothing decided yet. Pure: bytes in, a [`Trigger`] (or why the
//! event is none of decide's business) out. Only the fields used are read; a payload that
//! lacks one of them is an error naming the field, never a guess.
//!
//! The event file can be rewritten by an earlier step of the job, so nothing here is
//! trusted beyond "which thread or check run to look at": comments, reviews, the
//! presser's identity and every fact about the request are read again from the API or
//! from verified records.

use serde_json::Value;

use crate::approval::command;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// A new comment on an issue or pull request (`issue_comment` `created`).
    Comment {
        thread: u64,
        is_pr: bool,
        comment_id: u64,
    },
    /// A button on a jitaa check run (`check_run` `requested_action`).
    Button {
        check_run_id: u64,
        /// The check run's `external_id`: the request id.
        request_id: String,
        head_sha: String,
        approve: bool,
        sender: String,
        sender_id: u64,
    },
    /// A `pull_request_review` workflow completed (`workflow_run` `completed`): look at
    /// the reviews of its pull requests.
    Review { pulls: Vec<u64>, head_sha: String },
}

/// An event decide reads, or why it has nothing to do (exit 0, no writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    Trigger(Trigger),
    Ignored(String),
}

/// A payload without a field decide needs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum EventError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("`{0}` is missing or has the wrong type")]
    Field(&'static str),
}

fn at<'a>(v: &'a Value, path: &'static str) -> Result<&'a Value, EventError> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .ok_or(EventError::Field(path))
}

fn string<'a>(v: &'a Value, path: &'static str) -> Result<&'a str, EventError> {
    at(v, path)?.as_str().ok_or(EventError::Field(path))
}

fn number(v: &Value, path: &'static str) -> Result<u64, EventError> {
    at(v, path)?.as_u64().ok_or(EventError::Field(path))
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every arm and early return of `parse` is then one expression"
)]
fn ignored(why: impl Into<String>) -> Result<Parsed, EventError> {
    Ok(Parsed::Ignored(why.into()))
}

/// Reads the event `name` (`GITHUB_EVENT_NAME`) from its payload.
pub(crate) fn parse(name: &str, payload: &[u8]) -> Result<Parsed, EventError> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| EventError::NotJson(e.to_string()))?;
    let action = v.get("action").and_then(Value::as_str).unwrap_or("");
    match name {
        "issue_comment" => {
            if action != "created" {
                return ignored(format!(
                    "an issue_comment `{action}` event: only new comments count (edited ones never do)"
                ));
            }
            let user_type = string(&v, "comment.user.type").unwrap_or("User");
            let login = string(&v, "comment.user.login")?;
            if user_type == "Bot" || login.ends_with("[bot]") {
                return ignored(format!("a comment by the bot {login}"));
            }
            if command::parse(string(&v, "comment.body").unwrap_or("")).is_empty() {
                return ignored("a comment without a jitaa command");
            }
            Ok(Parsed::Trigger(Trigger::Comment {
                thread: number(&v, "issue.number")?,
                is_pr: v
                    .get("issue")
                    .and_then(|i| i.get("pull_request"))
                    .is_some_and(|p| !p.is_null()),
                comment_id: number(&v, "comment.id")?,
            }))
        }
        "check_run" => {
            if action != "requested_action" {
                return ignored(format!("a check_run `{action}` event"));
            }
            let identifier = string(&v, "requested_action.identifier")?;
            let approve = match identifier {
                "approve" => true,
                "deny" => false,
                other => {
                    return ignored(format!("a check run button `{other}` that is not jitaa's"));
                }
            };
            let request_id = v
                .get("check_run")
                .and_then(|c| c.get("external_id"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if request_id.is_empty() {
                return ignored("a check run without a jitaa request id (external_id)");
            }
            Ok(Parsed::Trigger(Trigger::Button {
                check_run_id: number(&v, "check_run.id")?,
                request_id: request_id.to_string(),
                head_sha: string(&v, "check_run.head_sha")?.to_string(),
                approve,
                sender: string(&v, "sender.login")?.to_string(),
                sender_id: number(&v, "sender.id")?,
            }))
        }
        "workflow_run" => {
            if action != "completed" {
                return ignored(format!("a workflow_run `{action}` event"));
            }
            let event = string(&v, "workflow_run.event")?;
            if event != "pull_request_review" {
                return ignored(format!(
                    "a workflow_run of a `{event}` workflow (decide looks at runs of pull_request_review workflows)"
                ));
            }
            let pulls = at(&v, "workflow_run.pull_requests")?
                .as_array()
                .ok_or(EventError::Field("workflow_run.pull_requests"))?
                .iter()
                .filter_map(|p| p.get("number").and_then(Value::as_u64))
                .collect();
            Ok(Parsed::Trigger(Trigger::Review {
                pulls,
                head_sha: string(&v, "workflow_run.head_sha")?.to_string(),
            }))
        }
        "pull_request_review" => ignored(
            "a pull_request_review event: such a run executes the pull request's own copy of the workflow file, so nothing it signs is trusted. Run decide on `workflow_run` of a one-step pull_request_review workflow instead (see the README)",
        ),
        other => ignored(format!("a `{other}` event")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/data/github/webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn parse_v(name: &str, v: &Value) -> Result<Parsed, EventError> {
        parse(name, &serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn a_new_comment_with_a_command_names_its_thread_and_comment() {
        let mut v = fixture("octokit-webhooks.issue_comment.created.payload.json");
        v["comment"]["body"] = json!("LGTM\n/approve");
        let Parsed::Trigger(Trigger::Comment {
            thread,
            is_pr,
            comment_id,
        }) = parse_v("issue_comment", &v).unwrap()
        else {
            panic!("a trigger")
        };
        assert_eq!(thread, v["issue"]["number"].as_u64().unwrap());
        assert_eq!(comment_id, v["comment"]["id"].as_u64().unwrap());
        assert_eq!(is_pr, v["issue"].get("pull_request").is_some());
        v["issue"]["pull_request"] = json!({"url": "https://api.github.com/repos/a/b/pulls/1"});
        assert!(matches!(
            parse_v("issue_comment", &v).unwrap(),
            Parsed::Trigger(Trigger::Comment { is_pr: true, .. })
        ));
    }

    #[test]
    fn comments_that_are_not_new_commands_by_people_are_ignored() {
        let base = fixture("octokit-webhooks.issue_comment.created.payload.json");
        let mut plain = base.clone();
        plain["comment"]["body"] = json!("looks good to me");
        let mut quoted = base.clone();
        quoted["comment"]["body"] = json!("> /approve\nno");
        let mut edited = base.clone();
        edited["action"] = json!("edited");
        edited["comment"]["body"] = json!("/approve");
        let mut bot = base.clone();
        bot["comment"]["body"] = json!("/approve");
        bot["comment"]["user"]["type"] = json!("Bot");
        for v in [plain, quoted, edited, bot] {
            assert!(
                matches!(parse_v("issue_comment", &v).unwrap(), Parsed::Ignored(_)),
                "{}",
                v["comment"]["body"]
            );
        }
    }

    #[test]
    fn a_button_press_names_the_request_and_the_presser() {
        let mut v = fixture("octokit-webhooks.check_run.requested_action.payload.json");
        v["requested_action"]["identifier"] = json!("deny");
        v["check_run"]["external_id"] = json!("01JREQUEST");
        let Parsed::Trigger(Trigger::Button {
            request_id,
            approve,
            sender,
            head_sha,
            ..
        }) = parse_v("check_run", &v).unwrap()
        else {
            panic!("a trigger")
        };
        assert_eq!(request_id, "01JREQUEST");
        assert!(!approve);
        assert_eq!(sender, v["sender"]["login"].as_str().unwrap());
        assert_eq!(head_sha, v["check_run"]["head_sha"].as_str().unwrap());
        // The fixture's own button ("lgtm|26764") and a run without an id are not ours.
        let original = fixture("octokit-webhooks.check_run.requested_action.payload.json");
        assert!(matches!(
            parse_v("check_run", &original).unwrap(),
            Parsed::Ignored(_)
        ));
        v["requested_action"]["identifier"] = json!("approve");
        v["check_run"]["external_id"] = json!("");
        assert!(matches!(
            parse_v("check_run", &v).unwrap(),
            Parsed::Ignored(_)
        ));
    }

    #[test]
    fn only_completed_runs_of_review_workflows_trigger() {
        let run = |event: &str, action: &str| {
            json!({
                "action": action,
                "workflow_run": {
                    "id": 9, "event": event, "head_sha": "a".repeat(40),
                    "pull_requests": [{"number": 7, "head": {"sha": "a".repeat(40)}}]
                }
            })
        };
        assert_eq!(
            parse_v("workflow_run", &run("pull_request_review", "completed")).unwrap(),
            Parsed::Trigger(Trigger::Review {
                pulls: vec![7],
                head_sha: "a".repeat(40)
            })
        );
        for (e, a) in [("pull_request_review", "requested"), ("push", "completed")] {
            assert!(matches!(
                parse_v("workflow_run", &run(e, a)).unwrap(),
                Parsed::Ignored(_)
            ));
        }
        let review = fixture("octokit-webhooks.pull_request_review.submitted.payload.json");
        let Parsed::Ignored(why) = parse_v("pull_request_review", &review).unwrap() else {
            panic!("never trusted")
        };
        assert!(why.contains("workflow_run"), "{why}");
        assert!(matches!(
            parse_v("push", &json!({})).unwrap(),
            Parsed::Ignored(_)
        ));
    }

    #[test]
    fn a_payload_without_a_needed_field_names_it() {
        let v = json!({"action": "created", "comment": {"user": {"login": "bob"}, "body": "/approve", "id": 1}});
        assert_eq!(
            parse_v("issue_comment", &v).unwrap_err(),
            EventError::Field("issue.number")
        );
        assert!(matches!(
            parse("check_run", b"{not json").unwrap_err(),
            EventError::NotJson(_)
        ));
    }

    proptest! {
        #[test]
        fn no_payload_panics(name in "(issue_comment|check_run|workflow_run|pull_request_review|push)", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&name, &bytes);
        }

        #[test]
        fn no_json_shape_panics(body in ".{0,40}", action in "(created|edited|requested_action|completed|x)", n in any::<i64>(), id in "[a-z]{0,5}") {
            for name in ["issue_comment", "check_run", "workflow_run"] {
                let v = json!({
                    "action": action,
                    "issue": {"number": n, "pull_request": if n % 2 == 0 { json!(null) } else { json!({}) }},
                    "comment": {"id": n, "body": body, "user": {"login": id, "type": "User"}},
                    "check_run": {"id": n, "external_id": id, "head_sha": body},
                    "requested_action": {"identifier": id},
                    "sender": {"login": id, "id": n},
                    "workflow_run": {"event": id, "head_sha": body, "pull_requests": [{"number": n}]},
                });
                let _ = parse(name, &serde_json::to_vec(&v).unwrap());
            }
        }
    }
}
