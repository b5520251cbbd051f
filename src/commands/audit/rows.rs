//! How records print: the table, the full JSON of one record, and the export's rows.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::audit::AuditError;
use crate::audit::chain::Listed;
use crate::audit::record::parse_time;
use crate::exit::Failure;

pub(super) fn in_window(
    l: &Listed,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> bool {
    let Ok(t) = parse_time(&l.record.payload.time) else {
        return false;
    };
    since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
}

pub(super) fn involves(l: &Listed, who: &str) -> bool {
    let who = who.trim_start_matches('@');
    let p = &l.record.payload;
    p.requester.login.eq_ignore_ascii_case(who)
        || p.approvals
            .iter()
            .any(|a| a.login.eq_ignore_ascii_case(who))
}

pub(super) fn full_json(l: &Listed) -> Value {
    let mut v = serde_json::to_value(&l.record).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("commit".into(), Value::String(l.commit.to_string()));
        o.insert("path".into(), Value::String(l.path.clone()));
    }
    v
}

/// The export columns: one row per decision.
pub(super) const COLUMNS: [&str; 15] = [
    "time",
    "id",
    "kind",
    "repository",
    "sha",
    "ref",
    "environment",
    "requester",
    "approvers",
    "rule",
    "decision",
    "reason",
    "expires_at",
    "digest",
    "commit",
];

pub(super) fn row(l: &Listed) -> Vec<(&'static str, String)> {
    let p = &l.record.payload;
    let vals = [
        p.time.clone(),
        p.id.clone(),
        p.kind.to_string(),
        p.repository.clone(),
        p.subject.sha.clone(),
        p.subject.git_ref.clone().unwrap_or_default(),
        p.subject.environment.clone().unwrap_or_default(),
        p.requester.login.clone(),
        p.approvals
            .iter()
            .map(|a| a.login.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        p.rule.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
        p.decision.map(|d| d.to_string()).unwrap_or_default(),
        p.reason.clone().unwrap_or_default(),
        p.expires_at.clone().unwrap_or_default(),
        l.record.digest.clone(),
        l.commit.to_string(),
    ];
    COLUMNS.iter().copied().zip(vals).collect()
}

/// A pretty JSON array, written one element at a time (the bytes
/// `serde_json::to_string_pretty` gives for the whole array).
pub(super) fn write_json(
    out: &mut impl Write,
    items: impl Iterator<Item = Result<Value, AuditError>>,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::unreachable(format!("writing output: {e}"));
    let mut first = true;
    for v in items {
        let text = serde_json::to_string_pretty(&v?).unwrap_or_default();
        out.write_all(if first { b"[\n" } else { b",\n" })
            .map_err(io)?;
        first = false;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n").map_err(io)?;
            }
            write!(out, "  {line}").map_err(io)?;
        }
    }
    out.write_all(if first { b"[]\n" } else { b"\n]\n" })
        .map_err(io)
}

pub(super) fn write_csv(
    out: &mut impl Write,
    items: impl Iterator<Item = Result<Listed, AuditError>>,
) -> Result<(), Failure> {
    let mut w = csv::Writer::from_writer(out);
    let e = |e: csv::Error| Failure::unreachable(format!("writing CSV: {e}"));
    w.write_record(COLUMNS).map_err(e)?;
    for l in items {
        w.write_record(row(&l?).into_iter().map(|(_, v)| v))
            .map_err(e)?;
    }
    w.flush()
        .map_err(|e| Failure::unreachable(format!("writing CSV: {e}")))
}

pub(super) fn write_table(
    out: &mut impl Write,
    items: impl Iterator<Item = Result<Listed, AuditError>>,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::unreachable(format!("writing output: {e}"));
    writeln!(
        out,
        "{:<20}  {:<26}  {:<9}  {:<9}  {:<24}  {:<12}  APPROVERS",
        "TIME", "ID", "KIND", "DECISION", "TARGET", "REQUESTER"
    )
    .map_err(io)?;
    let mut none = true;
    for l in items {
        let l = l?;
        none = false;
        let p = &l.record.payload;
        let target = p
            .subject
            .environment
            .clone()
            .or_else(|| p.subject.git_ref.clone())
            .unwrap_or_default();
        let approvers = p
            .approvals
            .iter()
            .map(|a| a.login.as_str())
            .collect::<Vec<_>>()
            .join(",");
        writeln!(
            out,
            "{:<20}  {:<26}  {:<9}  {:<9}  {:<24}  {:<12}  {}",
            p.time,
            p.id,
            p.kind.to_string(),
            p.decision.map_or_else(|| "-".into(), |d| d.to_string()),
            target,
            p.requester.login,
            if approvers.is_empty() {
                "-".into()
            } else {
                approvers
            }
        )
        .map_err(io)?;
    }
    if none {
        writeln!(out, "(no records)").map_err(io)?;
    }
    Ok(())
}
