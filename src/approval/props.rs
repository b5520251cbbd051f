//! Property tests: order, duplicates and unrelated comments never change the outcome;
//! ineligible events never change the decision; the parser never panics and finds commands
//! only on lines that start with `/`.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::testkit::{ID, OTHER_ID, SHA, at, comment, facts, request, review, rule};
use super::*;
use crate::policy::{Coverage, Rule};

const LOGINS: &[&str] = &[
    "bob", "carol", "dave", "sre1", "sre2", "eve", "alice", "ghost", "mallory",
];
const BODIES: &[&str] = &[
    "/approve",
    "/approve cancel",
    "/deny no",
    "/APPROVE\r\nthanks",
    "lgtm",
    "> /approve",
    "/approve\n/approve cancel",
];

fn rules() -> Vec<Rule> {
    vec![
        rule(1, &[], Coverage::Any),
        rule(2, &[], Coverage::All),
        rule(2, &["@acme/sre", "@bob"], Coverage::All),
        rule(1, &["@acme/sre"], Coverage::Any),
    ]
}

fn req() -> Request {
    request(&[
        ("src/lib.rs", &["@bob"]),
        ("docs/a.md", &["@acme/docs"]),
        ("x", &[]),
    ])
}

fn any_comment() -> impl Strategy<Value = Comment> {
    (
        1u64..40,
        0..LOGINS.len(),
        0..BODIES.len() + 1,
        -3i64..35,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(id, l, b, minute, edited)| {
            let body = match BODIES.get(b) {
                Some(b) => b.to_string(),
                None => format!("/approve {}", if id % 2 == 0 { ID } else { OTHER_ID }),
            };
            let mut c = comment(id, LOGINS[l], &body, minute);
            if edited {
                c.updated_at = at(minute, 30);
            }
            c
        })
}

fn any_review() -> impl Strategy<Value = Review> {
    let states = [
        "APPROVED",
        "approved",
        "CHANGES_REQUESTED",
        "commented",
        "DISMISSED",
    ];
    (
        100u64..120,
        0..LOGINS.len(),
        0..states.len(),
        prop::bool::weighted(0.8),
        -3i64..35,
    )
        .prop_map(move |(id, l, s, on_sha, minute)| {
            review(
                id,
                LOGINS[l],
                states[s],
                if on_sha { SHA } else { "0ff1ce" },
                minute,
            )
        })
}

fn any_events() -> impl Strategy<Value = Events> {
    (
        prop::collection::vec(any_comment(), 0..12),
        prop::collection::vec(any_review(), 0..5),
    )
        .prop_map(|(comments, reviews)| Events { comments, reviews })
}

/// Events that no rule may count: wrong person, wrong time, edited, wrong sha, a bot.
fn ineligible() -> impl Strategy<Value = Events> {
    (1000u64..1100, 0..7usize, 0..2usize, -3i64..35).prop_map(|(id, kind, body, minute)| {
        let body = ["/approve", "/deny no"][body];
        let mut comments = Vec::new();
        let mut reviews = Vec::new();
        match kind {
            0 => comments.push(comment(id, "eve", body, minute)),
            1 => comments.push(comment(id, "mallory", body, minute)),
            2 => comments.push(comment(id, "alice", body, minute)),
            3 => {
                let mut c = comment(id, "bob", body, minute);
                c.author.is_bot = true;
                comments.push(c);
            }
            4 => comments.push(comment(id, "bob", body, -1)),
            5 => {
                let mut c = comment(id, "bob", "/approve", minute);
                c.updated_at = at(minute, 1);
                comments.push(c);
            }
            _ => reviews.push(review(id, "bob", "APPROVED", "0ff1ce", minute)),
        }
        Events { comments, reviews }
    })
}

fn decide_all(events: &Events, now: i64) -> Vec<Outcome> {
    rules()
        .iter()
        .map(|r| decide(r, &req(), events, &facts(), at(now, 0)))
        .collect()
}

fn merged(a: &Events, b: &Events) -> Events {
    Events {
        comments: [a.comments.clone(), b.comments.clone()].concat(),
        reviews: [a.reviews.clone(), b.reviews.clone()].concat(),
    }
}

