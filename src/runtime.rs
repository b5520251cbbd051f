//! Waiting on async work from synchronous code (the audit store's OIDC signer, the hook's
//! GitHub checks, `audit verify`'s JWKS fetch) on the process's one runtime, which the
//! command layer builds. The future runs on a thread of its own, so this works from
//! plain code and from inside an async flow alike; the runtime's workers drive the I/O.

use std::future::Future;

/// There is no runtime to wait on (a caller outside the command layer forgot to enter one).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("no async runtime is running (internal error)")]
    Missing(#[source] tokio::runtime::TryCurrentError),
    #[error("the async task panicked (internal error)")]
    Panicked,
}

/// Runs the future `start` makes to completion on the current runtime and returns its
/// output. The future is made on the waiting thread, so it need not be `Send`.
pub fn block_on<S, F>(start: S) -> Result<F::Output, RuntimeError>
where
    S: FnOnce() -> F + Send,
    F: Future,
    F::Output: Send,
{
    let handle = tokio::runtime::Handle::try_current().map_err(RuntimeError::Missing)?;
    std::thread::scope(|s| {
        s.spawn(move || handle.block_on(start()))
            .join()
            .map_err(|_| RuntimeError::Panicked)
    })
}
