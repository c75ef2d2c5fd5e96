//! The scheduler interface and its two implementations.
//!
//! A scheduler owns the queues of one pool and the way its idle workers sleep. The executor
//! (`thread_pool`) only pushes tasks, asks for the next one, parks a worker that found none, and
//! wakes everyone at shutdown; it never learns which scheduler it drives. The interface is small
//! on purpose (push from outside, push from a worker, find work, park, wake, drain):
//!
//! - [`SharedQueue`]: the baseline, one queue that every worker takes from — the design of
//!   CPython's `ThreadPoolExecutor` and of the `threadpool` crate.
//! - [`WorkStealing`]: per-worker deques, an injector and stealing (Blumofe & Leiserson 1999;
//!   Arora, Blumofe & Plaxton 1998).
//!
//! Idle workers of both park under the protocol of [`sleep`], so the two differ only in their
//! queues.
//!
//! Both must uphold: a task pushed is returned by `next_task` to exactly one worker or by
//! `drain` exactly once (never lost, never duplicated); a worker parked with work available, or
//! with its `ready()` condition true, is woken.

use std::time::Instant;

use crate::future::Runnable;
use crate::stats::WorkerCounters;
use crate::sync::Arc;

pub(crate) mod shared_queue;
pub(crate) mod sleep;
pub(crate) mod stealing;

pub(crate) use shared_queue::SharedQueue;
pub(crate) use stealing::WorkStealing;

/// A queued task: its future's cell, type-erased.
pub(crate) type Task = Arc<dyn Runnable>;

/// Which scheduler a [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchedulerKind {
    /// Per-worker deques with stealing (the default).
    #[default]
    WorkStealing,
    /// One shared FIFO queue all workers block on (the baseline, "naive channel pool").
    SharedQueue,
}

/// Which end of its own deque a work-stealing worker pops (thieves always take the other end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LocalOrder {
    /// Newest first: depth-first execution of nested work, as rayon does (the default).
    #[default]
    Lifo,
    /// Oldest first: fairer for independent tasks, as tokio's run queue does.
    Fifo,
}

/// Options a scheduler is built with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SchedulerConfig {
    pub(crate) workers: usize,
    pub(crate) local_order: LocalOrder,
}

/// See the module documentation.
pub(crate) trait Scheduler: Send + Sync + Sized + 'static {
    /// What a worker slot owns: its index, and its own deque where there is one. `Send`: a
    /// waiting task's thread hands its slot to another thread (`thread_pool::worker`).
    type Local: Send;

    fn new(config: SchedulerConfig, counters: Arc<WorkerCounters>) -> Self;

    /// Called once on the worker thread with index `index`, before it looks for work.
    fn local(&self, index: usize) -> Self::Local;

    /// Queues a task submitted from outside the pool.
    fn push_external(&self, task: Task);

    /// Queues a task submitted by a task running on the worker that owns `local`.
    fn push_local(&self, local: &Self::Local, task: Task);

    /// The next task for this worker, without blocking.
    fn next_task(&self, local: &Self::Local) -> Option<Task>;

    /// Puts the worker to sleep until work may be available, `ready()` holds, or `deadline`
    /// passes. May return early.
    fn park(&self, local: &Self::Local, ready: &dyn Fn() -> bool, deadline: Option<Instant>);

    /// Pops entries off the top of this worker's own queue while they are the task whose cell
    /// is at `awaited` or are stale (run elsewhere, cancelled); stops at the first other entry,
    /// which stays. A no-op where a worker has no queue of its own or pops FIFO.
    /// Returns whether it removed the awaited task's entry.
    fn discard_top(&self, _local: &Self::Local, _awaited: usize) -> bool {
        false
    }

    /// Wakes every parked worker so that each re-checks its `ready()` condition.
    fn wake_all(&self);

    /// Removes and returns every queued task.
    fn drain(&self) -> Vec<Task>;

    /// Whether this worker's next look for work will likely find none (it is about to be idle):
    /// a cheap, racy hint for starting threads.
    fn looks_idle(&self, _local: &Self::Local) -> bool {
        true
    }
}
