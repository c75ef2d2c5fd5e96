//! The task cell: a task's closure, its outcome, its lifecycle state, its listeners and its
//! reference counts in one heap allocation, as tokio's task cell (`runtime/task/core.rs`) keeps
//! them. The state word and its bits are `super::state`; the traits through which the rest of
//! the crate sees a cell are `super::task`.
//!
//! # Who may touch what
//!
//! The closure and the outcome share one `UnsafeCell<Stage>`; the state word decides access:
//!
//! 1. **Start and cancel.** From `PENDING` exactly one compare-exchange wins: `try_start`
//!    (`→ RUNNING`) or `cancel` (`→ CANCELLED`). The winner alone takes the closure out of the
//!    stage. Nobody else touches the stage until the terminal state is published.
//! 2. **Publish, then announce.** The starter writes the outcome into the stage, then publishes
//!    `FINISHED` with a `Release` read-modify-write. Readers load the state with `Acquire` and
//!    read the outcome only when they see `FINISHED`; after that, the stage is read-only, except:
//! 3. **`join` moves the outcome out** only when its handle is the last one: it swaps the handle
//!    count from exactly 1 to `TAKEN | 1` (`Acquire`, pairing with the `Release` decrement of
//!    every dropped handle, so every earlier read happened before the move). No handle can be
//!    created from nothing afterwards except by [`Promise::future`](super::Promise::future),
//!    and a handle made after the swap sees `TAKEN` (one modification order) and never reads.
//! 4. **Listeners.** Registering takes `LOCKED` with a compare-exchange that fails on a
//!    terminal state and sets `LISTENING` in the same step. Completing without `LISTENING` is one
//!    compare-exchange (`RUNNING → FINISHED`): the common case, nobody listens, costs one atomic
//!    read-modify-write and allocates nothing. With `LISTENING`, the completer takes `LOCKED`,
//!    takes the list out, and stores the terminal state and the unlock in one `Release` store. A
//!    registration therefore either comes first (the completer sees it in the list) or sees the
//!    terminal state (and runs its callback itself / does not wait): exactly-once notification.
//!    The list is a `Box` allocated by the first listener, so a cell nobody listens to holds one
//!    null pointer.
//! 5. **User drops after the bookkeeping.** A cancelled or failed task's closure is dropped only
//!    after every waiter was told and every callback ran, under `catch_unwind`: a closure whose
//!    drop panics cannot leave a waiter blocked.
//!
//! Under `--cfg loom` the `UnsafeCell` is loom's, so the models in `loom-tests/` check every
//! access of the stage and the list against these rules.

use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Future;
use super::state::*;
use super::task::{Callback, Core, Erased, Job, NoJob, Outcome, RunResult, Runnable};
use crate::error::{BrokenReason, FutureError, InvalidStateError, TaskPanic};
use crate::notify::Notify;
use crate::sync::{Arc, AtomicUsize, Ordering, UnsafeCell, spin_once};

/// One registered waiter: told `token` when the future becomes done.
struct Waiter {
    id: u64,
    notify: Arc<dyn Notify>,
    token: usize,
}

/// Who must hear of the completion; allocated by the first listener (rule 4).
pub(crate) struct Listeners<T: 'static> {
    next_id: u64,
    waiters: Vec<Waiter>,
    callbacks: Vec<Callback<T>>,
}

/// The closure before the start, the outcome after the finish.
enum Stage<T, J> {
    Pending(J),
    Empty,
    Finished(Outcome<T>),
}

/// See the module documentation.
pub(crate) struct TaskCell<T: 'static, J> {
    state: AtomicUsize,
    /// [`Future`] handles alive, plus `TAKEN` (rule 3).
    handles: AtomicUsize,
    pool_id: usize,
    stage: UnsafeCell<Stage<T, J>>,
    listeners: UnsafeCell<Option<Box<Listeners<T>>>>,
}

// SAFETY: the cell moves `T` and `J` between threads (the closure runs on a worker, the outcome
// is dropped wherever the last reference goes), hence `Send` bounds. Shared access is governed
// by the state word (rules 1 to 4): the stage and the listeners are written by one thread at a
// time, each write ordered before the reads it enables by a `Release`/`Acquire` pair. Handing
// out `&T` to several threads is `Future`'s business: it is `Send`/`Sync` only for `T: Sync`.
unsafe impl<T: Send + 'static, J: Send> Sync for TaskCell<T, J> {}

