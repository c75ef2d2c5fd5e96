//! A one-token parker: the way every blocked thread of this crate sleeps.
//!
//! `unpark` stores a token and wakes the parked thread; `park` returns as soon as a token is
//! present (consuming it) or the deadline passes. Because the token outlives an `unpark` that
//! comes before the `park`, a wake-up can never be lost between a thread's last check of its
//! condition and its going to sleep — the property the future's waiters and the work-stealing
//! sleep protocol both build on. Spurious returns are allowed: callers re-check their condition in
//! a loop.
//!
//! It is `std::thread::park` rebuilt from a mutex and a condition variable so that loom can model
//! it.

use std::time::Instant;

use crate::blocking::Notify;
use crate::sync::{Condvar, Mutex, lock};

/// A reusable one-token wake-up signal for one sleeping thread at a time.
pub(crate) struct Parker {
    /// Whether an unpark is pending.
    token: Mutex<bool>,
    wakeup: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Parker { token: Mutex::new(false), wakeup: Condvar::new() }
    }

    /// Blocks until a token is available (and consumes it) or `deadline` passes.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        let mut token = lock(&self.token);
        while !*token {
            match deadline {
                None => {
                    token = self.wakeup.wait(token).unwrap_or_else(|e| e.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return;
                    }
                    token =
                        self.wakeup.wait_timeout(token, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
        }
        *token = false;
    }

    /// Makes the token available, waking the parked thread if there is one.
    pub(crate) fn unpark(&self) {
        *lock(&self.token) = true;
        self.wakeup.notify_one();
    }
}

impl Notify for Parker {
    fn notify(&self, _token: usize) {
        self.unpark();
    }
}
