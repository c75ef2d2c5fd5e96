//! `join(a, b)`: run two closures, potentially in parallel, and return both results. The
//! closures may borrow from the caller's stack (rayon's `join`; Blumofe & Leiserson's fork-join
//! with work-first execution, as in Cilk-5: Frigo, Leiserson & Randall 1998).
//!
//! # Algorithm
//!
//! 1. `b` stays on the caller's stack, in a [`StackJob`]. A small reference-counted [`JoinSlot`]
//!    (recycled per thread, so the steady state allocates nothing) points to it, and the slot is
//!    queued like any task: on the caller's own deque when the caller is a worker of the pool,
//!    else through the injector.
//! 2. The caller runs `a`.
//! 3. It then claims `b` with one compare-exchange `QUEUED → CLAIMED` on the slot's state, and
//!    runs `b` itself (its queue entry, popped from the top of its own deque when it is there, or
//!    later by whoever dequeues it, is then stale). A worker that dequeued the slot first won
//!    `QUEUED → RUNNING` and runs `b`; the caller waits for `DONE` as it waits for a future
//!    (`crate::blocking`: a short spin, then its worker slot goes to a spare thread, then it
//!    parks), without running anything else on its stack.
//!
//! So `join` adds no deadlock of its own: the caller never runs an unrelated task on top of
//! `a`'s stack, and blocking on a stolen `b` keeps the pool's parallelism as any wait does. What
//! remains is the hazard of blocking itself: if `b` waits for something that only the code after
//! `join` provides, nothing can help, as with two threads.
//!
//! # Why `b` may live on the stack
//!
//! The slot holds a raw pointer to the `StackJob` and a function that knows its type. The pointer
//! is followed only by the thread that won `QUEUED → RUNNING`, and `join` returns (or unwinds)
//! only after it claimed `b` itself (no one can win `RUNNING` after that) or saw `DONE`, which the
//! runner stores with `Release` after its last access to the `StackJob`: the stack frame outlives
//! every access to it. The slot itself is reference-counted, so a stale queue entry dequeued later
//! only reads the slot's state, never the stack. A slot is reused only when its count shows no
//! other holder (`Arc::get_mut`, which also orders the last holder's accesses before the reuse).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::blocking::{self, Blocker, WorkerContext};
use crate::error::FutureError;
use crate::future::{RunResult, Runnable};
use crate::parker::Parker;
use crate::scheduler::Task;
use crate::sync::{Arc, AtomicUsize, Ordering, UnsafeCell};

/// `b` is queued and may be started by whoever dequeues it or by the caller.
const QUEUED: usize = 0;
/// A worker dequeued `b` and runs it.
const RUNNING: usize = 1;
/// That worker finished `b` and will not touch the caller's stack again.
const DONE: usize = 2;
/// The caller took `b` back; queue entries of the slot are stale.
const CLAIMED: usize = 3;

/// How many idle slots a thread keeps for its next joins (one per nesting level in use).
#[cfg(not(loom))]
const CACHED_SLOTS: usize = 64;

/// `b` and its result, on the caller's stack.
struct StackJob<F, R> {
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<std::thread::Result<R>>>,
}

/// Type-erased address of a [`StackJob`] and the function that runs it.
#[derive(Clone, Copy)]
struct ErasedJob {
    job: *const (),
    run: unsafe fn(*const ()),
}

/// The queued half of a join: see the module documentation.
pub(crate) struct JoinSlot {
    state: AtomicUsize,
    job: UnsafeCell<Option<ErasedJob>>,
    /// The parker of the thread that owns this slot (slots never change threads).
    owner: Arc<Parker>,
}

// SAFETY: `job` holds a pointer into the stack of the slot's owner, to a `StackJob` whose closure
// and result are `Send` (`join`'s bounds). It is written only by the owner while no other thread
// holds the slot (`Arc::get_mut` before reuse; a fresh slot before it is queued) and read only by
// the thread that wins `QUEUED → RUNNING`, after the queue's hand-over ordered the write before
// the read. The rest of the slot is atomics and an `Arc<Parker>`, which are `Send + Sync`.
#[allow(unsafe_code)]
unsafe impl Send for JoinSlot {}
// SAFETY: as for `Send`: shared access to `job` is ordered by the state word (see above).
#[allow(unsafe_code)]
unsafe impl Sync for JoinSlot {}

impl JoinSlot {
    fn new() -> JoinSlot {
        JoinSlot {
            state: AtomicUsize::new(QUEUED),
            job: UnsafeCell::new(None),
            owner: blocking::thread_parker(),
        }
    }

    /// The owner takes `b` back if no worker started it.
    fn claim(&self) -> bool {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::RacyJoinClaim) {
            return crate::faults::check_then_act(&self.state, QUEUED, CLAIMED).is_ok();
        }
        self.state.compare_exchange(QUEUED, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }
}

impl Runnable for JoinSlot {
    fn run(self: Arc<Self>, finishing: &dyn Fn()) -> RunResult {
        if self.state.compare_exchange(QUEUED, RUNNING, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return RunResult::RanElsewhere;
        }
        // SAFETY: the owner wrote `job` before queueing the slot (ordered before this read by
        // the queue's hand-over and by the `Acquire` above) and does not write it again until
        // this thread has dropped its handle on the slot.
        #[allow(unsafe_code)]
        let erased = self.job.with(|job| unsafe { *job }).expect("a queued join slot has a job");
        // SAFETY: this thread won `QUEUED → RUNNING`, so it is the only one to run the job, and
        // the owner waits for `DONE` before its stack frame (holding the `StackJob`) goes away.
        #[allow(unsafe_code)]
        unsafe {
            (erased.run)(erased.job)
        };
        finishing();
        // Last access to the owner's stack was above; from here on only the slot is touched.
        self.state.store(DONE, Ordering::Release);
        self.owner.unpark();
        RunResult::JoinHalf
    }

