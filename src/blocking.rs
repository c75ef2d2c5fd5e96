//! How a thread blocks on futures: steal the awaited task back if it is still queued, else sleep
//! on the thread's [`Parker`], after handing the thread's worker slot (if it is a pool thread)
//! to a spare thread, so that the pool keeps its parallelism while this task waits.
//!
//! Every blocking operation of the crate (`Future::result`, `wait`, `as_completed`, `map`)
//! follows the same steps:
//!
//! 1. make a [`Blocker`] for the calling thread: its parker, and its worker context if it is a
//!    pool thread (of any pool);
//! 2. on a thread of the pool that owns the awaited task, and for untimed waits only, run the
//!    awaited task inline if it has not started ("steal-back": the waiter would block on it
//!    anyway, so this adds no wait; a timed wait must not start work that could outlast it);
//! 3. register the parker with every awaited future (registration and completion are ordered by
//!    the future's state word, so the completer either sees the registration and notifies it,
//!    or the waiter sees the completion when it re-checks);
//! 4. [`Blocker::block_until`] the condition holds or the deadline passes: a pool thread first
//!    hands its slot off (`thread_pool::worker`, "Waiting without adding deadlocks"), then every
//!    thread parks, re-checking the condition after every wake-up (wake-ups may be spurious; none
//!    is lost, because the parker keeps a token).
//!
//! No waiter ever runs an unrelated task on its stack: that task could wait for the waiter,
//! which cannot resume under it. General helping is the contract of structured fork-join only.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::error::SubmitError;
use crate::future::state::NO_POOL;
use crate::notify::Notify;
use crate::parker::Parker;
use crate::scheduler::Task;
use crate::sync::{Arc, thread_local};

/// The worker-thread side of blocking, implemented by each pool's worker context.
pub(crate) trait WorkerContext {
    /// The identity of the pool this thread works for.
    fn pool_id(&self) -> usize;
    /// Runs queued tasks of the pool until none is left (a task calling `shutdown(wait)`).
    fn run_queued(&self);
    /// Hands this thread's worker slot to a spare thread before the thread blocks; returns
    /// whether it did (false: no slot held, or no spare to be had at the cap).
    fn hand_off_slot(&self) -> bool;
    /// Counts a task this worker ran inline while waiting for it.
    fn record_inline_run(&self);
    /// Removes the entry of the awaited task (identified by its cell's address) from the top of
    /// this worker's own queue, with any stale entries above or below it there, so that a task
    /// run inline leaves nothing behind (memory bounded by the depth of nested waits).
    /// Returns whether it removed the awaited task's entry.
    fn discard_awaited_entry(&self, awaited: usize) -> bool;
    /// Queues `task`, submitted by a task running on this worker, on this worker's own queue
    /// (the caller checked that the pool is this worker's).
    fn submit_local(&self, task: Task) -> Result<(), SubmitError>;
    /// Pushes the second half of a `join` onto this worker's own deque (uncounted, never
    /// refused: its caller takes it back or waits for it); gives it back if the thread holds no
    /// slot.
    fn push_join_half(&self, task: Task) -> Result<(), Task>;
}

#[cfg(not(loom))]
thread_local! {
    /// The worker context of the pool this thread works for, if it is a worker thread.
    // `const`: no lazy initialisation to check, one thread-local load per access.
    static CURRENT_WORKER: RefCell<Option<Rc<dyn WorkerContext>>> = const { RefCell::new(None) };
}

#[cfg(loom)]
thread_local! {
    /// The worker context of the pool this thread works for (loom's thread-locals: one per
    /// model thread).
    static CURRENT_WORKER: RefCell<Option<Rc<dyn WorkerContext>>> = RefCell::new(None);
}

#[cfg(not(loom))]
thread_local! {
    /// The id of the pool this thread works for (`NO_POOL` on other threads): one plain
    /// thread-local load (no destructor to register, no borrow flag) answers "is this thread a
    /// worker of pool p?", which every submit and every wait asks.
    static CURRENT_POOL: Cell<usize> = const { Cell::new(NO_POOL) };
}

#[cfg(loom)]
thread_local! {
    static CURRENT_POOL: Cell<usize> = Cell::new(NO_POOL);
}

/// The id of the pool this thread is a worker of, or `NO_POOL`.
#[inline]
pub(crate) fn current_pool() -> usize {
    CURRENT_POOL.with(Cell::get)
}

/// The context of the worker running on this thread, if any.
pub(crate) fn current_worker() -> Option<Rc<dyn WorkerContext>> {
    if current_pool() == NO_POOL {
        return None;
    }
    CURRENT_WORKER.with(|current| current.borrow().clone())
}

/// Calls `f` with the context of the worker running on this thread if it is a worker of pool
/// `pool_id`, without cloning it (the submit fast path); returns `None` on other threads.
/// `f` must not enter or leave a worker.
pub(crate) fn with_worker_of<R>(pool_id: usize, f: impl FnOnce(&dyn WorkerContext) -> R) -> Option<R> {
    if current_pool() != pool_id {
        return None;
    }
    CURRENT_WORKER.with(|current| current.borrow().as_deref().map(f))
}

thread_local! {
    /// The parker an ordinary (non-worker) thread blocks on, reused across waits. A token left
    /// by a late notification of an earlier wait only causes one spurious return.
    static THREAD_PARKER: Arc<Parker> = Arc::new(Parker::new());
}

/// The parker this thread blocks on (also the one a join slot of this thread wakes).
pub(crate) fn thread_parker() -> Arc<Parker> {
    THREAD_PARKER.with(Arc::clone)
}

