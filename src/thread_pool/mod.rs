//! `ThreadPoolExecutor`: Python's thread pool, on either scheduler.
//!
//! The public types here are thin: the executor holds a type-erased [`pool::PoolOps`], so the
//! same `ThreadPoolExecutor` type runs on the work-stealing scheduler or on the shared queue,
//! chosen at build time ([`SchedulerKind`]), and every test and benchmark compares like with like.

mod affinity;
pub(crate) mod pool;
pub(crate) mod worker;

use std::fmt;

use crate::error::{BuildError, SubmitError};
use crate::future::{Future, TaskCell};
use crate::map::{MapIter, MapOptions};
use crate::scheduler::Task;
use crate::scheduler::{LocalOrder, SchedulerConfig, SchedulerKind, SharedQueue, WorkStealing};
use crate::stats::PoolStats;
use crate::structured::{self, Scope};
use crate::sync::Arc;

use self::pool::{Initializer, Pool, PoolConfig, PoolOps};

/// Spare threads a pool may start by default (see [`ThreadPoolBuilder::max_spare_threads`]).
pub const DEFAULT_MAX_SPARE_THREADS: usize = 256;

/// Python's default `max_workers`: `min(32, cpus + 4)`.
pub fn default_max_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

/// A pool of worker threads running submitted closures (Python's
/// `concurrent.futures.ThreadPoolExecutor`).
///
/// Dropping it is leaving Python's `with` block: `shutdown(wait = true)`, so every accepted task
/// has run (or was cancelled) when the drop returns. Use [`handle`](Self::handle) to submit from
/// inside tasks.
///
/// ```
/// use stealpool::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(3)?;
/// let future = pool.submit(|| 2 * 21)?;
/// assert_eq!(*future.result()?, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ThreadPoolExecutor {
    handle: PoolHandle,
}

/// A cloneable reference to a pool, for submitting from tasks and other threads. Unlike the
/// [`ThreadPoolExecutor`], dropping a handle does not shut the pool down.
///
/// ```
/// use stealpool::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let handle = pool.handle();
/// // A task that submits a task of its own and waits for it (no deadlock, even on one worker).
/// let outer = pool.submit(move || {
///     let inner = handle.submit(|| 20).expect("the pool is open");
///     *inner.result().expect("the inner task returns") + 1
/// })?;
/// assert_eq!(outer.join()?, 21);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PoolHandle {
    ops: Arc<dyn PoolOps>,
}

impl ThreadPoolExecutor {
    /// A pool of at most `max_workers` threads on the default (work-stealing) scheduler.
    /// Zero is an error ([`BuildError::ZeroWorkers`]).
    pub fn new(max_workers: usize) -> Result<Self, BuildError> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A builder for the other options (thread names, initializer, scheduler).
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// A cloneable handle that submits to this pool without owning it.
    pub fn handle(&self) -> PoolHandle {
        self.handle.clone()
    }

