//! The Actions OIDC issuer: discovery, a rotating JWKS, and the token endpoint.