impl<T: Send + 'static, J: Job<T>> TaskCell<T, J> {
    fn with_stage(pool_id: usize, stage: Stage<T, J>) -> Arc<Self> {
        Arc::new(TaskCell {
            state: AtomicUsize::new(PENDING),
            handles: AtomicUsize::new(1),
            pool_id,
            stage: UnsafeCell::new(stage),
            listeners: UnsafeCell::new(None),
        })
    }

    /// A new pending task running `job`, and the future that observes it (the cell's one
    /// handle is counted already).
    pub(crate) fn new(pool_id: usize, job: J) -> (Arc<Self>, Future<T>) {
        let cell = Self::with_stage(pool_id, Stage::Pending(job));
        let future = Future::from_counted(cell.clone());
        (cell, future)
    }

    fn load(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// `PENDING → RUNNING`, keeping the flags. `AcqRel`: the winner sees what the submitter
    /// wrote; the loser sees the transition that beat it.
    fn try_start(&self) -> bool {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::RacyStart) {
            let found = self.load();
            return found & LIFECYCLE == PENDING
                && crate::faults::check_then_act(&self.state, found, found | RUNNING).is_ok();
        }
        let mut current = PENDING;
        loop {
            match self.state.compare_exchange_weak(
                current,
                current | RUNNING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(found) if found & LIFECYCLE != PENDING => return false,
                Err(found) => current = found,
            }
        }
    }

    /// Takes `LOCKED` unless the state is terminal (then returns false); with `listen`, sets
    /// `LISTENING` in the same step (rule 4).
    fn lock_unless_done(&self, listen: bool) -> bool {
        let flag = if listen { LOCKED | LISTENING } else { LOCKED };
        let locked = self.lock_with(flag, |state| state & LIFECYCLE >= FINISHED);
        if locked.is_none() {
            // Acquire: a caller that gives up here reads the outcome next.
            self.state.load(Ordering::Acquire);
        }
        locked.is_some()
    }

    /// Spins until `LOCKED` is clear, then sets `flag` (which includes `LOCKED`) with `Acquire`;
    /// returns the state it locked, or `None` if `give_up(state)` held first.
    fn lock_with(&self, flag: usize, give_up: impl Fn(usize) -> bool) -> Option<usize> {
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            if give_up(current) {
                return None;
            }
            if current & LOCKED != 0 {
                spin_once();
                current = self.state.load(Ordering::Relaxed);
                continue;
            }
            match self.state.compare_exchange_weak(
                current,
                current | flag,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(current),
                Err(found) => current = found,
            }
        }
    }

    /// Takes `LOCKED` whatever the state (only the fault injection of the loom twins needs it).
    #[cfg(loom)]
    fn lock_always(&self) {
        while self.state.fetch_or(LOCKED, Ordering::Acquire) & LOCKED != 0 {
            spin_once();
        }
    }

    fn unlock(&self) {
        self.state.fetch_and(!LOCKED, Ordering::Release);
    }

    /// Runs `f` on the listeners. Caller holds `LOCKED`.
    fn with_listeners<R>(&self, f: impl FnOnce(&mut Listeners<T>) -> R) -> R {
        self.listeners.with_mut(|listeners| {
            // SAFETY: the caller holds `LOCKED`, taken with `Acquire` after the previous holder
            // released it with `Release` (rule 4): no other thread accesses the list now.
            let listeners = unsafe { &mut *listeners };
            let listeners = listeners.get_or_insert_with(|| {
                Box::new(Listeners { next_id: 0, waiters: Vec::new(), callbacks: Vec::new() })
            });
            f(listeners)
        })
    }

    /// Takes the listeners out. Caller holds `LOCKED` (or completed while `LISTENING` was
    /// clear, when there are none).
    fn take_listeners(&self) -> Option<Box<Listeners<T>>> {
        // SAFETY: as in `with_listeners`.
        self.listeners.with_mut(|listeners| unsafe { (*listeners).take() })
    }

    /// Publishes `FINISHED` after the stage holds the outcome (rules 2 and 4); `flags` are the
    /// outcome's. The caller started the task (or claimed a promise's completion).
    fn publish(self: &Arc<Self>, flags: usize) {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::StoreAfterUnlock) {
            self.lock_always();
            let listeners = self.take_listeners();
            let callback_handle = self.callback_handle(&listeners);
            self.unlock();
            let _ = self.state.fetch_update(Ordering::Release, Ordering::Relaxed, |state| {
                Some((state & !(LIFECYCLE | COMPLETING)) | FINISHED | flags)
            });
            announce(listeners, callback_handle);
            return;
        }
        let mut current = RUNNING;
        loop {
            if current & (LISTENING | LOCKED) != 0 {
                break;
            }
            // Fast path: nobody listens. `Release` publishes the outcome (rule 2).
            let finished = (current & !(LIFECYCLE | COMPLETING)) | FINISHED | flags;
            match self.state.compare_exchange_weak(current, finished, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return,
                Err(found) => current = found,
            }
        }
        // Someone listens: take the lock (the state stays `RUNNING` meanwhile, so registrations
        // wait for it and then see the terminal state).
        let current = self.lock_with(LOCKED, |_| false).expect("never gives up");
        let listeners = self.take_listeners();
        // The callbacks' handle is counted before `FINISHED` is visible, so a `join` never sees
        // itself alone while a callback may still read the outcome (rule 3).
        let callback_handle = self.callback_handle(&listeners);
        // Terminal state and unlock in one `Release` store.
        let finished = (current & !(LIFECYCLE | COMPLETING | LOCKED)) | FINISHED | flags;
        self.state.store(finished, Ordering::Release);
        announce(listeners, callback_handle);
    }

    /// A handle to pass to the done-callbacks, if there are any.
    fn callback_handle(self: &Arc<Self>, listeners: &Option<Box<Listeners<T>>>) -> Option<Future<T>> {
        match listeners {
            Some(listeners) if !listeners.callbacks.is_empty() => Some(Future::new_handle(self.clone())),
            _ => None,
        }
    }

    /// Writes the outcome into the stage (rule 2) and returns what the stage held (the closure,
    /// for a task failed before it ran).
    fn write_outcome(&self, outcome: Outcome<T>) -> Stage<T, J> {
        self.stage.with_mut(|stage| {
            // SAFETY: the caller won the start (or claimed the promise's completion): no other
            // thread reads or writes the stage until `publish` stores `FINISHED` (rule 1).
            unsafe { mem::replace(&mut *stage, Stage::Finished(outcome)) }
        })
    }

    /// Cancels the task if it is pending (rule 1); returns whether it is cancelled.
    fn cancel_pending(self: &Arc<Self>) -> bool {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::RacyCancel) {
            let found = self.load();
            return match found & LIFECYCLE {
                PENDING => {
                    let won = crate::faults::check_then_act(&self.state, found, CANCELLED).is_ok();
                    // The closure stays in the stage: with two winners, dropping it here would
                    // race the runner's take (the model looks at the outcome, not at the drop).
                    won
                }
                CANCELLED => true,
                _ => false,
            };
        }
        let mut current = self.state.load(Ordering::Acquire);
        let listening = loop {
            match current & LIFECYCLE {
                CANCELLED => return true,
                RUNNING | FINISHED => return false,
                _ => {}
            }
            if current & LOCKED != 0 {
                spin_once();
                current = self.state.load(Ordering::Acquire);
                continue;
            }
            // With listeners, take the lock in the same step: a registration then sees the
            // terminal state, and the list is this thread's to take.
            let listening = current & LISTENING != 0;
            let next = CANCELLED | if listening { LISTENING | LOCKED } else { 0 };
            match self.state.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break listening,
                Err(found) => current = found,
            }
        };
        let listeners = if listening {
            let listeners = self.take_listeners();
            self.unlock();
            listeners
        } else {
            None
        };
        let callback_handle = self.callback_handle(&listeners);
        announce(listeners, callback_handle);
        // SAFETY: winning `PENDING → CANCELLED` gave this thread the closure: every `try_start`
        // fails from now on, and nobody else touches the stage of a cancelled cell (rule 1).
        let stage = self.stage.with_mut(|stage| unsafe { mem::replace(&mut *stage, Stage::Empty) });
        drop_user_value(stage, "a cancelled task's closure");
        true
    }
}

