//! `ProcessPoolExecutor`: tasks run in child processes of the same executable (Python's
//! `concurrent.futures.ProcessPoolExecutor`).
//!
//! A task is a value that travels to the child, so its type derives serde's `Serialize` and
//! `Deserialize`: the program needs serde with its `derive` feature in its own `Cargo.toml`
//! (`serde = { version = "1", features = ["derive"] }`).
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use stealpool::process_pool::{ProcessPoolExecutor, Registry, Task, run_if_worker};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Square(u64);
//!
//! impl Task for Square {
//!     type Output = u64;
//!     const NAME: &'static str = "square";
//!     fn run(self) -> u64 {
//!         self.0 * self.0
//!     }
//! }
//!
//! fn registry() -> Registry {
//!     Registry::new().register::<Square>()
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     run_if_worker(&registry()); // in a worker process: serves tasks, never returns
//!     let pool = ProcessPoolExecutor::new(3)?;
//!     assert_eq!(*pool.submit(Square(7))?.result()?, 49);
//!     let squares: Vec<u64> = pool.map((1..=4).map(Square))?.collect::<Result<_, _>>()?;
//!     assert_eq!(squares, [1, 4, 9, 16]);
//!     Ok(())
//! }
//! ```
//!
//! # The hook
//!
//! A child is the program's own executable started again (no `fork()` of the threaded parent)
//! with the environment variable [`WORKER_ENV`] set. [`run_if_worker`], called first thing in
//! `main`, sees it and turns the process into a worker; in the parent it returns at once.
//! Programs that forget the hook get a clear error instead of a fork bomb: building a pool in a
//! process that has the marker fails with [`BuildError::InvalidConfig`]. The marker names the
//! pool's process id, so a program that a task starts (which inherits the environment) is not
//! taken for a worker: only the pool's own children are.
//!
//! - **Examples and binaries**: call it at the top of `main` (see `examples/process_pool_*.rs`).
//! - **Tests**: the default test harness owns `main`, so process-pool tests live in a
//!   `[[test]]` target with `harness = false` whose `main` calls the hook, then runs the tests
//!   (see `tests/process_pool.rs`). The same holds for benchmarks.
//!
//! A worker's standard input is `/dev/null`; the pool's socket is a descriptor of its own that
//! the task's subprocesses do not inherit (`channel.rs`).
//!
//! # Design
//!
//! - [`Task`] and [`Registry`] (`registry.rs`): a task is a serialisable value naming its
//!   function; the child runs it by name.
//! - `channel.rs`: the private socket between the parent and each child (a named socket in a
//!   fresh 0700 directory, peers checked with `SO_PEERCRED`, close-on-exec on both sides).
//! - `protocol.rs`: length-prefixed frames over that socket, payloads in postcard; frames from
//!   a child are capped ([`ProcessPoolBuilder::max_frame_size`]).
//! - `child.rs`: the worker's loop.
//! - `driver.rs`: the parent side. The pool is an inner [`ThreadPoolExecutor`] with one worker
//!   thread per child; a submitted task is a job on that pool that sends the request to the
//!   thread's own child and completes the user's [`Future`] from the reply. The work-stealing
//!   scheduler thus balances jobs between children: an idle driver steals jobs queued behind a
//!   busy one.
//! - `reaper.rs`: one small thread per child reaps it the moment it exits, and is the only way
//!   a signal reaches it (never a reused pid).
//! - `map.rs`: `map` in chunks, and [`ProcessMapOptions`] (a time limit per item).
//!
//! # Faults
//!
//! A child that dies (abort, `kill -9`, out of memory) fails only the task it was running, with
//! [`FutureError::WorkerFailed`]`(`[`WorkerFailure::Died`]`)` naming the exit status or signal
//! ([`ProcessExit`](crate::ProcessExit)), and is replaced; the pool keeps
//! serving (CPython instead breaks the whole pool). An undecodable value, an unknown task name or
//! an output that cannot be serialised fails that one future the same way, and so does a reply
//! over the frame-size limit (that child is replaced). A request the child never received (it
//! died before or while it was sent) is sent again to a fresh child. A child that dies while
//! idle is reaped at once. An initializer that fails, or a child not ready within
//! [`start_timeout`](ProcessPoolBuilder::start_timeout), breaks the pool as in the thread pool.
//! Shutdown closes and reaps every child; a child whose parent dies exits by itself. The full
//! model, with the test of each fault, is in `papers/process_pool.md`.
//!
//! # Tasks that never return
//!
//! `cancel()` stops only a task that has not started, as in Python. A running task is bounded
//! by a time limit, [`submit_with_timeout`](ProcessPoolExecutor::submit_with_timeout) or
//! [`ProcessMapOptions::task_timeout`]: past it, its child is killed and replaced and the future
//! fails with [`FutureError::TaskTimedOut`]. [`terminate_workers`](ProcessPoolExecutor::terminate_workers)
//! and [`kill_workers`](ProcessPoolExecutor::kill_workers) (Python 3.14) signal every child and
//! shut the pool down: queued tasks are cancelled, running ones fail.
//!
//! Dropping the pool is `shutdown(wait = true)`: it waits for the running tasks, so a task that
//! never returns makes the drop wait forever. Three ways out: give the task a time limit; call
//! `kill_workers()`; or call `shutdown(wait = false, ..)`. After either of the last two the drop
//! does not wait: the drivers finish, and reap their children, in the background.
//!
//! # Optional limits
//!
//! [`idle_timeout`](ProcessPoolBuilder::idle_timeout): a child with no task for that long exits
//! and is started again on demand (loky's reusable executor).
//! [`max_memory_per_child`](ProcessPoolBuilder::max_memory_per_child): a child whose resident
//! set passed the limit after a job is replaced before the next one.