/// Spin iterations (checking the condition between pause instructions) and then yields an
/// ordinary thread tries before it registers with a future and parks. Most tasks awaited right
/// after submission finish within microseconds; catching that here spares both the waiter's
/// sleep and the completer's wake-up (the completion then takes its lock-free path).
#[cfg(not(loom))]
const SPINS_BEFORE_PARK: usize = 64;
#[cfg(not(loom))]
const YIELDS_BEFORE_PARK: usize = 4;
/// Under loom every spin is a yield, and each yield costs the model checker a preemption to get
/// past: one round keeps the spin path in the models without hiding the races behind it.
#[cfg(loom)]
const SPINS_BEFORE_PARK: usize = 1;
#[cfg(loom)]
const YIELDS_BEFORE_PARK: usize = 0;

/// Yield rounds a pool thread waits before handing its slot off (see `Blocker::block_until`).
#[cfg(not(loom))]
const HAND_OFF_YIELDS: usize = 32;
/// None under loom: each yield costs the model checker a preemption.
#[cfg(loom)]
const HAND_OFF_YIELDS: usize = 0;

/// Spins briefly until `ready()`; returns whether it became true.
pub(crate) fn spin_until(ready: &dyn Fn() -> bool) -> bool {
    for round in 0..SPINS_BEFORE_PARK + YIELDS_BEFORE_PARK {
        if ready() {
            return true;
        }
        if round < SPINS_BEFORE_PARK {
            crate::sync::spin_once();
        } else {
            crate::sync::thread::yield_now();
        }
    }
    ready()
}

/// Marks this thread as a worker for as long as the returned guard lives.
pub(crate) fn enter_worker(context: Rc<dyn WorkerContext>) -> WorkerGuard {
    CURRENT_POOL.with(|pool| pool.set(context.pool_id()));
    CURRENT_WORKER.with(|current| *current.borrow_mut() = Some(context));
    WorkerGuard(())
}

/// Clears the thread's worker context on drop (also when the worker unwinds).
pub(crate) struct WorkerGuard(());

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        // A loom model that failed is torn down by unwinding its blocked threads after loom's
        // runtime has stopped scheduling them: its thread-locals can no longer be reached.
        if crate::sync::unwinding_a_failed_model() {
            return;
        }
        // `try_with`: the thread-local may already be gone while the thread exits.
        let _ = CURRENT_POOL.try_with(|pool| pool.set(NO_POOL));
        let _ = CURRENT_WORKER.try_with(|current| current.borrow_mut().take());
    }
}

/// Turns an optional timeout into an optional deadline; a timeout too large to represent is
/// no deadline at all (waits forever) rather than an overflow panic.
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|timeout| Instant::now().checked_add(timeout))
}

/// Whether `deadline` has passed.
pub(crate) fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// The way the calling thread waits: see the module documentation.
pub(crate) struct Blocker {
    parker: Arc<Parker>,
    /// The calling thread's worker context, if it is a pool thread (of any pool).
    worker: Option<Rc<dyn WorkerContext>>,
    /// Whether that pool owns the awaited work (steal-back allowed).
    owns_work: bool,
}

impl Blocker {
    /// A blocker for the calling thread; `owns_work(pool_id)` tells whether the awaited work
    /// belongs to the pool with that id.
    pub(crate) fn new(owns_work: impl Fn(usize) -> bool) -> Blocker {
        let parker = thread_parker();
        let pool = current_pool();
        if pool == NO_POOL {
            return Blocker { parker, worker: None, owns_work: false };
        }
        Blocker { parker, worker: current_worker(), owns_work: owns_work(pool) }
    }

    /// The worker context to steal awaited tasks back with: a thread of the pool that owns
    /// them.
    pub(crate) fn steal_back_context(&self) -> Option<&dyn WorkerContext> {
        if self.owns_work { self.worker.as_deref() } else { None }
    }

    /// The handle to register with awaited futures.
    pub(crate) fn notifier(&self) -> Arc<dyn Notify> {
        self.parker.clone()
    }

    /// Blocks until `ready()` holds (returns true) or `deadline` passes (returns false). A pool
    /// thread hands its slot off first, unless the condition comes true within a short spin.
    pub(crate) fn block_until(&self, ready: &dyn Fn() -> bool, deadline: Option<Instant>) -> bool {
        if let Some(worker) = &self.worker {
            if ready() || spin_until(ready) {
                return true;
            }
            // A hand-off wakes (or starts) a spare thread: tens of microseconds. Most waits on a
            // task running elsewhere in nested fork-join are shorter: give them that long first,
            // yielding the CPU between looks.
            // (Empty under loom, where each yield would cost the model checker a preemption.)
            #[cfg_attr(loom, allow(clippy::reversed_empty_ranges))]
            for _ in 0..HAND_OFF_YIELDS {
                if expired(deadline) {
                    return false;
                }
                crate::sync::thread::yield_now();
                if ready() {
                    return true;
                }
            }
            if expired(deadline) {
                return false;
            }
            worker.hand_off_slot();
        }
        loop {
            if ready() {
                return true;
            }
            if expired(deadline) {
                return false;
            }
            self.parker.park(deadline);
        }
    }
}

/// Switch to a new stack segment when less than this is left (generous: a task's own frames
/// come on top of the helping loop's).
#[cfg(not(loom))]
pub(crate) const RED_ZONE: usize = 128 * 1024;

/// Size of each new stack segment.
#[cfg(not(loom))]
pub(crate) const SEGMENT: usize = 2 * 1024 * 1024;

/// Runs `run` on the current stack, or on a fresh segment if the current one is nearly full.
pub(crate) fn run_on_growable_stack<R>(run: impl FnOnce() -> R) -> R {
    #[cfg(not(loom))]
    {
        stacker::maybe_grow(RED_ZONE, SEGMENT, run)
    }
    #[cfg(loom)]
    {
        run()
    }
}