proptest! {
    #[test]
    fn order_and_duplicates_never_change_the_outcome(events in any_events(), seed: u64, now in 0i64..40) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut shuffled = events.clone();
        shuffled.comments.extend(events.comments.iter().take(3).cloned());
        shuffled.reviews.extend(events.reviews.iter().take(2).cloned());
        shuffled.comments.shuffle(&mut rng);
        shuffled.reviews.shuffle(&mut rng);
        prop_assert_eq!(decide_all(&events, now), decide_all(&shuffled, now));
    }

    #[test]
    fn unrelated_comments_never_change_the_decision(events in any_events(), extra in prop::collection::vec((0..LOGINS.len(), 0..5usize, -3i64..35), 1..6), now in 0i64..40) {
        let bodies = ["lgtm", "> /approve", "```\n/approve\n```", "not /approve", "/approved!"];
        let noise = Events {
            comments: extra.iter().enumerate().map(|(i, (l, b, m))| comment(2000 + i as u64, LOGINS[*l], bodies[*b], *m)).collect(),
            reviews: vec![],
        };
        for (a, b) in decide_all(&events, now).iter().zip(decide_all(&merged(&events, &noise), now)) {
            prop_assert_eq!(&a.decision, &b.decision);
            prop_assert_eq!(&a.acknowledgements, &b.acknowledgements);
            prop_assert_eq!(&a.explanation.events, &b.explanation.events);
        }
    }

    #[test]
    fn ineligible_events_never_change_the_decision(events in any_events(), bad in ineligible(), now in 0i64..40) {
        for (a, b) in decide_all(&events, now).iter().zip(decide_all(&merged(&events, &bad), now)) {
            if matches!(a.decision, Decision::Pending { .. }) {
                let approved = matches!(b.decision, Decision::Approved { .. });
                prop_assert!(!approved, "an ineligible event approved a pending request");
            }
            prop_assert_eq!(&a.decision, &b.decision);
        }
    }

    #[test]
    fn approved_always_has_enough_distinct_eligible_approvers(events in any_events(), now in 0i64..40) {
        for (r, o) in rules().iter().zip(decide_all(&events, now)) {
            if let Decision::Approved { approvals, approved_at, .. } = &o.decision {
                let mut logins: Vec<String> = approvals.iter().map(|a| a.login.to_lowercase()).collect();
                logins.dedup();
                prop_assert!(logins.len() as u32 >= r.approvals);
                for a in approvals {
                    prop_assert!(!["alice", "eve", "mallory", "ghost", "ci-runner"].contains(&a.login.as_str()));
                    prop_assert!(a.at >= at(0, 0) && a.at < at(30, 0) && a.at <= *approved_at);
                }
            }
        }
    }

    #[test]
    fn the_parser_never_panics_and_finds_commands_only_on_slash_lines(body in "\\PC*(\r?\n(/(?i:approve|deny)( [a-z0-9]{0,26})?|\\PC*))*") {
        for (line, _) in command::parse_with_lines(&body) {
            let text = body.lines().nth(line - 1).unwrap_or_default();
            prop_assert!(text.trim_start().starts_with('/'), "line {} {:?}", line, text);
        }
    }

    #[test]
    fn the_parser_never_panics_on_comments_indentation_and_fences(body in "((<!--|-->|<!-->|    |\t|  |> |- |1\\. |```|~~~|/approve|/deny x|/(?i:approve) cancel|[a-z `*#<>!-]{0,6}|\r?\n)){0,24}") {
        for (line, _) in command::parse_with_lines(&body) {
            let text = body.lines().nth(line - 1).unwrap_or_default();
            prop_assert!(text.trim_start().starts_with('/'), "line {} {:?}", line, text);
        }
    }

    #[test]
    fn nothing_inside_an_html_comment_is_a_command(lines in prop::collection::vec("[^\r\n]*", 0..8), before in "([a-z][a-z ]{0,5})?", closed: bool) {
        let mut inner = lines.join("\n");
        while inner.contains("-->") {
            inner = inner.replace("-->", "");
        }
        let body = format!("{before}<!--{inner}{}", if closed { "-->" } else { "" });
        prop_assert_eq!(command::parse(&body), vec![]);
    }

    #[test]
    fn nothing_in_an_indented_code_block_is_a_command(lines in prop::collection::vec("[^\r\n]*", 0..8), tab: bool, lead in prop::option::of("[a-z]{1,6}\n\n")) {
        let indent = if tab { "\t" } else { "    " };
        let code: Vec<String> = lines.iter().map(|l| format!("{indent}{l}")).collect();
        let body = format!("{}{}", lead.unwrap_or_default(), code.join("\n"));
        prop_assert_eq!(command::parse(&body), vec![]);
    }

    #[test]
    fn no_command_in_lines_that_do_not_start_with_a_slash(lines in prop::collection::vec("[^\n]*", 0..8), crlf: bool) {
        let lines: Vec<String> = lines.into_iter().filter(|l| !l.trim_start().starts_with('/')).collect();
        let body = lines.join(if crlf { "\r\n" } else { "\n" });
        prop_assert_eq!(command::parse(&body), vec![]);
    }
}
