//! The future lifecycle: one state machine, shared by every executor.
//!
//! ```text
//! PENDING --start--> RUNNING --finish--> FINISHED(value | panic | failure)
//!    |
//!    +--cancel--> CANCELLED
//! ```
//!
//! # Invariants
//!
//! 1. **One word decides every race.** The state is one `AtomicU8`. From `PENDING` exactly one of
//!    `start` (compare-exchange to `RUNNING`) and `cancel` (compare-exchange to `CANCELLED`)
//!    succeeds. Only the winner of `start` takes the task's closure, so a cancelled task never
//!    runs, and `cancel()` returns true iff the state is `CANCELLED` afterwards.
//! 2. **Publish, then announce.** The outcome is written into a `OnceLock` *before* the state is
//!    stored as `FINISHED` with `Release`; every reader loads the state with `Acquire` before it
//!    reads the outcome, so a reader that sees a terminal state sees the outcome.
//! 3. **Exactly-once notification.** A registration (`add_done_callback`, a waiter) takes the
//!    future's `listeners` lock, sets the `LISTENING` bit of the state word with a
//!    compare-exchange that fails if the state is terminal, and pushes itself, all under the
//!    lock. A completion first tries `RUNNING -> FINISHED` with a compare-exchange that expects
//!    the bit clear; if that fails because a listener set the bit, it takes the lock, stores the
//!    terminal state and takes the waiters and callbacks out under that same lock. Both sides
//!    are read-modify-writes of one word, so they are totally ordered: either the registration
//!    comes first (the completer's fast path fails and the lock makes it see the listener) or
//!    the completion comes first (the registration sees the terminal state and runs the callback
//!    itself / does not sleep). So every callback runs exactly once, no waiter sleeps through a
//!    completion, and a completion nobody listens to costs one compare-exchange.
//! 4. **Cancel notifies at once.** Unlike CPython, which tells `wait`/`as_completed` about a cancel
//!    only when a worker later dequeues the task (its fifth state, `CANCELLED_AND_NOTIFIED`),
//!    `CANCELLED` is terminal here and wakes every waiter during `cancel()`; the queued entry is
//!    skipped when a worker reaches it.
//!
//! The task and its future share one allocation (a [`TaskCell`]): the scheduler's queues hold it
//! as a type-erased [`Runnable`], the user's [`Future`] holds it as a [`Core`]. This also lets a
//! worker that waits on a future still queued in its own pool run that very task inline
//! ("stealing it back"), see [`crate::blocking`].

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::blocking::{self, Blocker, Notify};
use crate::error::{FutureError, InvalidStateError, TaskPanic};
use crate::sync::{Arc, AtomicU8, Mutex, Ordering, lock};

pub(crate) const PENDING: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const FINISHED: u8 = 2;
pub(crate) const CANCELLED: u8 = 3;

/// The lifecycle state occupies the low two bits of the state word.
const STATE_MASK: u8 = 0b011;

/// Set (under the listeners' lock, while not terminal) once a waiter or a callback is
/// registered. A completion that finds it clear finishes with one compare-exchange and never
/// touches the lock: the common case of a task nobody is blocked on yet (invariant 3).
const LISTENING: u8 = 0b100;

/// The pool id of futures that no pool owns (made by a [`Promise`]).
pub(crate) const NO_POOL: usize = 0;

fn state_name(state: u8) -> &'static str {
    match state {
        PENDING => "pending",
        RUNNING => "running",
        FINISHED => "finished",
        _ => "cancelled",
    }
}

/// How a finished future ended.
pub(crate) enum Outcome<T> {
    Value(T),
    Panicked(TaskPanic),
    Failed(FutureError),
}

type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send>;

/// Who must hear of the completion. Guarded by `Shared::listeners`.
struct Listeners<T> {
    next_id: u64,
    waiters: Vec<(u64, Arc<dyn Notify>, usize)>,
    callbacks: Vec<Callback<T>>,
}

/// The lifecycle state shared by a future's handles and its task.
pub(crate) struct Shared<T> {
    state: AtomicU8,
    pool_id: usize,
    outcome: OnceLock<Outcome<T>>,
    listeners: Mutex<Listeners<T>>,
}