    /// Schedules `task` and returns its future; `Err(SubmitError::Shutdown)` after shutdown,
    /// `Err(SubmitError::Broken)` if an initializer panicked.
    pub fn submit<T, F>(&self, task: F) -> Result<Future<T>, SubmitError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.handle.submit(task)
    }

    /// `function` over `inputs`, in input order, lazily (see [`PoolHandle::map_with`]).
    pub fn map<'a, A, T, F, I>(&self, function: F, inputs: I) -> Result<MapIter<'a, T>, SubmitError>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: Fn(A) -> T + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        self.handle.map_with(function, inputs, MapOptions::new())
    }

    /// `map` with a timeout, a bounded look-ahead (`buffersize`) or a `chunksize`.
    pub fn map_with<'a, A, T, F, I>(
        &self,
        function: F,
        inputs: I,
        options: MapOptions,
    ) -> Result<MapIter<'a, T>, SubmitError>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: Fn(A) -> T + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        self.handle.map_with(function, inputs, options)
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results (rayon's `join`).
    /// Both closures may borrow from the caller's stack; no [`Future`] is allocated.
    ///
    /// `b` is queued on the pool (on the caller's own deque when the caller is a task of this
    /// pool), then the calling thread runs `a`, then takes `b` back and runs it too unless a
    /// worker has already started it, in which case it waits for that worker. It waits as
    /// [`Future::result`] does: it never runs another task meanwhile, and a worker thread hands
    /// its place in the pool to a spare thread while it blocks. So `join` adds no deadlock of its
    /// own; what it cannot undo is a deadlock between `a` and `b` themselves (`b` waiting for
    /// something that only code after the `join` provides), as with two threads. Nested joins on
    /// a pool's threads are the fast path: the common case queues and takes back `b` on the
    /// worker's own deque without contention.
    ///
    /// A panic in `a` or `b` is resumed on the caller once both are settled (if `a` panicked,
    /// `b` runs only if a worker had already started it). If the pool no longer accepts tasks
    /// (it was shut down), both run on the calling thread.
    ///
    /// ```
    /// use stealpool::{PoolHandle, ThreadPoolExecutor};
    ///
    /// fn sum(pool: &PoolHandle, values: &[u64]) -> u64 {
    ///     if values.len() <= 1024 {
    ///         return values.iter().sum();
    ///     }
    ///     let (left, right) = values.split_at(values.len() / 2);
    ///     let (a, b) = pool.join(|| sum(pool, left), || sum(pool, right));
    ///     a + b
    /// }
    ///
    /// let pool = ThreadPoolExecutor::new(4)?;
    /// let values: Vec<u64> = (1..=100_000).collect();
    /// let handle = pool.handle();
    /// let total = pool.submit(move || sum(&handle, &values))?.join()?;
    /// assert_eq!(total, 5_000_050_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA,
        B: FnOnce() -> RB + Send,
        RB: Send,
    {
        self.handle.join(a, b)
    }

    /// Opens a scope whose tasks may borrow anything that outlives it (`std::thread::scope`
    /// and `rayon::scope` with this pool's `submit`). `body` submits tasks with
    /// [`Scope::submit`], which returns an ordinary [`Future`]; `scope` returns only when every
    /// task submitted through the scope (also by its tasks) has finished, then returns `body`'s
    /// value. A task's panic stays in its future, as with [`submit`](Self::submit); a panic of
    /// `body` is resumed once the tasks are done.
    ///
    /// The end of the scope waits as [`wait`](crate::wait) does: tasks still queued on the
    /// calling worker are run inline, others are waited for without running anything else, so
    /// a scope adds no deadlock of its own. A task that blocks on something only the code after
    /// the scope provides is a deadlock, as it would be with `std::thread::scope`.
    ///
    /// ```
    /// use stealpool::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(4)?;
    /// let words = vec!["tam", "giac", "vuong"];           // borrowed, not moved, by the tasks
    /// let mut lengths = vec![0; words.len()];
    /// pool.scope(|s| {
    ///     for (word, length) in words.iter().zip(lengths.iter_mut()) {
    ///         s.submit(move || *length = word.len()).unwrap();
    ///     }
    /// });
    /// assert_eq!(lengths, [3, 4, 5]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scope<'env, F, R>(&self, body: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        self.handle.scope(body)
    }

    /// Stops accepting tasks. With `wait`, returns only when every accepted task has run or been
    /// cancelled and the threads have exited; with `cancel_futures`, cancels every queued task
    /// first. Idempotent, and callable from inside a task of this pool: there `wait = true` runs
    /// what is still queued on the calling thread and returns without waiting for the threads
    /// (a task cannot wait for its own thread); the executor's drop joins them.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.handle.shutdown(wait, cancel_futures);
    }

    /// The pool's counters (see [`PoolStats`]).
    pub fn stats(&self) -> PoolStats {
        self.handle.stats()
    }

    /// The maximum number of worker threads.
    pub fn max_workers(&self) -> usize {
        self.handle.ops.max_workers()
    }

    /// Worker threads started so far (threads start lazily, up to `max_workers`).
    pub fn threads_started(&self) -> usize {
        self.handle.ops.threads_started()
    }
}

impl Default for ThreadPoolExecutor {
    /// Python's default: `min(32, cpus + 4)` workers on the work-stealing scheduler.
    fn default() -> Self {
        Self::builder().build().expect("the default configuration is valid")
    }
}

impl Drop for ThreadPoolExecutor {
    fn drop(&mut self) {
        self.handle.shutdown(true, false);
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolExecutor").field("max_workers", &self.max_workers()).finish_non_exhaustive()
    }
}

