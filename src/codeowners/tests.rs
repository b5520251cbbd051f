//! Unit tests: GitHub's documented example file and edge cases.

use super::*;

/// GitHub's "About code owners" example file (docs.github.com), with its comments.
pub(crate) const GITHUB_EXAMPLE: &str = r"# This is a comment.
# Each line is a file pattern followed by one or more owners.

# These owners will be the default owners for everything in
# the repo. Unless a later match takes precedence,
# @global-owner1 and @global-owner2 will be requested for
# review when someone opens a pull request.
*       @global-owner1 @global-owner2

# Order is important; the last matching pattern takes the most
# precedence. When someone opens a pull request that only
# modifies JS files, only @js-owner and not the global
# owner(s) will be requested for a review.
*.js    @js-owner #This is an inline comment.

# You can also use email addresses if you prefer. They'll be
# used to look up users just like we do for commit author
# emails.
*.go docs@example.com

# Teams can be specified as code owners as well. Teams should
# be identified in the format @org/team-name. Teams must have
# explicit write access to the repository. In this example,
# the octocats team in the octo-org organization owns all .txt files.
*.txt @octo-org/octocats

# In this example, @doctocat owns any files in the build/logs
# directory at the root of the repository and any of its
# subdirectories.
/build/logs/ @doctocat

# The `docs/*` pattern will match files like
# `docs/getting-started.md` but not further nested files like
# `docs/build-app/troubleshooting.md`.
docs/*  docs@example.com

# In this example, @octocat owns any file in an apps directory
# anywhere in your repository.
apps/ @octocat

# In this example, @doctocat owns any file in the `/docs`
# directory in the root of your repository and any of its
# subdirectories.
/docs/ @doctocat

# In this example, any change inside the `/scripts` directory
# will require approval from @doctocat or @octocat.
/scripts/ @doctocat @octocat

# In this example, @octocat owns any file in a `/logs` directory such as
# `/build/logs`, `/scripts/logs`, and `/deeply/nested/logs`. Any changes
# in a `/logs` directory will require approval from @octocat.
**/logs @octocat

# In this example, @octocat owns any file in the `/apps`
# directory in the root of your repository except for the `/apps/github`
# subdirectory, as its owners are left empty. Without an owner, changes
# to `apps/github` can be made with the approval of any user who has
# write access to the repository.
/apps/ @octocat
/apps/github

# In this example, @octocat owns any file in the `/apps`
# directory in the root of your repository except for the `/apps/github`
# subdirectory, as this subdirectory has its own owner @doctocat
/apps/ @octocat
/apps/github @doctocat
";

fn owners(co: &CodeOwners, path: &str) -> (Vec<String>, Option<usize>) {
    let po = co.owners_of(path);
    (
        po.owners
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        po.line,
    )
}

fn only(co: &CodeOwners, path: &str) -> Vec<String> {
    owners(co, path).0
}

/// Each single-line example on its own, as the docs explain it.
fn one(line: &str) -> CodeOwners {
    let co = CodeOwners::parse("CODEOWNERS", line);
    assert!(co.problems().is_empty(), "{line}: {:?}", co.problems());
    co
}

#[test]
fn example_file_parses_without_problems() {
    let co = CodeOwners::parse(".github/CODEOWNERS", GITHUB_EXAMPLE);
    assert!(co.problems().is_empty(), "{:?}", co.problems());
    assert_eq!(co.len(), 14);
}

#[test]
fn star_owns_everything_by_default() {
    let co = one("* @global-owner1 @global-owner2");
    for p in ["README.md", "src/deep/nested/file.rs", ".github/x"] {
        assert_eq!(only(&co, p), ["@global-owner1", "@global-owner2"], "{p}");
    }
}

