//! # stealpool
//!
//! Python's `concurrent.futures`, rebuilt in Rust on a work-stealing scheduler.
//!
//! ```
//! use stealpool::{ThreadPoolExecutor, as_completed, wait, ReturnWhen};
//! use std::time::Duration;
//!
//! let pool = ThreadPoolExecutor::new(3)?;                 // ThreadPoolExecutor(max_workers=3)
//! let future = pool.submit(|| 2 * 21)?;                   // executor.submit(fn)
//! assert_eq!(*future.result()?, 42);                      // future.result()
//!
//! let doubled: Vec<i32> = pool.map(|n| 2 * n, [2, 3, 4])? // executor.map(fn, values)
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(doubled, [4, 6, 8]);
//!
//! let futures: Vec<_> = (0..5).map(|i| pool.submit(move || i * i)).collect::<Result<_, _>>()?;
//! for done in as_completed(&futures, None) {              // as_completed(futures)
//!     println!("{}", done?.result()?);
//! }
//! let (done, not_done) = wait(&futures, Some(Duration::from_secs(5)), ReturnWhen::AllCompleted);
//! assert_eq!((done.len(), not_done.len()), (5, 0));
//! drop(pool);                                             // leaving `with`: shutdown(wait=True)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Python → Rust
//!
//! | Python | stealpool |
//! |---|---|
//! | `ThreadPoolExecutor(max_workers, thread_name_prefix, initializer, initargs)` | [`ThreadPoolExecutor::new`]`(n)`, [`ThreadPoolExecutor::builder`]`()…`[`build`](ThreadPoolBuilder::build)`()` (capture `initargs` in the initializer), `Default` (`min(32, cpus + 4)` workers); `n = 0` and other bad options are a [`BuildError`], never a panic |
//! | `with ThreadPoolExecutor() as executor:` | a scope: dropping the executor is `shutdown(wait = true)` |
//! | `executor.submit(fn, *args)` | [`submit`](ThreadPoolExecutor::submit)`(move \|\| f(args))` → `Result<`[`Future`]`<T>, `[`SubmitError`]`>`; from inside a task, through a [`PoolHandle`]. The default scheduler does not start tasks in submission order; [`SchedulerKind::SharedQueue`] does (one FIFO queue, as CPython) |
//! | `executor.map(fn, iterable, timeout, chunksize, buffersize)` | [`map`](ThreadPoolExecutor::map), [`map_with`](ThreadPoolExecutor::map_with)`(f, iter, `[`MapOptions`]`)` → [`MapIter`]: one `Result` per item in input order; a failed item does not end it, the timeout does; `buffersize(0)` is [`SubmitError::InvalidArgument`] |
//! | `executor.shutdown(wait, cancel_futures)` | [`shutdown`](ThreadPoolExecutor::shutdown)`(wait, cancel_futures)` |
//! | `future.result(timeout)` | [`result`](Future::result)`()`, [`result_timeout`](Future::result_timeout)`(d)` → `Result<&T, `[`FutureError`]`>`; [`join`](Future::join)`()` moves the value out; `.await` |
//! | `future.exception(timeout)` | [`exception`](Future::exception)`()`, [`exception_timeout`](Future::exception_timeout)`(d)` → `Ok(None)` or `Ok(Some(&`[`TaskPanic`]`))` |
//! | `future.add_done_callback(fn)` | [`add_done_callback`](Future::add_done_callback)`(\|future\| ..)`: exactly once, at once if already done |
//! | `future.running()`, `done()`, `cancelled()`, `cancel()` | the same names; [`cancel`](Future::cancel) is true iff the task had not started |
//! | `set_running_or_notify_cancel`, `set_result`, `set_exception` | [`Promise`], the completer half of a [`Future`] |
//! | `wait(fs, timeout, return_when)` | [`wait`]`(&fs, timeout, `[`ReturnWhen`]`)` → `(done, not_done)`; mixed result types through [`AnyFuture`] |
//! | `as_completed(fs, timeout)` | [`as_completed`]`(&fs, timeout)` → [`AsCompleted`], an iterator in completion order |
//! | `ProcessPoolExecutor(max_workers, initializer, max_tasks_per_child)` | `ProcessPoolExecutor` (module `process_pool`, Unix): tasks are serde values registered by name |
//! | `CancelledError`, `TimeoutError`, `BrokenExecutor`, `InvalidStateError`, `RuntimeError` after shutdown, `ValueError` | [`FutureError::Cancelled`], [`FutureError::Timeout`], [`FutureError::Broken`]`(`[`BrokenReason`]`)` / [`SubmitError::Broken`], [`InvalidStateError`] (its [`FutureState`]), [`SubmitError::Shutdown`] (a `map` item: [`FutureError::Refused`]), [`BuildError`] / [`SubmitError::InvalidArgument`] |
//! | `BrokenProcessPool`, a dead worker process | [`FutureError::WorkerFailed`]`(`[`WorkerFailure`]`)`: one task fails, not the pool; how the process ended is a [`ProcessExit`] (exit code, or signal number and name), [`StoppedBy`] names `kill_workers` / `terminate_workers`; an `io::Error` inside is an [`IoFailure`] |
//!
//! ## Architecture
//!
//! - [`future`](Future): the state word (`state`), the views the rest of the crate has of a task
//!   (`task`: the schedulers' unit of work, the erased handles), the task cell (`cell`: closure,
//!   outcome, state word and reference counts in one allocation; `unsafe`), [`Future`]
//!   (`result`, `join`, `.await`) and [`Promise`], its completer half.
//! - `structured`: [`ThreadPoolExecutor::join`] and [`ThreadPoolExecutor::scope`], whose closures
//!   borrow from the caller's stack (the other `unsafe` code, each step argued in place).
//! - `wait`: [`wait`] and [`as_completed`] over futures of any result types.
//! - `map`: [`MapIter`], `Executor.map`'s ordered, lazy iterator, shared by the executors.
//! - `thread_pool`: [`ThreadPoolExecutor`]: lifecycle, lazy worker threads, shutdown, and
//!   waiting without new deadlocks (steal-back, slots handed to spare threads).
//! - `scheduler`: the interface and its two implementations, the shared queue (the baseline) and
//!   work stealing (per-worker `crossbeam-deque` deques, an injector, a parking protocol).
//! - `sync`: `std` types normally, loom's under `--cfg loom` for the models in `loom-tests/`.
//! - [`process_pool`]: [`ProcessPoolExecutor`]: tasks as serialisable values run in child
//!   processes of the same executable, driven by one thread-pool worker per child (Unix).
//! - `mpi_pool` (feature `mpi`): `MpiPoolExecutor`: the same tasks on the ranks of an MPI job
//!   (`mpiexec`), scheduled by rank 0 over MPI point-to-point messages.
//!
//! See the repository's `papers/` for the design, the invariants and the measurements.

