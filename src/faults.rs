//! Deliberate bugs for the broken twins of the loom models (built only with `--cfg loom`).
//!
//! Every model in `loom-tests/` has a `#[should_panic]` twin that runs the same model with one of
//! these faults switched on, and passes only if loom finds the resulting failure: evidence that
//! the model can fail, and that the step the fault removes is what makes the protocol correct.
//! Each fault undoes one step of an argument written in the module it breaks.
//!
//! The switch is a `std` thread-local, deliberately not loom's: loom runs all threads of a model
//! as coroutines on the OS thread that called `check`, so a fault set on that thread before the
//! model is seen by every thread of the model, while the other tests of the same binary, which
//! the test harness runs on other OS threads, stay unaffected. Normal builds contain none of
//! this: each injection point is a `#[cfg(loom)]` statement.

use std::cell::Cell;

use crate::sync::{AtomicUsize, Ordering};

/// A deliberate bug, injected at one point of the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `future`: starting a task loads `PENDING`, then stores `RUNNING` (check-then-act)
    /// instead of one compare-exchange (invariant 1).
    RacyStart,
    /// `future`: `cancel` loads `PENDING`, then stores `CANCELLED` instead of one
    /// compare-exchange (invariant 1).
    RacyCancel,
    /// `future`: `add_done_callback` checks for completion before it takes the listeners' lock
    /// instead of under it (invariant 3).
    UnlockedCallbackCheck,
    /// `future`: completion takes the listeners out under the lock but stores the terminal state
    /// only after releasing it (invariant 3).
    StoreAfterUnlock,
    /// `wait`: a collector reads its waiter and pushes a completion under two separate locks
    /// instead of one.
    SplitCollectorNotify,
    /// `scheduler::sleep`: a worker parks right after registering as a sleeper, without the
    /// `SeqCst` fence and the re-check of the queues (steps 3 and 4).
    SkipSleepRecheck,
    /// `thread_pool::pool`: shutdown does not wait for the submissions in flight (step 1).
    SkipWaitForSubmitters,
    /// `thread_pool::pool`: `shutdown(wait = true)` returns without waiting for the workers to
    /// exit (step 4), so a task a worker has taken may still be running.
    SkipWaitForWorkers,
    /// `thread_pool::worker`: a worker exits as soon as it finds no task and the pool quiescent,
    /// without its one more look at the queues.
    SkipFinalLook,
    /// `thread_pool::pool`: a submit refused after the close does not wake the workers once it
    /// has taken itself out of the in-flight count (shutdown protocol, step 3).
    SkipRefusalWake,
    /// `scheduler::sleep`: both `SeqCst` fences of the sleep protocol are left out and the
    /// sleeper count is read and written `Relaxed` (steps 3 and b).
    NoSleepFences,
    /// `thread_pool::pool`: a waiting task's thread never hands its slot to a spare thread
    /// (compensation off), so it blocks its worker.
    NoCompensation,
    /// `scheduler::sleep`: the last searching worker to find work does not wake another one
    /// for the work left behind (the pushes it gated woke nobody).
    NoSearchChain,
    /// `structured::join`: the caller takes `b` back with a load of `QUEUED` and a separate
    /// store of `CLAIMED` instead of one compare-exchange, so a worker can start `b` in between.
    RacyJoinClaim,
    /// `structured::scope`: `scope` returns as soon as its body does, without waiting for the
    /// tasks submitted through it.
    ScopeReturnsEarly,
}

std::thread_local! {
    static ACTIVE: Cell<Option<Fault>> = const { Cell::new(None) };
}

/// Whether `fault` is switched on for the models run by this OS thread.
pub(crate) fn injected(fault: Fault) -> bool {
    ACTIVE.with(|active| active.get() == Some(fault))
}

/// Switches `fault` on for the models this OS thread runs until the guard is dropped (also when
/// the model panics, as a broken twin's does).
pub fn inject(fault: Fault) -> Injected {
    ACTIVE.with(|active| active.set(Some(fault)));
    Injected(())
}

/// Switches the injected fault off when dropped.
#[derive(Debug)]
pub struct Injected(());

impl Drop for Injected {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.set(None));
    }
}

/// The broken form of `state.compare_exchange(from, to, ..)`: a load, then a separate store, so
/// another thread can act between the check and the act.
pub(crate) fn check_then_act(state: &AtomicUsize, from: usize, to: usize) -> Result<usize, usize> {
    match state.load(Ordering::Acquire) {
        current if current == from => {
            state.store(to, Ordering::Release);
            Ok(current)
        }
        current => Err(current),
    }
}
