//! Per-worker counters, cheap enough to leave on.
//!
//! Each worker owns one cache-padded block of counters and is its only writer, so an increment
//! is a relaxed load and store on a line no other core writes (no atomic read-modify-write, no
//! cache-line ping-pong). [`PoolStats`] aggregates them when read; a read while workers run is a
//! snapshot, exact once the pool is shut down.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// The counters of one worker. Written only by that worker (see the module doc).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) tasks_run: AtomicU64,
    pub(crate) tasks_skipped: AtomicU64,
    pub(crate) tasks_submitted: AtomicU64,
    pub(crate) tasks_stolen: AtomicU64,
    pub(crate) steal_attempts: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) wakeups: AtomicU64,
}

/// Adds one to a counter that only the calling thread writes.
pub(crate) fn bump(counter: &AtomicU64) {
    // Relaxed: the counters order nothing; a single writer needs no read-modify-write.
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// One block of counters per worker, padded against false sharing.
pub(crate) struct WorkerCounters {
    blocks: Box<[CachePadded<Counters>]>,
}

impl WorkerCounters {
    pub(crate) fn new(workers: usize) -> Self {
        WorkerCounters { blocks: (0..workers).map(|_| CachePadded::new(Counters::default())).collect() }
    }

    pub(crate) fn of(&self, worker: usize) -> &Counters {
        &self.blocks[worker]
    }

    pub(crate) fn snapshot(&self) -> Vec<WorkerStats> {
        self.blocks
            .iter()
            .map(|counters| {
                let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
                WorkerStats {
                    tasks_run: read(&counters.tasks_run),
                    tasks_skipped: read(&counters.tasks_skipped),
                    tasks_submitted: read(&counters.tasks_submitted),
                    tasks_stolen: read(&counters.tasks_stolen),
                    steal_attempts: read(&counters.steal_attempts),
                    parks: read(&counters.parks),
                    wakeups: read(&counters.wakeups),
                }
            })
            .collect()
    }
}

/// What one worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Tasks this worker ran to completion (with a value or a panic).
    pub tasks_run: u64,
    /// Tasks this worker dequeued but did not run: cancelled before they started, or failed
    /// because the pool broke.
    pub tasks_skipped: u64,
    /// Tasks submitted from tasks running on this worker.
    pub tasks_submitted: u64,
    /// Successful steals from another worker's deque (work stealing only); each takes up to half
    /// of the victim's deque, one task to run and the rest into this worker's own deque.
    pub tasks_stolen: u64,
    /// Steal attempts on other workers' deques, successful or not (work stealing only).
    pub steal_attempts: u64,
    /// Times this worker went to sleep for lack of work.
    pub parks: u64,
    /// Times this worker was woken by another thread (new work, a completion, shutdown).
    pub wakeups: u64,
}

/// A snapshot of a pool's counters, from [`ThreadPoolExecutor::stats`](crate::ThreadPoolExecutor::stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// One entry per worker slot (`max_workers` of them; slots never started stay zero).
    pub workers: Vec<WorkerStats>,
    /// Tasks accepted by `submit` (and `map`) in all.
    pub submitted: u64,
    /// Tasks cancelled by `shutdown(cancel_futures = true)` or failed by a broken pool while
    /// still queued, without a worker dequeuing them.
    pub drained: u64,
    /// Tasks run by threads that had handed their worker slot to a spare thread while one of
    /// their tasks waited (steal-back of an awaited task after the hand-off).
    pub tasks_run_without_slot: u64,
    /// Times a waiting task's thread handed its worker slot to a spare thread (compensation).
    pub slot_handoffs: u64,
    /// Spare threads started to take over the slots of waiting tasks (at most the pool's
    /// `max_spare_threads`).
    pub spare_threads_started: usize,
}

impl PoolStats {
    /// Tasks run by all workers.
    pub fn tasks_run(&self) -> u64 {
        self.workers.iter().map(|worker| worker.tasks_run).sum::<u64>() + self.tasks_run_without_slot
    }

    /// Tasks that ended without running: skipped by workers plus drained at shutdown.
    pub fn tasks_not_run(&self) -> u64 {
        self.workers.iter().map(|worker| worker.tasks_skipped).sum::<u64>() + self.drained
    }

    /// Successful steals from other workers' deques.
    pub fn tasks_stolen(&self) -> u64 {
        self.workers.iter().map(|worker| worker.tasks_stolen).sum()
    }

    /// Times workers went to sleep.
    pub fn parks(&self) -> u64 {
        self.workers.iter().map(|worker| worker.parks).sum()
    }
}
