//! The parking protocol of both schedulers: how idle workers sleep, and how new
//! work wakes exactly as many of them as it needs, never fewer.
//!
//! # Design
//!
//! A simplified form of rayon-core's sleep module (its `sleep/README.md`: a counter of sleeping
//! threads read by every push, with a SeqCst fence on both sides) combined with tokio's rule of
//! waking one more worker only when the one that found work leaves more behind ("searching"
//! workers). Each worker has a [`Parker`] (a one-token wake-up signal). The sleep state is a
//! list of the sleeping workers' indices behind a mutex, mirrored by the atomic `num_sleeping`
//! so that a push pays only one load when nobody sleeps (the common case under load).
//!
//! - **Going to sleep** (`sleep`): (1) spin a few rounds re-checking for work; (2) register in
//!   the list and increment `num_sleeping`; (3) `SeqCst` fence; (4) re-check the queues and the
//!   caller's `ready()`; if anything is there, deregister and return; (5) otherwise park.
//! - **Publishing work** (`notify_one`, after every push): (a) the push itself; (b) `SeqCst`
//!   fence; (c) read `num_sleeping`; if non-zero, pop one sleeper from the list and unpark it.
//!
//! # Invariant: no lost wake-up
//!
//! *If a task is in a queue and some worker is parked, then some worker is awake or being
//! woken, and will look at the queues before it parks again.* Proof sketch, as in rayon's
//! README: the two fences (3) and (b) are totally ordered. If (3) comes first, the push's read
//! (c) sees the worker's increment (2) and wakes a sleeper. If (b) comes first, the worker's
//! re-check (4) sees the task and does not park. The woken sleeper may be a different worker
//! than the one racing, but every woken worker searches all queues before it parks again, so
//! the task is found. The parker's token closes the last gap: an unpark that lands between (4)
//! and (5) makes the park return at once.
//!
//! # Who wakes whom
//!
//! Every wake-up of a worker parked for work goes through this module: `notify_one` after a
//! push, `notify_all` at shutdown and when the pool breaks. A worker that waits on a *future*
//! does not park here: it hands its slot off and parks on its thread's own parker
//! (`crate::blocking`), so completions never touch these parkers.
//!
//! A push wakes at most one worker, and only if one is registered as sleeping and none is
//! *searching* (tokio's searching gate): a worker taken off the sleepers by a waker counts as
//! searching until it finds work or goes back to sleep (`end_search`), and while one searches,
//! pushes wake nobody. The last searcher to stop wakes one more worker if work is queued, so a
//! burst wakes workers one by one, each when the previous one found work (a chain, as tokio's
//! `transition_worker_from_searching`), never all at once. The gate's argument is the fences'
//! again: a searcher decrements the count and fences before it looks at the queues, a push fences
//! before it reads the count, so either the searcher's look finds the pushed task or the push sees
//! no searcher and wakes a sleeper. A worker that takes a batch from the injector and leaves work
//! behind also asks for one more (gated like a push).
//! Shutdown is the one event that wakes everybody on purpose.
//!
//! # Checked by
//!
//! `loom-tests/loom_park.rs`: a push racing a worker going to sleep, on one and on two workers;
//! two pushes where the second is gated and the first task waits for the second (its twin
//! without the searcher's chain wake-up deadlocks).
//! Under loom the deques' emptiness checks are racy (as crossbeam's are, see
//! `crate::sync::loom_deque`), so the broken twin without the fences (3) and (b) deadlocks, as
//! does the one without the re-check (4).

use std::time::Instant;

use crate::parker::Parker;
use crate::stats::{Counters, bump};
use crate::sync::{Arc, AtomicUsize, Mutex, Ordering, fence, lock};

/// Rounds a worker re-checks for work (yielding between rounds) before it registers as a
/// sleeper. A worker that parks costs the next submission a futex wake-up and the woken thread's
/// scheduling delay: with 4 rounds (a few microseconds) a submitter that hands tasks off one at a
/// time (it sleeps until each task signals) found the worker parked every time, 16.6 µs from
/// submit to start at the median against 1.5–1.8 µs with 32 rounds, which outlast the
/// submitter's own wake-up (`cargo bench --bench handoff`, papers/stealpool.md "Hand-off").
/// Each round yields the CPU, so a spinning worker does not hold a core that another thread
/// needs.
#[cfg(not(loom))]
pub(crate) const SPIN_ROUNDS: usize = 32;

/// One round under loom: each round's yield hands the turn to another thread, so every extra
/// round costs the model checker a preemption to get past it, and with four the races after the
/// spin would lie beyond a small preemption bound. One round keeps the spin path in the models.
#[cfg(loom)]
pub(crate) const SPIN_ROUNDS: usize = 1;

/// The sleep state of one pool.
pub(crate) struct Sleep {
    parkers: Box<[Arc<Parker>]>,
    /// Indices of the workers registered as sleeping.
    sleepers: Mutex<Vec<usize>>,
    /// `sleepers.len()`, readable without the lock.
    num_sleeping: AtomicUsize,
    /// Workers woken (taken off `sleepers` by a waker) that have not yet found work or gone back
    /// to sleep: tokio's "searching" workers. While one is searching, a push wakes nobody.
    searching: AtomicUsize,
}