impl<T> Shared<T> {
    pub(crate) fn new(pool_id: usize) -> Self {
        Shared {
            state: AtomicU8::new(PENDING),
            pool_id,
            outcome: OnceLock::new(),
            listeners: Mutex::new(Listeners { next_id: 0, waiters: Vec::new(), callbacks: Vec::new() }),
        }
    }

    /// The current state. `Acquire` pairs with the `Release` store of `FINISHED` (invariant 2).
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire) & STATE_MASK
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state() >= FINISHED
    }

    /// `PENDING -> to`, keeping the `LISTENING` bit when `to` is `RUNNING`; `Err(state)` with the
    /// state found if it was not pending.
    ///
    /// `AcqRel`: the winner must see everything the submitter wrote; the loser must see the
    /// transition that beat it.
    fn leave_pending(&self, to: u8) -> Result<u8, u8> {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if current & STATE_MASK != PENDING {
                return Err(current & STATE_MASK);
            }
            let next = if to == RUNNING { (current & LISTENING) | RUNNING } else { to };
            match self.state.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(PENDING),
                Err(found) => current = found,
            }
        }
    }

    /// `PENDING -> RUNNING`; false if the task was cancelled (or already started).
    pub(crate) fn try_start(&self) -> bool {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::RacyStart) {
            return crate::faults::check_then_act(&self.state, PENDING, RUNNING).is_ok();
        }
        self.leave_pending(RUNNING).is_ok()
    }

    /// `PENDING -> CANCELLED`; the state found if it was not pending. Called under the lock.
    fn try_cancel(&self) -> Result<u8, u8> {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::RacyCancel) {
            return crate::faults::check_then_act(&self.state, PENDING, CANCELLED);
        }
        self.leave_pending(CANCELLED)
    }

    /// Sets `LISTENING` unless the state is terminal; returns whether it is still not done.
    /// Called under the listeners' lock (invariant 3).
    fn listen(&self) -> bool {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if current & STATE_MASK >= FINISHED {
                return false;
            }
            if current & LISTENING != 0 {
                return true;
            }
            // AcqRel: ordered against the completer's compare-exchange on the same word.
            match self.state.compare_exchange_weak(
                current,
                current | LISTENING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(found) => current = found,
            }
        }
    }

    /// Registers `notify` to be told (with `token`) when the future becomes done. Returns the
    /// registration's id, or `None` if it is already done (then nothing was registered).
    pub(crate) fn register(&self, notify: Arc<dyn Notify>, token: usize) -> Option<u64> {
        let mut listeners = lock(&self.listeners);
        if !self.listen() {
            return None;
        }
        let id = listeners.next_id;
        listeners.next_id += 1;
        listeners.waiters.push((id, notify, token));
        Some(id)
    }

    /// Removes a registration made by [`register`](Self::register) (a no-op once completed).
    pub(crate) fn unregister(&self, id: u64) {
        let mut listeners = lock(&self.listeners);
        if let Some(at) = listeners.waiters.iter().position(|(other, _, _)| *other == id) {
            listeners.waiters.swap_remove(at);
        }
    }

    /// `RUNNING -> FINISHED`, taking the listeners out if any registered (invariant 3).
    fn finish_running(&self) -> Listeners<T> {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::StoreAfterUnlock) {
            let taken = {
                let mut listeners = lock(&self.listeners);
                Listeners {
                    next_id: 0,
                    waiters: std::mem::take(&mut listeners.waiters),
                    callbacks: std::mem::take(&mut listeners.callbacks),
                }
            };
            self.state.store(FINISHED, Ordering::Release);
            return taken;
        }
        // Fast path: nobody listens. `Release` publishes the outcome (invariant 2).
        if self.state.compare_exchange(RUNNING, FINISHED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            return Listeners { next_id: 0, waiters: Vec::new(), callbacks: Vec::new() };
        }
        let mut listeners = lock(&self.listeners);
        self.state.store(FINISHED, Ordering::Release);
        Listeners {
            next_id: 0,
            waiters: std::mem::take(&mut listeners.waiters),
            callbacks: std::mem::take(&mut listeners.callbacks),
        }
    }

    /// Whether the future was failed by its pool (broken) rather than run.
    fn raised_by_pool(&self) -> bool {
        self.state() == FINISHED && matches!(self.outcome.get(), Some(Outcome::Failed(_)))
    }

    /// Whether the future finished with a panic or a failure (for `FirstException`).
    pub(crate) fn raised(&self) -> bool {
        self.state() == FINISHED && !matches!(self.outcome.get(), Some(Outcome::Value(_)))
    }

    fn result(&self) -> Result<&T, FutureError> {
        match self.state() {
            CANCELLED => Err(FutureError::Cancelled),
            FINISHED => match self.outcome.get() {
                Some(Outcome::Value(value)) => Ok(value),
                Some(Outcome::Panicked(panic)) => Err(FutureError::Panicked(panic.clone())),
                Some(Outcome::Failed(error)) => Err(error.clone()),
                None => unreachable!("a finished future has an outcome (invariant 2)"),
            },
            _ => Err(FutureError::Timeout),
        }
    }
}