#[test]
fn later_lines_win_and_inline_comments_are_not_owners() {
    let co = CodeOwners::parse("CODEOWNERS", GITHUB_EXAMPLE);
    // Only JS files → only @js-owner, not the global owners.
    assert_eq!(only(&co, "web/app.js"), ["@js-owner"]);
    assert_eq!(only(&co, "index.js"), ["@js-owner"]);
    assert_eq!(owners(&co, "index.js").1, Some(14));
    assert_eq!(only(&co, "main.rs"), ["@global-owner1", "@global-owner2"]);
}

#[test]
fn emails_and_teams_are_owners() {
    let co = CodeOwners::parse("CODEOWNERS", GITHUB_EXAMPLE);
    assert_eq!(only(&co, "cmd/main.go"), ["docs@example.com"]);
    assert_eq!(only(&co, "notes/todo.txt"), ["@octo-org/octocats"]);
    assert_eq!(
        co.owners_of("a.txt").owners,
        vec![Owner::Team {
            org: "octo-org".into(),
            slug: "octocats".into()
        }]
    );
}

#[test]
fn rooted_directory_owns_its_whole_tree() {
    let co = one("/build/logs/ @doctocat");
    assert_eq!(only(&co, "build/logs/a.log"), ["@doctocat"]);
    assert_eq!(only(&co, "build/logs/2024/01/a.log"), ["@doctocat"]);
    assert!(
        only(&co, "src/build/logs/a.log").is_empty(),
        "anchored to the root"
    );
    assert!(only(&co, "build/logsx/a.log").is_empty());
}

#[test]
fn docs_star_matches_direct_children_only() {
    let co = one("docs/*  docs@example.com");
    assert_eq!(only(&co, "docs/getting-started.md"), ["docs@example.com"]);
    assert!(only(&co, "docs/build-app/troubleshooting.md").is_empty());
    // A middle slash anchors to the root.
    assert!(only(&co, "sub/docs/getting-started.md").is_empty());
}

#[test]
fn unanchored_directory_matches_anywhere() {
    let co = one("apps/ @octocat");
    for p in ["apps/a.rs", "x/apps/a.rs", "deep/er/apps/b/c.rs"] {
        assert_eq!(only(&co, p), ["@octocat"], "{p}");
    }
    assert!(
        only(&co, "apps").is_empty(),
        "a trailing slash matches directories only"
    );
    assert!(only(&co, "myapps/a.rs").is_empty());
}

#[test]
fn scripts_directory_has_two_owners_in_file_order() {
    let co = one("/scripts/ @doctocat @octocat");
    assert_eq!(only(&co, "scripts/deploy.sh"), ["@doctocat", "@octocat"]);
    assert_eq!(only(&co, "scripts/ci/x.sh"), ["@doctocat", "@octocat"]);
}

#[test]
fn double_star_logs_matches_logs_directories_anywhere() {
    let co = one("**/logs @octocat");
    for p in [
        "build/logs/a",
        "scripts/logs/b",
        "deeply/nested/logs/c",
        "logs/d",
    ] {
        assert_eq!(only(&co, p), ["@octocat"], "{p}");
    }
    assert!(only(&co, "catalogs/a").is_empty());
}

#[test]
fn a_line_without_owners_unowns() {
    let co = one("/apps/ @octocat\n/apps/github\n");
    assert_eq!(only(&co, "apps/web/x.js"), ["@octocat"]);
    let po = co.owners_of("apps/github/x.js");
    assert!(po.owners.is_empty());
    assert_eq!(po.line, Some(2), "the un-owning line decided");
}

#[test]
fn a_subdirectory_can_have_its_own_owner() {
    let co = one("/apps/ @octocat\n/apps/github @doctocat\n");
    assert_eq!(only(&co, "apps/web/x.js"), ["@octocat"]);
    assert_eq!(only(&co, "apps/github/x.js"), ["@doctocat"]);
    assert_eq!(only(&co, "apps/github"), ["@doctocat"]);
}

