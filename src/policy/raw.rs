//! The policy file as written, read from the YAML tree ([`super::tree`]) against the
//! schema: each value keeps its line and column so validation can point at it, and
//! every unknown key (with a did-you-mean) and every wrong type is reported, each
//! named by its dotted path (`defaults.aprovals`, `rules[0] (production).match.paths`),
//! not only the first.

use std::collections::HashMap;

pub(super) use super::tree::S;
use super::tree::{Node, source_text};
use super::validate::Checker;

#[derive(Debug, Default)]
pub(super) struct RawPolicy {
    pub version: Option<S<i64>>,
    /// `version` was written but is not a number (already reported), or may have been
    /// on a line with a syntax error: a missing version is not reported.
    pub version_invalid: bool,
    pub oidc: Option<S<String>>,
    pub audit: Option<S<RawAudit>>,
    pub defaults: Option<S<RawSettings>>,
    pub protected_branches: Option<S<OneOrMany>>,
    pub rules: Option<S<Vec<S<RawRule>>>>,
}

impl RawPolicy {
    /// Reports no missing `version` or rule `name` (the file had syntax errors).
    pub(super) fn forgive_missing(&mut self) {
        self.version_invalid = true;
        if let Some(rules) = &mut self.rules {
            for r in &mut rules.value {
                r.value.name_invalid = true;
            }
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct RawAudit {
    pub branch: Option<S<String>>,
    pub signing: Option<S<OneOrMany>>,
    pub allowed_signers: Option<S<String>>,
    pub pusher_signers: Option<S<String>>,
    pub trusted_workflows: Option<S<OneOrMany>>,
    pub remote: Option<S<String>>,
}

/// `defaults`: the settings a rule may override.
#[derive(Debug, Default)]
pub(super) struct RawSettings {
    pub approvals: Option<S<i64>>,
    pub approvers: Option<S<OneOrMany>>,
    pub codeowners: Option<S<String>>,
    pub timeout: Option<S<String>>,
    pub ttl: Option<S<String>>,
    pub self_approval: Option<S<bool>>,
}

#[derive(Debug, Default)]
pub(super) struct RawRule {
    /// The rule's place in `rules` (0-based), also when an earlier item was unreadable.
    pub index: usize,
    pub name: Option<S<String>>,
    /// `name` was written but is not a string (already reported), or may have been on
    /// a line with a syntax error: a missing name is not reported.
    pub name_invalid: bool,
    pub matches: Option<S<RawMatch>>,
    /// The `defaults` keys this rule overrides.
    pub overrides: RawSettings,
}

impl RawRule {
    pub(super) fn settings(&self) -> RawSettingsRef<'_> {
        self.overrides.settings()
    }
}

impl RawSettings {
    pub(super) fn settings(&self) -> RawSettingsRef<'_> {
        RawSettingsRef {
            approvals: self.approvals.as_ref(),
            approvers: self.approvers.as_ref(),
            codeowners: self.codeowners.as_ref(),
            timeout: self.timeout.as_ref(),
            ttl: self.ttl.as_ref(),
            self_approval: self.self_approval.as_ref(),
        }
    }
}

/// The settings shared by `defaults` and a rule, borrowed.
#[derive(Default)]
pub(super) struct RawSettingsRef<'a> {
    pub approvals: Option<&'a S<i64>>,
    pub approvers: Option<&'a S<OneOrMany>>,
    pub codeowners: Option<&'a S<String>>,
    pub timeout: Option<&'a S<String>>,
    pub ttl: Option<&'a S<String>>,
    pub self_approval: Option<&'a S<bool>>,
}

#[derive(Debug, Default)]
pub(super) struct RawMatch {
    pub environment: Option<S<OneOrMany>>,
    pub branches: Option<S<OneOrMany>>,
    pub paths: Option<S<OneOrMany>>,
    pub events: Option<S<OneOrMany>>,
    pub actors: Option<S<OneOrMany>>,
}