mod channel;
mod child;
mod driver;
pub(crate) mod map;
// `pub(crate)`: the MPI pool (`crate::mpi_pool`) shares the task codec and the registry.
pub(crate) mod protocol;
mod reaper;
pub(crate) mod registry;
#[cfg(test)]
mod test;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::process::Signal;

pub use self::child::{WORKER_ENV, run_if_worker};
pub use self::map::ProcessMapOptions;
pub use self::registry::{Registry, Task};

use self::driver::{ChildOptions, Completer, Job, Shared, Typed};
use self::map::ChunkFeeder;
use self::protocol::{DEFAULT_MAX_FRAME, encode_value};
use crate::error::{BuildError, FutureError, SubmitError, WorkerFailure};
use crate::future::{Future, Promise};
use crate::map::{MapIter, MapOptions};
use crate::stats::PoolStats;
use crate::thread_pool::{PoolHandle, ThreadPoolExecutor};

/// The default `max_workers` of a process pool: the number of CPUs available to this process
/// (Python's `os.process_cpu_count()`).
pub fn default_process_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A pool of worker processes running [`Task`]s (Python's `ProcessPoolExecutor`).
///
/// Dropping it is leaving Python's `with` block: `shutdown(wait = true)`. Children start lazily,
/// one per busy driver, up to `max_workers`. See the [module documentation](self) for the hook
/// every program using it must call.
///
/// Not run here (a doctest cannot be its own worker); `cargo run --example process_pool_basic`
/// runs the same. Needs `serde = { version = "1", features = ["derive"] }`.
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
/// use stealpool::process_pool::{ProcessPoolExecutor, Registry, Task, run_if_worker};
///
/// #[derive(Serialize, Deserialize)]
/// struct Pid;
///
/// impl Task for Pid {
///     type Output = u32;
///     const NAME: &'static str = "pid";
///     fn run(self) -> u32 {
///         std::process::id()
///     }
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     run_if_worker(&Registry::new().register::<Pid>()); // a worker never returns from here
///     let pool = ProcessPoolExecutor::new(3)?;            // ProcessPoolExecutor(max_workers=3)
///     let child = *pool.submit(Pid)?.result()?;
///     assert_ne!(child, std::process::id());             // it ran in another process
///     Ok(())                                              // drop: shutdown, children reaped
/// }
/// ```
pub struct ProcessPoolExecutor {
    handle: Handle,
    /// The owner of the driver threads: shuts them down (and so closes the children) on drop.
    /// `None` only while the drop hands it to a background thread.
    drivers: Option<ThreadPoolExecutor>,
    /// Set by `shutdown(wait = false)`: the drop does not wait either.
    detached: AtomicBool,
}

/// How long a child may take from its start to `Ready` (initializer included) by default.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// What submitting needs: the drivers' pool and the state they share.
#[derive(Clone)]
struct Handle {
    pool: PoolHandle,
    shared: Arc<Shared>,
}

impl ProcessPoolExecutor {
    /// A pool of at most `max_workers` processes. Zero is an error ([`BuildError::ZeroWorkers`]).
    pub fn new(max_workers: usize) -> Result<Self, BuildError> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A builder for the other options (initializer, `max_tasks_per_child`).
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// Sends `task` to a worker process and returns the future of its output.
    ///
    /// `Err(SubmitError::Shutdown)` after shutdown, `Err(SubmitError::Broken)` once an
    /// initializer failed. A value that cannot be serialised gives a future that has already
    /// failed with [`FutureError::WorkerFailed`]`(`[`WorkerFailure::InputUnencodable`]`)`.
    pub fn submit<T: Task>(&self, task: T) -> Result<Future<T::Output>, SubmitError> {
        let mut futures = self.handle.submit_job(vec![task], std::convert::identity, None)?;
        Ok(futures.pop().expect("one future per task"))
    }

    /// [`submit`](Self::submit) with a time limit: if the task runs longer than `limit` in its
    /// worker process (counted from when it starts there, not from the call), the process is
    /// killed and replaced, and the future fails with [`FutureError::TaskTimedOut`] naming the
    /// task and the limit. The pool keeps serving.
    ///
    /// This is the way to bound a task that may never return: `cancel()` stops only a task
    /// that has not started, as in Python.
    pub fn submit_with_timeout<T: Task>(
        &self,
        task: T,
        limit: Duration,
    ) -> Result<Future<T::Output>, SubmitError> {
        let mut futures = self.handle.submit_job(vec![task], std::convert::identity, Some(limit))?;
        Ok(futures.pop().expect("one future per task"))
    }

    /// Runs every task of `tasks` on the pool; the outputs come in input order (see
    /// [`map_with`](Self::map_with)).
    pub fn map<'a, T, I>(&self, tasks: I) -> Result<MapIter<'a, T::Output>, SubmitError>
    where
        T: Task,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        self.map_with(tasks, MapOptions::new())
    }

    /// `map` with a timeout, a bounded look-ahead (`buffersize`), a `chunksize`, or a time
    /// limit per item: a [`MapOptions`], or a [`ProcessMapOptions`]
    /// (`MapOptions::new().task_timeout(d)`).
    ///
    /// With `chunksize = n`, `n` consecutive tasks travel in one message and run one after the
    /// other in the same child (fewer round trips for small tasks). Each still has its own
    /// result: a panic fails its item only; a child that dies (or is killed for a task timeout)
    /// in the middle of a chunk fails the item it was running, and the items after it, which
    /// had not started, run on a fresh child. With `buffersize`, the look-ahead is rounded up
    /// to whole chunks. Each item yields its own `Result` and a failed item does not end the
    /// iteration; the map's `timeout` does (see [`MapIter`]). `buffersize(0)` is refused with
    /// [`SubmitError::InvalidArgument`]. Dropping the iterator cancels the items that have not
    /// been sent.
    pub fn map_with<'a, T, I>(
        &self,
        tasks: I,
        options: impl Into<ProcessMapOptions>,
    ) -> Result<MapIter<'a, T::Output>, SubmitError>
    where
        T: Task,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        let options = options.into();
        let map_options = options.map_options();
        let (handle, timeout) = (self.handle.clone(), options.item_timeout());
        let mut feeder = ChunkFeeder::new(tasks.into_iter(), map_options.chunk_len(), move |chunk| {
            handle.submit_job(chunk, std::convert::identity, timeout)
        });
        MapIter::start(Box::new(move || feeder.next()), map_options)
    }

    /// Stops accepting tasks. With `wait`, returns once every accepted task has run (or been
    /// cancelled) and every child has exited and been reaped; with `cancel_futures`, cancels
    /// every task not yet sent to a child first. Idempotent.
    ///
    /// With `wait = false`, the tasks already running finish in the background, and dropping
    /// the pool afterwards does not wait for them either (see [`Drop`](#impl-Drop-for-ProcessPoolExecutor)).
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        if !wait {
            self.detached.store(true, Ordering::Relaxed);
        }
        self.drivers().shutdown(wait, cancel_futures);
        if wait {
            self.handle.shared.wait_for_children();
        }
    }

    /// Terminates every worker process with `SIGTERM` (Python 3.14's `terminate_workers()`):
    /// the pool is shut down first with `shutdown(wait = false, cancel_futures = true)`, so
    /// tasks not yet sent to a child are cancelled; tasks running fail with
    /// [`FutureError::WorkerFailed`]`(`[`WorkerFailure::Died`]`)` naming the signal, with
    /// `stopped_by: Some(`[`StoppedBy::TerminateWorkers`](crate::StoppedBy::TerminateWorkers)`)`;
    /// no child is started any more.
    ///
    /// Use it (or [`kill_workers`](Self::kill_workers), for tasks that handle `SIGTERM`) to
    /// stop a pool whose tasks hang. The pool is then shut down; its drop does not wait.
    pub fn terminate_workers(&self) {
        self.stop_workers(Signal::TERM);
    }

    /// [`terminate_workers`](Self::terminate_workers) with `SIGKILL` (Python 3.14's
    /// `kill_workers()`): a child cannot ignore it.
    pub fn kill_workers(&self) {
        self.stop_workers(Signal::KILL);
    }

    fn stop_workers(&self, signal: Signal) {
        self.shutdown(false, true);
        self.handle.shared.stop_children(signal);
    }

    fn drivers(&self) -> &ThreadPoolExecutor {
        self.drivers.as_ref().expect("the driver pool is present until the drop")
    }

    /// The maximum number of worker processes.
    pub fn max_workers(&self) -> usize {
        self.drivers().max_workers()
    }

    /// Worker processes started so far, replacements and recycled ones included.
    pub fn processes_started(&self) -> usize {
        self.handle.shared.processes_started.load(Ordering::Relaxed)
    }

    /// The counters of the parent-side drivers (one per child; see [`PoolStats`]): a job is one
    /// submitted task or one `map` chunk; `tasks_stolen` counts jobs an idle driver took from a
    /// busy one's queue.
    pub fn stats(&self) -> PoolStats {
        self.drivers().stats()
    }
}

