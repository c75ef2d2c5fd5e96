//! The pool core: lifecycle, submission, worker threads and shutdown, generic over the
//! scheduler and erased behind [`PoolOps`] so that the public executor is not generic.
//!
//! # Lifecycle word
//!
//! One `AtomicUsize` holds two flags and a count of submissions started:
//! `CLOSED` (shutdown called), `BROKEN` (an initializer panicked), and `SUBMITTING * started`.
//! A submit increments the count; if a flag was set it takes its increment back and is refused,
//! otherwise it pushes its task and then increments a second counter, `finished`. A submission
//! is in flight while `started != finished` (both count modulo the word's count bits; equality
//! is all that is compared). Shutdown sets `CLOSED` and waits until the two are equal. Submit
//! and shutdown use `SeqCst` read-modify-writes on the same word, so they are totally ordered: a
//! submit that saw no flag is counted in `started` before the close, and every later submit sees
//! the flag. After the close the accepted count `A` is fixed, `started` is `A` plus the refused
//! submissions in flight and `finished <= A`, so reading `started == finished` (in either order)
//! means every accepted submission has pushed. Hence: a submit that returned `Ok` is queued
//! before shutdown proceeds, and after `shutdown` returns no submit succeeds. `finished` doubles
//! as the count of accepted outside submissions in [`PoolStats`], so an accepted submit pays two
//! read-modify-writes, not three.
//!
//! # Shutdown protocol
//!
//! 1. Set `CLOSED`; wait until no submission is in flight (the queues are now final, except for
//!    tasks the running tasks can no longer add: their submits fail too).
//! 2. With `cancel_futures`, drain the queues and cancel every drained task.
//! 3. Wake every worker. A worker exits when it finds no task *and* the pool is closed with no
//!    submission in flight; it checks the queues once more after seeing that, so a task queued
//!    just before the close is still run. A submit refused after the close still counts itself in
//!    flight for a moment; a worker that looks then parks, so the refusing submit wakes every
//!    worker again after it takes itself out of the count.
//! 4. With `wait`, block until every worker has exited, then join them. A task of this pool
//!    calling `shutdown(wait)` cannot wait for the workers (one is its own thread; others may be
//!    waiting for it): it runs what is still queued and returns, leaving the joining to a
//!    `shutdown(wait)` from outside the pool (the executor's drop).

use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_utils::CachePadded;
use std::sync::{OnceLock, Weak};

use crate::blocking::{self, WorkerContext};
use crate::error::{BrokenReason, FutureError, SubmitError};
use crate::future::RunResult;
use crate::parker::Parker;
use crate::scheduler::{Scheduler, SchedulerConfig, Task};
use crate::stats::{PoolStats, WorkerCounters, bump};
use crate::sync::{
    Arc, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering, lock, spin_once, thread,
};
use crate::thread_pool::worker::{self, Slot, WorkerCtx};

const CLOSED: usize = 1;
const BROKEN: usize = 2;
const SUBMITTING: usize = 4;

/// An accepted submission in flight: counts it `finished` when dropped (after its push, or
/// when the push or a thread start unwinds).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// What worker threads run first (Python's `initializer`).
pub(crate) type Initializer = Arc<dyn Fn() + Send + Sync>;

/// Settings fixed at build time.
pub(crate) struct PoolConfig {
    pub(crate) max_workers: usize,
    /// `None`: `ThreadPoolExecutor-{pool id}`, as CPython names its threads.
    pub(crate) thread_name_prefix: Option<String>,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) stack_size: Option<usize>,
    /// Threads beyond `max_workers` that may take over the slots of waiting tasks.
    pub(crate) max_spare_threads: usize,
    /// The CPU of each worker slot (slot `i` on `cpus[i % len]`); empty: no pinning.
    pub(crate) slot_cpus: Vec<usize>,
}

