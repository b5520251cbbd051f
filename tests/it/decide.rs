//! Event-driven approvals, end to end with real processes: `jitaa gate --no-wait` posts
//! the request and exits at once; a person comments, reviews or presses a button; the
//! default branch's `jitaa decide` (keyless: GitHub OIDC tokens only) records the
//! decision, completes the check run and re-runs the requesting run, whose gate reuses
//! the approval. Also the attacks: runs of the same workflow from a pull request's ref
//! or another branch never certify, readers' presses are refused, two runs at once
//! write one decision.

use serde_json::Value;

use crate::support::{DECIDE_WORKFLOW, Done, KEYLESS_POLICY, REPO, World};

/// A world with the keyless policy, alice's PR of `src/app.rs`, and its gate run with
/// `--no-wait`: (world, sha, pr, the gate's outcome).
fn pending() -> (World, String, u64, Done) {
    let w = World::new(KEYLESS_POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).arg("--no-wait").run();
    (w, sha, pr, gate)
}

/// The decision records on origin's audit branch.
fn decisions(w: &World) -> Vec<Value> {
    w.payloads()
        .into_iter()
        .filter(|p| p["kind"] == "decision")
        .collect()
}

/// How many requests the stand-in saw that write (anything but GET).
fn writes(w: &World) -> usize {
    w.hub
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.starts_with("/_fakehub"))
        .count()
}

#[test]
fn no_wait_posts_the_request_with_buttons_and_exits_at_once() {
    let (w, sha, pr, gate) = pending();
    gate.assert_code(0);
    assert_eq!(gate.outputs["decision"], "pending");
    let id = gate.outputs["request-id"].clone();
    assert!(!id.is_empty());
    assert!(
        gate.outputs["request-url"].contains("issuecomment"),
        "{:?}",
        gate.outputs
    );
    assert_eq!(w.request_comments(pr), 1);
    let checks = w.hub.check_runs(REPO, &sha);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].status, "in_progress");
    assert_eq!(checks[0].external_id.as_deref(), Some(id.as_str()));
    let buttons: Vec<&str> = checks[0]
        .actions
        .iter()
        .map(|a| a.identifier.as_str())
        .collect();
    assert_eq!(buttons, ["approve", "deny"]);
    // The request record is on origin, linked to the request, signed by GitHub only.
    let rec = w.last_record();
    assert_eq!(rec["kind"], "request");
    assert_eq!(rec["context"]["jitaa_request"]["id"], id.as_str());
    assert_eq!(rec["context"]["jitaa_request"]["waits"], false);
    let sigs = &w.records().pop().unwrap()["signatures"];
    assert_eq!(sigs.as_array().unwrap().len(), 1);
    assert_eq!(sigs[0]["type"], "github-oidc");
}

#[test]
fn approve_by_comment_then_decide_records_completes_reruns_and_the_rerun_reuses() {
    let (w, sha, pr, gate) = pending();
    gate.assert_code(0);
    let id = gate.outputs["request-id"].clone();
    let event = w.comment_event("bob", pr, "/approve");
    let comment = event["comment"]["id"].as_u64().unwrap();
    let done = w.decide("issue_comment", &event, "bob").run();
    done.assert_code(0);

    let d = decisions(&w);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["decision"], "approved");
    assert_eq!(d[0]["approvals"][0]["login"], "bob");
    assert_eq!(d[0]["requester"]["login"], "alice");
    assert_eq!(d[0]["subject"]["sha"], sha.as_str());
    assert_eq!(d[0]["context"]["jitaa_request"]["id"], id.as_str());
    assert_eq!(d[0]["context"]["job_workflow_ref"], DECIDE_WORKFLOW);
    assert!(
        w.reactions(comment)
            .contains(&"github-actions[bot]:+1".to_string())
    );
    let checks = w.hub.check_runs(REPO, &sha);
    assert_eq!(
        checks[0].conclusion.as_deref(),
        Some("success"),
        "{checks:?}"
    );
    assert!(checks[0].actions.is_empty(), "buttons removed once decided");
    assert_eq!(w.hub.reruns(REPO), [4242]);
    let request = w
        .bodies(pr)
        .into_iter()
        .find(|(_, b)| b.contains("<!-- jitaa-request: "))
        .unwrap()
        .1;
    assert!(request.contains("**Outcome:** ✅"), "{request}");

    // The re-run's gate reuses the approval at once and posts nothing new.
    let comments = w.bodies(pr).len();
    let records = w.records().len();
    let again = w.gate(&sha).arg("--no-wait").attempt(2).run();
    again.assert_code(0);
    assert_eq!(again.outputs["decision"], "approved");
    assert_eq!(again.outputs["approvers"], "bob");
    assert!(
        again.stdout.contains("reusing approval record"),
        "{}",
        again.stdout
    );
    assert_eq!(w.bodies(pr).len(), comments);
    assert_eq!(w.records().len(), records);
    w.assert_verifies_keyless();
}

