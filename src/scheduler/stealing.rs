//! The work-stealing scheduler: a deque per worker, an injector for submissions from outside,
//! and random-victim stealing.
//!
//! The algorithm is the randomized work stealing of Blumofe & Leiserson (1999) over the
//! non-blocking deques of Arora, Blumofe & Plaxton (1998), whose dynamic circular form is Chase &
//! Lev (2005), with the weak-memory orderings of Lê et al. (2013); the deques are
//! `crossbeam-deque`'s implementation of the last two. A worker finds its next task the way
//! crossbeam-deque's documentation recommends:
//!
//! ```text
//! own deque (pop)  ->  injector (steal a batch, run one)  ->  other deques (steal a batch,
//!                                                            run one), from a random victim onwards
//! ```
//!
//! A task submitted by a task goes to the submitting worker's own deque, so nested work stays on
//! the worker that spawned it (and in its cache) until an idle worker steals it: with the LIFO
//! local order (the default, as rayon) a worker runs its newest task first, depth-first, while
//! thieves take the oldest, largest pieces. Submissions from outside go to the shared injector
//! in FIFO order. Idle workers sleep under the protocol of [`super::sleep`].

use std::time::Instant;

use crate::scheduler::sleep::Sleep;
use crate::scheduler::{LocalOrder, Scheduler, SchedulerConfig, Task};
use crate::stats::{WorkerCounters, bump};
use crate::sync::{Arc, Injector, Mutex, Steal, Stealer, Worker, lock};

/// See the module documentation.
pub(crate) struct WorkStealing {
    injector: Injector<Task>,
    stealers: Box<[Stealer<Task>]>,
    /// The workers' own deques, until each worker thread takes its own (`local`).
    deques: Mutex<Vec<Option<Worker<Task>>>>,
    sleep: Sleep,
    counters: Arc<WorkerCounters>,
    /// Whether workers pop their own deques LIFO (`discard_top` works on the top only then).
    lifo: bool,
}

/// What a work-stealing worker thread owns.
pub(crate) struct StealingLocal {
    index: usize,
    deque: Worker<Task>,
    /// Chooses the first victim of each stealing round.
    rng: std::cell::Cell<u64>,
    /// The identity of the task this worker pushed last, while it is known to be on top of the
    /// deque (0 once the worker popped since): lets `discard_top` pop the awaited task without
    /// first popping (and pushing back) a different one.
    top: std::cell::Cell<usize>,
    /// An upper bound on the stale entries (tasks run inline or cancelled elsewhere) that
    /// `discard_top` left in the deque: when it is zero, `discard_top` stops at the awaited
    /// entry instead of popping (and pushing back) the live task beneath it.
    stale: std::cell::Cell<usize>,
    /// Whether this worker was woken to search and has not found work since (`sleep`).
    searching: std::cell::Cell<bool>,
}