/// The object-safe face of a [`Pool`] that the public executor holds.
///
/// A trait object rather than an enum over the two schedulers' pools, by measurement: with an
/// enum, every clone and drop of a `PoolHandle` (a nested task captures one) matches on the
/// variant, and `cargo bench --bench instructions` counted more instructions per node of the
/// nested submit-and-wait tree with the enum than with this trait object. Nothing downcasts it:
/// the pool's own code is generic over the scheduler.
pub(crate) trait PoolOps: Send + Sync {
    fn id(&self) -> usize;
    fn submit_task(&self, task: Task) -> Result<(), SubmitError>;
    /// Queues the second half of a `join` from outside the pool (uncounted); false if refused.
    fn queue_join_half(&self, task: Task) -> bool;
    fn shutdown(&self, wait: bool, cancel_futures: bool);
    fn stats(&self) -> PoolStats;
    fn max_workers(&self) -> usize;
    fn threads_started(&self) -> usize;
}

/// Worker threads' bookkeeping.
struct Threads<S: Scheduler> {
    handles: Vec<thread::JoinHandle<()>>,
    /// Threads started and not yet exited (slot holders and spares).
    live: usize,
    /// Spare threads started (beyond the `max_workers` started with fresh slots).
    spares_started: usize,
    /// Spare threads parked until a slot is handed to them (see `worker`).
    idle: Vec<Arc<SpareSeat<S>>>,
}

/// Where an idle spare thread waits for a slot.
pub(crate) struct SpareSeat<S: Scheduler> {
    slot: Mutex<Option<Slot<S>>>,
    parker: Parker,
}

pub(crate) struct Pool<S: Scheduler> {
    id: usize,
    this: Weak<Pool<S>>,
    pub(crate) scheduler: S,
    lifecycle: CachePadded<AtomicUsize>,
    /// Mirrors the `BROKEN` flag of `lifecycle` on its own cache line (see `is_broken`).
    broken: CachePadded<AtomicBool>,
    broken_reason: OnceLock<BrokenReason>,
    config: PoolConfig,
    thread_name_prefix: String,
    threads: Mutex<Threads<S>>,
    all_exited: Condvar,
    /// Worker slots handed out (threads started), at most `max_workers`.
    spawned: AtomicUsize,
    pub(crate) counters: Arc<WorkerCounters>,
    /// Accepted outside submissions whose push is done (module documentation).
    finished: CachePadded<AtomicUsize>,
    /// Of those, the queued halves of `join`s, which the statistics leave out (counted after
    /// their push, as `finished` is, and compared with it modulo `usize`).
    uncounted_external: AtomicUsize,
    /// Submissions inside `break_pool` (see there).
    breaking_submissions: AtomicUsize,
    drained: AtomicU64,
    /// Tasks run inline by threads that had handed their slot off (counted here: a slot's own
    /// counters have one writer, the slot's holder).
    slotless_runs: AtomicU64,
    /// Slots handed to spare threads by waiting tasks.
    handoffs: AtomicU64,
    /// Workers known to be free (see `release_idle_token`).
    idle_tokens: CachePadded<AtomicUsize>,
}