/// A future's storage as its handles see it. Implemented by the task cell of a submitted task
/// and by the bare cell behind a [`Promise`].
pub(crate) trait Core: Send + Sync + 'static {
    type Output: Send + Sync + 'static;

    fn shared(&self) -> &Shared<Self::Output>;

    /// Runs the task on the calling thread if it is still pending (helping: the awaited task
    /// itself is the best task a waiting worker can run). Returns whether it ran it.
    fn run_inline(self: Arc<Self>) -> bool;

    /// Drops the task's closure after a successful cancel, releasing what it captured.
    fn discard_task(&self);

    /// This cell, type-erased (each implementation returns `self`).
    fn as_erased(&self) -> &dyn Erased;

    /// This cell, type-erased and shared (each implementation returns `self`).
    fn into_erased(self: Arc<Self>) -> Arc<dyn Erased>;
}

/// The type-erased view of a future used by `wait`, `as_completed` and [`AnyFuture`].
#[doc(hidden)]
pub trait Erased: Send + Sync + 'static {
    fn state(&self) -> u8;
    fn raised(&self) -> bool;
    fn pool_id(&self) -> usize;
    fn register(&self, notify: Arc<dyn Notify>, token: usize) -> Option<u64>;
    fn unregister(&self, id: u64);
    fn cancel(self: Arc<Self>) -> bool;
    /// Address of the shared allocation: the future's identity, for de-duplication.
    fn identity(&self) -> usize;
    /// Fails the future with `Broken` unless it is done (its promise was dropped).
    fn abandon(self: Arc<Self>);
}

impl<C: Core> Erased for C {
    fn state(&self) -> u8 {
        self.shared().state()
    }
    fn raised(&self) -> bool {
        self.shared().raised()
    }
    fn pool_id(&self) -> usize {
        self.shared().pool_id
    }
    fn register(&self, notify: Arc<dyn Notify>, token: usize) -> Option<u64> {
        self.shared().register(notify, token)
    }
    fn unregister(&self, id: u64) {
        self.shared().unregister(id)
    }
    fn cancel(self: Arc<Self>) -> bool {
        let core: Arc<dyn Core<Output = C::Output>> = self;
        Future { core }.cancel()
    }
    fn identity(&self) -> usize {
        self.shared() as *const Shared<C::Output> as *const () as usize
    }
    fn abandon(self: Arc<Self>) {
        let shared = self.shared();
        if shared.is_done() {
            return;
        }
        // Start it if pending (a concurrent cancel wins or loses on the state word), then fail
        // it unless a completion won meanwhile (the `OnceLock` decides).
        if shared.try_start() || shared.state() == RUNNING {
            let reason = "the promise was dropped before it completed its future".to_owned();
            let _ = finish(self, Outcome::Failed(FutureError::Broken(reason)));
        }
    }
}

/// Wakes the waiters and runs the callbacks taken out by the completion, outside the lock.
fn announce<T: Send + Sync + 'static>(future: &Future<T>, listeners: Listeners<T>) {
    if listeners.waiters.is_empty() && listeners.callbacks.is_empty() {
        // The common case (nobody listened): skip building the iterators and their drops.
        return;
    }
    for (_, notify, token) in listeners.waiters {
        notify.notify(token);
    }
    for callback in listeners.callbacks {
        run_callback(future, callback);
    }
}