    /// `b` is never cancelled: its caller is waiting for it, and runs it itself if it is still
    /// queued (a queue drained at shutdown leaves it `QUEUED`).
    fn cancel(self: Arc<Self>) -> bool {
        false
    }

    /// As `cancel`: a broken pool still lets the caller finish its join.
    fn fail(self: Arc<Self>, _error: FutureError) -> bool {
        false
    }

    fn identity(&self) -> usize {
        self as *const JoinSlot as usize
    }

    fn is_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) == QUEUED
    }

    fn was_skipped(&self) -> bool {
        false
    }
}

/// Runs the `StackJob<F, R>` at `job`, catching a panic into its result.
///
/// # Safety
///
/// `job` points to a live `StackJob<F, R>` that no other thread accesses until this returns.
#[allow(unsafe_code)]
unsafe fn run_stack_job<F: FnOnce() -> R, R>(job: *const ()) {
    // SAFETY: the caller's contract.
    let job = unsafe { &*(job as *const StackJob<F, R>) };
    // SAFETY: exclusive access, by the caller's contract.
    let func = job.func.with_mut(|func| unsafe { (*func).take() }).expect("a join's `b` runs once");
    let result = catch_unwind(AssertUnwindSafe(func));
    // SAFETY: as above.
    job.result.with_mut(|slot| unsafe { *slot = Some(result) });
}

#[cfg(not(loom))]
std::thread_local! {
    /// Idle join slots of this thread, for reuse by its next joins.
    static IDLE_SLOTS: std::cell::RefCell<Vec<Arc<JoinSlot>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A slot for a new join by this thread.
fn take_slot() -> Arc<JoinSlot> {
    #[cfg(not(loom))]
    if let Some(slot) = IDLE_SLOTS.with(|slots| slots.borrow_mut().pop()) {
        return slot;
    }
    Arc::new(JoinSlot::new())
}

/// Keeps `slot` for reuse if no queue entry or worker holds it any more.
fn recycle(slot: Arc<JoinSlot>) {
    #[cfg(not(loom))]
    {
        let mut slot = slot;
        if Arc::get_mut(&mut slot).is_some() {
            IDLE_SLOTS.with(|slots| {
                let mut slots = slots.borrow_mut();
                if slots.len() < CACHED_SLOTS {
                    slots.push(slot);
                }
            });
        }
    }
    #[cfg(loom)]
    drop(slot);
}

/// Where `join` queues `b`: the pool's id and its submit.
pub(crate) trait JoinTarget {
    fn pool_id(&self) -> usize;
    fn queue(&self, task: Task) -> bool;
}

/// See the module documentation.
pub(crate) fn join<A, B, RA, RB>(target: &dyn JoinTarget, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send,
    RB: Send,
{
    let job = StackJob { func: UnsafeCell::new(Some(b)), result: UnsafeCell::new(None) };
    let slot = take_slot();
    let erased = ErasedJob { job: &job as *const StackJob<B, RB> as *const (), run: run_stack_job::<B, RB> };
    // SAFETY: no other thread holds `slot` (fresh, or recycled after `Arc::get_mut`).
    #[allow(unsafe_code)]
    slot.job.with_mut(|job| unsafe { *job = Some(erased) });
    slot.state.store(QUEUED, Ordering::Relaxed);
    // One look at the thread-local worker context: a task of this pool queues `b` on its own
    // deque and takes it back from there.
    let worker = blocking::current_worker().filter(|worker| worker.pool_id() == target.pool_id());
    let queued = match worker.as_deref() {
        Some(worker) => match worker.push_join_half(slot.clone()) {
            Ok(()) => true,
            // A worker that handed its slot off (its task waited) queues as outside threads do.
            Err(task) => target.queue(task),
        },
        None => target.queue(slot.clone()),
    };

    let result_a = catch_unwind(AssertUnwindSafe(a));

    let result_b = if queued && !claim_back(worker.as_deref(), &slot) {
        // A worker is running `b` (or has run it): wait for it without helping.
        let done = || slot.state.load(Ordering::Acquire) == DONE;
        if !done() {
            Blocker::new(|_| false).block_until(&done, None);
        }
        // SAFETY: `DONE` (loaded with `Acquire`) follows the runner's last access to `job`.
        #[allow(unsafe_code)]
        job.result
            .with_mut(|result| unsafe { (*result).take() })
            .expect("a finished join's `b` left its result")
    } else {
        // `b` is this thread's: nobody else can start it any more.
        // SAFETY: `b` was claimed (or never queued): no other thread touches `job`.
        #[allow(unsafe_code)]
        let func = job.func.with_mut(|func| unsafe { (*func).take() }).expect("`b` not yet taken");
        match result_a {
            // `a` panicked: `b` is dropped unrun, and the panic goes on.
            Err(payload) => {
                drop(func);
                recycle(slot);
                resume_unwind(payload)
            }
            Ok(_) => Ok(func()),
        }
    };
    recycle(slot);
    match (result_a, result_b) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(payload), _) | (_, Err(payload)) => resume_unwind(payload),
    }
}

/// Takes `b` back if no worker started it, removing its entry from the top of this thread's own
/// deque when it is there (so that the slot can be reused and the deque does not grow).
fn claim_back(worker: Option<&dyn WorkerContext>, slot: &Arc<JoinSlot>) -> bool {
    if slot.state.load(Ordering::Relaxed) != QUEUED {
        return false;
    }
    if let Some(worker) = worker {
        worker.discard_awaited_entry(slot.identity());
    }
    slot.claim()
}