/// A string or a list of strings, each with its location; `Single` remembers that the
/// value was written as a bare string (`approvers: codeowners`).
#[derive(Debug)]
pub(super) enum OneOrMany {
    Single(String),
    Many(Vec<S<String>>),
}

/// Where in the schema a mapping sits: which keys it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Root,
    Audit,
    Defaults,
    Rule,
    Match,
}

pub(super) const ROOT_KEYS: &[&str] = &[
    "version",
    "oidc",
    "audit",
    "defaults",
    "protected_branches",
    "rules",
];
pub(super) const AUDIT_KEYS: &[&str] = &[
    "branch",
    "signing",
    "allowed_signers",
    "pusher_signers",
    "trusted_workflows",
    "remote",
];
pub(super) const SETTINGS_KEYS: &[&str] = &[
    "approvals",
    "approvers",
    "codeowners",
    "timeout",
    "ttl",
    "self_approval",
];
pub(super) const RULE_ONLY_KEYS: &[&str] = &["name", "match"];
pub(super) const MATCH_KEYS: &[&str] = &["environment", "branches", "paths", "events", "actors"];

impl Level {
    fn keys(self) -> Vec<&'static str> {
        match self {
            Level::Root => ROOT_KEYS.to_vec(),
            Level::Audit => AUDIT_KEYS.to_vec(),
            Level::Defaults => SETTINGS_KEYS.to_vec(),
            Level::Rule => RULE_ONLY_KEYS
                .iter()
                .chain(SETTINGS_KEYS)
                .copied()
                .collect(),
            Level::Match => MATCH_KEYS.to_vec(),
        }
    }

    /// Where `key` (known at some other level) belongs, said from this level.
    fn home_of(self, key: &str) -> Option<&'static str> {
        if ROOT_KEYS.contains(&key) {
            Some("at the top level (not indented)")
        } else if AUDIT_KEYS.contains(&key) {
            Some("under `audit:`")
        } else if SETTINGS_KEYS.contains(&key) {
            Some(if self == Level::Match {
                "in the rule itself, beside `match:` (not under it)"
            } else {
                "under `defaults:` or in a rule"
            })
        } else if RULE_ONLY_KEYS.contains(&key) {
            Some("in a rule (an item under `rules:`)")
        } else if MATCH_KEYS.contains(&key) {
            Some(if self == Level::Rule {
                "under the rule's `match:` (`match: { environment: production }`)"
            } else {
                "under a rule's `match:`"
            })
        } else {
            None
        }
    }
}

