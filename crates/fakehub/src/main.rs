//! `fakehub [--port N] [--seed FILE]`: runs the GitHub stand-in on 127.0.0.1 until
//! interrupted, printing its URL and the environment lines to export.

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: fakehub [--port N] [--seed FILE.json]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut port: u16 = 0;
    let mut seed: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => return usage(),
            },
            "--seed" => match args.next() {
                Some(s) => seed = Some(s),
                None => return usage(),
            },
            "-h" | "--help" => {
                println!(
                    "fakehub: a GitHub REST stand-in and OIDC issuer on 127.0.0.1 (tests and demos only)"
                );
                println!("usage: fakehub [--port N] [--seed FILE.json]");
                println!("Example:\n  fakehub --port 8080 --seed demo-seed.json");
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fakehub: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let hub = match fakehub::FakeHub::start_on(port).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("fakehub: cannot listen on 127.0.0.1:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(path) = seed {
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()));
            match parsed {
                Ok(s) => {
                    for (login, token) in fakehub::admin::apply_seed(hub.shared(), s) {
                        println!("# token for {login}: {token}");
                    }
                }
                Err(e) => {
                    eprintln!("fakehub: {path}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        println!("fakehub listening on {}", hub.url());
        for (k, v) in hub.env() {
            println!("export {k}={v}");
        }
        let _ = tokio::signal::ctrl_c().await;
        ExitCode::SUCCESS
    })
}