impl StealingLocal {
    /// A random index in `0..n` (splitmix64 step; quality is ample for picking victims).
    fn random_below(&self, n: usize) -> usize {
        let mut z = self.rng.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.rng.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

impl WorkStealing {
    /// Steals the oldest task of another worker, visiting every victim once from a random
    /// start.
    fn steal_from_others(&self, local: &StealingLocal) -> Option<Task> {
        let count = self.stealers.len();
        if count <= 1 {
            return None;
        }
        let counters = self.counters.of(local.index);
        let start = local.random_below(count);
        loop {
            let mut retry = false;
            for offset in 0..count {
                let victim = (start + offset) % count;
                if victim == local.index {
                    continue;
                }
                bump(&counters.steal_attempts);
                // One task, the victim's oldest (rayon's choice), not half its deque: in
                // fork-join the oldest entry is the largest piece of work, and a batch moved to
                // this deque would be run newest (smallest) first, while its owner, unwinding
                // its recursion, claims back or waits for the rest. Batches made a depth-16
                // `join` tree at 2 workers no faster than the inline loop (62–70 ms against
                // 66–72); one task at a time: 42.8 ms, rayon 37.3 (quick runs of `cargo bench
                // --bench compare`, filter `nested-d16`). Batches stay for the injector.
                match self.stealers[victim].steal() {
                    Steal::Success(task) => {
                        bump(&counters.tasks_stolen);
                        return Some(task);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Takes a batch from the injector into the local deque and returns one task of it.
    fn steal_from_injector(&self, local: &StealingLocal) -> Option<Task> {
        loop {
            match self.injector.steal_batch_and_pop(&local.deque) {
                Steal::Success(task) => {
                    // More work left behind, in the injector or in the batch just moved to this
                    // worker's deque: wake one more worker for it (see `sleep`, "no thundering
                    // herd").
                    if !self.injector.is_empty() || !local.deque.is_empty() {
                        self.sleep.notify_one();
                    }
                    return Some(task);
                }
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    /// Whether any queue holds a task (the re-check of the sleep protocol).
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }
}

impl Scheduler for WorkStealing {
    type Local = StealingLocal;

    fn new(config: SchedulerConfig, counters: Arc<WorkerCounters>) -> Self {
        let deques: Vec<Worker<Task>> = (0..config.workers)
            .map(|_| match config.local_order {
                LocalOrder::Lifo => Worker::new_lifo(),
                LocalOrder::Fifo => Worker::new_fifo(),
            })
            .collect();
        WorkStealing {
            injector: Injector::new(),
            stealers: deques.iter().map(Worker::stealer).collect(),
            deques: Mutex::new(deques.into_iter().map(Some).collect()),
            sleep: Sleep::new(config.workers),
            counters,
            lifo: config.local_order == LocalOrder::Lifo,
        }
    }

    fn local(&self, index: usize) -> StealingLocal {
        let deque = lock(&self.deques)[index].take().expect("each worker slot starts one thread");
        StealingLocal {
            index,
            deque,
            rng: std::cell::Cell::new((index as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D)),
            top: std::cell::Cell::new(0),
            stale: std::cell::Cell::new(0),
            searching: std::cell::Cell::new(false),
        }
    }

    fn push_external(&self, task: Task) {
        self.injector.push(task);
        self.sleep.notify_one();
    }

    fn push_local(&self, local: &StealingLocal, task: Task) {
        local.top.set(task.identity());
        local.deque.push(task);
        self.sleep.notify_one();
    }

    fn next_task(&self, local: &StealingLocal) -> Option<Task> {
        local.top.set(0);
        let task = local
            .deque
            .pop()
            .or_else(|| self.steal_from_injector(local))
            .or_else(|| self.steal_from_others(local));
        if task.is_some() && local.searching.replace(false) {
            self.sleep.end_search(&|| self.has_work());
        }
        task
    }

    fn discard_top(&self, local: &StealingLocal, awaited: usize) -> bool {
        let top = local.top.get();
        if !self.lifo || (top != 0 && top != awaited) {
            // The top is a task this worker pushed last and has not popped since: not the
            // awaited one, and (it was pending when pushed) no stale entry to clear above it.
            // The awaited entry, further down, goes stale when the caller runs it inline.
            local.stale.set(local.stale.get() + 1);
            return false;
        }
        let mut removed = false;
        loop {
            if removed && local.stale.get() == 0 {
                // Nothing stale below: leave the next entry where it is.
                local.top.set(0);
                return true;
            }
            let Some(task) = local.deque.pop() else {
                local.top.set(0);
                local.stale.set(0);
                return removed;
            };
            if task.identity() == awaited {
                removed = true;
                continue;
            } else if task.is_pending() {
                // Another live task: back on top, where it was.
                local.top.set(task.identity());
                local.deque.push(task);
                return removed;
            }
            // Else a stale entry (run inline earlier, or cancelled): dropped, and counted as a
            // worker counts a skipped task it dequeues.
            local.stale.set(local.stale.get().saturating_sub(1));
            if task.was_skipped() {
                bump(&self.counters.of(local.index).tasks_skipped);
            }
        }
    }

    fn park(&self, local: &StealingLocal, ready: &dyn Fn() -> bool, deadline: Option<Instant>) {
        let counters = self.counters.of(local.index);
        let searching = local.searching.replace(false);
        let woken = self.sleep.sleep(local.index, counters, &|| self.has_work(), ready, deadline, searching);
        local.searching.set(woken);
    }

    fn wake_all(&self) {
        self.sleep.notify_all();
    }

    fn drain(&self) -> Vec<Task> {
        let mut drained = Vec::new();
        loop {
            match self.injector.steal() {
                Steal::Success(task) => drained.push(task),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        for stealer in self.stealers.iter() {
            loop {
                match stealer.steal() {
                    Steal::Success(task) => drained.push(task),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        drained
    }

    fn looks_idle(&self, local: &StealingLocal) -> bool {
        local.deque.is_empty() && self.injector.is_empty()
    }
}