impl Drop for ProcessPoolExecutor {
    /// Leaving Python's `with` block: `shutdown(wait = true)`, which waits for every task
    /// already running, including one that never returns (bound those with
    /// [`submit_with_timeout`](ProcessPoolExecutor::submit_with_timeout)).
    ///
    /// After `shutdown(wait = false)`, [`terminate_workers`](ProcessPoolExecutor::terminate_workers)
    /// or [`kill_workers`](ProcessPoolExecutor::kill_workers), the drop does not wait: the
    /// drivers finish the running tasks, and reap their children, on a background thread. A
    /// task that never returns then keeps its child until the program exits (the child sees
    /// its parent's end of the socket close and exits then).
    fn drop(&mut self) {
        if !self.detached.load(Ordering::Relaxed) {
            self.shutdown(true, false);
            return;
        }
        if let Some(drivers) = self.drivers.take() {
            // If the thread cannot start, the closure (and the pool in it) is dropped here.
            let _ = std::thread::Builder::new()
                .name("ProcessPoolExecutor-closer".into())
                .spawn(move || drop(drivers));
        }
    }
}

impl fmt::Debug for ProcessPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolExecutor")
            .field("max_workers", &self.max_workers())
            .field("processes_started", &self.processes_started())
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// Submits one job carrying `tasks`; their futures hold `wrap(output)`.
    fn submit_job<T: Task, W: Send + Sync + 'static>(
        &self,
        tasks: Vec<T>,
        wrap: fn(T::Output) -> W,
        timeout: Option<Duration>,
    ) -> Result<Vec<Future<W>>, SubmitError> {
        if let Some(reason) = self.shared.broken.get() {
            return Err(SubmitError::Broken(reason.clone()));
        }
        let mut futures = Vec::with_capacity(tasks.len());
        let mut payloads = Vec::with_capacity(tasks.len());
        let mut completers: Vec<Box<dyn Completer>> = Vec::with_capacity(tasks.len());
        for task in tasks {
            let (promise, future) = Promise::new();
            match encode_value(&task) {
                Ok(bytes) => {
                    payloads.push(bytes);
                    completers.push(Box::new(Typed { promise, wrap, task: T::NAME }));
                }
                Err(message) => {
                    let failure = WorkerFailure::InputUnencodable { task: T::NAME.to_owned(), message };
                    let _ = promise.set_error(FutureError::WorkerFailed(failure));
                }
            }
            futures.push(future);
        }
        let completers: Arc<[Box<dyn Completer>]> = completers.into();
        let job = Job { name: T::NAME, payloads, completers: completers.clone(), timeout };
        let shared = self.shared.clone();
        let inner = self.pool.submit(move || driver::run_job(&shared, job))?;
        // If the job never runs (cancelled by `shutdown(cancel_futures)`, or failed by a broken
        // driver pool), its futures must still complete.
        inner.add_done_callback(move |inner| {
            let error = match inner.result() {
                Ok(()) => return,
                Err(FutureError::Panicked(panic)) => {
                    FutureError::WorkerFailed(WorkerFailure::DriverPanicked(panic))
                }
                Err(error) => error,
            };
            for completer in completers.iter() {
                match error {
                    FutureError::Cancelled => completer.cancel(),
                    _ => completer.fail(error.clone()),
                }
            }
        });
        Ok(futures)
    }
}

