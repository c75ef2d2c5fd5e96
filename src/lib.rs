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
//! ## Architecture
//!
//! - [`future`](Future): the task cell (closure, outcome, state word and reference counts in one
//!   allocation; the crate's only `unsafe` code), the lifecycle (`PENDING → RUNNING → FINISHED`,
//!   or `CANCELLED`) decided by one atomic word, [`Future`] (`result`, `join`, `.await`) and
//!   [`Promise`], its completer half.
//! - `wait`: [`wait`] and [`as_completed`] over futures of any result types.
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

pub use error::{BuildError, FutureError, InvalidStateError, SubmitError, TaskPanic};
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
