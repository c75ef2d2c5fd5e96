//! Why an executor is broken ([`BrokenReason`]), and an `io::Error` kept as a comparable value
//! ([`IoFailure`]).

use std::fmt;
use std::io;
use std::time::Duration;

use super::{TaskPanic, WorkerFailure};

/// Why an executor is broken (Python's `BrokenExecutor`): carried by
/// [`FutureError::Broken`](crate::FutureError::Broken) and
/// [`SubmitError::Broken`](crate::SubmitError::Broken).
///
/// Once broken, an executor fails its queued tasks and refuses new ones with the same reason.
///
/// ```
/// use stealpool::{BrokenReason, FutureError, SubmitError, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(1)
///     .initializer(|| panic!("no database"))
///     .build()?;
/// let future = pool.submit(|| 1).or_else(|refused| match refused {
///     SubmitError::Broken(reason) => Err(reason),
///     other => unreachable!("{other:?}"),
/// });
/// let reason = match future {
///     Ok(future) => match future.result() {
///         Err(FutureError::Broken(reason)) => reason.clone(),
///         other => unreachable!("{other:?}"),
///     },
///     Err(reason) => reason, // the pool broke before the submit
/// };
/// match &reason {
///     BrokenReason::InitializerPanicked(panic) => assert_eq!(panic.message(), "no database"),
///     other => unreachable!("{other:?}"),
/// }
/// assert_eq!(reason.to_string(), "a worker's initializer panicked: no database");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokenReason {
    /// A worker's initializer panicked (thread pool: in the worker thread; process pool: in
    /// the worker process, whose panic message is kept).
    InitializerPanicked(TaskPanic),
    /// A worker process could not run its initializer, e.g. the initializer's task is not
    /// registered in the worker's registry (process pool).
    InitializerFailed(WorkerFailure),
    /// The operating system refused to start a worker thread, and no worker was running
    /// (thread pool).
    ThreadSpawnFailed(IoFailure),
    /// A worker process did not connect to the pool within the start timeout: its `main` did
    /// not call `run_if_worker` first, or starting takes longer (process pool).
    DidNotConnect {
        /// The worker process's id.
        pid: u32,
        /// `ProcessPoolBuilder::start_timeout`.
        limit: Duration,
    },
    /// A worker process connected but did not become ready within the start timeout (process
    /// pool).
    DidNotBecomeReady {
        /// The worker process's id.
        pid: u32,
        /// `ProcessPoolBuilder::start_timeout`.
        limit: Duration,
        /// The initializer's task name, if one was still running.
        initializer: Option<String>,
    },
    /// A worker process speaks another version of the pool's protocol (the executable was
    /// replaced while the pool ran; process pool).
    ProtocolMismatch {
        /// The version the pool speaks.
        pool: u32,
        /// The version the worker speaks.
        worker: u32,
    },
    /// The [`Promise`](crate::Promise) was dropped before it completed its future.
    PromiseDropped,
    /// MPI is being finalised because the program is ending (MPI pool).
    MpiFinalized,
    /// Every worker rank was retired after a protocol error (MPI pool).
    NoUsableRanks,
}

impl fmt::Display for BrokenReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const RAISE: &str = "raise ProcessPoolBuilder::start_timeout if starting takes longer";
        match self {
            BrokenReason::InitializerPanicked(panic) => {
                write!(f, "a worker's initializer panicked: {}", panic.message())
            }
            BrokenReason::InitializerFailed(failure) => {
                write!(f, "a worker's initializer could not run: {failure}")
            }
            BrokenReason::ThreadSpawnFailed(error) => write!(f, "could not start a worker thread: {error}"),
            BrokenReason::DidNotConnect { pid, limit } => write!(
                f,
                "worker process {pid} did not connect to the pool (does the program's main call \
                 stealpool::process_pool::run_if_worker first?) within the start timeout of \
                 {limit:?}; {RAISE}"
            ),
            BrokenReason::DidNotBecomeReady { pid, limit, initializer } => {
                write!(f, "worker process {pid} did not become ready within the start timeout of {limit:?}")?;
                if let Some(name) = initializer {
                    write!(f, " (its initializer `{name}` was still running)")?;
                }
                write!(f, "; {RAISE}")
            }
            BrokenReason::ProtocolMismatch { pool, worker } => {
                write!(f, "protocol version {pool} requested, the worker process speaks {worker}")
            }
            BrokenReason::PromiseDropped => {
                f.write_str("the promise was dropped before it completed its future")
            }
            BrokenReason::MpiFinalized => f.write_str("MPI is being finalised because the program is ending"),
            BrokenReason::NoUsableRanks => {
                f.write_str("every worker rank was retired after a protocol error")
            }
        }
    }
}

impl std::error::Error for BrokenReason {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BrokenReason::InitializerPanicked(panic) => Some(panic),
            BrokenReason::InitializerFailed(failure) => Some(failure),
            BrokenReason::ThreadSpawnFailed(error) => Some(error),
            BrokenReason::DidNotConnect { .. }
            | BrokenReason::DidNotBecomeReady { .. }
            | BrokenReason::ProtocolMismatch { .. }
            | BrokenReason::PromiseDropped
            | BrokenReason::MpiFinalized
            | BrokenReason::NoUsableRanks => None,
        }
    }
}

/// An [`io::Error`] kept as a value that can be cloned and compared: its
/// [`kind`](Self::kind), its OS error code if it has one, and its message.
///
/// ```
/// use std::io;
/// use stealpool::IoFailure;
///
/// let failure = IoFailure::from(&io::Error::from_raw_os_error(11));
/// assert_eq!(failure.kind(), io::ErrorKind::WouldBlock);
/// assert_eq!(failure.raw_os_error(), Some(11));
/// assert_eq!(failure.to_string(), io::Error::from_raw_os_error(11).to_string());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoFailure {
    kind: io::ErrorKind,
    code: Option<i32>,
    message: String,
}

impl IoFailure {
    /// The error's kind.
    pub fn kind(&self) -> io::ErrorKind {
        self.kind
    }

    /// The OS error code (`errno`), if the error came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.code
    }

    /// The message the `io::Error` displayed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<&io::Error> for IoFailure {
    fn from(error: &io::Error) -> Self {
        IoFailure { kind: error.kind(), code: error.raw_os_error(), message: error.to_string() }
    }
}

impl From<io::Error> for IoFailure {
    fn from(error: io::Error) -> Self {
        IoFailure::from(&error)
    }
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IoFailure {}