/// Builds a [`ProcessPoolExecutor`] (Python's keyword arguments, and the fault-handling
/// options).
///
/// ```no_run
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// use stealpool::process_pool::{ProcessPoolExecutor, Registry, Task, run_if_worker};
///
/// #[derive(Serialize, Deserialize)]
/// struct Warm;
///
/// impl Task for Warm {
///     type Output = ();
///     const NAME: &'static str = "warm";
///     fn run(self) {}
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     run_if_worker(&Registry::new().register::<Warm>());
///     // ProcessPoolExecutor(max_workers=2, initializer=warm, max_tasks_per_child=100)
///     let pool = ProcessPoolExecutor::builder()
///         .max_workers(2)
///         .initializer(Warm)
///         .max_tasks_per_child(100)
///         .start_timeout(Duration::from_secs(10))
///         .build()?;
///     pool.submit(Warm)?.result()?;
///     Ok(())
/// }
/// ```
#[derive(Default)]
pub struct ProcessPoolBuilder {
    max_workers: Option<usize>,
    initializer: Option<Result<(&'static str, Vec<u8>), String>>,
    max_tasks_per_child: Option<usize>,
    start_timeout: Option<Duration>,
    max_frame_size: Option<usize>,
    idle_timeout: Option<Duration>,
    max_memory_per_child: Option<u64>,
}

impl ProcessPoolBuilder {
    /// At most this many worker processes (default: the number of CPUs; zero is an error).
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = Some(max_workers);
        self
    }

