//! A one-token parker: the way every blocked thread of this crate sleeps.
//!
//! `unpark` stores a token and wakes the parked thread; `park` returns as soon as a token is
//! present (consuming it) or the deadline passes. Because the token outlives an `unpark` that
//! comes before the `park`, a wake-up can never be lost between a thread's last check of its
//! condition and its going to sleep — the property the future's waiters and the work-stealing
//! sleep protocol both build on. Spurious returns are allowed: callers re-check their condition in
//! a loop.
//!
//! It is the condition-variable parker of `std::thread::park` (three states in one atomic,
//! `EMPTY`, `PARKED`, `NOTIFIED`), rebuilt from the crate's sync facade so that loom can model
//! it. An `unpark` of a thread that is not parked is one atomic swap: it takes the mutex and
//! signals the condition variable (a system call) only when the thread really sleeps.

use std::time::Instant;

use crate::notify::Notify;
use crate::sync::{AtomicU8, Condvar, Mutex, Ordering, lock};

const EMPTY: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;

/// A reusable one-token wake-up signal for one sleeping thread at a time.
pub(crate) struct Parker {
    state: AtomicU8,
    lock: Mutex<()>,
    wakeup: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Parker { state: AtomicU8::new(EMPTY), lock: Mutex::new(()), wakeup: Condvar::new() }
    }

    /// Blocks until a token is available (and consumes it) or `deadline` passes.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        // Fast path: a token is already there. `Acquire` pairs with the `Release` of `unpark`,
        // so the caller sees what the unparker wrote before unparking.
        if self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return;
        }
        let mut guard = lock(&self.lock);
        match self.state.compare_exchange(EMPTY, PARKED, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // The token arrived between the fast path and the lock: consume it.
                self.state.swap(EMPTY, Ordering::Acquire);
                return;
            }
            Err(_) => unreachable!("one thread parks on a parker at a time"),
        }
        loop {
            guard = match deadline {
                None => self.wakeup.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // Give up (a token that raced in is consumed: a wake-up all the same).
                        self.state.swap(EMPTY, Ordering::Acquire);
                        return;
                    }
                    self.wakeup.wait_timeout(guard, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
            if self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return;
            }
            // Spurious wake-up (or a timeout, handled at the top of the loop): wait again.
        }
    }

    /// Makes the token available, waking the parked thread if there is one.
    pub(crate) fn unpark(&self) {
        // `Release`: what this thread wrote before unparking is visible to the woken thread.
        if self.state.swap(NOTIFIED, Ordering::Release) == PARKED {
            // The parker holds the lock from its `EMPTY -> PARKED` until it waits; taking the lock
            // here makes sure it is waiting before it is signalled (no lost notification).
            drop(lock(&self.lock));
            self.wakeup.notify_one();
        }
    }
}

impl Notify for Parker {
    fn notify(&self, _token: usize) {
        self.unpark();
    }
}
