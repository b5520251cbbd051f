//! The Actions OIDC issuer: discovery, a rotating JWKS, and the token endpoint.
//!
//! STUB in the `github` branch only, so fakehub compiles: the real issuer comes from
//! the `oidc` branch (same contract: `Issuer::new`, `set_base_url`, `router`,
//! `request_token`). The lead keeps the other helper's version when merging.

use std::sync::{Arc, Mutex};

/// The OIDC issuer of the stand-in (stub: serves nothing yet).
#[derive(Clone, Default)]
pub struct Issuer {
    base: Arc<Mutex<String>>,
}

impl Issuer {
    pub fn new() -> Issuer {
        Issuer::default()
    }
    pub fn set_base_url(&self, url: &str) {
        if let Ok(mut b) = self.base.lock() {
            *b = url.to_string();
        }
    }
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
    }
    pub fn request_token(&self) -> String {
        "stub-request-token".to_string()
    }
}
