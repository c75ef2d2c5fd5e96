//! The future lifecycle: one state machine, shared by every executor.
//!
//! ```text
//! PENDING --start--> RUNNING --finish--> FINISHED(value | panic | failure)
//!    |
//!    +--cancel--> CANCELLED
//! ```
//!
//! A submitted task and its future share one allocation, the task cell ([`cell`]): the
//! scheduler's queues hold it as a type-erased `Runnable`, the user's [`Future`] handles hold it
//! as a typed `Core`, `wait` and `as_completed` see it as an `Erased`. One atomic word decides
//! every race (start against cancel, completion against a registration); the rules and their
//! `SAFETY` arguments are in `cell`.
//!
//! Cancel notifies at once: unlike CPython, which tells `wait`/`as_completed` about a cancel
//! only when a worker later dequeues the task (its fifth state, `CANCELLED_AND_NOTIFIED`),
//! `CANCELLED` is terminal here and wakes every waiter during `cancel()`; the queued entry is
//! skipped when a worker reaches it.
//!
//! A worker that waits on a future still queued in its own pool runs that very task inline
//! ("steals it back"), see [`crate::blocking`].

mod awaiting;
mod promise;
// The one module allowed `unsafe` (each block argued in a `SAFETY` comment, loom-checked).
#[allow(unsafe_code)]
pub(crate) mod cell;
pub(crate) mod state;
mod task;

use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::blocking::{self, Blocker, WorkerContext};
use crate::error::{FutureError, TaskPanic};
use crate::sync::{Arc, Ordering, unwinding_a_failed_model};

pub use self::awaiting::{AwaitRef, AwaitValue};
pub(crate) use self::cell::{PromiseCell, TaskCell};
pub use self::promise::Promise;
pub(crate) use self::state::{CANCELLED, PENDING, RUNNING, is_terminal, state_name};
pub use self::task::Erased;
pub(crate) use self::task::{Callback, Core, Outcome, RunResult, Runnable};

/// A handle to the eventual result of a task (Python's `concurrent.futures.Future`).
///
/// Cheap to clone; every clone observes the same task. [`result`](Self::result) borrows the
/// value, so `T` needs no `Clone`, and may be called many times from many threads;
/// [`join`](Self::join) moves it out of the last handle. A `Future<T>` can be sent to and shared
/// with other threads when `T: Send + Sync`; with a `T` that is only `Send` (a `RefCell`, say)
/// it stays on the thread that submitted the task, where `join` gives the value.
///
/// In async code, `future.await` is `join` and `(&future).await` is `result`, without blocking
/// the executor's thread (see [`AwaitValue`]). The name is Python's; `std::future::Future` is
/// not in the prelude by that name, so the two meet only where a module imports both: import
/// this one under another name (`use stealpool::Future as PoolFuture;`) or write
/// `stealpool::Future<T>`.
///
/// ```
/// use stealpool::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let answer = pool.submit(|| 6 * 7)?;
/// let greeting = pool.submit(|| String::from("hello"))?;
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let (answer, greeting) = runtime.block_on(async {
///     ((&answer).await.copied(), greeting.await)    // borrow one, move the other out
/// });
/// assert_eq!((answer?, greeting?.as_str()), (42, "hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ```
/// use stealpool::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let future = pool.submit(|| vec![1, 2, 3])?;
/// assert_eq!(future.result()?.len(), 3);        // borrow, as often as you like
/// let values: Vec<i32> = future.join()?;        // or move the value out of the last handle
/// assert_eq!(values, [1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Future<T: 'static> {
    core: Arc<dyn Core<T>>,
    /// `Send`/`Sync` only for `T: Send + Sync`: every handle may hand out `&T`.
    _value: PhantomData<Arc<T>>,
}

impl<T: Send + 'static> Future<T> {
    /// A handle whose count the cell already holds (the one made with the cell).
    pub(crate) fn from_counted(core: Arc<dyn Core<T>>) -> Self {
        Future { core, _value: PhantomData }
    }

    /// A new handle to `core`, counted.
    pub(crate) fn new_handle(core: Arc<dyn Core<T>>) -> Self {
        core.handles().fetch_add(1, Ordering::Relaxed);
        Future { core, _value: PhantomData }
    }
}

impl<T: 'static> Clone for Future<T> {
    fn clone(&self) -> Self {
        // Relaxed: a new handle is made from an existing one, which keeps the count above zero.
        self.core.handles().fetch_add(1, Ordering::Relaxed);
        Future { core: self.core.clone(), _value: PhantomData }
    }
}

impl<T: 'static> Drop for Future<T> {
    fn drop(&mut self) {
        if unwinding_a_failed_model() {
            return;
        }
        // Release: this handle's reads of the outcome happen before a later `join` moves it.
        self.core.handles().fetch_sub(1, Ordering::Release);
    }
}

