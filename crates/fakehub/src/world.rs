//! How the world changes: adding users, repositories, pull requests, issues, comments,
//! edits and reviews. Shared by the test API, the admin API and the REST routes.

use crate::state::{self, Comment, Issue, PrSpec, Review, User, now};

impl state::State {
    pub fn add_user(&mut self, login: &str, id: u64, kind: &str) -> String {
        let token = format!("fakehub_{login}_{id}");
        self.users.insert(
            login.into(),
            User {
                login: login.into(),
                id,
                kind: kind.into(),
            },
        );
        self.tokens.insert(token.clone(), login.into());
        token
    }

    pub fn add_repo(&mut self, full_name: &str) {
        let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
        let id = self.id();
        self.repos
            .entry(full_name.into())
            .or_insert_with(|| state::Repo {
                owner: owner.into(),
                name: name.into(),
                id,
                default_branch: "main".into(),
                ..state::Repo::default()
            });
    }

    /// Records a branch change (`activity_type` as GitHub names it) at the current time.
    pub fn record_activity(
        &mut self,
        repo: &str,
        branch: &str,
        before: &str,
        after: &str,
        activity_type: &str,
        actor: &str,
    ) {
        let id = self.id();
        if let Some(r) = self.repos.get_mut(repo) {
            r.activity.push(state::Activity {
                id,
                before: before.into(),
                after: after.into(),
                git_ref: format!("refs/heads/{branch}"),
                timestamp: now(),
                activity_type: activity_type.into(),
                actor: actor.into(),
            });
        }
    }

    /// Moves a PR's head to `sha` (a push to its branch by the PR's author) and records
    /// the push; `force` when the new head does not descend from the old one.
    pub fn move_pr_head(&mut self, repo: &str, number: u64, sha: &str, force: bool) {
        let Some(issue) = self
            .repos
            .get_mut(repo)
            .and_then(|r| r.issues.get_mut(&number))
        else {
            return;
        };
        let author = issue.user.clone();
        let Some(p) = issue.pr.as_mut() else {
            return;
        };
        let before = std::mem::replace(&mut p.head_sha, sha.into());
        let branch = p.head_ref.clone();
        let kind = if force { "force_push" } else { "push" };
        self.record_activity(repo, &branch, &before, sha, kind, &author);
    }

    pub fn add_pr(&mut self, repo: &str, spec: PrSpec) -> Option<u64> {
        let zero = "0".repeat(spec.head_sha.len().max(40));
        self.record_activity(
            repo,
            &spec.head_ref,
            &zero,
            &spec.head_sha,
            "branch_creation",
            &spec.author,
        );
        let id = self.id();
        let pr = state::Pr {
            id,
            head_sha: spec.head_sha,
            head_ref: spec.head_ref,
            base_sha: spec.base_sha,
            base_ref: spec.base_ref,
            files: spec.files,
            reviews: Vec::new(),
            merged: None,
        };
        let title = if spec.title.is_empty() {
            "A change".to_string()
        } else {
            spec.title
        };
        self.open_issue(
            repo,
            &spec.author,
            &title,
            "",
            Vec::new(),
            Some((spec.number, pr)),
        )
    }

    pub fn add_review(
        &mut self,
        repo: &str,
        pr: u64,
        login: &str,
        state_: &str,
        commit_id: Option<&str>,
    ) -> Option<Review> {
        let id = self.id();
        let p = self.repos.get_mut(repo)?.issues.get_mut(&pr)?.pr.as_mut()?;
        let r = Review {
            id,
            user: login.into(),
            state: state_.into(),
            commit_id: commit_id
                .map(String::from)
                .unwrap_or_else(|| p.head_sha.clone()),
            body: String::new(),
            submitted_at: state::now(),
        };
        p.reviews.push(r.clone());
        Some(r)
    }
}

impl state::State {
    /// Opens an issue (or a PR's issue when `pr` is set); None when the repo is unknown.
    pub fn open_issue(
        &mut self,
        repo: &str,
        user: &str,
        title: &str,
        body: &str,
        labels: Vec<String>,
        pr: Option<(Option<u64>, state::Pr)>,
    ) -> Option<u64> {
        let id = self.id();
        let r = self.repos.get_mut(repo)?;
        let wanted = pr.as_ref().and_then(|(n, _)| *n);
        let number =
            wanted.unwrap_or_else(|| r.issues.keys().next_back().copied().unwrap_or(0) + 1);
        let t = now();
        r.issues.insert(
            number,
            Issue {
                number,
                id,
                title: title.into(),
                body: body.into(),
                user: user.into(),
                labels,
                state: "open".into(),
                created_at: t.clone(),
                updated_at: t,
                pr: pr.map(|(_, p)| p),
                comments: Vec::new(),
            },
        );
        Some(number)
    }

    pub fn add_comment(
        &mut self,
        repo: &str,
        issue: u64,
        user: &str,
        body: &str,
    ) -> Option<Comment> {
        let id = self.id();
        let i = self.repos.get_mut(repo)?.issues.get_mut(&issue)?;
        let t = now();
        let c = Comment {
            id,
            user: user.into(),
            body: body.into(),
            created_at: t.clone(),
            updated_at: t,
            issue,
        };
        i.comments.push(id);
        self.comments.insert(id, (repo.to_string(), c.clone()));
        Some(c)
    }

    pub fn edit_comment(&mut self, id: u64, body: &str) -> Option<Comment> {
        let (_, c) = self.comments.get_mut(&id)?;
        c.body = body.into();
        c.updated_at = now();
        Some(c.clone())
    }
}
