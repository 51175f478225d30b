//! Blocking work (a PBKDF2 verification, reading a file) kept off the async worker threads.

use tokio::task::JoinError;

/// Runs `work` on tokio's blocking pool when called inside a runtime, and in place
/// otherwise (a caller without a runtime, such as `skein passwd`, has no workers to stall).
///
/// # Errors
///
/// The blocking task panicked or the runtime is shutting down.
pub(crate) async fn off_the_workers<T, F>(work: F) -> Result<T, JoinError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn_blocking(work).await,
        Err(_) => Ok(work()),
    }
}