/// Drops `value` (a closure or an outcome), reporting a panic in its drop instead of unwinding
/// into the crate's bookkeeping (rule 5).
fn drop_user_value<V>(value: V, what: &str) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        let panic = TaskPanic::from_payload(&*payload);
        eprintln!("stealpool: dropping {what} panicked; the panic was ignored: {}", panic.message());
    }
}

/// Wakes the waiters and runs the callbacks taken out by a completion, outside the lock.
fn announce<T: Send + 'static>(listeners: Option<Box<Listeners<T>>>, callback_handle: Option<Future<T>>) {
    let Some(listeners) = listeners else { return };
    let Listeners { waiters, callbacks, .. } = *listeners;
    for waiter in waiters {
        waiter.notify.notify(waiter.token);
    }
    if let Some(future) = callback_handle {
        for callback in callbacks {
            super::run_callback(&future, callback);
        }
    }
}

impl<T: Send + 'static, J: Job<T>> Runnable for TaskCell<T, J> {
    fn run(self: Arc<Self>, finishing: &dyn Fn()) -> RunResult {
        if !self.try_start() {
            let state = self.load();
            return match state & LIFECYCLE {
                CANCELLED => RunResult::Cancelled,
                _ if state & FAILED != 0 => RunResult::Cancelled,
                _ => RunResult::RanElsewhere,
            };
        }
        let job = self.stage.with_mut(|stage| {
            // SAFETY: this thread won the start (rule 1).
            match unsafe { mem::replace(&mut *stage, Stage::Empty) } {
                Stage::Pending(job) => job,
                _ => panic!("the winner of start takes the closure"),
            }
        });
        let outcome = match catch_unwind(AssertUnwindSafe(move || job.call())) {
            Ok(value) => Outcome::Value(value),
            Err(payload) => {
                if cfg!(loom) {
                    // A loom model's tasks never panic: this is loom unwinding the blocked
                    // threads of a model that failed, which must not be caught.
                    std::panic::resume_unwind(payload);
                }
                Outcome::Panicked(TaskPanic::from_boxed(payload))
            }
        };
        let flags = outcome.flags();
        self.write_outcome(outcome);
        finishing();
        self.publish(flags);
        RunResult::Ran
    }

    fn cancel(self: Arc<Self>) -> bool {
        self.cancel_pending()
    }

    fn fail(self: Arc<Self>, error: FutureError) -> bool {
        if !self.try_start() {
            return false;
        }
        let closure = self.write_outcome(Outcome::Failed(error));
        self.publish(RAISED | FAILED);
        drop_user_value(closure, "a failed task's closure");
        true
    }

    fn identity(&self) -> usize {
        self as *const Self as *const () as usize
    }

    fn is_pending(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LIFECYCLE == PENDING
    }

    fn was_skipped(&self) -> bool {
        let state = self.load();
        state & LIFECYCLE == CANCELLED || state & FAILED != 0
    }
}