#[test]
fn deny_by_comment_ends_the_request_without_a_rerun() {
    let (w, sha, pr, _) = pending();
    let event = w.comment_event("carol", pr, "/deny not during the freeze");
    w.decide("issue_comment", &event, "carol")
        .run()
        .assert_code(0);
    let d = decisions(&w);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["decision"], "denied");
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not during the freeze"),
        "{}",
        d[0]["reason"]
    );
    assert_eq!(
        w.hub.check_runs(REPO, &sha)[0].conclusion.as_deref(),
        Some("failure")
    );
    assert!(w.hub.reruns(REPO).is_empty());
    // A re-run after a deny does not reuse anything: it asks again.
    let again = w.gate(&sha).arg("--no-wait").attempt(2).run();
    again.assert_code(0);
    assert_eq!(again.outputs["decision"], "pending");
}

#[test]
fn a_plain_comment_changes_nothing_and_writes_nothing() {
    let (w, _, pr, _) = pending();
    let event = w.comment_event("bob", pr, "looks good, will approve after lunch");
    let records = w.records().len();
    w.hub.clear_requests();
    let done = w.decide("issue_comment", &event, "bob").run();
    done.assert_code(0);
    assert!(done.stdout.contains("nothing to do"), "{}", done.stdout);
    assert_eq!(writes(&w), 0);
    assert_eq!(w.records().len(), records);
}

#[test]
fn a_readers_approve_gets_one_reply_and_is_not_a_failure() {
    let (w, _, pr, _) = pending();
    let event = w.comment_event("mallory", pr, "/approve");
    let done = w.decide("issue_comment", &event, "mallory").run();
    done.assert_code(0);
    assert!(decisions(&w).is_empty());
    let replies: Vec<String> = w
        .bodies(pr)
        .into_iter()
        .filter(|(_, b)| b.starts_with("@mallory"))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
}

#[test]
fn the_approve_button_by_an_owner_approves_and_by_a_reader_does_not() {
    let (w, sha, pr, _) = pending();
    let check = w.hub.check_runs(REPO, &sha).remove(0);
    let press = fakehub::events::check_run_requested_action(REPO, &check, "approve", "mallory", 5);
    w.decide("check_run", &press, "mallory")
        .run()
        .assert_code(0);
    assert!(decisions(&w).is_empty());
    assert!(
        w.bodies(pr)
            .iter()
            .any(|(_, b)| b.starts_with("@mallory") && b.contains("button")),
        "{:?}",
        w.bodies(pr)
    );

    let press = fakehub::events::check_run_requested_action(REPO, &check, "approve", "bob", 2);
    w.decide("check_run", &press, "bob").run().assert_code(0);
    let d = decisions(&w);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["decision"], "approved");
    assert_eq!(d[0]["approvals"][0]["login"], "bob");
    assert_eq!(w.hub.reruns(REPO), [4242]);
    w.assert_verifies_keyless();
}

#[test]
fn the_deny_button_denies() {
    let (w, sha, _, _) = pending();
    let check = w.hub.check_runs(REPO, &sha).remove(0);
    let press = fakehub::events::check_run_requested_action(REPO, &check, "deny", "carol", 3);
    w.decide("check_run", &press, "carol").run().assert_code(0);
    let d = decisions(&w);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["decision"], "denied");
    assert!(w.hub.reruns(REPO).is_empty());
}