impl PoolHandle {
    /// See [`ThreadPoolExecutor::submit`].
    pub fn submit<T, F>(&self, task: F) -> Result<Future<T>, SubmitError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (cell, future) = TaskCell::new(self.ops.id(), task);
        self.ops.submit_task(cell)?;
        Ok(future)
    }

    /// See [`ThreadPoolExecutor::map`].
    pub fn map<'a, A, T, F, I>(&self, function: F, inputs: I) -> Result<MapIter<'a, T>, SubmitError>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: Fn(A) -> T + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        self.map_with(function, inputs, MapOptions::new())
    }

    /// Applies `function` to every input on the pool. Results come in input order, lazily, one
    /// `Result` per item: an item whose function panicked yields its
    /// [`FutureError::Panicked`](crate::FutureError::Panicked) at its position and the next
    /// items follow; the timeout (counted from the call) yields
    /// [`FutureError::Timeout`](crate::FutureError::Timeout) at the first item not ready and
    /// ends the iteration. Dropping the iterator cancels the items that have not started.
    /// `buffersize(0)` is refused with [`SubmitError::InvalidArgument`], as is a submit after
    /// shutdown with [`SubmitError::Shutdown`].
    pub fn map_with<'a, A, T, F, I>(
        &self,
        function: F,
        inputs: I,
        options: MapOptions,
    ) -> Result<MapIter<'a, T>, SubmitError>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: Fn(A) -> T + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        let function = Arc::new(function);
        let mut inputs = inputs.into_iter();
        let handle = self.clone();
        let submit_next = Box::new(move || {
            let input = inputs.next()?;
            let function = function.clone();
            Some(handle.submit(move || function(input)))
        });
        MapIter::start(submit_next, options)
    }

    /// See [`ThreadPoolExecutor::join`].
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA,
        B: FnOnce() -> RB + Send,
        RB: Send,
    {
        structured::join::join(self, a, b)
    }

    /// See [`ThreadPoolExecutor::scope`].
    pub fn scope<'env, F, R>(&self, body: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        structured::scope::scope(self, body)
    }

    /// See [`ThreadPoolExecutor::shutdown`].
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.ops.shutdown(wait, cancel_futures);
    }

    /// See [`ThreadPoolExecutor::stats`].
    pub fn stats(&self) -> PoolStats {
        self.ops.stats()
    }
}

impl structured::join::JoinTarget for PoolHandle {
    fn pool_id(&self) -> usize {
        self.ops.id()
    }

    fn queue(&self, task: Task) -> bool {
        self.ops.queue_join_half(task)
    }
}

impl fmt::Debug for PoolHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolHandle").field("pool_id", &self.ops.id()).finish()
    }
}

/// Builds a [`ThreadPoolExecutor`] (Python's keyword arguments): see
/// [`build`](Self::build) for an example and the options it refuses.
///
/// ```
/// use stealpool::{SchedulerKind, ThreadPoolExecutor};
///
/// // ThreadPoolExecutor(max_workers=2, thread_name_prefix="io"), on CPython's FIFO design.
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(2)
///     .thread_name_prefix("io")
///     .scheduler(SchedulerKind::SharedQueue)
///     .build()?;
/// assert_eq!(pool.max_workers(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct ThreadPoolBuilder {
    max_workers: Option<usize>,
    thread_name_prefix: Option<String>,
    initializer: Option<Initializer>,
    scheduler: SchedulerKind,
    local_order: LocalOrder,
    stack_size: Option<usize>,
    max_spare_threads: Option<usize>,
    pin_workers: bool,
}