#[test]
fn whole_example_file_decides_like_github() {
    let co = CodeOwners::parse("CODEOWNERS", GITHUB_EXAMPLE);
    // The last /apps pair wins over the earlier un-owning line.
    assert_eq!(only(&co, "apps/github/x.rb"), ["@doctocat"]);
    assert_eq!(only(&co, "apps/web/x.rb"), ["@octocat"]);
    assert_eq!(only(&co, "docs/getting-started.md"), ["@doctocat"]);
    assert_eq!(
        only(&co, "docs/build-app/troubleshooting.md"),
        ["@doctocat"]
    );
    assert_eq!(
        only(&co, "build/logs/x.txt"),
        ["@octocat"],
        "**/logs is later"
    );
    assert_eq!(owners(&co, "build/logs/x.txt").1, Some(53));
}

#[test]
fn matching_is_case_sensitive() {
    let co = one("/Docs/ @a\n*.JS @b");
    assert!(only(&co, "docs/x").is_empty());
    assert_eq!(only(&co, "Docs/x"), ["@a"]);
    assert!(only(&co, "a.js").is_empty());
}

#[test]
fn unsupported_syntax_is_reported_with_line_and_column_and_skipped() {
    let text = "* @all\n!*.md @x\n  *.[ch] @y\n\\#notes @z\nsrc/ @ok\n";
    let co = CodeOwners::parse("CODEOWNERS", text);
    let got: Vec<(usize, usize)> = co.problems().iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(got, [(2, 1), (3, 5), (4, 1)]);
    assert!(co.problems()[0].message.contains("negation"));
    assert!(co.problems()[1].message.contains("character ranges"));
    assert!(co.problems()[2].message.contains("escapes"));
    // Skipped lines do not apply: the earlier `*` still decides.
    assert_eq!(only(&co, "README.md"), ["@all"]);
    assert_eq!(only(&co, "a.c"), ["@all"]);
    assert_eq!(only(&co, "src/a.c"), ["@ok"]);
}

#[test]
fn invalid_owners_are_reported_and_their_line_skipped() {
    let co = CodeOwners::parse("CODEOWNERS", "* @all\n*.rs @ok not-an-owner\n*.go @-bad\n");
    let got: Vec<(usize, usize)> = co.problems().iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(got, [(2, 10), (3, 6)]);
    assert_eq!(only(&co, "a.rs"), ["@all"]);
}

#[test]
fn owner_syntax() {
    assert_eq!(
        Owner::parse("@octocat"),
        Some(Owner::User("octocat".into()))
    );
    assert!(Owner::parse("@org/team_x.y").is_some());
    assert!(Owner::parse("a.b@example.com").is_some());
    for bad in [
        "@", "@a/", "@/b", "octocat", "@a b", "x@y", "@-a", "@a/b/c", "a@@b.c",
    ] {
        assert_eq!(Owner::parse(bad), None, "{bad}");
    }
}

#[test]
fn braces_and_question_marks() {
    let co = one("*.{js,ts} @braces\nfile?.txt @q");
    assert!(
        only(&co, "a.js").is_empty(),
        "braces are literal in gitignore"
    );
    assert_eq!(only(&co, "a.{js,ts}"), ["@braces"]);
    assert_eq!(only(&co, "file1.txt"), ["@q"]);
    assert!(only(&co, "file/.txt").is_empty());
}

#[test]
fn rooted_file_and_nested_file_names() {
    let co = one("/README.md @root\nMakefile @any\n/src/**/*.rs @rust");
    assert_eq!(only(&co, "README.md"), ["@root"]);
    assert!(only(&co, "docs/README.md").is_empty());
    assert_eq!(only(&co, "a/b/Makefile"), ["@any"]);
    assert_eq!(only(&co, "src/lib.rs"), ["@rust"]);
    assert_eq!(only(&co, "src/a/b/lib.rs"), ["@rust"]);
    assert!(only(&co, "lib/src/x.rs").is_empty());
}

