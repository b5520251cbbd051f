//! How long OIDC token verification takes, in-process against the stand-in issuer on
//! 127.0.0.1: the first verify (discovery and JWKS over loopback HTTP), a verify with
//! the keys cached, and a record token against an archived JWKS. The debug build
//! (dependencies at opt-level 1):
//!
//!     cargo test --bench oidc
//!
//! (`cargo bench --bench oidc` measures an optimised one).
#![allow(clippy::disallowed_macros, reason = "a measurement prints its figures")]

use fakehub::oidc::serve_standalone;
use jitaa::oidc::{JwkSet, Verifier, verify_record_token};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(measure_verification());
}

async fn measure_verification() {
    let (issuer, url) = serve_standalone();
    let v = Verifier::new(&url, "jitaa").unwrap();
    let t0 = std::time::Instant::now();
    v.verify(&issuer.mint("jitaa")).await.unwrap();
    let cold = t0.elapsed();
    let tokens: Vec<String> = (0..200).map(|_| issuer.mint("jitaa")).collect();
    let t1 = std::time::Instant::now();
    for t in &tokens {
        v.verify(t).await.unwrap();
    }
    let warm = t1.elapsed() / tokens.len() as u32;
    let jwks: JwkSet = serde_json::from_value(issuer.jwks()).unwrap();
    let t2 = std::time::Instant::now();
    for t in &tokens {
        verify_record_token(t, &jwks, &url, "jitaa", chrono::Utc::now()).unwrap();
    }
    let offline = t2.elapsed() / tokens.len() as u32;
    println!("first verify (discovery + JWKS over loopback HTTP): {cold:?}");
    println!("verify with cached keys: {warm:?} per token");
    println!("record token against an archived JWKS: {offline:?} per token");
}