impl<T: Send + 'static> Future<T> {
    /// Blocks until the task finishes and borrows its value.
    ///
    /// Errors: [`FutureError::Cancelled`], [`FutureError::Panicked`] (the task panicked),
    /// [`FutureError::Broken`] (the pool broke before the task ran),
    /// [`FutureError::WorkerFailed`] (process pool). Called on a worker thread of the pool that
    /// runs the task, it runs queued tasks while it waits instead of blocking the worker.
    pub fn result(&self) -> Result<&T, FutureError> {
        // One call into the cell when the future already holds its value (the common case of
        // a result collected after the burst that produced it); the rest out of line.
        match self.core.finished_outcome() {
            Some(Outcome::Value(value)) => Ok(value),
            _ => self.wait_for_result(),
        }
    }

    #[cold]
    #[inline(never)]
    fn wait_for_result(&self) -> Result<&T, FutureError> {
        self.wait_unfinished(None);
        Self::value(self.core.outcome()?)
    }

    /// Like [`result`](Self::result), but gives up with [`FutureError::Timeout`] after
    /// `timeout` (a zero timeout only looks; a huge one waits forever).
    pub fn result_timeout(&self, timeout: Duration) -> Result<&T, FutureError> {
        self.wait_until(blocking::deadline_after(Some(timeout)));
        Self::value(self.core.outcome()?)
    }

    #[inline]
    fn value(outcome: &Outcome<T>) -> Result<&T, FutureError> {
        match outcome {
            Outcome::Value(value) => Ok(value),
            Outcome::Panicked(panic) => Err(FutureError::Panicked(panic.clone())),
            Outcome::Failed(error) => Err(error.clone()),
        }
    }

    /// Waits for the task and moves its value out: Rust's owned form of `result()`.
    ///
    /// This handle must be the last one: with other clones alive (or a done-callback still
    /// running, which holds a handle) it returns [`FutureError::Shared`] and the value stays
    /// where the other handles can borrow it. A panic comes back as
    /// [`FutureError::Panicked`] carrying the original payload, so
    /// [`TaskPanic::resume_unwind`] re-raises it.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use stealpool::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(1)?;
    /// let cell = pool.submit(|| RefCell::new(5))?.join()?;   // neither Sync nor Clone
    /// *cell.borrow_mut() += 1;
    /// assert_eq!(cell.into_inner(), 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join(self) -> Result<T, FutureError> {
        self.wait_until(None);
        self.take()
    }

    /// Moves the outcome out now (no waiting): the value if this is the last handle.
    pub(crate) fn take(&self) -> Result<T, FutureError> {
        match self.core.take_outcome()? {
            Outcome::Value(value) => Ok(value),
            Outcome::Panicked(panic) => Err(FutureError::Panicked(panic)),
            Outcome::Failed(error) => Err(error),
        }
    }

    /// Blocks until the task finishes; `Ok(None)` if it returned, `Ok(Some(panic))` if it
    /// panicked. A cancelled future gives `Err(Cancelled)`, a failed one its error.
    pub fn exception(&self) -> Result<Option<&TaskPanic>, FutureError> {
        self.wait_until(None);
        self.exception_now()
    }

    /// Like [`exception`](Self::exception) with a timeout ([`FutureError::Timeout`]).
    pub fn exception_timeout(&self, timeout: Duration) -> Result<Option<&TaskPanic>, FutureError> {
        self.wait_until(blocking::deadline_after(Some(timeout)));
        self.exception_now()
    }

    fn exception_now(&self) -> Result<Option<&TaskPanic>, FutureError> {
        match self.core.outcome()? {
            Outcome::Value(_) => Ok(None),
            Outcome::Panicked(panic) => Ok(Some(panic)),
            Outcome::Failed(error) => Err(error.clone()),
        }
    }

    /// Waits until the future is done or `deadline` passes; returns whether it is done (see
    /// `crate::blocking` for the steps).
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        is_terminal(self.core.state()) || self.wait_unfinished(deadline)
    }

    /// [`wait_until`](Self::wait_until) past its first look (a caller that just found the
    /// future unfinished saves that look; a future done meanwhile ends the spin at once).
    fn wait_unfinished(&self, deadline: Option<Instant>) -> bool {
        let erased = self.core.as_erased();
        if blocking::expired(deadline) {
            // A zero (or past) timeout only looks: it must not run the task inline or block.
            return false;
        }
        let pool_id = erased.pool_id();
        // Steal-back first, through the thread-local context without cloning it (the common
        // case of nested submit-and-wait ends here).
        if deadline.is_none()
            && erased.state() == PENDING
            && blocking::with_worker_of(pool_id, |context| {
                steal_back(context, erased, || self.core.clone().into_erased())
            }) == Some(true)
        {
            return true;
        }
        let blocker = Blocker::new(|id| id == pool_id);
        let done = || is_terminal(erased.state());
        // Most tasks awaited right after submission finish within microseconds: a short spin
        // spares the registration and the wake-up (the completion then takes its lock-free
        // path).
        if blocking::spin_until(&done) {
            return true;
        }
        let Some(registration) = erased.register(blocker.notifier(), 0) else {
            return true;
        };
        let finished = blocker.block_until(&done, deadline);
        erased.unregister(registration);
        finished
    }

    /// Cancels the task if it has not started. Returns true if the future is cancelled
    /// (now or before), false if the task is running or finished. Every waiter is woken at
    /// once and every callback runs; the task will never run.
    pub fn cancel(&self) -> bool {
        self.core.clone().into_erased().cancel()
    }

    /// True while the task is running.
    pub fn running(&self) -> bool {
        self.core.as_erased().state() == RUNNING
    }

    /// True if the task finished (with a value, a panic or a failure) or was cancelled.
    pub fn done(&self) -> bool {
        is_terminal(self.core.as_erased().state())
    }

    /// True if the future was cancelled.
    pub fn cancelled(&self) -> bool {
        self.core.as_erased().state() == CANCELLED
    }

    /// A type-erased handle, to `wait` on or iterate `as_completed` over futures of different
    /// result types together.
    pub fn erase(&self) -> AnyFuture {
        AnyFuture { core: self.core.clone().into_erased() }
    }

    pub(crate) fn erased(&self) -> &dyn Erased {
        self.core.as_erased()
    }
}