impl<T: Send + 'static, J: Job<T>> Erased for TaskCell<T, J> {
    fn state(&self) -> usize {
        self.load() & LIFECYCLE
    }

    fn raised(&self) -> bool {
        let state = self.load();
        state & LIFECYCLE == FINISHED && state & RAISED != 0
    }

    fn pool_id(&self) -> usize {
        self.pool_id
    }

    fn register(&self, notify: Arc<dyn Notify>, token: usize) -> Option<u64> {
        if !self.lock_unless_done(true) {
            return None;
        }
        let id = self.with_listeners(|listeners| {
            let id = listeners.next_id;
            listeners.next_id += 1;
            listeners.waiters.push(Waiter { id, notify, token });
            id
        });
        self.unlock();
        Some(id)
    }

    fn unregister(&self, id: u64) {
        // Once done, the completer has taken (or is taking) the whole list.
        if !self.lock_unless_done(false) {
            return;
        }
        self.with_listeners(|listeners| {
            if let Some(at) = listeners.waiters.iter().position(|waiter| waiter.id == id) {
                listeners.waiters.swap_remove(at);
            }
        });
        self.unlock();
    }

    fn cancel(self: Arc<Self>) -> bool {
        self.cancel_pending()
    }

    fn identity(&self) -> usize {
        self as *const Self as *const () as usize
    }

    fn run_inline(self: Arc<Self>) -> bool {
        Runnable::is_pending(&*self) && Runnable::run(self, &|| {}) == RunResult::Ran
    }

    fn abandon(self: Arc<Self>) {
        let _ = Core::complete(self, Outcome::Failed(FutureError::Broken(BrokenReason::PromiseDropped)));
    }
}

