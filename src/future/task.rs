//! What the rest of the crate sees of a future's cell: the outcome, the job a cell runs, the unit
//! of work the schedulers queue ([`Runnable`]), and the erased views that handles, `wait` and
//! `as_completed` use ([`Erased`], [`Core`]). The cell that implements them is `super::cell`.

use super::Future;
use super::state::{FAILED, RAISED};
use crate::error::{FutureError, InvalidStateError, TaskPanic};
use crate::notify::Notify;
use crate::sync::{Arc, AtomicUsize};

/// How a finished future ended.
pub(crate) enum Outcome<T> {
    Value(T),
    Panicked(TaskPanic),
    Failed(FutureError),
}

impl<T> Outcome<T> {
    pub(super) fn flags(&self) -> usize {
        match self {
            Outcome::Value(_) => 0,
            Outcome::Panicked(_) => RAISED,
            Outcome::Failed(_) => RAISED | FAILED,
        }
    }
}

pub(crate) type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send>;

/// What a cell runs: a closure, or nothing (the cell behind a `Promise`).
pub(crate) trait Job<T>: Send + 'static {
    fn call(self) -> T;
}

impl<T, F: FnOnce() -> T + Send + 'static> Job<T> for F {
    #[inline]
    fn call(self) -> T {
        self()
    }
}

/// The job of a promise's cell: there is none.
pub(crate) enum NoJob {}

impl<T> Job<T> for NoJob {
    fn call(self) -> T {
        match self {}
    }
}

/// What became of a dequeued task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunResult {
    /// This call ran it.
    Ran,
    /// It was cancelled (or failed) before it started: skipped.
    Cancelled,
    /// A waiting worker already ran it inline: the queue entry is stale.
    RanElsewhere,
    /// It was the queued half of a `join` (not a task: the pool's counters leave it out).
    JoinHalf,
}

/// A task as the scheduler's queues hold it.
pub(crate) trait Runnable: Send + Sync {
    /// Runs the task unless it was cancelled or already started. `finishing` is called after
    /// the closure returned and before the outcome is published (so before any waiter can see
    /// the task done): the pool marks its worker idle there.
    fn run(self: Arc<Self>, finishing: &dyn Fn()) -> RunResult;
    /// Cancels the task if it has not started; returns whether it is cancelled.
    fn cancel(self: Arc<Self>) -> bool;
    /// Fails the task with `error` if it has not started (a broken pool); returns whether it did.
    fn fail(self: Arc<Self>, error: FutureError) -> bool;
    /// The cell's address, to recognise the awaited task in a queue.
    fn identity(&self) -> usize;
    /// Whether the task can still be started (neither started nor cancelled).
    fn is_pending(&self) -> bool;
    /// Whether the task ended without running (cancelled, or failed by a broken pool).
    fn was_skipped(&self) -> bool;
}

/// The type-erased view of a future used by `wait`, `as_completed` and [`AnyFuture`](super::AnyFuture).
#[doc(hidden)]
pub trait Erased: Send + Sync + 'static {
    fn state(&self) -> usize;
    fn raised(&self) -> bool;
    fn pool_id(&self) -> usize;
    fn register(&self, notify: Arc<dyn Notify>, token: usize) -> Option<u64>;
    fn unregister(&self, id: u64);
    fn cancel(self: Arc<Self>) -> bool;
    /// Address of the cell: the future's identity, for de-duplication.
    fn identity(&self) -> usize;
    /// Fails the future with `Broken` unless it is done (its promise was dropped).
    fn abandon(self: Arc<Self>);
    /// Runs the task on the calling thread if it is still pending; returns whether it did.
    fn run_inline(self: Arc<Self>) -> bool;
}

/// A future's cell as its typed handles see it.
pub(crate) trait Core<T>: Erased {
    /// The outcome, once finished; otherwise the error a reader reports: `Cancelled`, or
    /// `Timeout` while it is pending or running. Called only through a [`Future`] handle
    /// (rule 3).
    fn outcome(&self) -> Result<&Outcome<T>, FutureError>;
    /// The outcome if the future finished and its value was not moved out: the fast path of
    /// [`Future::result`], one call that returns a pointer.
    fn finished_outcome(&self) -> Option<&Outcome<T>>;
    /// Moves the outcome out if the calling handle is the last one (rule 3).
    fn take_outcome(&self) -> Result<Outcome<T>, FutureError>;
    /// Registers a done-callback; gives it back if the future is already done.
    fn add_callback(&self, callback: Callback<T>) -> Result<(), Callback<T>>;
    /// The count of [`Future`] handles.
    fn handles(&self) -> &AtomicUsize;
    /// Completes a promise's future (claims the outcome slot first).
    fn complete(self: Arc<Self>, outcome: Outcome<T>) -> Result<(), InvalidStateError>;
    /// `PENDING → RUNNING` for a promise; the state found otherwise.
    fn set_running(&self) -> Result<(), usize>;
    fn as_erased(&self) -> &dyn Erased;
    fn into_erased(self: Arc<Self>) -> Arc<dyn Erased>;
}
