//! `ProcessPoolExecutor`: tasks run in child processes of the same executable (Python's
//! `concurrent.futures.ProcessPoolExecutor`).
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
//! process that has the marker fails with [`BuildError::InvalidConfig`]. A task that starts the
//! program again as an ordinary process should remove the marker
//! (`Command::env_remove(WORKER_ENV)`).
//!
//! - **Examples and binaries**: call it at the top of `main` (see `examples/process_pool_*.rs`).
//! - **Tests**: the default test harness owns `main`, so process-pool tests live in a
//!   `[[test]]` target with `harness = false` whose `main` calls the hook, then runs the tests
//!   (see `tests/process_pool.rs`). The same holds for benchmarks.
//!
//! Tasks must not read standard input: in a worker it is the pool's socket.
//!
//! # Design
//!
//! - [`Task`] and [`Registry`] (`registry.rs`): a task is a serialisable value naming its
//!   function; the child runs it by name.
//! - `protocol.rs`: length-prefixed frames over a Unix socket pair (the child's standard input),
//!   payloads in postcard.
//! - `child.rs`: the worker's loop.
//! - `driver.rs`: the parent side. The pool is an inner [`ThreadPoolExecutor`] with one worker
//!   thread per child; a submitted task is a job on that pool that sends the request to the
//!   thread's own child and completes the user's [`Future`] from the reply. The work-stealing
//!   scheduler thus balances jobs between children: an idle driver steals jobs queued behind a
//!   busy one.
//!
//! # Faults
//!
//! A child that dies (abort, `kill -9`, out of memory) fails only the task it was running, with
//! [`FutureError::WorkerFailed`] naming the exit status or signal, and is replaced; the pool keeps
//! serving (CPython instead breaks the whole pool). An undecodable value, an unknown task name or
//! an output that cannot be serialised fails that one future the same way. An initializer that
//! fails breaks the pool as in the thread pool. Shutdown closes and reaps every child; a child
//! whose parent dies exits by itself. The full model is in `papers/process_pool.md`.

mod child;
mod driver;
// `pub(crate)`: the MPI pool (`crate::mpi_pool`) shares the task codec and the registry.
pub(crate) mod protocol;
pub(crate) mod registry;
#[cfg(test)]
mod test;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use self::child::{WORKER_ENV, run_if_worker};
pub use self::registry::{Registry, Task};

use self::driver::{Completer, Job, Shared, Typed};
use self::protocol::encode_value;
use crate::error::{BuildError, FutureError, SubmitError};
use crate::executor::{MapIter, MapOptions};
use crate::future::{Future, Promise};
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
pub struct ProcessPoolExecutor {
    handle: Handle,
    /// The owner of the driver threads: shuts them down (and so closes the children) on drop.
    drivers: ThreadPoolExecutor,
}

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
    /// failed with [`FutureError::WorkerFailed`].
    pub fn submit<T: Task>(&self, task: T) -> Result<Future<T::Output>, SubmitError> {
        let mut futures = self.handle.submit_job(vec![task], std::convert::identity)?;
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

    /// `map` with a timeout, a bounded look-ahead (`buffersize`) or a `chunksize`.
    ///
    /// With `chunksize = n`, `n` consecutive tasks travel in one message and run one after the
    /// other in the same child (fewer round trips for small tasks). Each still has its own
    /// result: a panic fails its item only, and a child that dies in the middle of a chunk fails
    /// the items it had not finished. With `buffersize`, the look-ahead is rounded up to whole
    /// chunks. The first error ends the iteration at its item; dropping the iterator cancels the
    /// items that have not been sent.
    pub fn map_with<'a, T, I>(
        &self,
        tasks: I,
        options: MapOptions,
    ) -> Result<MapIter<'a, T::Output>, SubmitError>
    where
        T: Task,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        let mut feeder = ChunkFeeder {
            handle: self.handle.clone(),
            tasks: tasks.into_iter(),
            chunk: options.chunk_len(),
            ready: VecDeque::new(),
        };
        MapIter::start(Box::new(move || feeder.next()), options)
    }

    /// Stops accepting tasks. With `wait`, returns once every accepted task has run (or been
    /// cancelled) and every child has exited and been reaped; with `cancel_futures`, cancels
    /// every task not yet sent to a child first. Idempotent.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.drivers.shutdown(wait, cancel_futures);
        if wait {
            self.handle.shared.wait_for_children();
        }
    }

    /// The maximum number of worker processes.
    pub fn max_workers(&self) -> usize {
        self.drivers.max_workers()
    }

    /// Worker processes started so far, replacements and recycled ones included.
    pub fn processes_started(&self) -> usize {
        self.handle.shared.processes_started.load(Ordering::Relaxed)
    }

    /// The counters of the parent-side drivers (one per child; see [`PoolStats`]): a job is one
    /// submitted task or one `map` chunk; `tasks_stolen` counts jobs an idle driver took from a
    /// busy one's queue.
    pub fn stats(&self) -> PoolStats {
        self.drivers.stats()
    }
}

