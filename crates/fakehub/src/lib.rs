//! fakehub: a GitHub REST stand-in and Actions OIDC issuer for tests.
