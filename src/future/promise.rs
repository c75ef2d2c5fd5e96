//! [`Promise`]: the completer half of a future, for code that runs a task itself (other
//! executors, tests) and drives its future through every state.

use std::fmt;

use super::state::{CANCELLED, future_state};
use super::task::{Core, Erased, Outcome};
use super::{Future, PromiseCell};
use crate::error::{FutureError, InvalidStateError, TaskPanic};
use crate::sync::{Arc, unwinding_a_failed_model};

/// The completer half of a future (Python's `set_running_or_notify_cancel`, `set_result`,
/// `set_exception`): lets other executors, and tests, drive a [`Future`] through every state.
///
/// Dropping a promise that has not completed its future fails the future with
/// [`FutureError::Broken`]`(`[`BrokenReason::PromiseDropped`](crate::BrokenReason::PromiseDropped)`)`,
/// so that no waiter hangs on a result nobody can deliver any more.
///
/// ```
/// use stealpool::{BrokenReason, FutureError, FutureState, Promise};
///
/// let (promise, future) = Promise::<u32>::new();
/// assert!(!future.done());
/// let worker = std::thread::spawn(move || {
///     if promise.set_running_or_notify_cancel()? {   // false if the future was cancelled
///         promise.set_result(7)?;
///     }
///     Ok::<_, stealpool::InvalidStateError>(promise)
/// });
/// assert_eq!(future.result(), Ok(&7));                // waits for the thread
/// let promise = worker.join().unwrap()?;
/// let error = promise.set_result(8).unwrap_err();     // a second completion: InvalidStateError
/// assert_eq!(error.state(), FutureState::Finished);
///
/// let (promise, future) = Promise::<u32>::new();
/// drop(promise);                                      // nobody will complete it
/// assert_eq!(future.result(), Err(FutureError::Broken(BrokenReason::PromiseDropped)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Promise<T: 'static> {
    cell: Arc<PromiseCell<T>>,
    /// Fails the future if the promise is dropped before completing it.
    _abandon: AbandonGuard,
}

/// See [`Promise`]: type-erased so that `Promise<T>` needs no bounds on `T`.
struct AbandonGuard(Arc<dyn Erased>);

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if unwinding_a_failed_model() {
            return;
        }
        self.0.clone().abandon();
    }
}

impl<T: Send + 'static> Promise<T> {
    /// A pending future and its completer.
    pub fn new() -> (Promise<T>, Future<T>) {
        let (cell, future) = PromiseCell::new_promise();
        (Promise { _abandon: AbandonGuard(cell.clone()), cell }, future)
    }

    /// Marks the future running; returns false (and changes nothing) if it was cancelled.
    /// Errors if it is already running or finished.
    pub fn set_running_or_notify_cancel(&self) -> Result<bool, InvalidStateError> {
        match self.cell.set_running() {
            Ok(()) => Ok(true),
            Err(state) if state & 0b11 == CANCELLED => Ok(false),
            Err(state) => Err(InvalidStateError { state: future_state(state) }),
        }
    }

    /// Completes the future with `value`. Errors if it is already finished or cancelled.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.cell.clone().complete(Outcome::Value(value))
    }

    /// Completes the future with a panic. Errors if it is already finished or cancelled.
    pub fn set_exception(&self, panic: TaskPanic) -> Result<(), InvalidStateError> {
        self.cell.clone().complete(Outcome::Panicked(panic))
    }

    /// Completes the future with an error other than a panic (e.g. `FutureError::Broken`).
    pub fn set_error(&self, error: FutureError) -> Result<(), InvalidStateError> {
        self.cell.clone().complete(Outcome::Failed(error))
    }

    /// Cancels the future if it is still pending (what a cancelled job does to its promises).
    #[cfg(all(unix, not(loom)))]
    pub(crate) fn cancel_future(&self) -> bool {
        self.cell.clone().into_erased().cancel()
    }
}

impl<T: Send + Sync + 'static> Promise<T> {
    /// Another handle to the future this promise completes. (If a `join` already moved the
    /// value out, the new handle reports [`FutureError::Taken`].)
    pub fn future(&self) -> Future<T> {
        Future::new_handle(self.cell.clone())
    }
}

impl<T: 'static> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise").finish_non_exhaustive()
    }
}