    /// A registered task each child runs once as it starts, before any other task (Python's
    /// `initializer` and `initargs`: the arguments are the value's fields). Its output is
    /// discarded. If it panics (or cannot run, or does not finish within the
    /// [`start_timeout`](Self::start_timeout)) the pool becomes broken, as a thread pool does:
    /// the futures of queued tasks fail with [`FutureError::Broken`] and later submits are
    /// refused with [`SubmitError::Broken`].
    pub fn initializer<T: Task>(mut self, initializer: T) -> Self {
        let encoded = encode_value(&initializer)
            .map(|bytes| (T::NAME, bytes))
            .map_err(|error| format!("the initializer `{}` could not be serialised: {error}", T::NAME));
        self.initializer = Some(encoded);
        self
    }

    /// Replaces a child after it has run this many jobs (a submitted task, or a `map` chunk), as
    /// Python's `max_tasks_per_child`: the child exits and a new one starts for the next job.
    /// Default: children live as long as the pool. Zero is an error at `build`.
    pub fn max_tasks_per_child(mut self, max_tasks: usize) -> Self {
        self.max_tasks_per_child = Some(max_tasks);
        self
    }

    /// How long a new child may take to become ready: to start, connect, and run the
    /// [`initializer`](Self::initializer). Default [`DEFAULT_START_TIMEOUT`] (60 s). A child
    /// over it is killed and the pool becomes broken ([`FutureError::Broken`] with
    /// [`BrokenReason::DidNotBecomeReady`](crate::BrokenReason::DidNotBecomeReady) or
    /// [`DidNotConnect`](crate::BrokenReason::DidNotConnect), naming the child, the limit and the
    /// initializer). Zero is an error at `build`.
    pub fn start_timeout(mut self, limit: Duration) -> Self {
        self.start_timeout = Some(limit);
        self
    }

