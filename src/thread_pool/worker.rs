//! A pool thread: its main loop, and what it does when a task it runs has to wait.
//!
//! # Slots and threads
//!
//! A pool has `max_workers` *slots*: a slot is a worker's index and its scheduler state (its own
//! deque under work stealing). A thread runs tasks only while it holds a slot, so at most
//! `max_workers` threads run tasks from the queues at any time: the pool's parallelism. Threads
//! start lazily, each with a fresh slot, up to `max_workers` (as CPython's).
//!
//! # Main loop
//!
//! Run the initializer (a panic breaks the pool and ends this thread), then repeatedly take the
//! next task from the scheduler and run it; with none, park until there may be work. A thread
//! whose slot is gone (it handed it off while one of its tasks waited, below) becomes a *spare*:
//! it parks until another thread hands it a slot. Exit when no task is found and the pool is
//! quiescent (closed, no submission in flight): the queues can then only shrink, so one more
//! look that finds nothing means this thread's share is done; a spare exits at that point too.
//!
//! # Waiting without adding deadlocks
//!
//! A task that waits on a future never runs an *unrelated* task on its stack (that task could
//! wait for the waiter, which cannot resume under it: a deadlock that a thread per task does not
//! have). Instead (`crate::blocking`):
//!
//! 1. **Steal-back.** If the awaited task is still queued, the waiter runs it itself: it would
//!    block on it anyway, so this cannot add a wait. Children it submits land on this thread's
//!    deque, popped first. (Untimed waits only: a timed wait must not start work that may
//!    outlast its deadline.)
//! 2. **Compensation.** Otherwise, after a short spin, the waiter hands its slot to a spare
//!    thread (an idle one, or a new one) and blocks: the pool keeps `max_workers` threads on the
//!    queues, as Java's `ForkJoinPool` does for managed blocking and tokio's `block_in_place`
//!    does with its worker core. The waiting task resumes without a slot (its submits go through
//!    the injector) and its thread becomes a spare when the task returns. Up to
//!    `max_spare_threads` threads beyond `max_workers` exist at once; at that cap a waiter blocks
//!    holding its slot (the pool then behaves as a bounded pool of blocked threads would).
//!
//! So a wait on a stealpool future never keeps a queued task from starting (below the cap). A
//! task that blocks on something else (a channel, a lock) holds its slot, as on any bounded pool.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use crate::blocking::{self, WorkerContext};
use crate::error::{BrokenReason, SubmitError, TaskPanic};
use crate::scheduler::{Scheduler, Task};
use crate::stats::bump;
use crate::sync::Arc;
use crate::thread_pool::pool::Pool;

/// A worker slot: an index and the scheduler's state for it. Held by one thread at a time.
pub(crate) struct Slot<S: Scheduler> {
    pub(crate) index: usize,
    pub(crate) local: S::Local,
}

/// The thread-local identity of a pool thread: which pool, and the slot it holds, if any.
pub(crate) struct WorkerCtx<S: Scheduler> {
    pub(crate) pool: Arc<Pool<S>>,
    pub(crate) slot: RefCell<Option<Slot<S>>>,
    /// Whether this thread left an idle token since it last took a task (`Pool::run_task`).
    pub(crate) left_idle_token: std::cell::Cell<bool>,
}

impl<S: Scheduler> WorkerContext for WorkerCtx<S> {
    fn pool_id(&self) -> usize {
        self.pool.pool_id()
    }

    fn run_queued(&self) {
        loop {
            let task = match &*self.slot.borrow() {
                Some(slot) => self.pool.scheduler.next_task(&slot.local),
                None => return,
            };
            let Some(task) = task else { return };
            blocking::run_on_growable_stack(|| self.pool.run_task(self, task));
        }
    }

    fn record_inline_run(&self) {
        match &*self.slot.borrow() {
            Some(slot) => bump(&self.pool.counters.of(slot.index).tasks_run),
            None => self.pool.count_slotless_run(),
        }
    }