#[test]
fn two_decide_runs_at_once_write_one_decision() {
    let (w, _, pr, _) = pending();
    let bob = w.comment_event("bob", pr, "/approve");
    let carol = w.comment_event("carol", pr, "/approve");
    // Two runners, each with its own checkout.
    let (ci_a, ci_b) = (w.ci_clone(), w.ci_clone());
    let a = w.decide("issue_comment", &bob, "bob").in_dir(&ci_a).spawn();
    let b = w
        .decide("issue_comment", &carol, "carol")
        .in_dir(&ci_b)
        .spawn();
    a.finish().assert_code(0);
    b.finish().assert_code(0);
    let d = decisions(&w);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["decision"], "approved");
    assert_eq!(w.hub.reruns(REPO).len(), 1);
    w.assert_verifies_keyless();
}

#[test]
fn an_approve_review_reaching_decide_through_workflow_run_approves() {
    let (w, sha, pr, _) = pending();
    w.hub
        .review_as("bob", REPO, pr, "APPROVED", Some(&sha))
        .expect("review");
    let event = fakehub::events::workflow_run_completed(
        REPO,
        777,
        "review",
        ".github/workflows/review.yml",
        "pull_request_review",
        &sha,
        "feature",
        &[(pr, sha.as_str(), "main")],
    );
    w.decide("workflow_run", &event, "bob").run().assert_code(0);
    let d = decisions(&w);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["approvals"][0]["via"], "review");
}

#[test]
fn decide_run_from_a_pull_requests_ref_or_another_branch_refuses_before_writing() {
    let (w, _, pr, _) = pending();
    for jwr in [
        "acme/api/.github/workflows/jitaa.yml@refs/pull/1/merge",
        "acme/api/.github/workflows/jitaa.yml@refs/heads/feature",
        "acme/api/.github/workflows/other.yml@refs/heads/main",
    ] {
        let event = w.comment_event("bob", pr, "/approve");
        w.hub.clear_requests();
        let done = w.decide("issue_comment", &event, "bob").workflow(jwr).run();
        done.assert_code(2);
        assert!(done.stderr.contains(jwr), "{}", done.stderr);
        assert_eq!(writes(&w), 0, "{jwr}: nothing written to GitHub");
        assert!(decisions(&w).is_empty(), "{jwr}: nothing recorded");
    }
}

