//! Helpers shared by the behaviour tests: a count-down latch, a way to hold a worker busy until
//! the test lets it go, and the macro that runs every behaviour test on each scheduler.
//!
//! Tests order events with latches and channels only. Every wait is bounded by [`PATIENCE`], far
//! longer than any step needs, so that a deadlock in the crate fails the test with a message
//! instead of hanging the suite; no test asserts anything about time.

#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use stealpool::{Future, FutureError, LocalOrder, SchedulerKind, ThreadPoolBuilder, ThreadPoolExecutor};

/// How long a test waits for something that should happen at once before calling it a deadlock.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Runs each named test function (`fn name(kind: SchedulerKind)`) once per configuration, as
/// `work_stealing::name` (LIFO local order, the default), `work_stealing_fifo::name` (FIFO local
/// order) and `shared_queue::name`. The local order reaches the test through [`builder`] and
/// [`pool`] (see [`with_local_order`]).
#[allow(unused_macros)]
macro_rules! scheduler_tests {
    ($($name:ident),+ $(,)?) => {
        mod work_stealing {
            $(
                #[test]
                fn $name() {
                    super::$name(stealpool::SchedulerKind::WorkStealing)
                }
            )+
        }
        mod work_stealing_fifo {
            $(
                #[test]
                fn $name() {
                    crate::common::with_local_order(stealpool::LocalOrder::Fifo, || {
                        super::$name(stealpool::SchedulerKind::WorkStealing)
                    })
                }
            )+
        }
        mod shared_queue {
            $(
                #[test]
                fn $name() {
                    super::$name(stealpool::SchedulerKind::SharedQueue)
                }
            )+
        }
    };
}

thread_local! {
    /// The local order [`builder`] gives the pools of the test running on this thread.
    static LOCAL_ORDER: std::cell::Cell<LocalOrder> = const { std::cell::Cell::new(LocalOrder::Lifo) };
}

/// Runs `test` with [`builder`] and [`pool`] building pools with local order `order` on this
/// thread (each test runs on a thread of its own).
pub fn with_local_order<R>(order: LocalOrder, test: impl FnOnce() -> R) -> R {
    let before = LOCAL_ORDER.replace(order);
    let result = test();
    LOCAL_ORDER.set(before);
    result
}

/// A builder for a pool on the scheduler `kind` (with this test's local order).
pub fn builder(kind: SchedulerKind) -> ThreadPoolBuilder {
    ThreadPoolExecutor::builder().scheduler(kind).local_order(LOCAL_ORDER.get())
}

/// A pool of at most `workers` threads on the scheduler `kind`.
pub fn pool(kind: SchedulerKind, workers: usize) -> ThreadPoolExecutor {
    builder(kind).max_workers(workers).build().expect("a valid pool configuration")
}

/// A count-down latch: [`wait`](Latch::wait) returns once [`count_down`](Latch::count_down) has
/// been called `count` times. Clones share the count.
#[derive(Clone)]
pub struct Latch {
    inner: Arc<(Mutex<usize>, Condvar)>,
}

impl Latch {
    /// A latch that opens after `count` count-downs.
    pub fn new(count: usize) -> Self {
        Latch { inner: Arc::new((Mutex::new(count), Condvar::new())) }
    }

    /// A latch that opens after one count-down (a one-shot signal).
    pub fn one() -> Self {
        Self::new(1)
    }

    /// Counts down once (no effect once open).
    pub fn count_down(&self) {
        let (count, opened) = &*self.inner;
        let mut count = count.lock().unwrap();
        *count = count.saturating_sub(1);
        if *count == 0 {
            opened.notify_all();
        }
    }

    /// Same as [`count_down`](Self::count_down), for one-shot latches.
    pub fn set(&self) {
        self.count_down();
    }

    /// Whether the latch is open.
    pub fn is_set(&self) -> bool {
        *self.inner.0.lock().unwrap() == 0
    }

    /// Waits until the latch opens, at most `timeout`; returns whether it opened.
    pub fn wait_for(&self, timeout: Duration) -> bool {
        let (count, opened) = &*self.inner;
        let count = count.lock().unwrap();
        let (count, _) = opened.wait_timeout_while(count, timeout, |count| *count > 0).unwrap();
        *count == 0
    }

    /// Waits until the latch opens; panics (a deadlock) if it does not within [`PATIENCE`].
    pub fn wait(&self) {
        assert!(self.wait_for(PATIENCE), "latch not opened within {PATIENCE:?}: deadlock");
    }
}

/// A task held busy on a worker: it has started, and runs until [`release`](Held::release).
pub struct Held {
    pub future: Future<()>,
    release: Latch,
}

impl Held {
    /// Lets the held task finish.
    pub fn release(&self) {
        self.release.set();
    }
}

impl Drop for Held {
    /// Releases the task if the test did not (e.g. it failed first), so the pool can shut down.
    fn drop(&mut self) {
        self.release.set();
    }
}

/// Submits a task that occupies a worker until released, and returns once it runs.
pub fn hold_worker(pool: &ThreadPoolExecutor) -> Held {
    let started = Latch::one();
    let release = Latch::one();
    let future = pool
        .submit({
            let started = started.clone();
            let release = release.clone();
            move || {
                started.set();
                release.wait();
            }
        })
        .expect("the pool accepts tasks");
    started.wait();
    Held { future, release }
}

/// A task that runs only once `gate` opens (it waits for it) and then returns `value`.
pub fn gated<T: Send + Sync + 'static>(pool: &ThreadPoolExecutor, gate: &Latch, value: T) -> Future<T> {
    let gate = gate.clone();
    pool.submit(move || {
        gate.wait();
        value
    })
    .expect("the pool accepts tasks")
}

/// `future.result()`, but a deadlock fails the test instead of hanging it.
pub fn get<T: Send + Sync + 'static>(future: &Future<T>) -> Result<&T, FutureError> {
    match future.result_timeout(PATIENCE) {
        Err(FutureError::Timeout) => panic!("future not done within {PATIENCE:?}: deadlock"),
        other => other,
    }
}

/// Waits for every future (see [`get`]).
pub fn wait_all<T: Send + Sync + 'static>(futures: &[Future<T>]) {
    for future in futures {
        let _ = get(future);
    }
}