/// Runs a done-callback; a panic in it is reported on stderr and swallowed, as CPython logs and
/// ignores an exception raised by a callback.
fn run_callback<T: Send + Sync + 'static>(future: &Future<T>, callback: Callback<T>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(future))) {
        let panic = TaskPanic::from_payload(&*payload);
        eprintln!("stealpool: a done-callback panicked and was ignored: {}", panic.message());
    }
}

/// Finishes a future that the caller started (or owns through a [`Promise`]).
fn finish<T: Send + Sync + 'static>(
    core: Arc<dyn Core<Output = T>>,
    outcome: Outcome<T>,
) -> Result<(), InvalidStateError> {
    let shared = core.shared();
    if shared.outcome.set(outcome).is_err() {
        return Err(InvalidStateError { state: state_name(shared.state()) });
    }
    let listeners = shared.finish_running();
    announce(&Future { core }, listeners);
    Ok(())
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
}

/// A task as the scheduler's queues hold it.
pub(crate) trait Runnable: Send + Sync {
    /// Runs the task unless it was cancelled or already started.
    fn run(self: Arc<Self>) -> RunResult;
    /// Cancels the task if it has not started; returns whether it is cancelled.
    fn cancel(self: Arc<Self>) -> bool;
    /// Fails the task with `error` if it has not started (a broken pool); returns whether it did.
    fn fail(self: Arc<Self>, error: FutureError) -> bool;
}

/// A queued task with its future, in one allocation.
pub(crate) struct TaskCell<T, F> {
    shared: Shared<T>,
    /// Taken exactly once: by the winner of `try_start`, or by a successful cancel.
    func: Mutex<Option<F>>,
}

impl<T, F> TaskCell<T, F>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    /// A new pending task and the future that observes it.
    pub(crate) fn new(pool_id: usize, func: F) -> (Arc<Self>, Future<T>) {
        let cell = Arc::new(TaskCell { shared: Shared::new(pool_id), func: Mutex::new(Some(func)) });
        let future = Future { core: cell.clone() };
        (cell, future)
    }
}

impl<T, F> Core for TaskCell<T, F>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    type Output = T;

    fn shared(&self) -> &Shared<T> {
        &self.shared
    }

    fn run_inline(self: Arc<Self>) -> bool {
        self.shared.state() == PENDING && Runnable::run(self) == RunResult::Ran
    }

    fn discard_task(&self) {
        drop(lock(&self.func).take());
    }

    fn as_erased(&self) -> &dyn Erased {
        self
    }

    fn into_erased(self: Arc<Self>) -> Arc<dyn Erased> {
        self
    }
}

impl<T, F> Runnable for TaskCell<T, F>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    fn run(self: Arc<Self>) -> RunResult {
        if !self.shared.try_start() {
            return match self.shared.state() {
                CANCELLED => RunResult::Cancelled,
                _ if self.shared.raised_by_pool() => RunResult::Cancelled,
                _ => RunResult::RanElsewhere,
            };
        }
        let func = lock(&self.func).take().expect("the winner of start takes the closure");
        let outcome = match catch_unwind(AssertUnwindSafe(func)) {
            Ok(value) => Outcome::Value(value),
            Err(payload) => Outcome::Panicked(TaskPanic::from_payload(&*payload)),
        };
        finish(self, outcome).expect("only the task itself finishes a started task");
        RunResult::Ran
    }

    fn cancel(self: Arc<Self>) -> bool {
        Erased::cancel(self)
    }

    fn fail(self: Arc<Self>, error: FutureError) -> bool {
        if !self.shared.try_start() {
            return false;
        }
        self.discard_task();
        finish(self, Outcome::Failed(error)).expect("only the starter finishes a started task");
        true
    }
}

/// The cell behind a [`Promise`]: a future with no task.
struct PromiseCell<T> {
    shared: Shared<T>,
}