#[test]
fn a_decision_certified_only_by_an_untrusted_run_is_never_reused() {
    // A waiting gate writes its own decision, signed by its own run's token: the
    // trusted workflow file, but run from a pull request's merge ref or another branch.
    for jwr in [
        "acme/api/.github/workflows/jitaa.yml@refs/pull/1/merge",
        "acme/api/.github/workflows/jitaa.yml@refs/heads/feature",
    ] {
        let w = World::new(KEYLESS_POLICY);
        let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
        let pr = w.open_pr(&sha, &["src/app.rs"]);
        let gate = w
            .gate(&sha)
            .claims(serde_json::json!({"job_workflow_ref": jwr, "workflow_ref": jwr}))
            .spawn();
        w.wait_for_request(pr);
        w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
        gate.finish().assert_code(0);
        assert_eq!(decisions(&w)[0]["context"]["job_workflow_ref"], jwr);
        // The re-run does not reuse it: it asks again.
        let again = w.gate(&sha).arg("--no-wait").attempt(2).run();
        again.assert_code(0);
        assert_eq!(
            again.outputs["decision"], "pending",
            "{jwr}: {}",
            again.stdout
        );
        assert_eq!(w.request_comments(pr), 2);
    }
    // The same from the trusted workflow on the default branch is reused.
    let w = World::new(KEYLESS_POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w
        .gate(&sha)
        .claims(serde_json::json!({"job_workflow_ref": DECIDE_WORKFLOW, "workflow_ref": DECIDE_WORKFLOW}))
        .spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    gate.finish().assert_code(0);
    let again = w.gate(&sha).arg("--no-wait").attempt(2).run();
    again.assert_code(0);
    assert_eq!(again.outputs["decision"], "approved", "{}", again.stdout);
    assert_eq!(w.request_comments(pr), 1);
}

#[test]
fn a_request_already_decided_is_left_alone() {
    let (w, _, pr, _) = pending();
    let first = w.comment_event("bob", pr, "/approve");
    w.decide("issue_comment", &first, "bob")
        .run()
        .assert_code(0);
    let later = w.comment_event("carol", pr, "/deny too late");
    let done = w.decide("issue_comment", &later, "carol").run();
    done.assert_code(0);
    assert!(done.stdout.contains("already decided"), "{}", done.stdout);
    assert_eq!(decisions(&w).len(), 1);
}

#[test]
fn no_wait_without_a_github_signature_is_refused_before_asking() {
    // decide takes a request's facts from its record's GitHub-signed token only.
    let w = World::new(crate::support::POLICY); // audit.signing: [ssh]
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let done = w.gate(&sha).arg("--no-wait").run();
    done.assert_code(2);
    assert!(done.stderr.contains("github-oidc"), "{}", done.stderr);
    assert_eq!(w.request_comments(pr), 0);
}

#[test]
fn events_that_are_not_decides_business_exit_0_with_no_writes() {
    let (w, _, pr, _) = pending();
    w.hub.clear_requests();
    let review = w
        .hub
        .review_as("bob", REPO, pr, "APPROVED", None)
        .expect("review");
    let bob = w.hub.shared().lock().user("bob");
    let pr_spec = fakehub::PrSpec {
        author: "alice".into(),
        ..fakehub::PrSpec::default()
    };
    for (name, payload) in [
        (
            "push",
            serde_json::json!({"ref": "refs/heads/main", "before": "0", "after": "1"}),
        ),
        (
            "pull_request_review",
            fakehub::events::pull_request_review_submitted(REPO, pr, &review, &bob, &pr_spec),
        ),
        (
            "workflow_run",
            fakehub::events::workflow_run_completed(
                REPO,
                9,
                "ci",
                ".github/workflows/ci.yml",
                "push",
                "abc",
                "main",
                &[],
            ),
        ),
    ] {
        w.hub.clear_requests();
        let done = w.decide(name, &payload, "bob").run();
        done.assert_code(0);
        assert!(
            done.stdout.contains("nothing to do"),
            "{name}: {}",
            done.stdout
        );
        assert_eq!(writes(&w), 0, "{name}");
    }
    assert!(
        decisions(&w).is_empty(),
        "a review reaches decide only through workflow_run"
    );
}

#[test]
fn a_press_on_a_check_run_that_is_not_the_requests_does_not_count() {
    // Any workflow with `checks: write` can make a check run on another commit that
    // names the request id; an owner pressing Approve there approves nothing.
    let (w, sha, pr, _) = pending();
    let real = w.hub.check_runs(REPO, &sha).remove(0);
    let forged = {
        let mut st = w.hub.shared().lock();
        let mut c = real.clone();
        c.id = st.id();
        c.head_sha = w.main.clone();
        st.repos.get_mut(REPO).unwrap().check_runs.push(c.clone());
        c
    };
    let press = fakehub::events::check_run_requested_action(REPO, &forged, "approve", "bob", 2);
    w.decide("check_run", &press, "bob").run().assert_code(0);
    assert!(decisions(&w).is_empty());
    assert!(w.hub.reruns(REPO).is_empty());
    assert!(
        w.bodies(pr)
            .iter()
            .any(|(_, b)| b.starts_with("@bob") && b.contains("is not this request's")),
        "{:?}",
        w.bodies(pr)
    );
    // The real one still works.
    let press = fakehub::events::check_run_requested_action(REPO, &real, "approve", "bob", 2);
    w.decide("check_run", &press, "bob").run().assert_code(0);
    assert_eq!(decisions(&w).len(), 1);
}
