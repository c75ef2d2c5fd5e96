//! The synchronisation facade: every module with shared state imports its primitives from here.
//!
//! Normally these are `std`'s types and `crossbeam-deque`'s lock-free deques. Under
//! `RUSTFLAGS="--cfg loom"` they become [loom]'s model-checked equivalents, so that the models in
//! `loom-tests/` explore every interleaving of the lifecycle, shutdown and parking protocols. Loom
//! cannot see inside crossbeam's lock-free code, so under loom the deques are replaced by
//! [`loom_deque`], a `Mutex<VecDeque>` with the same API subset and the same ownership semantics
//! (the owner pops LIFO from the back, thieves steal FIFO from the front).
//!
//! The pattern follows tokio's `crate::loom` module.
//!
//! [loom]: https://docs.rs/loom

// Reference counting is not a protocol loom needs to explore, and loom's `Arc` cannot be coerced to
// `Arc<dyn Trait>`, which the task queues hold: `Arc` is `std`'s in both builds.
pub(crate) use std::sync::Arc;

#[cfg(not(loom))]
pub(crate) use std::sync::{
    Condvar, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence},
};

#[cfg(loom)]
pub(crate) use loom::sync::{
    Condvar, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence},
};

#[cfg(not(loom))]
pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};

#[cfg(loom)]
pub(crate) use self::loom_deque::{Injector, Steal, Stealer, Worker};

#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) use loom::thread;

/// `std::cell::UnsafeCell` with loom's closure-based API, so that under `--cfg loom` every
/// access to the task cell's closure, outcome and listeners is checked by loom's `UnsafeCell`
/// (two threads touching one cell without a happens-before edge fail the model). As tokio's
/// `loom::std::unsafe_cell`.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer for reading.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer for writing.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Whether this code runs while a failed loom model unwinds its blocked threads: loom's runtime
/// has stopped scheduling them and its atomics and locks can no longer be touched, so drops that
/// would touch them must skip. Always false outside loom.
pub(crate) fn unwinding_a_failed_model() -> bool {
    cfg!(loom) && std::thread::panicking()
}

/// Locks `mutex`, ignoring poisoning.
///
/// No code of this crate panics while holding one of its locks (user code, which may panic, always
/// runs outside them, under `catch_unwind`), so a poisoned lock still guards consistent data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Spins or yields once inside a short wait loop.
pub(crate) fn spin_once() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Loom-visible stand-ins for `crossbeam_deque`'s `Worker`, `Stealer` and `Injector`.
///
/// Each deque is one `loom::sync::Mutex<VecDeque<T>>`: loom then explores the interleavings of
/// pushes, pops and steals at the granularity of whole operations, which is what the scheduler's
/// protocols (parking, shutdown, cancellation) depend on. The emptiness check does *not* take
/// the lock: like crossbeam's `is_empty`, it reads the deque's length from an atomic that
/// pushes and pops store with `Release` and it loads with `Acquire`, outside any lock. A check
/// that took the lock would order more than crossbeam's does and hide a missing fence in the
/// sleep protocol (the broken twin `Fault::NoSleepFences` shows that it no longer does).
#[cfg(loom)]
pub(crate) mod loom_deque {
    use loom::sync::Mutex;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use std::collections::VecDeque;
    use std::sync::Arc;

    /// The outcome of a steal, as in `crossbeam_deque::Steal`.
    pub(crate) enum Steal<T> {
        Empty,
        Success(T),
        #[allow(dead_code)]
        Retry,
    }

    /// One deque: the tasks, and their count readable without the lock.
    struct Queue<T> {
        tasks: Mutex<VecDeque<T>>,
        len: AtomicUsize,
    }

    impl<T> Queue<T> {
        fn new() -> Arc<Self> {
            Arc::new(Queue { tasks: Mutex::new(VecDeque::new()), len: AtomicUsize::new(0) })
        }

        /// Runs `f` on the tasks under the lock and publishes the new length.
        fn with<R>(&self, f: impl FnOnce(&mut VecDeque<T>) -> R) -> R {
            let mut tasks = self.tasks.lock().unwrap();
            let result = f(&mut tasks);
            self.len.store(tasks.len(), Ordering::Release);
            result
        }

        fn is_empty(&self) -> bool {
            self.len.load(Ordering::Acquire) == 0
        }
    }

    /// The owner's end of a deque.
    pub(crate) struct Worker<T> {
        queue: Arc<Queue<T>>,
        lifo: bool,
    }

    /// A thief's end of a deque.
    pub(crate) struct Stealer<T> {
        queue: Arc<Queue<T>>,
    }

    /// The global FIFO queue: the thief's end of a deque nobody owns.
    pub(crate) struct Injector<T> {
        queue: Stealer<T>,
    }

    impl<T> Worker<T> {
        pub(crate) fn new_lifo() -> Self {
            Worker { queue: Queue::new(), lifo: true }
        }
        pub(crate) fn new_fifo() -> Self {
            Worker { queue: Queue::new(), lifo: false }
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer { queue: self.queue.clone() }
        }
        pub(crate) fn push(&self, task: T) {
            self.queue.with(|tasks| tasks.push_back(task));
        }
        pub(crate) fn pop(&self) -> Option<T> {
            let lifo = self.lifo;
            self.queue.with(|tasks| if lifo { tasks.pop_back() } else { tasks.pop_front() })
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.is_empty()
        }
    }

    impl<T> Stealer<T> {
        /// Takes one task to run and moves at most one more into `dest` (a small batch keeps
        /// the state space small).
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            // Release this queue's lock before pushing into `dest`: two workers stealing from
            // each other must not hold one deque's lock while waiting for the other's.
            let (task, extra) = self.queue.with(|tasks| (tasks.pop_front(), tasks.pop_front()));
            match task {
                Some(task) => {
                    if let Some(extra) = extra {
                        dest.push(extra);
                    }
                    Steal::Success(task)
                }
                None => Steal::Empty,
            }
        }
        pub(crate) fn steal(&self) -> Steal<T> {
            match self.queue.with(|tasks| tasks.pop_front()) {
                Some(task) => Steal::Success(task),
                None => Steal::Empty,
            }
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.is_empty()
        }
    }

    impl<T> Clone for Stealer<T> {
        fn clone(&self) -> Self {
            Stealer { queue: self.queue.clone() }
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Self {
            Injector { queue: Stealer { queue: Queue::new() } }
        }
        pub(crate) fn push(&self, task: T) {
            self.queue.queue.with(|tasks| tasks.push_back(task));
        }
        pub(crate) fn steal(&self) -> Steal<T> {
            self.queue.steal()
        }
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            self.queue.steal_batch_and_pop(dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.queue.is_empty()
        }
    }
}

#[cfg(not(loom))]
pub(crate) use std::thread_local;

#[cfg(loom)]
pub(crate) use loom::thread_local;