#[test]
fn blank_comment_and_whitespace_lines() {
    let co = CodeOwners::parse(
        "CODEOWNERS",
        "\n   \n# * @nobody\n\t*.rs\t@a   # trailing\r\n",
    );
    assert!(co.problems().is_empty(), "{:?}", co.problems());
    assert_eq!(owners(&co, "x.rs"), (vec!["@a".to_string()], Some(4)));
}

#[test]
fn unowned_paths_have_no_line() {
    let co = one("/docs/ @d");
    let po = co.owners_of("src/main.rs");
    assert_eq!((po.owners.len(), po.line), (0, None));
    assert_eq!(co.owners_of("").line, None);
}

#[test]
fn index_never_hides_a_later_matching_line() {
    // Each later line is indexed differently; the last that matches must still win.
    let co = one("/src/ @prefix\n**/gen/** @segment\n*.rs @ext\n*/x/*.rs @always\n");
    assert_eq!(owners(&co, "src/a.rs"), (vec!["@ext".to_string()], Some(3)));
    assert_eq!(
        owners(&co, "src/x/a.rs"),
        (vec!["@always".to_string()], Some(4))
    );
    assert_eq!(
        owners(&co, "src/gen/a.txt"),
        (vec!["@segment".to_string()], Some(2))
    );
    assert_eq!(
        owners(&co, "src/a.txt"),
        (vec!["@prefix".to_string()], Some(1))
    );
    assert_eq!(only(&co, "//src///gen//b.txt"), ["@segment"]);
    let co = one("*.tar.gz @tgz\n");
    assert_eq!(only(&co, "dist/a.tar.gz"), ["@tgz"]);
    assert!(only(&co, "dist/a.gz").is_empty());
}

/// The last matching line, trying every line (no index).
fn brute_force(co: &CodeOwners, path: &str) -> Option<usize> {
    let clean = path.trim_matches('/');
    let comps: Vec<&str> = clean.split('/').filter(|c| !c.is_empty()).collect();
    if comps.is_empty() {
        return None;
    }
    let mut dp = Vec::new();
    co.entries
        .iter()
        .rev()
        .find(|e| e.compiled.matches(&comps, &mut dp))
        .map(|e| e.line)
}

proptest::proptest! {
    #[test]
    fn the_index_agrees_with_trying_every_line(
        lines in proptest::collection::vec(r"/?(\*\*|[ab]|\*|\*\.[ab]|[ab]\*|x\.a)(/(\*\*|[ab]|\*|\*\.[ab]|x\.a)){0,3}/? @o", 1..10),
        paths in proptest::collection::vec(r"[abx.]{1,3}(/[abx.]{1,3}){0,4}", 1..10),
    ) {
        let co = CodeOwners::parse("CODEOWNERS", &lines.join("\n"));
        for p in &paths {
            proptest::prop_assert_eq!(co.owners_of(p).line, brute_force(&co, p), "{}", p);
        }
    }
}

#[test]
fn backslash_escapes_make_the_next_character_literal() {
    // (CODEOWNERS line, path, owned by that line)
    let cases: &[(&str, &str, bool)] = &[
        (r"f\*o @x", "f*o", true),
        (r"f\*o @x", "foo", false),
        (r"f\*o @x", "dir/f*o", true),
        (r"\*-foo.js @x", "*-foo.js", true),
        (r"\*-foo.js @x", "a-foo.js", false),
        (r"\*-foo.js @x", "lib/*-foo.js", true),
        (r"foo/b\ ar/ @x", "foo/b ar/baz.txt", true),
        (r"foo/b\ ar/ @x", "foo/b ar", false), // a directory pattern: its tree only
        (r"foo/b\ ar/ @x", "foo/bar/baz.txt", false),
        (r"space/test\ space/ @x", "space/test space/doc1.txt", true),
        (r"a\?c @x", "a?c", true),
        (r"a\?c @x", "abc", false),
        (r"\[abc\].md @x", "[abc].md", true),
        (r"\[abc\].md @x", "a.md", false),
        (r"\!important @x", "!important", true),
        (r"\!important @x", "important", false),
        (r"back\\slash @x", r"back\slash", true),
        (r"*\*.txt @x", "a*.txt", true),
        (r"*\*.txt @x", "ab.txt", false),
        (r"\*\* @x", "**", true),
        (r"\*\* @x", "a/b", false),
        (r"d\ocs/ @x", "docs/a.md", true),     // `\o` is just `o`
        (r"docs\/a.md @x", "docs/a.md", true), // an escaped `/` still separates
        (r"x\ y\ z @x", "x y z", true),
        (r"*.md\ x @x", "a.md x", true),
    ];
    for (line, path, owned) in cases {
        let text = format!("* @all\n{line}\n");
        let co = CodeOwners::parse("CODEOWNERS", &text);
        assert!(co.problems().is_empty(), "{line}: {:?}", co.problems());
        let want: &[&str] = if *owned { &["@x"] } else { &["@all"] };
        assert_eq!(only(&co, path), want, "{line} on {path}");
    }
}