impl<T: Send + 'static, J: Job<T>> Core<T> for TaskCell<T, J> {
    fn finished_outcome(&self) -> Option<&Outcome<T>> {
        if self.load() & LIFECYCLE != FINISHED || self.handles.load(Ordering::Acquire) & TAKEN != 0 {
            return None;
        }
        self.stage.with(|stage| {
            // SAFETY: `FINISHED` was loaded with `Acquire` after the starter wrote the stage and
            // published with `Release`; the stage changes again only in `take_outcome`, which
            // needs the caller's handle to be the only one (rule 3), and `TAKEN` is not set.
            match unsafe { &*stage } {
                Stage::Finished(outcome) => Some(outcome),
                _ => unreachable!("a finished cell holds its outcome (rule 2)"),
            }
        })
    }

    fn outcome(&self) -> Result<&Outcome<T>, FutureError> {
        loop {
            if let Some(outcome) = self.finished_outcome() {
                return Ok(outcome);
            }
            // Why not: the state only moves forward and `TAKEN` stays, so this look explains the
            // one above, unless the task finished in between (then look again).
            match self.load() & LIFECYCLE {
                CANCELLED => return Err(FutureError::Cancelled),
                FINISHED if self.handles.load(Ordering::Acquire) & TAKEN != 0 => {
                    return Err(FutureError::Taken);
                }
                FINISHED => continue,
                _ => return Err(FutureError::Timeout),
            }
        }
    }

    fn take_outcome(&self) -> Result<Outcome<T>, FutureError> {
        self.outcome()?;
        if self.handles.compare_exchange(1, 1 | TAKEN, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return Err(FutureError::Shared);
        }
        // SAFETY: the caller's handle is the only one and every other handle's reads happened
        // before its `Release` decrement, which the `Acquire` above saw; handles made from now
        // on see `TAKEN` and do not read (rule 3).
        let stage = self.stage.with_mut(|stage| unsafe { mem::replace(&mut *stage, Stage::Empty) });
        match stage {
            Stage::Finished(outcome) => Ok(outcome),
            _ => unreachable!("checked finished above"),
        }
    }

    fn add_callback(&self, callback: Callback<T>) -> Result<(), Callback<T>> {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::UnlockedCallbackCheck) {
            if self.load() & LIFECYCLE >= FINISHED {
                return Err(callback);
            }
            self.lock_always();
            self.with_listeners(|listeners| listeners.callbacks.push(callback));
            self.unlock();
            return Ok(());
        }
        if !self.lock_unless_done(true) {
            return Err(callback);
        }
        self.with_listeners(|listeners| listeners.callbacks.push(callback));
        self.unlock();
        Ok(())
    }

    fn handles(&self) -> &AtomicUsize {
        &self.handles
    }

    fn complete(self: Arc<Self>, outcome: Outcome<T>) -> Result<(), InvalidStateError> {
        // Claim the outcome slot: from `PENDING` (starting it, so that a concurrent cancel and
        // this completion are decided by one word) or from `RUNNING` not yet claimed.
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let claimable = match current & LIFECYCLE {
                PENDING => true,
                RUNNING => current & COMPLETING == 0,
                _ => false,
            };
            if !claimable {
                let state = if current & COMPLETING != 0 { FINISHED } else { current };
                return Err(InvalidStateError { state: future_state(state) });
            }
            let claimed = (current & !LIFECYCLE) | RUNNING | COMPLETING;
            match self.state.compare_exchange_weak(current, claimed, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(found) => current = found,
            }
        }
        let flags = outcome.flags();
        let previous = self.write_outcome(outcome);
        self.publish(flags);
        drop_user_value(previous, "a promise's task");
        Ok(())
    }

    fn set_running(&self) -> Result<(), usize> {
        if self.try_start() { Ok(()) } else { Err(self.load()) }
    }

    fn as_erased(&self) -> &dyn Erased {
        self
    }

    fn into_erased(self: Arc<Self>) -> Arc<dyn Erased> {
        self
    }
}

/// The cell behind a `Promise`.
pub(crate) type PromiseCell<T> = TaskCell<T, NoJob>;

impl<T: Send + 'static> PromiseCell<T> {
    /// A pending future with no task, and its handle.
    pub(crate) fn new_promise() -> (Arc<Self>, Future<T>) {
        let cell = Self::with_stage(NO_POOL, Stage::Empty);
        let future = Future::from_counted(cell.clone());
        (cell, future)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlistened_completion_leaves_no_list() {
        let (cell, future) = TaskCell::new(NO_POOL, || 5);
        assert_eq!(Runnable::run(cell.clone(), &|| {}), RunResult::Ran);
        assert_eq!(cell.state.load(Ordering::Relaxed) & (LISTENING | LOCKED), 0);
        assert_eq!(future.join(), Ok(5));
    }

    #[test]
    fn a_second_run_is_stale() {
        let (cell, _future) = TaskCell::new(NO_POOL, || 5);
        assert_eq!(Runnable::run(cell.clone(), &|| {}), RunResult::Ran);
        assert_eq!(Runnable::run(cell, &|| {}), RunResult::RanElsewhere);
    }
}
