//! The baseline scheduler: one FIFO queue, shared by all workers, who block on it.
//!
//! This is the design of CPython's `ThreadPoolExecutor` (a `queue.SimpleQueue` every worker
//! blocks on) and of the `threadpool` crate (a channel behind a mutex): a `Mutex<VecDeque>` and
//! a condition variable. A push takes the lock, appends, and wakes one sleeper if there is one; a
//! worker that finds the queue empty spins a few rounds, then waits on the condition variable. It is the honest baseline the
//! work-stealing scheduler is measured against: every push and pop contends for the one lock.
//!
//! Invariant (no lost wake-up): a worker checks "queue empty and not ready" and goes to sleep
//! while holding the lock, and every push, targeted wake-up and shutdown wake-up takes the lock
//! before notifying; so a notification cannot fall between the check and the sleep.

use std::collections::VecDeque;
use std::time::Instant;

use crate::scheduler::{Scheduler, SchedulerConfig, Task};
use crate::stats::{WorkerCounters, bump};
use crate::sync::{Arc, AtomicUsize, Condvar, Mutex, Ordering, lock};

/// Rounds a worker re-checks the queue (yielding between rounds) before it waits. Each check
/// takes the queue's lock, which the submitter needs for every push: 32 rounds (the work-stealing
/// scheduler's, whose checks take no lock) made 100 000-task bursts at 2 workers 1.3–1.7× slower
/// (`cargo bench --bench burst_system`), so the baseline keeps the `threadpool`-like short spin.
#[cfg(not(loom))]
const SPIN_ROUNDS: usize = 4;
#[cfg(loom)]
const SPIN_ROUNDS: usize = crate::scheduler::sleep::SPIN_ROUNDS;

/// The queue and the condition variable its workers sleep on, shared with their notifiers.
struct Queue {
    tasks: Mutex<VecDeque<Task>>,
    available: Condvar,
    /// Workers waiting on `available` that no push has claimed yet: the idle workers a new
    /// task can count on (read without the lock to decide on starting threads). Written only
    /// under the `tasks` lock.
    sleeping: AtomicUsize,
    /// Waiting workers claimed by a push (its wake-up is on the way). A push moves one sleeper
    /// from `sleeping` to `claimed`, so two quick pushes never count the same sleeper and leave
    /// a task without a thread while slots are free; a worker leaving the wait consumes a
    /// claim if there is one (it looks at the queue either way), else its own `sleeping` entry.
    /// Invariant: `sleeping + claimed` is the number of workers inside the wait.
    claimed: AtomicUsize,
}

/// See the module documentation.
pub(crate) struct SharedQueue {
    queue: Arc<Queue>,
    counters: Arc<WorkerCounters>,
}

impl Scheduler for SharedQueue {
    type Local = usize;

    fn new(_config: SchedulerConfig, counters: Arc<WorkerCounters>) -> Self {
        let queue = Arc::new(Queue {
            tasks: Mutex::new(VecDeque::new()),
            available: Condvar::new(),
            sleeping: AtomicUsize::new(0),
            claimed: AtomicUsize::new(0),
        });
        SharedQueue { queue, counters }
    }

    fn local(&self, index: usize) -> usize {
        index
    }

    fn push_external(&self, task: Task) {
        let claimed_sleeper = {
            let mut tasks = lock(&self.queue.tasks);
            tasks.push_back(task);
            // Claim the sleeper this push wakes (see `Queue::claimed`).
            let sleeping = self.queue.sleeping.load(Ordering::Relaxed) > 0;
            if sleeping {
                self.queue.sleeping.fetch_sub(1, Ordering::Relaxed);
                self.queue.claimed.fetch_add(1, Ordering::Relaxed);
            }
            sleeping
        };
        // Signal only when a sleeper was claimed: with none, every waiting worker already has a
        // wake-up on the way and every other worker looks at the queue before it waits, so the
        // signal (a system call) would wake nobody.
        if claimed_sleeper {
            self.queue.available.notify_one();
        }
    }

    fn push_local(&self, _local: &usize, task: Task) {
        self.push_external(task);
    }

    fn next_task(&self, _local: &usize) -> Option<Task> {
        lock(&self.queue.tasks).pop_front()
    }

    fn park(&self, local: &usize, ready: &dyn Fn() -> bool, deadline: Option<Instant>) {
        let counters = self.counters.of(*local);
        // Spin a few rounds first, as the sleep protocol of the work-stealing scheduler does
        // (and as the `threadpool` crate's channel does before it blocks), so that the two
        // schedulers differ in their queues, not in how eagerly they sleep.
        for _ in 0..SPIN_ROUNDS {
            if !lock(&self.queue.tasks).is_empty() || ready() {
                return;
            }
            crate::sync::thread::yield_now();
        }
        let mut tasks = lock(&self.queue.tasks);
        if !tasks.is_empty() || ready() {
            return;
        }
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::SplitQueueCheck) {
            drop(tasks);
            tasks = lock(&self.queue.tasks);
        }
        bump(&counters.parks);
        // Relaxed: only a hint for starting threads; correctness rests on the lock.
        self.queue.sleeping.fetch_add(1, Ordering::Relaxed);
        tasks = match deadline {
            None => self.queue.available.wait(tasks).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                let timeout = deadline.saturating_duration_since(Instant::now());
                self.queue.available.wait_timeout(tasks, timeout).unwrap_or_else(|e| e.into_inner()).0
            }
        };
        // Still under the lock: keep `sleeping + claimed` equal to the workers inside the wait.
        if self.queue.claimed.load(Ordering::Relaxed) > 0 {
            self.queue.claimed.fetch_sub(1, Ordering::Relaxed);
        } else {
            self.queue.sleeping.fetch_sub(1, Ordering::Relaxed);
        }
        bump(&counters.wakeups);
        drop(tasks);
    }

    fn wake_all(&self) {
        let _lock = lock(&self.queue.tasks);
        self.queue.available.notify_all();
    }

    fn drain(&self) -> Vec<Task> {
        lock(&self.queue.tasks).drain(..).collect()
    }

    fn idle_workers(&self) -> usize {
        self.queue.sleeping.load(Ordering::Relaxed)
    }
}
