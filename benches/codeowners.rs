//! 5,000-line CODEOWNERS matched against 100,000 paths (the budget: ≤ 1 s on one core),
//! and one line with 200,000 owners (linear de-duplication).

use criterion::{Criterion, criterion_group, criterion_main};
use jitaa::codeowners::{CodeOwners, Scratch, distinct_owners};
use std::hint::black_box;

/// A realistic mix: extensions, rooted directories, unanchored directories, `dir/*`,
/// `**` patterns, rooted files, and owner-less lines.
fn codeowners(lines: usize) -> String {
    let mut s = String::from("* @acme/everyone\n");
    for i in 0..lines - 1 {
        let line = match i % 8 {
            0 => format!("*.ext{i} @user{i}\n"),
            1 => format!("/services/svc{i}/ @acme/team{i}\n"),
            2 => format!("pkg{i}/ @user{i} @acme/team{i}\n"),
            3 => format!("/docs/area{i}/* docs{i}@example.com\n"),
            4 => format!("**/gen{i}/** @bot{i}\n"),
            5 => format!("/services/svc{}/vendor\n", i - 4),
            6 => format!("/tools/tool{i}.sh @user{i}\n"),
            _ => format!("lib/mod{i}/**/*.rs @acme/rust{i}\n"),
        };
        s.push_str(&line);
    }
    s
}

fn paths(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 5 {
            0 => format!("services/svc{}/src/handler{}.go", (i * 8 + 1) % 5000, i),
            1 => format!("a/b/pkg{}/file{}.txt", (i * 8 + 2) % 5000, i),
            2 => format!("docs/area{}/page{}.md", (i * 8 + 3) % 5000, i),
            3 => format!("lib/mod{}/x/y/z{}.rs", (i * 8 + 7) % 5000, i),
            _ => format!("misc/dir{}/file{}.c", i % 97, i),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let text = codeowners(5000);
    let ps = paths(100_000);
    c.bench_function("parse 5000-line CODEOWNERS", |b| {
        b.iter(|| CodeOwners::parse("CODEOWNERS", black_box(&text)));
    });
    let co = CodeOwners::parse("CODEOWNERS", &text);
    assert!(co.problems().is_empty());
    let mut g = c.benchmark_group("match");
    g.sample_size(20);
    g.bench_function("5000 lines x 100000 paths", |b| {
        b.iter(|| {
            let mut owned = 0usize;
            let mut scratch = Scratch::default();
            for p in &ps {
                owned += co.owners_with(black_box(p), &mut scratch).owners.len();
            }
            owned
        });
    });
    g.finish();

    // One line with 200,000 owners (1.7 MB, under GitHub's 3 MB cap): parse, decide and
    // de-duplicate the owners as `policy explain` and the request comment do.
    let wide = format!(
        "* {}\n",
        (0..200_000)
            .map(|i| format!("@u{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut g = c.benchmark_group("wide");
    g.sample_size(10);
    g.bench_function(
        "200000 owners on one line: parse, owners_of, distinct",
        |b| {
            b.iter(|| {
                let co = CodeOwners::parse("CODEOWNERS", black_box(&wide));
                let paths = vec![co.owners_of("src/lib.rs"), co.owners_of("README.md")];
                distinct_owners(&paths).len()
            });
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