#![warn(missing_docs)]
#![deny(unsafe_code)]

/// With the `mimalloc` feature, mimalloc is the program's global allocator (see `Cargo.toml`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod blocking;
mod error;
#[cfg(loom)]
mod faults;
mod future;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api;
mod map;
#[cfg(all(feature = "mpi", unix, not(loom)))]
pub mod mpi_pool;
mod notify;
mod parker;
#[cfg(all(unix, not(loom)))]
pub mod process_pool;
mod scheduler;
mod stats;
mod structured;
mod sync;
mod thread_pool;
mod wait;

pub use error::{
    BrokenReason, BuildError, FutureError, FutureState, InvalidStateError, IoFailure, ProcessExit, StoppedBy,
    SubmitError, TaskPanic, WorkerFailure,
};
pub use future::{AnyFuture, AwaitRef, AwaitValue, Future, Promise};
pub use map::{MapIter, MapOptions};
#[cfg(all(feature = "mpi", unix, not(loom)))]
pub use mpi_pool::MpiPoolExecutor;
#[cfg(all(unix, not(loom)))]
pub use process_pool::ProcessPoolExecutor;
pub use scheduler::{LocalOrder, SchedulerKind};
pub use stats::{PoolStats, WorkerStats};
pub use structured::Scope;
pub use thread_pool::{
    DEFAULT_MAX_SPARE_THREADS, PoolHandle, ThreadPoolBuilder, ThreadPoolExecutor, default_max_workers,
};
pub use wait::{AsCompleted, ReturnWhen, Waitable, as_completed, wait};