impl<T: Send + Sync + 'static> Future<T> {
    /// Calls `callback` with this future once it is done: at once on this thread if it is
    /// already done, otherwise on the thread that completes or cancels it. Runs exactly once;
    /// a panicking callback is reported on stderr and ignored. (`T: Sync`: the callback may
    /// borrow the value on another thread.)
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future<T>) + Send + 'static) {
        if let Err(callback) = self.core.add_callback(Box::new(callback)) {
            run_callback(self, callback);
        }
    }
}

/// Runs the awaited task on the calling thread of its pool if it has not started (steal-back),
/// first taking its entry off the top of this thread's own queue if it is there. Returns
/// whether this call ran it. `arc` gives the cell as an `Arc`, made only when needed.
pub(crate) fn steal_back(
    context: &dyn WorkerContext,
    erased: &dyn Erased,
    arc: impl FnOnce() -> Arc<dyn Erased>,
) -> bool {
    if erased.state() != PENDING {
        return false;
    }
    context.discard_awaited_entry(erased.identity());
    if blocking::run_on_growable_stack(|| arc().run_inline()) {
        context.record_inline_run();
        return true;
    }
    false
}

/// Runs a done-callback; a panic in it is reported on stderr and swallowed, as CPython logs and
/// ignores an exception raised by a callback.
pub(crate) fn run_callback<T: 'static>(future: &Future<T>, callback: Callback<T>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(future))) {
        let panic = TaskPanic::from_payload(&*payload);
        eprintln!("stealpool: a done-callback panicked and was ignored: {}", panic.message());
    }
}

impl<T: Send + 'static> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Future").field("state", &state_name(self.core.as_erased().state())).finish()
    }
}

/// A future of any result type: what [`Future::erase`] returns. It can be waited on and
/// cancelled; for the value, keep the typed [`Future`].
///
/// Python's `wait` and `as_completed` take futures of any result types in one list; in Rust a
/// list has one element type, so erase the futures for the wait and keep the typed ones for the
/// values:
///
/// ```
/// use std::time::Duration;
/// use stealpool::{AnyFuture, ReturnWhen, ThreadPoolExecutor, wait};
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let number = pool.submit(|| 6 * 7)?;
/// let text = pool.submit(|| String::from("done"))?;
/// let both: Vec<AnyFuture> = vec![number.erase(), text.erase()];
/// let (done, not_done) = wait(&both, Some(Duration::from_secs(60)), ReturnWhen::AllCompleted);
/// assert_eq!((done.len(), not_done.len()), (2, 0));
/// assert!(done.iter().all(|future| future.done() && !future.raised()));
/// assert_eq!((*number.result()?, text.result()?.as_str()), (42, "done"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AnyFuture {
    core: Arc<dyn Erased>,
}

impl AnyFuture {
    /// See [`Future::done`].
    pub fn done(&self) -> bool {
        is_terminal(self.core.state())
    }
    /// See [`Future::running`].
    pub fn running(&self) -> bool {
        self.core.state() == RUNNING
    }
    /// See [`Future::cancelled`].
    pub fn cancelled(&self) -> bool {
        self.core.state() == CANCELLED
    }
    /// See [`Future::cancel`].
    pub fn cancel(&self) -> bool {
        self.core.clone().cancel()
    }
    /// True if the future finished with a panic or a failure.
    pub fn raised(&self) -> bool {
        self.core.raised()
    }
    pub(crate) fn erased(&self) -> &dyn Erased {
        &*self.core
    }
    pub(crate) fn into_erased(self) -> Arc<dyn Erased> {
        self.core
    }
}

impl fmt::Debug for AnyFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyFuture").field("state", &state_name(self.core.state())).finish()
    }
}
