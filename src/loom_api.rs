//! Crate internals for the loom models in `loom-tests/`; built only with `--cfg loom`, so the
//! public API of normal builds is unchanged.
//!
//! The models drive the public API where it reaches the race (`Future`, `Promise`, `wait`,
//! `as_completed`, `ThreadPoolExecutor`), and these thin wrappers where it does not: a queued
//! task that a model thread runs by hand (the worker's side of the lifecycle), and the
//! work-stealing scheduler without a pool around it (the parking protocol on its own).

pub use crate::faults::{Fault, Injected, inject};

use crate::future::state::NO_POOL;
use crate::future::{Future, RunResult, TaskCell};
use crate::scheduler::stealing::StealingLocal;
use crate::scheduler::{LocalOrder, Scheduler, SchedulerConfig, WorkStealing};
use crate::stats::WorkerCounters;
use crate::sync::Arc;

/// What running a queued task did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// This call ran the task.
    Ran,
    /// It was cancelled (or failed) before it started.
    Skipped,
    /// Another call already ran it.
    RanElsewhere,
}

/// A task as the scheduler's queues hold it, with no pool: its future is waited on as an
/// ordinary thread waits (no helping).
#[derive(Clone)]
pub struct Task(crate::scheduler::Task);

impl Task {
    /// A pending task running `func`, and its future.
    pub fn new<T, F>(func: F) -> (Task, Future<T>)
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (cell, future) = TaskCell::new(NO_POOL, func);
        (Task(cell), future)
    }

    /// What a worker does with a dequeued task: start it unless it was cancelled, run it,
    /// complete its future.
    pub fn run(&self) -> Run {
        match self.0.clone().run(&|| {}) {
            RunResult::Ran => Run::Ran,
            RunResult::Cancelled => Run::Skipped,
            RunResult::RanElsewhere => Run::RanElsewhere,
            RunResult::JoinHalf => Run::Ran,
        }
    }
}

/// The work-stealing scheduler on its own.
pub struct Stealing(WorkStealing);

/// What one worker thread of a [`Stealing`] scheduler owns.
pub struct StealingWorker(StealingLocal);

impl Stealing {
    /// A scheduler for `workers` workers (LIFO local order).
    pub fn new(workers: usize) -> Self {
        let config = SchedulerConfig { workers, local_order: LocalOrder::Lifo };
        Stealing(WorkStealing::new(config, Arc::new(WorkerCounters::new(workers))))
    }

    /// The state of worker `index`; call once per index.
    pub fn worker(&self, index: usize) -> StealingWorker {
        StealingWorker(self.0.local(index))
    }

    /// Queues a task from outside the pool (into the injector) and wakes a sleeper if any.
    pub fn push_external(&self, task: Task) {
        self.0.push_external(task.0);
    }

    /// The next task for `worker`, without blocking.
    pub fn next_task(&self, worker: &StealingWorker) -> Option<Task> {
        self.0.next_task(&worker.0).map(Task)
    }

    /// Parks `worker` under the sleep protocol until there may be work or `ready()` holds.
    pub fn park(&self, worker: &StealingWorker, ready: &dyn Fn() -> bool) {
        self.0.park(&worker.0, ready, None);
    }

    /// Wakes every parked worker.
    pub fn wake_all(&self) {
        self.0.wake_all();
    }
}