    /// The largest message the parent accepts from a child, in bytes (default 1 GiB; at least
    /// 64). A child's messages are untrusted input: a reply over the limit fails the task it
    /// answers with [`FutureError::WorkerFailed`]`(`[`WorkerFailure::ReplyTooLarge`]`)`, before
    /// anything is allocated for it, and the child is replaced.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = Some(bytes);
        self
    }

    /// A child that has had no task for this long exits; a new one starts when work comes
    /// (loky's reusable executor). Off by default. A job sent just as its child was leaving is
    /// sent again to a new child, not failed. Zero is an error at `build`.
    pub fn idle_timeout(mut self, limit: Duration) -> Self {
        self.idle_timeout = Some(limit);
        self
    }

    /// A child whose resident set size (`VmRSS` in `/proc/<pid>/status`) is over `bytes` after
    /// a job is replaced before the next one, as if it had reached `max_tasks_per_child`. Off
    /// by default; Linux only (`build` refuses it where `/proc` cannot be read). Zero is an
    /// error at `build`.
    pub fn max_memory_per_child(mut self, bytes: u64) -> Self {
        self.max_memory_per_child = Some(bytes);
        self
    }

    /// Builds the pool; no process starts before the first submit.
    pub fn build(self) -> Result<ProcessPoolExecutor, BuildError> {
        let invalid = |why: &str| Err(BuildError::InvalidConfig(why.to_owned()));
        let max_workers = self.max_workers.unwrap_or_else(default_process_workers);
        if max_workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if self.max_tasks_per_child == Some(0) {
            return invalid("max_tasks_per_child must be greater than 0");
        }
        if self.start_timeout == Some(Duration::ZERO) {
            return invalid("start_timeout must be greater than 0");
        }
        if self.idle_timeout == Some(Duration::ZERO) {
            return invalid("idle_timeout must be greater than 0");
        }
        if self.max_frame_size.is_some_and(|bytes| bytes < 64) {
            return invalid("max_frame_size must be at least 64 bytes");
        }
        if self.max_memory_per_child == Some(0) {
            return invalid("max_memory_per_child must be greater than 0");
        }
        if self.max_memory_per_child.is_some() && std::fs::metadata("/proc/self/status").is_err() {
            return invalid("max_memory_per_child needs /proc/<pid>/status (Linux) to read a child's memory");
        }
        if child::is_worker() {
            return invalid("a process pool cannot be created inside one of its worker processes");
        }
        if child::started_as_worker() {
            return Err(BuildError::InvalidConfig(format!(
                "this process was started as a process-pool worker ({WORKER_ENV} is set), but main did not \
                 call stealpool::process_pool::run_if_worker before building a pool"
            )));
        }
        let initializer = self.initializer.transpose().map_err(BuildError::InvalidConfig)?;
        let exe = std::env::current_exe().map_err(BuildError::Spawn)?;
        let args = std::env::args_os().skip(1).collect();
        let options = ChildOptions {
            initializer,
            max_tasks_per_child: self.max_tasks_per_child,
            start_timeout: self.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
            max_frame_size: self.max_frame_size.unwrap_or(DEFAULT_MAX_FRAME).min(u32::MAX as usize),
            idle_timeout: self.idle_timeout,
            max_memory_per_child: self.max_memory_per_child,
        };
        let shared = Arc::new(Shared::new(exe, args, options));
        let drivers = ThreadPoolExecutor::builder()
            .max_workers(max_workers)
            .thread_name_prefix("ProcessPoolExecutor-driver")
            .build()?;
        Ok(ProcessPoolExecutor {
            handle: Handle { pool: drivers.handle(), shared },
            drivers: Some(drivers),
            detached: AtomicBool::new(false),
        })
    }
}

impl fmt::Debug for ProcessPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolBuilder")
            .field("max_workers", &self.max_workers)
            .field("initializer", &self.initializer.as_ref().map(|init| init.as_ref().map(|(name, _)| *name)))
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .field("start_timeout", &self.start_timeout)
            .field("max_frame_size", &self.max_frame_size)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_memory_per_child", &self.max_memory_per_child)
            .finish()
    }
}