/// Pool ids start at 1; 0 is `future::NO_POOL`.
fn next_pool_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl<S: Scheduler> Pool<S> {
    pub(crate) fn new(config: PoolConfig, scheduler_config: SchedulerConfig) -> Arc<Self> {
        let counters = Arc::new(WorkerCounters::new(config.max_workers));
        let id = next_pool_id();
        let thread_name_prefix =
            config.thread_name_prefix.clone().unwrap_or_else(|| format!("ThreadPoolExecutor-{id}"));
        Arc::new_cyclic(|this| Pool {
            id,
            thread_name_prefix,
            this: this.clone(),
            scheduler: S::new(scheduler_config, counters.clone()),
            lifecycle: CachePadded::new(AtomicUsize::new(0)),
            broken: CachePadded::new(AtomicBool::new(false)),
            broken_reason: OnceLock::new(),
            config,
            threads: Mutex::new(Threads {
                handles: Vec::new(),
                live: 0,
                spares_started: 0,
                idle: Vec::new(),
            }),
            all_exited: Condvar::new(),
            spawned: AtomicUsize::new(0),
            counters,
            finished: CachePadded::new(AtomicUsize::new(0)),
            uncounted_external: AtomicUsize::new(0),
            breaking_submissions: AtomicUsize::new(0),
            drained: AtomicU64::new(0),
            slotless_runs: AtomicU64::new(0),
            handoffs: AtomicU64::new(0),
            idle_tokens: CachePadded::new(AtomicUsize::new(0)),
        })
    }

    pub(crate) fn pool_id(&self) -> usize {
        self.id
    }

    /// The worker context of the calling thread, if it is a thread of this pool.
    fn own_worker(&self) -> Option<std::rc::Rc<dyn WorkerContext>> {
        blocking::current_worker().filter(|context| context.pool_id() == self.id)
    }

    /// Hands `slot` to a spare thread (an idle one, or a new one below the cap) so that the
    /// pool keeps running tasks while the calling thread's task waits; gives it back if there is
    /// no spare to be had.
    pub(crate) fn hand_off(&self, slot: Slot<S>) -> Result<(), Slot<S>> {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::NoCompensation) {
            return Err(slot);
        }
        let mut threads = lock(&self.threads);
        if let Some(seat) = threads.idle.pop() {
            drop(threads);
            *lock(&seat.slot) = Some(slot);
            seat.parker.unpark();
            self.handoffs.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if threads.spares_started >= self.config.max_spare_threads {
            return Err(slot);
        }
        let Some(pool) = self.this.upgrade() else { return Err(slot) };
        let name = format!("{}_spare_{}", self.thread_name_prefix, threads.spares_started);
        let mut builder = thread::Builder::new().name(name);
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        // The slot travels into the new thread through this cell, from which it is taken back
        // if the thread cannot be started.
        let handoff = std::sync::Arc::new(std::sync::Mutex::new(Some(slot)));
        let taken = handoff.clone();
        let spawned = builder.spawn(move || {
            let slot = taken.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(slot) = slot {
                worker::main(pool, slot);
            }
        });
        match spawned {
            Ok(handle) => {
                threads.spares_started += 1;
                threads.live += 1;
                threads.handles.push(handle);
                self.handoffs.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => {
                let slot = handoff.lock().unwrap_or_else(|e| e.into_inner()).take();
                Err(slot.expect("a thread that never started did not take the slot"))
            }
        }
    }

    /// Parks the calling (slotless) thread until a slot is handed to it; `None` once the pool is
    /// done (then the thread exits).
    pub(crate) fn wait_for_slot(&self) -> Option<Slot<S>> {
        let seat = Arc::new(SpareSeat { slot: Mutex::new(None), parker: Parker::new() });
        {
            let mut threads = lock(&self.threads);
            if self.quiescent() {
                return None;
            }
            threads.idle.push(seat.clone());
        }
        loop {
            if let Some(slot) = lock(&seat.slot).take() {
                return Some(slot);
            }
            if self.quiescent() {
                let mut threads = lock(&self.threads);
                if let Some(at) = threads.idle.iter().position(|idle| Arc::ptr_eq(idle, &seat)) {
                    threads.idle.swap_remove(at);
                    return None;
                }
                // A hand-off picked this seat before the close: its slot is on the way.
                drop(threads);
                if let Some(slot) = lock(&seat.slot).take() {
                    return Some(slot);
                }
            }
            seat.parker.park(None);
        }
    }

    /// Wakes every parked worker and every idle spare thread (to notice the close).
    fn wake_everyone(&self) {
        self.scheduler.wake_all();
        self.wake_spares();
    }

    /// Wakes every idle spare thread.
    fn wake_spares(&self) {
        let idle: Vec<_> = lock(&self.threads).idle.clone();
        for seat in idle {
            seat.parker.unpark();
        }
    }

    /// Pins the calling thread to the CPU of slot `index` if the pool pins its workers
    /// (`thread_pool::affinity`); called by every thread that takes a slot.
    pub(crate) fn pin_to_slot(&self, index: usize) {
        let cpus = &self.config.slot_cpus;
        if !cpus.is_empty() {
            super::affinity::allow_current_thread(&[cpus[index % cpus.len()]]);
        }
    }

    /// Lets the calling thread (which just handed its slot off) run on every CPU the pool's
    /// slots use again, if the pool pins its workers.
    pub(crate) fn unpin(&self) {
        if !self.config.slot_cpus.is_empty() {
            super::affinity::allow_current_thread(&self.config.slot_cpus);
        }
    }

    /// Counts a task run inline by a thread that holds no slot.
    pub(crate) fn count_slotless_run(&self) {
        self.slotless_runs.fetch_add(1, Ordering::Relaxed);
    }

    /// True once the pool is closed and no submission is in flight: the queues only shrink.
    pub(crate) fn quiescent(&self) -> bool {
        let word = self.lifecycle.load(Ordering::SeqCst);
        word & CLOSED != 0 && !self.submissions_in_flight(word)
    }

    /// Whether a submission counted in `word` (a load of the lifecycle word) has not finished;
    /// reads `finished` after the caller's load (module documentation).
    fn submissions_in_flight(&self, word: usize) -> bool {
        self.count_in_flight(word) != 0
    }

    /// The number of submissions counted in `word` that have not finished (both counts wrap
    /// alike, so their difference modulo the count bits is exact).
    fn count_in_flight(&self, word: usize) -> usize {
        let started = word & !(CLOSED | BROKEN);
        let finished = self.finished.load(Ordering::SeqCst).wrapping_mul(SUBMITTING);
        started.wrapping_sub(finished) / SUBMITTING
    }

    /// Read by every `run_task`: kept off the lifecycle word's cache line, which every
    /// external submit writes.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// Why the pool broke: set before the broken flags, so it is there once they are seen.
    fn broken_reason(&self) -> BrokenReason {
        self.broken_reason.wait().clone()
    }

    fn refusal(&self, word: usize) -> SubmitError {
        if word & BROKEN != 0 { SubmitError::Broken(self.broken_reason()) } else { SubmitError::Shutdown }
    }

    /// Spins until no submission is in flight (each lasts one queue push).
    fn wait_for_submitters(&self) {
        while self.submissions_in_flight(self.lifecycle.load(Ordering::SeqCst)) {
            spin_once();
            thread::yield_now();
        }
    }

    /// Runs one dequeued task on this thread, counting it against the slot it holds after
    /// the run (a task that waited may have handed the slot off). Runs on the current stack:
    /// callers that may be deep in nested waits go through `blocking::run_on_growable_stack`.
    pub(crate) fn run_task(&self, context: &WorkerCtx<S>, task: Task) {
        let result = if self.is_broken() && task.clone().fail(FutureError::Broken(self.broken_reason())) {
            RunResult::Cancelled
        } else {
            // The task's own panics are caught inside `run`; this catches one from dropping its
            // result when no handle is left (the cell dies here), which must not kill the worker.
            let finishing = || {
                if let Some(slot) = &*context.slot.borrow()
                    && !context.left_idle_token.get()
                    && self.scheduler.looks_idle(&slot.local)
                {
                    self.release_idle_token();
                    context.left_idle_token.set(true);
                }
            };
            match catch_unwind(AssertUnwindSafe(|| task.run(&finishing))) {
                Ok(result) => result,
                // Under loom: a failed model's teardown, which must go on (see `future::cell`).
                Err(payload) if cfg!(loom) => std::panic::resume_unwind(payload),
                Err(_) => RunResult::Ran,
            }
        };
        let slot = context.slot.borrow();
        match (result, &*slot) {
            (RunResult::RanElsewhere | RunResult::JoinHalf, _) => {}
            (RunResult::Ran, Some(slot)) => bump(&self.counters.of(slot.index).tasks_run),
            (RunResult::Cancelled, Some(slot)) => bump(&self.counters.of(slot.index).tasks_skipped),
            (RunResult::Ran, None) => self.count_slotless_run(),
            (RunResult::Cancelled, None) => {
                self.drained.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queues a task submitted by a task running on `context`, a worker of this pool (the
    /// fast path of `submit_task`).
    ///
    /// Its worker is alive and pops its own deque before it can exit, so the task cannot be
    /// stranded by a concurrent shutdown and needs no in-flight count: one load refuses it once
    /// the pool is closed or broken (a `SeqCst` load: a submit that starts after `shutdown`
    /// returned sees `CLOSED`). A task pushed just after a concurrent `cancel_futures` drain is
    /// run, as if it was accepted before the shutdown; one pushed after a break is failed by
    /// `run_task`.
    pub(crate) fn submit_local(&self, context: &WorkerCtx<S>, task: Task) -> Result<(), SubmitError> {
        let slot = context.slot.borrow();
        let Some(slot) = &*slot else {
            // This thread handed its slot off while its task waited: the task submits as an
            // outside thread does.
            return self.submit_external(task, true);
        };
        let word = self.lifecycle.load(Ordering::SeqCst);
        if word & (CLOSED | BROKEN) != 0 {
            return Err(self.refusal(word));
        }
        bump(&self.counters.of(slot.index).tasks_submitted);
        // Claim a free worker before the push, so that the worker taking the task cannot take
        // back the token first (see `acquire_idle_token`).
        let claimed = self.acquire_idle_token();
        self.scheduler.push_local(&slot.local, task);
        if !claimed {
            self.start_worker_if_needed();
        }
        Ok(())
    }

    /// Marks the pool broken (an initializer panicked), refuses new submissions and fails
    /// every queued task with [`FutureError::Broken`].
    ///
    /// `from_submit`: called by a submission that could not start a thread (it counts itself in
    /// flight). It waits for the other submissions in flight except those breaking the pool
    /// too, which wait the same way: an accepted submission that raced it may have pushed its
    /// task after seeing the slot this one was starting as taken, so the drain must come after
    /// that push, and two breakers must not wait for each other.
    pub(crate) fn break_pool(&self, reason: BrokenReason, from_submit: bool) {
        let _ = self.broken_reason.set(reason);
        self.broken.store(true, Ordering::SeqCst);
        self.lifecycle.fetch_or(BROKEN, Ordering::SeqCst);
        if from_submit {
            self.breaking_submissions.fetch_add(1, Ordering::SeqCst);
            while self.count_in_flight(self.lifecycle.load(Ordering::SeqCst))
                > self.breaking_submissions.load(Ordering::SeqCst)
            {
                spin_once();
                thread::yield_now();
            }
        } else {
            self.wait_for_submitters();
        }
        let reason = self.broken_reason();
        for task in self.scheduler.drain() {
            if task.clone().fail(FutureError::Broken(reason.clone())) {
                self.drained.fetch_add(1, Ordering::Relaxed);
            }
        }
        if from_submit {
            self.breaking_submissions.fetch_sub(1, Ordering::SeqCst);
        }
        self.wake_everyone();
    }

    /// Records that a worker is about to be free: it finished a task and its queues look
    /// empty (CPython's `_idle_semaphore.release()`). Called before the task's completion is
    /// published, so a submitter woken by that completion finds the token. Saturates at the
    /// number of threads started, so that stale tokens cannot hold back more than that.
    fn release_idle_token(&self) {
        let tokens = self.idle_tokens.load(Ordering::Relaxed);
        if tokens < self.spawned.load(Ordering::Relaxed) {
            self.idle_tokens.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Takes an idle token if there is one (CPython's `_idle_semaphore.acquire(timeout=0)`).
    /// Also called by a worker that left a token and then found a task by itself: it takes its
    /// token back unless a submission took it, so tokens never count a busy worker as free (an
    /// undercount only starts a thread early; an overcount could leave a task without one).
    pub(crate) fn acquire_idle_token(&self) -> bool {
        let mut tokens = self.idle_tokens.load(Ordering::Acquire);
        while tokens > 0 {
            match self.idle_tokens.compare_exchange_weak(
                tokens,
                tokens - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(found) => tokens = found,
            }
        }
        false
    }

    /// Starts another worker thread if no started worker is free to take the new task and a
    /// slot is free: threads start lazily and idle ones are reused, as in CPython. A submission
    /// first tries to take an idle token (left by a worker that finished a task with its queues
    /// empty) and calls this only if there was none.
    #[inline]
    pub(crate) fn start_worker_if_needed(&self) {
        // Once every thread is started (the steady state) this is one load and a compare.
        if self.spawned.load(Ordering::Relaxed) < self.config.max_workers {
            self.start_worker();
        }
    }

    /// Starts one more worker thread if a slot is free.
    ///
    /// A parked worker is not a reason to skip it: one push may wake that worker, and the
    /// pushes held back while it searches (the sleep module's gate) would all count on it, so
    /// tasks that must run at once could wait for a thread that never starts
    /// (`tests/pool.rs`, `sleeping_workers_do_not_stand_in_for_threads_never_started`). Only an
    /// idle token, which one submission takes, stands for a free worker, as CPython's idle
    /// semaphore does.
    #[cold]
    fn start_worker(&self) {
        let mut threads = lock(&self.threads);
        let index = self.spawned.load(Ordering::Relaxed);
        if index >= self.config.max_workers {
            return;
        }
        let Some(pool) = self.this.upgrade() else { return };
        let mut builder = thread::Builder::new().name(format!("{}_{}", self.thread_name_prefix, index));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let start = move || {
            let slot = Slot { index, local: pool.scheduler.local(index) };
            worker::main(pool, slot);
        };
        // Counted before the thread starts: its first task may finish (and leave an idle token,
        // capped by this count) before `spawn` returns here.
        self.spawned.store(index + 1, Ordering::Relaxed);
        match builder.spawn(start) {
            Ok(handle) => {
                threads.live += 1;
                threads.handles.push(handle);
            }
            Err(error) => {
                self.spawned.store(index, Ordering::Relaxed);
                let none_running = threads.live == 0;
                drop(threads);
                if none_running {
                    self.break_pool(BrokenReason::ThreadSpawnFailed(error.into()), true);
                }
            }
        }
    }

    /// Called by each worker as it exits (also when it unwinds).
    pub(crate) fn worker_exited(&self) {
        let mut threads = lock(&self.threads);
        threads.live -= 1;
        drop(threads);
        self.all_exited.notify_all();
    }

    /// Blocks until at most `remaining` workers are alive.
    fn wait_for_workers(&self, remaining: usize) {
        let mut threads = lock(&self.threads);
        while threads.live > remaining {
            threads = self.all_exited.wait(threads).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(crate) fn initializer(&self) -> Option<&Initializer> {
        self.config.initializer.as_ref()
    }
}

impl<S: Scheduler> PoolOps for Pool<S> {
    fn id(&self) -> usize {
        self.id
    }

    fn queue_join_half(&self, task: Task) -> bool {
        self.submit_external(task, false).is_ok()
    }

    fn submit_task(&self, task: Task) -> Result<(), SubmitError> {
        // Fast path: a task of this pool submitting to it (see `submit_local`).
        let mut task = Some(task);
        let local = blocking::with_worker_of(self.id, |context| {
            context.submit_local(task.take().expect("not yet pushed"))
        });
        if let Some(submitted) = local {
            return submitted;
        }
        self.submit_external(task.expect("only the fast path takes the task"), true)
    }

    fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.shutdown_pool(wait, cancel_futures);
    }

    fn stats(&self) -> PoolStats {
        let workers = self.counters.snapshot();
        // `uncounted_external` is read first and bumped after `finished`'s matching increment,
        // so the difference never counts a join half as a submission.
        let uncounted = self.uncounted_external.load(Ordering::SeqCst);
        let external = self.finished.load(Ordering::SeqCst).wrapping_sub(uncounted) as u64;
        let submitted = external + workers.iter().map(|worker| worker.tasks_submitted).sum::<u64>();
        PoolStats {
            workers,
            submitted,
            drained: self.drained.load(Ordering::Relaxed),
            tasks_run_without_slot: self.slotless_runs.load(Ordering::Relaxed),
            slot_handoffs: self.handoffs.load(Ordering::Relaxed),
            spare_threads_started: lock(&self.threads).spares_started,
        }
    }

    fn max_workers(&self) -> usize {
        self.config.max_workers
    }

    fn threads_started(&self) -> usize {
        self.spawned.load(Ordering::Relaxed)
    }
}

impl<S: Scheduler> Pool<S> {
    /// A submission from outside the pool (or from a thread that handed its slot off): counted
    /// in flight so that shutdown waits for it (module documentation).
    /// `counted`: a task, counted in the pool's statistics (not the queued half of a `join`).
    fn submit_external(&self, task: Task, counted: bool) -> Result<(), SubmitError> {
        let word = self.lifecycle.fetch_add(SUBMITTING, Ordering::SeqCst);
        if word & (CLOSED | BROKEN) != 0 {
            self.lifecycle.fetch_sub(SUBMITTING, Ordering::SeqCst);
            #[cfg(not(loom))]
            let wake = word & CLOSED != 0;
            #[cfg(loom)]
            let wake = word & CLOSED != 0 && !crate::faults::injected(crate::faults::Fault::SkipRefusalWake);
            if wake {
                // A worker that looked at the word while this refused submission was counted saw
                // the pool not yet quiescent and may have parked after shutdown's wake-up: wake
                // it to look again, or it sleeps for ever and `shutdown(wait)` with it.
                self.wake_everyone();
            }
            return Err(self.refusal(word));
        }
        // Released last, also if the push or a thread start unwinds: shutdown waits for it (see
        // the module doc).
        {
            let _in_flight = InFlight(&self.finished);
            let claimed = self.acquire_idle_token();
            self.scheduler.push_external(task);
            if !claimed {
                self.start_worker_if_needed();
            }
        }
        if !counted {
            // After `finished` counted it, so that `stats` never subtracts more than it added.
            self.uncounted_external.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn shutdown_pool(&self, wait: bool, cancel_futures: bool) {
        // 1. Close, then wait out the submissions in flight.
        self.lifecycle.fetch_or(CLOSED, Ordering::SeqCst);
        #[cfg(loom)]
        let wait_for_submitters = !crate::faults::injected(crate::faults::Fault::SkipWaitForSubmitters);
        #[cfg(not(loom))]
        let wait_for_submitters = true;
        if wait_for_submitters {
            self.wait_for_submitters();
        }
        // 2. Cancel what is queued.
        if cancel_futures {
            for task in self.scheduler.drain() {
                if task.cancel() {
                    self.drained.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // 3. Wake everyone to notice the close.
        self.wake_everyone();
        if !wait {
            return;
        }
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::SkipWaitForWorkers) {
            return;
        }
        // 4. Wait for the workers (from outside the pool).
        let own = self.own_worker();
        if let Some(context) = &own {
            // A task of this pool cannot wait for the workers: one of them is its own thread, and
            // others may be waiting for this very task (or calling shutdown too). It runs what is
            // queued (the queues only shrink now) and returns; joining the threads is left to a
            // `shutdown(wait)` from outside the pool, such as the executor's drop.
            context.run_queued();
            return;
        }
        self.wait_for_workers(0);
        let handles = std::mem::take(&mut lock(&self.threads).handles);
        let me = thread::current().id();
        for handle in handles {
            if handle.thread().id() != me {
                // A worker never panics out of its loop (tasks run under catch_unwind).
                let _ = handle.join();
            }
        }
    }
}
