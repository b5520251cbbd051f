//! The text jitaa posts: the request comment (what is deployed, who may approve and how,
//! the deadline, the request id), the request issue, and refusal replies. No line of
//! anything jitaa posts starts with `/`, so jitaa never reads its own text as a command.

use std::time::Duration;

use crate::approval::Target;
use crate::policy::Approvers;

use super::Ask;

/// How many changed paths the comment lists before "and N more".
const PATHS_SHOWN: usize = 10;

/// Finds the request issue of (sha, target) again on a re-run.
pub(crate) fn issue_marker(sha: &str, target: &Target) -> String {
    let what = match target {
        Target::Environment(e) => format!("environment={e}"),
        Target::Ref(r) => format!("ref={r}"),
    };
    format!("<!-- jitaa-request-issue sha={sha} {what} -->")
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Environment(e) => format!("environment `{e}`"),
        Target::Ref(r) => format!("`{r}`"),
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

pub(crate) fn issue_title(ask: &Ask) -> String {
    format!(
        "jitaa: approve {} to {}",
        short(&ask.sha),
        target_text(&ask.target).replace('`', "")
    )
}

pub(crate) fn issue_body(ask: &Ask, marker: &str) -> String {
    format!(
        "{marker}\nApproval requests for commit {} of {} to {} are posted here by jitaa.\nComment on this issue to approve or deny them.",
        ask.sha,
        ask.repo,
        target_text(&ask.target)
    )
}

fn approvers_text(ask: &Ask) -> String {
    let mut owners: Vec<String> = Vec::new();
    match &ask.rule.approvers {
        Approvers::List(l) => owners.extend(l.iter().map(std::string::ToString::to_string)),
        Approvers::Codeowners => owners.extend(
            crate::codeowners::distinct_owners(&ask.paths)
                .into_iter()
                .map(std::string::ToString::to_string),
        ),
    }
    let who = if owners.is_empty() {
        "nobody: no changed path has a code owner".to_string()
    } else {
        owners.join(", ")
    };
    let n = ask.rule.approvals;
    let kind = match ask.rule.approvers {
        Approvers::Codeowners => "code owner",
        Approvers::List(_) => "approver",
    };
    let mut s = format!(
        "{n} {kind}{} (rule `{}`): {who}",
        if n == 1 { "" } else { "s" },
        ask.rule.name
    );
    if !ask.rule.self_approval {
        s.push_str(&format!(
            "; @{} made this request and cannot approve it",
            ask.requester.login
        ));
    }
    s
}

/// The request id of a request comment (its first line, `<!-- jitaa-request: ID -->`).
pub(crate) fn request_id_of(body: &str) -> Option<&str> {
    let id = body
        .lines()
        .next()?
        .trim()
        .strip_prefix("<!-- jitaa-request: ")?
        .strip_suffix(" -->")?;
    (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(id)
}

/// The most changed paths a developer's request names for `decide` (GitHub's comment
/// limit is 65,536 characters).
pub(crate) const MAX_ASK_PATHS: usize = 500;

/// What a developer's request is for, for `decide`, which cannot see the unpushed commit:
/// the sha, the ref, the changed paths and the timeout. The requester is the comment's
/// author as GitHub says, never this text.
fn developer_ask(ask: &Ask, timeout: Duration) -> String {
    let paths: Vec<&str> = ask.paths.iter().map(|p| p.path.as_str()).collect();
    let v = serde_json::json!({
        "sha": ask.sha,
        "ref": ask.git_ref,
        "paths": paths.iter().take(MAX_ASK_PATHS).collect::<Vec<_>>(),
        "complete": paths.len() <= MAX_ASK_PATHS,
        "timeout_secs": timeout.as_secs(),
    });
    // `--` would end the HTML comment early.
    v.to_string().replace("--", "\\u002d\\u002d")
}

/// A developer's request as its comment states it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct DeveloperAsk {
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub paths: Vec<String>,
    pub complete: bool,
    pub timeout_secs: u64,
}

/// The developer's ask of a request comment (its second line), if it has one.
pub(crate) fn developer_ask_of(body: &str) -> Option<DeveloperAsk> {
    let line = body.lines().nth(1)?.trim();
    let json = line
        .strip_prefix("<!-- jitaa-ask: ")?
        .strip_suffix(" -->")?;
    serde_json::from_str(json).ok()
}

/// The request comment; `outcome` is appended once decided.
pub(crate) fn request_comment(
    ask: &Ask,
    id: &str,
    timeout: Duration,
    outcome: Option<&str>,
) -> String {
    let mut s = String::new();
    s.push_str(&format!("<!-- jitaa-request: {id} -->\n"));
    if ask.run_url.is_none() {
        s.push_str(&format!(
            "<!-- jitaa-ask: {} -->\n",
            developer_ask(ask, timeout)
        ));
    }
    s.push_str(&format!(
        "### jitaa: approval requested for {}\n\n",
        target_text(&ask.target)
    ));
    s.push_str(&format!(
        "| | |\n|---|---|\n| repository | {} |\n",
        ask.repo
    ));
    s.push_str(&format!("| commit | `{}` |\n", ask.sha));
    if let Some(head) = &ask.review_sha {
        s.push_str(&format!(
            "| pull request head | `{head}` (reviews of it count) |\n"
        ));
    }
    if let Some(r) = &ask.git_ref {
        s.push_str(&format!("| ref | `{r}` |\n"));
    }
    if let Target::Environment(e) = &ask.target {
        s.push_str(&format!("| environment | `{e}` |\n"));
    }
    if let Some(u) = &ask.run_url {
        s.push_str(&format!("| run | {u} |\n"));
    }
    s.push_str(&format!("| requested by | @{} |\n", ask.requester.login));
    s.push_str(&format!(
        "| timeout | {} |\n",
        humantime::format_duration(timeout)
    ));
    s.push_str(&format!("| request id | `{id}` |\n\n"));
    let n = ask.paths.len();
    s.push_str(&format!("Changed paths ({n}): "));
    let shown: Vec<String> = ask
        .paths
        .iter()
        .take(PATHS_SHOWN)
        .map(|p| format!("`{}`", p.path))
        .collect();
    s.push_str(&shown.join(", "));
    if n > PATHS_SHOWN {
        s.push_str(&format!(" and {} more", n - PATHS_SHOWN));
    }
    if n == 0 {
        s.push_str("none");
    }
    s.push_str("\n\n");
    s.push_str(&format!("Who can approve: {}.\n\n", approvers_text(ask)));
    s.push_str(&format!(
        "How: comment `/approve` (or `/approve {id}` for this request only), `/deny <reason>` to stop it, or submit an APPROVE review of this commit on the pull request. Edited comments do not count.\n"
    ));
    if let Some(o) = outcome {
        s.push_str(&format!("\n**Outcome:** {o}\n"));
    }
    s
}

/// The one reply to a refused command.
pub(crate) fn refusal_reply(login: &str, request_id: &str, message: &str) -> String {
    let message = message.replace(['\r', '\n'], " ");
    format!("@{login} your command was not counted for request `{request_id}`: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::command;
    use crate::github::RepoName;
    use crate::policy::Rule;

    fn ask() -> Ask {
        Ask {
            repo: RepoName::parse("acme/api", "t").unwrap(),
            sha: "a".repeat(40),
            git_ref: Some("refs/heads/main".into()),
            target: Target::Environment("production".into()),
            requester: crate::audit::Actor {
                login: "alice".into(),
                id: 1,
            },
            actor: "alice".into(),
            rule: Rule::builtin("default"),
            paths: Vec::new(),
            run_url: Some("https://github.com/acme/api/actions/runs/1".into()),
            review_sha: None,
        }
    }

    #[test]
    fn jitaa_never_posts_a_command_it_would_read_back() {
        let a = ask();
        for text in [
            request_comment(&a, "01J", Duration::from_secs(60), Some("approved by @bob")),
            issue_body(&a, &issue_marker(&a.sha, &a.target)),
            refusal_reply("bob", "01J", "x\n/approve"),
        ] {
            assert!(command::parse(&text).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_request_comment_names_its_request_and_nothing_else_does() {
        let a = ask();
        let t = request_comment(&a, "01JREQ", Duration::from_secs(60), None);
        assert_eq!(request_id_of(&t), Some("01JREQ"));
        for other in [
            "/approve",
            "text\n<!-- jitaa-request: 01JREQ -->",
            "<!-- jitaa-request:  -->",
            "<!-- jitaa-request: 01J REQ -->",
            "<!-- jitaa-request: 01JREQ",
        ] {
            assert_eq!(request_id_of(other), None, "{other}");
        }
    }

    #[test]
    fn a_developers_request_states_its_sha_ref_and_paths_for_decide() {
        let mut a = ask();
        a.run_url = None;
        a.paths = vec![crate::codeowners::PathOwners {
            path: "src/a--b.rs".into(),
            owners: Vec::new(),
            line: None,
        }];
        let t = request_comment(&a, "01JREQ", Duration::from_secs(90), None);
        assert_eq!(request_id_of(&t), Some("01JREQ"));
        let got = developer_ask_of(&t).expect("an ask line");
        assert_eq!(got.sha, a.sha);
        assert_eq!(got.git_ref, "refs/heads/main");
        assert_eq!(got.paths, ["src/a--b.rs"]);
        assert!(got.complete);
        assert_eq!(got.timeout_secs, 90);
        assert!(!t.lines().nth(1).unwrap()[4..t.lines().nth(1).unwrap().len() - 3].contains("--"));
        // A gate's request (it has a run) states nothing: its token does.
        let gate = request_comment(&ask(), "01JREQ", Duration::from_secs(90), None);
        assert_eq!(developer_ask_of(&gate), None);
    }

    #[test]
    fn the_request_comment_says_what_who_and_how() {
        let a = ask();
        let t = request_comment(&a, "01JREQ", Duration::from_secs(1800), None);
        for want in [
            "acme/api",
            &a.sha,
            "refs/heads/main",
            "production",
            "actions/runs/1",
            "01JREQ",
            "`/approve`",
            "`/deny <reason>`",
            "APPROVE review",
            "30m",
        ] {
            assert!(t.contains(want), "missing {want} in {t}");
        }
    }
}