impl<T: Send + Sync + 'static> Core for PromiseCell<T> {
    type Output = T;

    fn shared(&self) -> &Shared<T> {
        &self.shared
    }

    fn run_inline(self: Arc<Self>) -> bool {
        false
    }

    fn discard_task(&self) {}

    fn as_erased(&self) -> &dyn Erased {
        self
    }

    fn into_erased(self: Arc<Self>) -> Arc<dyn Erased> {
        self
    }
}

/// A handle to the eventual result of a task (Python's `concurrent.futures.Future`).
///
/// Cheap to clone; every clone observes the same task. `result()` borrows the value, so `T`
/// needs no `Clone`, and may be called many times from many threads.
pub struct Future<T> {
    core: Arc<dyn Core<Output = T>>,
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future { core: self.core.clone() }
    }
}

impl<T: Send + Sync + 'static> Future<T> {
    fn shared(&self) -> &Shared<T> {
        self.core.shared()
    }

    /// Blocks until the task finishes and borrows its value.
    ///
    /// Errors: [`FutureError::Cancelled`], [`FutureError::Panicked`] (the task panicked),
    /// [`FutureError::Broken`] (the pool broke before the task ran),
    /// [`FutureError::WorkerFailed`] (process pool). Called on a worker thread of the pool that
    /// runs the task, it runs queued tasks while it waits instead of blocking the worker.
    pub fn result(&self) -> Result<&T, FutureError> {
        self.wait_until(None);
        self.shared().result()
    }

    /// Like [`result`](Self::result), but gives up with [`FutureError::Timeout`] after
    /// `timeout` (a zero timeout only looks; a huge one waits forever).
    pub fn result_timeout(&self, timeout: Duration) -> Result<&T, FutureError> {
        self.wait_until(blocking::deadline_after(Some(timeout)));
        self.shared().result()
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
        match self.shared().state() {
            CANCELLED => Err(FutureError::Cancelled),
            FINISHED => match self.shared().outcome.get() {
                Some(Outcome::Value(_)) => Ok(None),
                Some(Outcome::Panicked(panic)) => Ok(Some(panic)),
                Some(Outcome::Failed(error)) => Err(error.clone()),
                None => unreachable!("a finished future has an outcome (invariant 2)"),
            },
            _ => Err(FutureError::Timeout),
        }
    }

    /// Waits until the future is done or `deadline` passes; returns whether it is done.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let shared = self.shared();
        if shared.is_done() {
            return true;
        }
        if blocking::expired(deadline) {
            // A zero (or past) timeout only looks: it must not run the task inline or help.
            return false;
        }
        let blocker = Blocker::new(|pool_id| pool_id == shared.pool_id);
        match &blocker {
            Blocker::Worker(context) => {
                if blocking::run_on_growable_stack(|| self.core.clone().run_inline()) {
                    context.record_inline_run();
                    return true;
                }
            }
            Blocker::Thread(_) => {
                if deadline.is_none_or(|deadline| deadline > Instant::now())
                    && blocking::spin_until(&|| shared.is_done())
                {
                    return true;
                }
            }
        }
        let Some(registration) = shared.register(blocker.notifier(), 0) else {
            return true;
        };
        let done = blocker.block_until(&|| shared.is_done(), deadline);
        shared.unregister(registration);
        done
    }

    /// Calls `callback` with this future once it is done: at once on this thread if it is
    /// already done, otherwise on the thread that completes or cancels it. Runs exactly once;
    /// a panicking callback is reported on stderr and ignored.
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future<T>) + Send + 'static) {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::UnlockedCallbackCheck) && !self.shared().is_done() {
            lock(&self.shared().listeners).callbacks.push(Box::new(callback));
            return;
        }
        {
            let mut listeners = lock(&self.shared().listeners);
            if self.shared().listen() {
                listeners.callbacks.push(Box::new(callback));
                return;
            }
        }
        run_callback(self, Box::new(callback));
    }

    /// Cancels the task if it has not started. Returns true if the future is cancelled
    /// (now or before), false if the task is running or finished. Every waiter is woken at
    /// once and every callback runs; the task will never run.
    pub fn cancel(&self) -> bool {
        let shared = self.shared();
        match shared.state() {
            CANCELLED => return true,
            RUNNING | FINISHED => return false,
            _ => {}
        }
        let listeners = {
            let mut listeners = lock(&shared.listeners);
            match shared.try_cancel() {
                Ok(_) => Listeners {
                    next_id: 0,
                    waiters: std::mem::take(&mut listeners.waiters),
                    callbacks: std::mem::take(&mut listeners.callbacks),
                },
                Err(state) => return state == CANCELLED,
            }
        };
        self.core.discard_task();
        announce(self, listeners);
        true
    }

    /// True while the task is running.
    pub fn running(&self) -> bool {
        self.shared().state() == RUNNING
    }

    /// True if the task finished (with a value, a panic or a failure) or was cancelled.
    pub fn done(&self) -> bool {
        self.shared().is_done()
    }

    /// True if the future was cancelled.
    pub fn cancelled(&self) -> bool {
        self.shared().state() == CANCELLED
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

impl<T: Send + Sync + 'static> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Future").field("state", &state_name(self.shared().state())).finish()
    }
}