impl Drop for ProcessPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
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
                    completers.push(Box::new(Typed { promise, wrap }));
                }
                Err(error) => {
                    let why = format!("could not serialise task `{}`: {error}", T::NAME);
                    let _ = promise.set_error(FutureError::WorkerFailed(why));
                }
            }
            futures.push(future);
        }
        let completers: Arc<[Box<dyn Completer>]> = completers.into();
        let job = Job { name: T::NAME, payloads, completers: completers.clone() };
        let shared = self.shared.clone();
        let inner = self.pool.submit(move || driver::run_job(&shared, job))?;
        // If the job never runs (cancelled by `shutdown(cancel_futures)`, or failed by a broken
        // driver pool), its futures must still complete.
        inner.add_done_callback(move |inner| {
            let error = match inner.result() {
                Ok(()) => return,
                Err(FutureError::Panicked(panic)) => FutureError::WorkerFailed(format!(
                    "the pool's driver thread panicked: {}",
                    panic.message()
                )),
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

/// Feeds `MapIter` one future at a time, submitting `chunk` tasks per job.
struct ChunkFeeder<I: Iterator<Item = T>, T: Task> {
    handle: Handle,
    tasks: I,
    chunk: usize,
    /// Futures of the last submitted chunk not yet handed to the iterator.
    ready: VecDeque<Future<T::Output>>,
}

impl<I: Iterator<Item = T>, T: Task> ChunkFeeder<I, T> {
    fn next(&mut self) -> Option<Result<Future<T::Output>, SubmitError>> {
        if self.ready.is_empty() {
            let tasks: Vec<T> = self.tasks.by_ref().take(self.chunk).collect();
            if tasks.is_empty() {
                return None;
            }
            match self.handle.submit_job(tasks, |output| output) {
                Ok(futures) => self.ready.extend(futures),
                Err(error) => return Some(Err(error)),
            }
        }
        self.ready.pop_front().map(Ok)
    }
}

impl<I: Iterator<Item = T>, T: Task> Drop for ChunkFeeder<I, T> {
    /// The iterator is gone: nobody will read these results.
    fn drop(&mut self) {
        for future in self.ready.drain(..) {
            future.cancel();
        }
    }
}

/// Builds a [`ProcessPoolExecutor`] (Python's keyword arguments).
#[derive(Default)]
pub struct ProcessPoolBuilder {
    max_workers: Option<usize>,
    initializer: Option<Result<(&'static str, Vec<u8>), String>>,
    max_tasks_per_child: Option<usize>,
}

impl ProcessPoolBuilder {
    /// At most this many worker processes (default: the number of CPUs; zero is an error).
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = Some(max_workers);
        self
    }

    /// A registered task each child runs once as it starts, before any other task (Python's
    /// `initializer` and `initargs`: the arguments are the value's fields). Its output is
    /// discarded. If it panics (or cannot run) the pool becomes broken, as a thread pool does:
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

    /// Builds the pool; no process starts before the first submit.
    pub fn build(self) -> Result<ProcessPoolExecutor, BuildError> {
        let max_workers = self.max_workers.unwrap_or_else(default_process_workers);
        if max_workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(BuildError::InvalidConfig("max_tasks_per_child must be greater than 0".into()));
        }
        if child::is_worker() {
            return Err(BuildError::InvalidConfig(
                "a process pool cannot be created inside one of its worker processes".into(),
            ));
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
        let shared = Arc::new(Shared::new(exe, args, initializer, self.max_tasks_per_child));
        let drivers = ThreadPoolExecutor::builder()
            .max_workers(max_workers)
            .thread_name_prefix("ProcessPoolExecutor-driver")
            .build()?;
        Ok(ProcessPoolExecutor { handle: Handle { pool: drivers.handle(), shared }, drivers })
    }
}

impl fmt::Debug for ProcessPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolBuilder")
            .field("max_workers", &self.max_workers)
            .field("initializer", &self.initializer.as_ref().map(|init| init.as_ref().map(|(name, _)| *name)))
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .finish()
    }
}