#[test]
fn an_escaped_space_is_part_of_the_pattern_and_the_owners_follow_it() {
    let text = "* @global\nspace/test\\ space/ @spaceowner\n";
    let co = CodeOwners::parse("CODEOWNERS", text);
    assert!(co.problems().is_empty(), "{:?}", co.problems());
    let po = co.owners_of("space/test space/doc1.txt");
    assert_eq!(po.line, Some(2));
    assert_eq!(po.owners, vec![Owner::User("spaceowner".into())]);
    assert_eq!(co.pattern_at(2), Some("space/test\\ space/"));
    // The unescaped neighbours are not owned by that line.
    assert_eq!(only(&co, "space/test/doc1.txt"), ["@global"]);
}

#[test]
fn negation_ranges_a_leading_escaped_hash_and_a_trailing_backslash_are_skipped() {
    let text = "* @all\n!x @a\n\\#x @b\nsrc/[ab] @c\nfoo\\\nfoo\\\\ @e\nx\\[\\] @f\nbar\\ @g\n";
    let co = CodeOwners::parse("CODEOWNERS", text);
    let got: Vec<(usize, usize)> = co.problems().iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(got, [(2, 1), (3, 1), (4, 5), (5, 4)]);
    assert!(co.problems()[0].message.contains("negation"));
    assert!(co.problems()[1].message.contains("leading `#`"));
    assert!(co.problems()[2].message.contains("character ranges"));
    assert!(co.problems()[3].message.contains("trailing `\\`"));
    // `foo\` is skipped (the earlier line decides); `foo\\` is a literal backslash;
    // `x\[\]` is literal brackets.
    assert_eq!(only(&co, "foo"), ["@all"]);
    assert_eq!(only(&co, "foo\\"), ["@e"]);
    assert_eq!(only(&co, "x[]"), ["@f"]);
    assert_eq!(only(&co, "!x"), ["@all"]);
    // `bar\ @g`: the backslash escapes the space, so the pattern is `bar @g`, with no
    // owners (it un-owns that path).
    assert!(only(&co, "bar @g").is_empty());
    assert_eq!(only(&co, "bar"), ["@all"]);
}

#[test]
fn distinct_owners_keep_first_seen_order() {
    let owners = |list: &[&str]| -> Vec<Owner> {
        list.iter()
            .map(|s| Owner::parse(s).expect("owner"))
            .collect()
    };
    let paths = vec![
        PathOwners {
            path: "a".into(),
            owners: owners(&["@carol", "@alice", "@org/sre", "@carol"]),
            line: Some(1),
        },
        PathOwners {
            path: "b".into(),
            owners: owners(&["@bob", "@alice", "dev@example.com", "@Alice"]),
            line: Some(2),
        },
    ];
    let got: Vec<String> = distinct_owners(&paths)
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "@carol",
            "@alice",
            "@org/sre",
            "@bob",
            "dev@example.com",
            "@Alice"
        ]
    );
}