/// The closest of `candidates` to `key` by edit distance (transpositions count once),
/// when it is close enough to be a typo: at most 1 edit, or a third of the length.
pub(super) fn closest<'k>(key: &str, candidates: &[&'k str]) -> Option<&'k str> {
    if key.is_empty() || key.len() > 64 {
        return None;
    }
    let norm = key.to_ascii_lowercase().replace('-', "_");
    candidates
        .iter()
        // The distance is at least the difference in length.
        .filter(|c| norm.len().abs_diff(c.len()) <= (c.len() / 3).max(1))
        .map(|c| (strsim::damerau_levenshtein(&norm, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// What follows "unknown key" for `key` in a mapping at `level`.
pub(super) fn unknown_key_hint(key: &str, level: Level) -> String {
    let here = level.keys();
    if let Some(k) = closest(key, &here) {
        return format!("did you mean `{k}`?");
    }
    let all: Vec<&str> = [
        ROOT_KEYS,
        AUDIT_KEYS,
        SETTINGS_KEYS,
        RULE_ONLY_KEYS,
        MATCH_KEYS,
    ]
    .concat();
    let exact = key.to_ascii_lowercase().replace('-', "_");
    let near = if all.contains(&exact.as_str()) {
        Some(all[all.iter().position(|k| *k == exact).unwrap_or(0)])
    } else {
        closest(key, &all)
    };
    if let Some(k) = near
        && let Some(home) = level.home_of(k)
    {
        let prefix = if k == key {
            String::new()
        } else {
            format!("did you mean `{k}`? ")
        };
        return format!("{prefix}`{k}` belongs {home}");
    }
    let list: Vec<String> = here.iter().map(|k| format!("`{k}`")).collect();
    format!("the keys here are {}", list.join(", "))
}

/// Past this many problems, unknown keys get no hint (only the first 100 are shown).
const HINTED_PROBLEMS: usize = 200;

/// Reads the tree against the schema; `None` when the document is not a mapping.
pub(super) fn read(c: &mut Checker<'_>, text: &str, root: &S<Node>) -> Option<RawPolicy> {
    let mut r = Reader { c, text };
    r.policy(root)
}

struct Reader<'c, 'f, 't> {
    c: &'c mut Checker<'f>,
    text: &'t str,
}

/// A mapping's entries that the schema knows, each once.
struct Fields<'n> {
    entries: Vec<(&'static str, &'n S<Node>)>,
}

impl<'n> Fields<'n> {
    /// The value of `key`, when written and not null (`key:` with nothing is as if absent).
    fn get(&self, key: &str) -> Option<&'n S<Node>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .filter(|v| !matches!(v.value, Node::Null))
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Shortens a value for a message: one line, at most 40 characters.
fn shown(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.trim();
    if one.chars().count() > 40 {
        format!("{}…", one.chars().take(39).collect::<String>())
    } else {
        one.to_string()
    }
}

/// A YAML integer written as text (`"1"`, `0x10`, `0o7`, `+3`).
fn parse_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = rest.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = rest.strip_prefix("0o") {
        (8, o)
    } else {
        (10, rest)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// YAML 1.1 booleans, as serde-saphyr reads them for a boolean field.
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" => Some(true),
        "false" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

impl Reader<'_, '_, '_> {
    /// A scalar's text: a string as written, a number or boolean as in the file.
    fn scalar_text(&self, n: &S<Node>) -> Option<String> {
        let written = || {
            source_text(self.text, &n.defined)
                .or_else(|| source_text(self.text, &n.referenced))
                .map(str::to_string)
        };
        match &n.value {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(written().unwrap_or_else(|| i.to_string())),
            Node::Float(f) => Some(written().unwrap_or_else(|| f.to_string())),
            Node::Bool(b) => Some(written().unwrap_or_else(|| b.to_string())),
            Node::Null | Node::Seq(_) | Node::Map(_) => None,
        }
    }

    /// "found `two`" / "found a list".
    fn found(&self, n: &S<Node>) -> String {
        match self.scalar_text(n) {
            Some(t) if !t.trim().is_empty() => format!("found `{}`", shown(&t)),
            Some(_) => "found an empty string".to_string(),
            None => format!("found {}", n.value.kind()),
        }
    }

    fn wrong(&mut self, path: &str, n: &S<Node>, expected: &str) {
        let found = self.found(n);
        let path = if path.is_empty() {
            "not a policy"
        } else {
            path
        };
        self.c.at(
            &n.referenced,
            format!("{path}: expected {expected}, {found}"),
        );
    }

    /// The known keys of a mapping at `level`; unknown and repeated keys are reported.
    fn fields<'n>(
        &mut self,
        path: &str,
        level: Level,
        n: &'n S<Node>,
        expected: &str,
    ) -> Option<Fields<'n>> {
        let Node::Map(entries) = &n.value else {
            self.wrong(path, n, expected);
            return None;
        };
        let known = level.keys();
        let mut out = Fields {
            entries: Vec::new(),
        };
        let mut seen: HashMap<String, u64> = HashMap::new();
        for (k, v) in entries {
            let Some(key) = self.scalar_text(k) else {
                let what = if path.is_empty() { "the policy" } else { path };
                self.c.at(
                    &k.referenced,
                    format!(
                        "{what}: a key must be a plain word like `approvals`, found {}",
                        k.value.kind()
                    ),
                );
                continue;
            };
            let full = join(path, &shown(&key));
            if let Some(first) = seen.get(&key) {
                let at = if *first == k.referenced.line() {
                    "earlier on this line".to_string()
                } else {
                    format!("on line {first}")
                };
                self.c.at(
                    &k.referenced,
                    format!("{full}: duplicate key (first written {at}); keep one"),
                );
                continue;
            }
            seen.insert(key.clone(), k.referenced.line());
            match known.iter().find(|known| **known == key) {
                Some(name) => out.entries.push((name, v)),
                None if self.c.problems.len() >= HINTED_PROBLEMS => {
                    self.c.at(&k.referenced, format!("{full}: unknown key"));
                }
                None => {
                    let hint = unknown_key_hint(&key, level);
                    self.c
                        .at(&k.referenced, format!("{full}: unknown key; {hint}"));
                }
            }
        }
        Some(out)
    }

    fn int(&mut self, path: &str, f: &Fields<'_>, key: &str) -> Option<S<i64>> {
        let n = f.get(key)?;
        let path = join(path, key);
        let v = match &n.value {
            Node::Int(i) => Some(*i),
            Node::Str(s) => parse_int(s),
            _ => None,
        };
        match v {
            None => {
                self.wrong(&path, n, "a whole number");
                None
            }
            Some(v) => match i64::try_from(v) {
                Ok(v) => Some(S::new(v, n.referenced, n.defined)),
                Err(_) => {
                    let found = self.found(n);
                    self.c.at(
                        &n.referenced,
                        format!("{path}: {found} is too large a number"),
                    );
                    None
                }
            },
        }
    }

    fn boolean(&mut self, path: &str, f: &Fields<'_>, key: &str) -> Option<S<bool>> {
        let n = f.get(key)?;
        let v = match &n.value {
            Node::Bool(b) => Some(*b),
            Node::Str(s) => parse_bool(s),
            _ => None,
        };
        if v.is_none() {
            self.wrong(&join(path, key), n, "true or false");
        }
        v.map(|v| S::new(v, n.referenced, n.defined))
    }

    fn string(&mut self, path: &str, f: &Fields<'_>, key: &str) -> Option<S<String>> {
        let n = f.get(key)?;
        let v = self.scalar_text(n);
        if v.is_none() {
            self.wrong(&join(path, key), n, "a string");
        }
        v.map(|v| S::new(v, n.referenced, n.defined))
    }

    fn one_or_many(&mut self, path: &str, f: &Fields<'_>, key: &str) -> Option<S<OneOrMany>> {
        let n = f.get(key)?;
        let path = join(path, key);
        let v = match &n.value {
            Node::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match self.scalar_text(item) {
                        Some(s) => out.push(S::new(s, item.referenced, item.defined)),
                        None => self.wrong(&format!("{path}[{i}]"), item, "a string"),
                    }
                }
                if out.is_empty() && !items.is_empty() {
                    // Every item is reported; "empty list" would say it twice.
                    return None;
                }
                OneOrMany::Many(out)
            }
            Node::Map(_) | Node::Null => {
                self.wrong(&path, n, "a string or a list of strings");
                return None;
            }
            _ => OneOrMany::Single(self.scalar_text(n).unwrap_or_default()),
        };
        Some(S::new(v, n.referenced, n.defined))
    }

    fn policy(&mut self, root: &S<Node>) -> Option<RawPolicy> {
        let f = self.fields(
            "",
            Level::Root,
            root,
            "a mapping of keys (`version: 1`, `defaults:`, `rules:` …) at the top level",
        )?;
        let mut out = RawPolicy {
            version: self.int("", &f, "version"),
            ..RawPolicy::default()
        };
        out.version_invalid = out.version.is_none() && f.get("version").is_some();
        out.oidc = self.string("", &f, "oidc");
        if let Some(a) = f.get("audit")
            && let Some(af) = self.fields(
                "audit",
                Level::Audit,
                a,
                "a mapping (`branch:`, `signing:` … indented under `audit:`)",
            )
        {
            let audit = RawAudit {
                branch: self.string("audit", &af, "branch"),
                signing: self.one_or_many("audit", &af, "signing"),
                allowed_signers: self.string("audit", &af, "allowed_signers"),
                pusher_signers: self.string("audit", &af, "pusher_signers"),
                trusted_workflows: self.one_or_many("audit", &af, "trusted_workflows"),
                remote: self.string("audit", &af, "remote"),
            };
            out.audit = Some(S::new(audit, a.referenced, a.defined));
        }
        if let Some(d) = f.get("defaults")
            && let Some(df) = self.fields(
                "defaults",
                Level::Defaults,
                d,
                "a mapping (`approvals:`, `ttl:` … indented under `defaults:`)",
            )
        {
            let s = self.settings("defaults", &df);
            out.defaults = Some(S::new(s, d.referenced, d.defined));
        }
        out.protected_branches = self.one_or_many("", &f, "protected_branches");
        if let Some(rules) = f.get("rules") {
            match &rules.value {
                Node::Seq(items) => {
                    let mut list = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        if let Some(rule) = self.rule(i, item) {
                            list.push(S::new(rule, item.referenced, item.defined));
                        }
                    }
                    out.rules = Some(S::new(list, rules.referenced, rules.defined));
                }
                _ => self.wrong(
                    "rules",
                    rules,
                    "a list of rules (`- name: …`, one per item)",
                ),
            }
        }
        Some(out)
    }

    fn settings(&mut self, path: &str, f: &Fields<'_>) -> RawSettings {
        RawSettings {
            approvals: self.int(path, f, "approvals"),
            approvers: self.one_or_many(path, f, "approvers"),
            codeowners: self.string(path, f, "codeowners"),
            timeout: self.string(path, f, "timeout"),
            ttl: self.string(path, f, "ttl"),
            self_approval: self.boolean(path, f, "self_approval"),
        }
    }

    fn rule(&mut self, index: usize, n: &S<Node>) -> Option<RawRule> {
        // The name (when it is one) goes into every path, as validation writes it.
        let name = match &n.value {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Node::Str(s) if s == "name"))
                .and_then(|(_, v)| match &v.value {
                    Node::Str(s) if !s.trim().is_empty() => Some(shown(s)),
                    _ => None,
                }),
            _ => None,
        };
        let path = match name {
            Some(name) => format!("rules[{index}] ({name})"),
            None => format!("rules[{index}]"),
        };
        let f = self.fields(
            &path,
            Level::Rule,
            n,
            "a rule: a mapping with `name:` and its settings (`- name: production`)",
        )?;
        let mut rule = RawRule {
            index,
            name: self.string(&path, &f, "name"),
            ..RawRule::default()
        };
        rule.name_invalid = rule.name.is_none() && f.get("name").is_some();
        if let Some(m) = f.get("match") {
            let mpath = join(&path, "match");
            if let Some(mf) = self.fields(
                &mpath,
                Level::Match,
                m,
                "a mapping of conditions (`match: { environment: production }`)",
            ) {
                let matches = RawMatch {
                    environment: self.one_or_many(&mpath, &mf, "environment"),
                    branches: self.one_or_many(&mpath, &mf, "branches"),
                    paths: self.one_or_many(&mpath, &mf, "paths"),
                    events: self.one_or_many(&mpath, &mf, "events"),
                    actors: self.one_or_many(&mpath, &mf, "actors"),
                };
                rule.matches = Some(S::new(matches, m.referenced, m.defined));
            }
        }
        rule.overrides = self.settings(&path, &f);
        Some(rule)
    }
}