/// A future of any result type: what [`Future::erase`] returns. It can be waited on and
/// cancelled; for the value, keep the typed [`Future`].
#[derive(Clone)]
pub struct AnyFuture {
    core: Arc<dyn Erased>,
}

impl AnyFuture {
    /// See [`Future::done`].
    pub fn done(&self) -> bool {
        self.core.state() >= FINISHED
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
}

impl fmt::Debug for AnyFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyFuture").field("state", &state_name(self.core.state())).finish()
    }
}

/// The completer half of a future (Python's `set_running_or_notify_cancel`, `set_result`,
/// `set_exception`): lets other executors, and tests, drive a [`Future`] through every state.
///
/// Dropping a promise that has not completed its future fails the future with
/// [`FutureError::Broken`], so that no waiter hangs on a result nobody can deliver any more.
pub struct Promise<T> {
    cell: Arc<PromiseCell<T>>,
    /// Fails the future if the promise is dropped before completing it.
    _abandon: AbandonGuard,
}

/// See [`Promise`]: type-erased so that `Promise<T>` needs no bounds on `T`.
struct AbandonGuard(Arc<dyn Erased>);

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        self.0.clone().abandon();
    }
}

impl<T: Send + Sync + 'static> Promise<T> {
    /// A pending future and its completer.
    pub fn new() -> (Promise<T>, Future<T>) {
        let cell = Arc::new(PromiseCell { shared: Shared::new(NO_POOL) });
        let future = Future { core: cell.clone() };
        (Promise { _abandon: AbandonGuard(cell.clone()), cell }, future)
    }

    /// Another handle to the future this promise completes.
    pub fn future(&self) -> Future<T> {
        Future { core: self.cell.clone() }
    }

    /// Marks the future running; returns false (and changes nothing) if it was cancelled.
    /// Errors if it is already running or finished.
    pub fn set_running_or_notify_cancel(&self) -> Result<bool, InvalidStateError> {
        match self.cell.shared.leave_pending(RUNNING) {
            Ok(_) => Ok(true),
            Err(CANCELLED) => Ok(false),
            Err(state) => Err(InvalidStateError { state: state_name(state) }),
        }
    }

    /// Completes the future with `value`. Errors if it is already finished or cancelled.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Value(value))
    }

    /// Completes the future with a panic. Errors if it is already finished or cancelled.
    pub fn set_exception(&self, panic: TaskPanic) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Panicked(panic))
    }

    /// Completes the future with an error other than a panic (e.g. `FutureError::Broken`).
    pub fn set_error(&self, error: FutureError) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Failed(error))
    }

    fn complete(&self, outcome: Outcome<T>) -> Result<(), InvalidStateError> {
        // A pending future is started implicitly, so that a concurrent cancel and this
        // completion are decided by the state word (invariant 1).
        match self.set_running_or_notify_cancel() {
            Ok(true) | Err(InvalidStateError { state: "running" }) => {}
            Ok(false) => return Err(InvalidStateError { state: "cancelled" }),
            Err(error) => return Err(error),
        }
        finish(self.cell.clone(), outcome)
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise").finish_non_exhaustive()
    }
}