    fn discard_awaited_entry(&self, awaited: usize) -> bool {
        match &*self.slot.borrow() {
            Some(slot) => self.pool.scheduler.discard_top(&slot.local, awaited),
            None => false,
        }
    }

    fn submit_local(&self, task: Task) -> Result<(), SubmitError> {
        self.pool.submit_local(self, task)
    }

    fn push_join_half(&self, task: Task) -> Result<(), Task> {
        match &*self.slot.borrow() {
            Some(slot) => {
                self.pool.scheduler.push_local(&slot.local, task);
                // Lazily started pools: a thread that could steal it.
                self.pool.start_worker_if_needed();
                Ok(())
            }
            None => Err(task),
        }
    }

    fn hand_off_slot(&self) -> bool {
        let Some(slot) = self.slot.borrow_mut().take() else { return false };
        match self.pool.hand_off(slot) {
            Ok(()) => {
                // The slot's CPU is the spare's now; this thread waits (and resumes its task)
                // anywhere, until it takes a slot again.
                self.pool.unpin();
                true
            }
            Err(slot) => {
                *self.slot.borrow_mut() = Some(slot);
                false
            }
        }
    }
}

/// Decrements the live count when the thread exits, even by unwinding.
struct ExitGuard<S: Scheduler>(Arc<Pool<S>>);

impl<S: Scheduler> Drop for ExitGuard<S> {
    fn drop(&mut self) {
        // A failed loom model's blocked threads are unwound after loom stopped scheduling them:
        // there is nobody left to tell, and loom's locks can no longer be taken.
        if crate::sync::unwinding_a_failed_model() {
            return;
        }
        self.0.worker_exited();
    }
}

/// The body of a pool thread that starts with `slot` (see the module documentation).
pub(crate) fn main<S: Scheduler>(pool: Arc<Pool<S>>, slot: Slot<S>) {
    let _exit = ExitGuard(pool.clone());
    pool.pin_to_slot(slot.index);
    let context = Rc::new(WorkerCtx {
        pool: pool.clone(),
        slot: RefCell::new(Some(slot)),
        left_idle_token: std::cell::Cell::new(false),
    });
    let _worker = blocking::enter_worker(context.clone());

    if let Some(initializer) = pool.initializer()
        && let Err(payload) = catch_unwind(AssertUnwindSafe(|| initializer()))
    {
        let panic = TaskPanic::from_payload(&*payload);
        pool.break_pool(BrokenReason::InitializerPanicked(panic), false);
        return;
    }

    loop {
        if run_with_slot(&context) {
            return;
        }
        // The slot was handed off while a task waited; the task is over: wait for a slot.
        match pool.wait_for_slot() {
            Some(slot) => {
                pool.pin_to_slot(slot.index);
                *context.slot.borrow_mut() = Some(slot);
            }
            None => return,
        }
    }
}

/// Runs tasks while this thread holds a slot. Returns true when the pool is done with this
/// thread, false when the slot was handed off.
fn run_with_slot<S: Scheduler>(context: &WorkerCtx<S>) -> bool {
    let pool = &*context.pool;
    let scheduler = &pool.scheduler;
    let quiescent = || pool.quiescent();
    loop {
        let task = {
            let slot = context.slot.borrow();
            let Some(slot) = &*slot else { return false };
            match scheduler.next_task(&slot.local) {
                Some(task) => Some(task),
                None if pool.quiescent() => {
                    #[cfg(loom)]
                    if crate::faults::injected(crate::faults::Fault::SkipFinalLook) {
                        return true;
                    }
                    // The queues can only shrink now: one more look, then this thread is done.
                    match scheduler.next_task(&slot.local) {
                        Some(task) => Some(task),
                        None => return true,
                    }
                }
                None => {
                    scheduler.park(&slot.local, &quiescent, None);
                    None
                }
            }
        };
        if let Some(task) = task {
            if context.left_idle_token.replace(false) {
                // Busy again: take back the token this thread left, if no submission took it.
                pool.acquire_idle_token();
            }
            pool.run_task(context, task);
        }
    }
}