impl ThreadPoolBuilder {
    /// At most this many threads (default `min(32, cpus + 4)`; zero is an error at `build`).
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = Some(max_workers);
        self
    }

    /// Threads are named `{prefix}_{index}` (default `ThreadPoolExecutor-{pool id}`); a prefix
    /// with a NUL byte is refused by [`build`](Self::build) ([`BuildError::InvalidThreadName`]).
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = Some(prefix.into());
        self
    }

    /// Runs on each worker thread as it starts (Python's `initializer`; capture what would be
    /// `initargs`). If it panics the pool becomes broken: pending futures fail with
    /// `FutureError::Broken` and later submits are refused with `SubmitError::Broken`.
    pub fn initializer(mut self, initializer: impl Fn() + Send + Sync + 'static) -> Self {
        self.initializer = Some(Arc::new(initializer));
        self
    }

    /// The scheduler (default: work stealing).
    pub fn scheduler(mut self, kind: SchedulerKind) -> Self {
        self.scheduler = kind;
        self
    }

    /// Which end of its own deque a work-stealing worker pops (default LIFO).
    pub fn local_order(mut self, order: LocalOrder) -> Self {
        self.local_order = order;
        self
    }

    /// At most this many threads beyond `max_workers` (default 256, as Java's `ForkJoinPool`
    /// caps its compensating threads): when a task waits on a future that it cannot run itself
    /// (it is running elsewhere, or the wait has a timeout), its thread hands its worker slot to
    /// a spare thread, so that queued tasks keep running while it waits. At the cap, a waiting
    /// task keeps its slot and its worker blocks, as on a pool without compensation; 0 turns
    /// compensation off. Spare threads are reused, and exit at shutdown.
    pub fn max_spare_threads(mut self, threads: usize) -> Self {
        self.max_spare_threads = Some(threads);
        self
    }

    /// Stack size of the worker threads (default: the platform's; the platform's minimum if
    /// smaller). Zero, or more than `isize::MAX`, is refused by [`build`](Self::build)
    /// ([`BuildError::InvalidStackSize`]).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Pins each worker to one CPU (default off): the thread holding worker slot `i` runs only
    /// on the `i`-th CPU this process may use (wrapping around when there are more slots than
    /// CPUs), and so does a spare thread that takes a slot over. The kernel then cannot leave
    /// two busy workers on one CPU while another idles, which on a 2-CPU machine made bursts of
    /// 1 µs tasks 1.4–1.6× slower in a quarter to a third of them (papers/stealpool.md §4.0).
    /// Turn it on when the pool has the CPUs to itself; leave it off when other threads or
    /// processes share them (a pinned worker cannot move away from a busy CPU). Linux only;
    /// elsewhere, and where the process's CPU mask cannot be read, it does nothing. Best effort:
    /// a refused pin leaves the thread unpinned.
    ///
    /// ```
    /// use stealpool::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::builder().max_workers(2).pin_workers(true).build()?;
    /// assert_eq!(pool.submit(|| 6 * 7)?.join()?, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pin_workers(mut self, pin: bool) -> Self {
        self.pin_workers = pin;
        self
    }

    /// Builds the pool; no thread starts before the first submit, so every option that could
    /// stop a thread from starting is checked here: zero workers, a thread name prefix with a
    /// NUL byte, a stack size of zero or over `isize::MAX`.
    ///
    /// ```
    /// use stealpool::{BuildError, LocalOrder, SchedulerKind, ThreadPoolExecutor};
    ///
    /// let pool = ThreadPoolExecutor::builder()
    ///     .max_workers(4)
    ///     .thread_name_prefix("resize")
    ///     .initializer(|| println!("worker starting"))
    ///     .scheduler(SchedulerKind::WorkStealing)
    ///     .local_order(LocalOrder::Fifo)
    ///     .build()?;
    /// let name = pool.submit(|| std::thread::current().name().map(str::to_owned))?.join()?;
    /// assert_eq!(name.as_deref(), Some("resize_0"));
    ///
    /// let refused = ThreadPoolExecutor::builder().thread_name_prefix("a\0b").build();
    /// assert!(matches!(refused, Err(BuildError::InvalidThreadName(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<ThreadPoolExecutor, BuildError> {
        let max_workers = self.max_workers.unwrap_or_else(default_max_workers);
        if max_workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if let Some(prefix) = &self.thread_name_prefix
            && prefix.contains('\0')
        {
            return Err(BuildError::InvalidThreadName(prefix.clone()));
        }
        if let Some(bytes) = self.stack_size
            && (bytes == 0 || bytes > isize::MAX as usize)
        {
            return Err(BuildError::InvalidStackSize(bytes));
        }
        let scheduler_config = SchedulerConfig { workers: max_workers, local_order: self.local_order };
        let config = PoolConfig {
            max_workers,
            thread_name_prefix: self.thread_name_prefix,
            initializer: self.initializer,
            stack_size: self.stack_size,
            max_spare_threads: self.max_spare_threads.unwrap_or(DEFAULT_MAX_SPARE_THREADS),
            slot_cpus: if self.pin_workers { affinity::allowed_cpus() } else { Vec::new() },
        };
        let ops: Arc<dyn PoolOps> = match self.scheduler {
            SchedulerKind::WorkStealing => Pool::<WorkStealing>::new(config, scheduler_config),
            SchedulerKind::SharedQueue => Pool::<SharedQueue>::new(config, scheduler_config),
        };
        Ok(ThreadPoolExecutor { handle: PoolHandle { ops } })
    }
}

impl fmt::Debug for ThreadPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBuilder")
            .field("max_workers", &self.max_workers)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("scheduler", &self.scheduler)
            .field("local_order", &self.local_order)
            .field("pin_workers", &self.pin_workers)
            .finish_non_exhaustive()
    }
}
