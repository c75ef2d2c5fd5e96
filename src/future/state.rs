//! The state word of a future's cell, and the bits it holds.
//!
//! # The state word
//!
//! One `AtomicUsize` holds the lifecycle (`PENDING → RUNNING → FINISHED`, or `PENDING →
//! CANCELLED`) in its low two bits and four flags:
//!
//! - `LISTENING`: a waiter or a callback was registered at some point;
//! - `LOCKED`: a thread holds the listeners (a spin lock in the state word: held for a push or a
//!   take of a short list, never while user code runs);
//! - `RAISED`, `FAILED`: the outcome is a panic or a failure (`FAILED`: the pool failed a task it
//!   never ran), readable by the type-erased views of `wait` without touching the outcome;
//! - `COMPLETING`: a [`Promise`](super::Promise) completion claimed the outcome slot.
//!
//! The rules for who may touch what under each state are in `super::cell`.

pub(crate) const PENDING: usize = 0;
pub(crate) const RUNNING: usize = 1;
pub(crate) const FINISHED: usize = 2;
pub(crate) const CANCELLED: usize = 3;

/// The lifecycle occupies the low two bits of the state word.
pub(super) const LIFECYCLE: usize = 0b11;
pub(super) const LISTENING: usize = 1 << 2;
pub(super) const LOCKED: usize = 1 << 3;
pub(super) const RAISED: usize = 1 << 4;
pub(super) const FAILED: usize = 1 << 5;
pub(super) const COMPLETING: usize = 1 << 6;

/// Set in the handle count once `join` moved the outcome out (rule 3 of `super::cell`).
pub(super) const TAKEN: usize = 1 << (usize::BITS - 1);

/// The pool id of futures that no pool owns (made by a [`Promise`](super::Promise)).
pub(crate) const NO_POOL: usize = 0;

/// The lifecycle's name, for `Debug` output.
pub(crate) fn state_name(state: usize) -> &'static str {
    match state & LIFECYCLE {
        PENDING => "pending",
        RUNNING => "running",
        FINISHED => "finished",
        _ => "cancelled",
    }
}

/// The lifecycle, as the public [`FutureState`](crate::FutureState).
pub(crate) fn future_state(state: usize) -> crate::FutureState {
    match state & LIFECYCLE {
        PENDING => crate::FutureState::Pending,
        RUNNING => crate::FutureState::Running,
        FINISHED => crate::FutureState::Finished,
        _ => crate::FutureState::Cancelled,
    }
}

/// Whether `state` (a lifecycle value) is terminal.
pub(crate) fn is_terminal(state: usize) -> bool {
    state >= FINISHED
}