impl Sleep {
    pub(crate) fn new(workers: usize) -> Self {
        Sleep {
            parkers: (0..workers).map(|_| Arc::new(Parker::new())).collect(),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            num_sleeping: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
        }
    }

    /// Puts worker `index` to sleep unless `has_work()` or `ready()` (see the module doc).
    /// `searching`: the worker was woken to search and has found nothing. Returns whether it was
    /// woken by a waker and is now searching (it must call [`end_search`](Self::end_search)
    /// when it finds work or comes back here).
    pub(crate) fn sleep(
        &self,
        index: usize,
        counters: &Counters,
        has_work: &dyn Fn() -> bool,
        ready: &dyn Fn() -> bool,
        deadline: Option<Instant>,
        searching: bool,
    ) -> bool {
        if searching {
            self.end_search(has_work);
        }
        // (1) Spin: most gaps between tasks are short, and a futex round trip is not.
        for _ in 0..SPIN_ROUNDS {
            if has_work() || ready() {
                return false;
            }
            crate::sync::thread::yield_now();
        }
        // (2) Register.
        {
            let mut sleepers = lock(&self.sleepers);
            sleepers.push(index);
            self.num_sleeping.fetch_add(1, Ordering::SeqCst);
        }
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::SkipSleepRecheck) {
            self.parkers[index].park(deadline);
            return !self.deregister(index);
        }
        // (3) Pairs with the fence in `notify_one` (b): see the invariant in the module doc.
        #[cfg(loom)]
        let fenced = !crate::faults::injected(crate::faults::Fault::NoSleepFences);
        #[cfg(not(loom))]
        let fenced = true;
        if fenced {
            fence(Ordering::SeqCst);
        }
        // (4) Re-check, (5) park.
        if !has_work() && !ready() {
            bump(&counters.parks);
            self.parkers[index].park(deadline);
            bump(&counters.wakeups);
        }
        let claimed_by_waker = !self.deregister(index);
        // A waker that chose this worker counted it as searching. If it is about to return to
        // its caller without searching (its `ready()` holds: shutdown), it stops searching here,
        // passing the wake-up on if work is queued, or a pushed task could wait for a worker
        // that nobody wakes while the others sleep.
        if claimed_by_waker && ready() {
            self.end_search(has_work);
            return false;
        }
        claimed_by_waker
    }

    /// A searching worker stops searching (it found work, or is going back to sleep). The last
    /// searcher to stop wakes another worker if work is queued: the pushes it gated may have
    /// left more than it takes (tokio's `transition_worker_from_searching`).
    ///
    /// Pairs with `notify_one` as (3) pairs with (b): the decrement and the fence come before
    /// the look at the queues, the push's fence before its read of `searching`, so either this
    /// look sees the pushed task or the push sees no searcher and wakes a sleeper itself.
    pub(crate) fn end_search(&self, has_work: &dyn Fn() -> bool) {
        if self.searching.fetch_sub(1, Ordering::SeqCst) == 1 {
            #[cfg(loom)]
            if crate::faults::injected(crate::faults::Fault::NoSearchChain) {
                return;
            }
            fence(Ordering::SeqCst);
            if has_work() {
                self.wake_one();
            }
        }
    }

    /// Removes `index` from the sleepers; false if a waker already had.
    fn deregister(&self, index: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        match sleepers.iter().position(|&sleeper| sleeper == index) {
            Some(at) => {
                sleepers.swap_remove(at);
                self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Wakes one sleeping worker, if any; call after publishing work.
    pub(crate) fn notify_one(&self) {
        // (b) Pairs with the fence in `sleep` (3): either this load sees the sleeper's
        // registration, or the sleeper's re-check sees the work just published.
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::NoSleepFences) {
            if self.num_sleeping.load(Ordering::Relaxed) == 0 {
                return;
            }
        } else {
            fence(Ordering::SeqCst);
            if self.num_sleeping.load(Ordering::SeqCst) == 0 {
                return;
            }
        }
        #[cfg(not(loom))]
        {
            fence(Ordering::SeqCst);
            if self.num_sleeping.load(Ordering::SeqCst) == 0 {
                return;
            }
        }
        // The searching gate: a woken worker is still looking, and will wake another if it
        // leaves work behind (`end_search`).
        if self.searching.load(Ordering::SeqCst) > 0 {
            return;
        }
        self.wake_one();
    }

    /// Wakes one sleeping worker, if any, counting it as searching.
    fn wake_one(&self) {
        let woken = {
            let mut sleepers = lock(&self.sleepers);
            let woken = sleepers.pop();
            if woken.is_some() {
                self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
                self.searching.fetch_add(1, Ordering::SeqCst);
            }
            woken
        };
        if let Some(index) = woken {
            self.parkers[index].unpark();
        }
    }

    /// Wakes every worker (shutdown): each re-checks its `ready()` condition.
    pub(crate) fn notify_all(&self) {
        let woken: Vec<usize> = {
            let mut sleepers = lock(&self.sleepers);
            self.num_sleeping.fetch_sub(sleepers.len(), Ordering::SeqCst);
            // Each woken worker stops searching once, like those a push wakes.
            self.searching.fetch_add(sleepers.len(), Ordering::SeqCst);
            sleepers.drain(..).collect()
        };
        for index in woken {
            self.parkers[index].unpark();
        }
    }
}
