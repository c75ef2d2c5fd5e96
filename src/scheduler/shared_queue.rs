//! The baseline scheduler: one FIFO queue, shared by all workers, who sleep when it is empty.
//!
//! This is the design of CPython's `ThreadPoolExecutor` (one `queue.SimpleQueue` every worker
//! takes from) and of the `threadpool` crate (one channel every worker receives from): every
//! submission, from outside or from a task, goes to the back of the one queue, and every worker
//! takes from its front. There is no queue per worker and no stealing: that difference, and only
//! that, separates this scheduler from [`super::stealing`].
//!
//! The queue is `crossbeam-deque`'s `Injector` (a lock-free FIFO of blocks; the work-stealing
//! scheduler's queue for outside submissions), so that, as in `threadpool`'s channel, a submitter
//! never waits for a worker that holds a lock. Idle workers sleep under the protocol of
//! [`super::sleep`], the same as the work-stealing scheduler's (a push wakes one sleeper unless
//! a woken worker is still searching, and the last searcher to find work wakes one more), so the
//! two schedulers differ in their queues, not in how eagerly they sleep or whom they wake.
//!
//! An earlier version was a `Mutex<VecDeque>` with a condition variable, the textbook form: the
//! submitter and the workers then contended for one lock on every push and every pop, and the
//! baseline ran 1.2–1.6× behind `threadpool` on bursts of empty tasks (papers/stealpool.md §4.0).

use std::time::Instant;

use crate::scheduler::sleep::Sleep;
use crate::scheduler::{Scheduler, SchedulerConfig, Task};
use crate::stats::WorkerCounters;
use crate::sync::{Arc, Injector, Steal};

/// See the module documentation.
pub(crate) struct SharedQueue {
    tasks: Injector<Task>,
    sleep: Sleep,
    counters: Arc<WorkerCounters>,
}

/// What a shared-queue worker thread owns: its index, and whether it was woken to search.
pub(crate) struct SharedLocal {
    index: usize,
    /// Whether this worker was woken to search and has not found work since (`sleep`).
    searching: std::cell::Cell<bool>,
}

impl SharedQueue {
    fn pop(&self) -> Option<Task> {
        loop {
            match self.tasks.steal() {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Whether the queue holds a task (the re-check of the sleep protocol).
    fn has_work(&self) -> bool {
        !self.tasks.is_empty()
    }
}

impl Scheduler for SharedQueue {
    type Local = SharedLocal;

    fn new(config: SchedulerConfig, counters: Arc<WorkerCounters>) -> Self {
        SharedQueue { tasks: Injector::new(), sleep: Sleep::new(config.workers), counters }
    }

    fn local(&self, index: usize) -> SharedLocal {
        SharedLocal { index, searching: std::cell::Cell::new(false) }
    }

    fn push_external(&self, task: Task) {
        self.tasks.push(task);
        self.sleep.notify_one();
    }

    fn push_local(&self, _local: &SharedLocal, task: Task) {
        self.push_external(task);
    }

    fn next_task(&self, local: &SharedLocal) -> Option<Task> {
        let task = self.pop();
        if task.is_some() && local.searching.replace(false) {
            self.sleep.end_search(&|| self.has_work());
        }
        task
    }

    fn park(&self, local: &SharedLocal, ready: &dyn Fn() -> bool, deadline: Option<Instant>) {
        let counters = self.counters.of(local.index);
        let searching = local.searching.replace(false);
        let woken = self.sleep.sleep(local.index, counters, &|| self.has_work(), ready, deadline, searching);
        local.searching.set(woken);
    }

    fn wake_all(&self) {
        self.sleep.notify_all();
    }

    fn drain(&self) -> Vec<Task> {
        std::iter::from_fn(|| self.pop()).collect()
    }

    fn looks_idle(&self, _local: &SharedLocal) -> bool {
        self.tasks.is_empty()
    }
}
