//! A worker thread: its main loop, and helping while it waits.
//!
//! # Main loop
//!
//! Run the initializer (a panic breaks the pool and ends this worker), then repeatedly take the
//! next task from the scheduler and run it; with none, park until there may be work. Exit when no
//! task is found and the pool is quiescent (closed, no submission in flight): since the queues
//! can then only shrink, one more look that finds nothing means this worker's share is done.
//!
//! # Helping while waiting
//!
//! A task that waits (`Future::result`, `wait`, `as_completed`, `shutdown(wait)`) on work of its
//! own pool does not block its worker: [`WorkerCtx::help_until`] keeps running queued tasks of the
//! pool until the wait is over, as rayon-core's `wait_until` does, so nested submit-and-wait
//! cannot deadlock the pool (CPython's documented deadlock). Before helping with unrelated work,
//! `Future::result` runs the awaited task itself if it is still queued ("steals it back"): the
//! task runs inline and its children land on this worker's deque, which it pops first.
//!
//! **Stack depth.** Helping runs tasks on the waiter's stack, so a chain of nested waits nests
//! frames. Each task run by a worker (from a queue or inline) goes through
//! `blocking::run_on_growable_stack` when it runs while waiting (the main loop runs at the bottom
//! of the thread's stack and skips the check), which switches to a
//! freshly allocated stack segment when less than `blocking::RED_ZONE` bytes remain (the `stacker`
//! crate, as rustc uses for deep recursion). Depth is therefore bounded by memory, not by the
//! thread's stack: a chain of 10 000 nested waits completes. Bounding the depth instead would
//! deadlock such a chain on a small pool (the bounded waiter could neither help nor be helped).
//!
//! **Remaining hazard.** Helping runs an *unrelated* task when the awaited one is running
//! elsewhere. So (a) a waiter may return later than its future finished, held up by a long task
//! it picked up; (b) a task that waits while holding a lock may run another task that takes the
//! same lock: with `std::sync::Mutex` that is a deadlock (or a panic), as in rayon (issues #592,
//! #1083, #1251). Rule: do not hold a lock across `result()`, `wait()` or `as_completed()` on a
//! future of the same pool.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Instant;

use crate::blocking::{self, Notify, WorkerContext};
use crate::error::{SubmitError, TaskPanic};
use crate::scheduler::{Scheduler, Task};
use crate::stats::bump;
use crate::sync::Arc;
use crate::thread_pool::pool::Pool;

/// The thread-local identity of a worker: which pool, which slot, and its scheduler state.
pub(crate) struct WorkerCtx<S: Scheduler> {
    pub(crate) pool: Arc<Pool<S>>,
    pub(crate) index: usize,
    pub(crate) local: S::Local,
}

impl<S: Scheduler> WorkerContext for WorkerCtx<S> {
    fn pool_id(&self) -> usize {
        self.pool.pool_id()
    }

    fn notifier(&self) -> Arc<dyn Notify> {
        self.pool.scheduler.notifier(&self.local)
    }

    /// Waits until `ready()`; tries to keep busy by popping and stealing tasks meanwhile.
    fn help_until(&self, ready: &dyn Fn() -> bool, deadline: Option<Instant>) -> bool {
        loop {
            if ready() {
                return true;
            }
            if let Some(task) = self.pool.scheduler.next_task(&self.local) {
                blocking::run_on_growable_stack(|| self.pool.run_task(self.index, task));
                continue;
            }
            if blocking::expired(deadline) {
                return false;
            }
            self.pool.scheduler.park(&self.local, ready, deadline);
        }
    }

    fn run_queued(&self) {
        while let Some(task) = self.pool.scheduler.next_task(&self.local) {
            blocking::run_on_growable_stack(|| self.pool.run_task(self.index, task));
        }
    }

    fn record_inline_run(&self) {
        bump(&self.pool.counters.of(self.index).tasks_run);
    }

    fn discard_awaited_entry(&self, awaited: usize) -> bool {
        self.pool.scheduler.discard_top(&self.local, awaited)
    }

    fn submit_local(&self, task: Task) -> Result<(), SubmitError> {
        self.pool.submit_local(self, task)
    }
}

/// Decrements the live count when the worker exits, even by unwinding.
struct ExitGuard<S: Scheduler>(Arc<Pool<S>>);

impl<S: Scheduler> Drop for ExitGuard<S> {
    fn drop(&mut self) {
        // A failed loom model's blocked threads are unwound after loom stopped scheduling them:
        // there is nobody left to tell, and loom's locks can no longer be taken.
        #[cfg(loom)]
        if std::thread::panicking() {
            return;
        }
        self.0.worker_exited();
    }
}

/// The body of worker thread `index` (see the module documentation).
pub(crate) fn main<S: Scheduler>(pool: Arc<Pool<S>>, index: usize) {
    let _exit = ExitGuard(pool.clone());
    let context = Rc::new(WorkerCtx { local: pool.scheduler.local(index), pool: pool.clone(), index });
    let _worker = blocking::enter_worker(context.clone());

    if let Some(initializer) = pool.initializer() {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| initializer())) {
            let panic = TaskPanic::from_payload(&*payload);
            pool.break_pool(format!("a worker's initializer panicked: {}", panic.message()), false);
            return;
        }
    }

    let scheduler = &pool.scheduler;
    let quiescent = || pool.quiescent();
    loop {
        if let Some(task) = scheduler.next_task(&context.local) {
            pool.run_task(index, task);
            continue;
        }
        if pool.quiescent() {
            #[cfg(loom)]
            if crate::faults::injected(crate::faults::Fault::SkipFinalLook) {
                break;
            }
            // The queues can only shrink now: one more look, then this worker is done.
            match scheduler.next_task(&context.local) {
                Some(task) => pool.run_task(index, task),
                None => break,
            }
            continue;
        }
        scheduler.park(&context.local, &quiescent, None);
    }
}
