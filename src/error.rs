//! Error values: Python's `CancelledError`, `TimeoutError`, `BrokenExecutor` and
//! `InvalidStateError`, plus the panic a task raised, as plain Rust enums.
//!
//! What broke an executor ([`BrokenReason`]) and how a worker failed ([`WorkerFailure`],
//! [`ProcessExit`]) are enums too, so a caller matches on them instead of parsing text.
//!
//! Every error implements [`std::error::Error`] and [`Display`](fmt::Display) with a message that
//! tells a user what happened and, where there is one, what to do about it.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod broken;
mod worker;

pub use broken::{BrokenReason, IoFailure};
pub use worker::{ProcessExit, StoppedBy, WorkerFailure};

/// The panic a task (or a callback, or an initializer) raised.
///
/// Python's `Future.exception()` returns the exception object. A Rust panic payload is neither
/// `Sync` nor `Clone`, so a `TaskPanic` keeps the message (what `panic!` formatted, or a note
/// that the payload was of another type) for display and comparison, and the original payload
/// for whoever wants to re-raise it: [`take_payload`](Self::take_payload) hands it out once
/// (from any clone), [`resume_unwind`](Self::resume_unwind) re-raises it.
///
/// ```
/// use stealpool::{FutureError, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(1)?;
/// let future = pool.submit(|| -> i32 { std::panic::panic_any(42u8) })?;
/// let Err(FutureError::Panicked(panic)) = future.join() else { unreachable!() };
/// let payload = panic.take_payload().expect("the payload is kept");
/// assert_eq!(payload.downcast_ref::<u8>(), Some(&42));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TaskPanic {
    message: String,
    payload: Option<Arc<Mutex<Option<Payload>>>>,
}

type Payload = Box<dyn Any + Send + 'static>;

impl TaskPanic {
    /// A captured panic with the given message (and no payload).
    pub fn new(message: impl Into<String>) -> Self {
        TaskPanic { message: message.into(), payload: None }
    }

    /// Captures the message of a payload returned by [`std::panic::catch_unwind`] (the payload
    /// stays with the caller).
    pub fn from_payload(payload: &(dyn Any + Send)) -> Self {
        TaskPanic::new(message_of(payload))
    }

    /// Captures a payload returned by [`std::panic::catch_unwind`], keeping it.
    pub fn from_boxed(payload: Payload) -> Self {
        TaskPanic { message: message_of(&*payload), payload: Some(Arc::new(Mutex::new(Some(payload)))) }
    }

    /// The panic message, as `panic!` formatted it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The original payload, to hand to [`std::panic::resume_unwind`]; `None` if another
    /// clone took it already or none was kept (a panic from a child process, say).
    pub fn take_payload(&self) -> Option<Payload> {
        let slot = self.payload.as_ref()?;
        slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    /// Re-raises the panic on this thread: with the original payload if it is still here,
    /// else with the message.
    pub fn resume_unwind(self) -> ! {
        match self.take_payload() {
            Some(payload) => std::panic::resume_unwind(payload),
            None => std::panic::resume_unwind(Box::new(self.message)),
        }
    }
}

fn message_of(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic payload that is neither &str nor String".to_owned()
    }
}

impl PartialEq for TaskPanic {
    /// Two panics are equal when their messages are.
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for TaskPanic {}

impl fmt::Debug for TaskPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskPanic").field("message", &self.message).finish_non_exhaustive()
    }
}

impl fmt::Display for TaskPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the task panicked: {}", self.message)
    }
}

impl std::error::Error for TaskPanic {}

/// Why a [`Future`](crate::Future) has no value to give.
///
/// ```
/// use std::time::Duration;
/// use stealpool::{FutureError, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(1)?;
/// let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
/// let busy = pool.submit(move || wait_for_go.recv().is_ok())?;
/// let queued = pool.submit(|| 1)?;
/// // TimeoutError: the wait gave up; the future is unaffected.
/// assert_eq!(busy.result_timeout(Duration::from_millis(10)), Err(FutureError::Timeout));
/// // CancelledError: `queued` had not started (the only worker is busy).
/// assert!(queued.cancel());
/// assert_eq!(queued.result(), Err(FutureError::Cancelled));
/// go.send(())?;
/// assert_eq!(busy.result(), Ok(&true));
/// // A panic is a value, with its message.
/// let failed = pool.submit(|| -> u8 { panic!("bad input") })?;
/// match failed.result() {
///     Err(FutureError::Panicked(panic)) => assert_eq!(panic.message(), "bad input"),
///     other => unreachable!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FutureError {
    /// The future was cancelled before its task started (Python's `CancelledError`).
    Cancelled,
    /// The timeout passed before the future finished (Python's `TimeoutError`). The future
    /// itself is unaffected and may still finish later.
    Timeout,
    /// The task panicked; the panic is captured here and the worker that ran it carried on.
    Panicked(TaskPanic),
    /// The executor broke before the task could run, e.g. because a worker's initializer
    /// panicked (Python's `BrokenExecutor`); the [`BrokenReason`] says why.
    Broken(BrokenReason),
    /// The worker process running the task died or could not run it (process and MPI pools):
    /// the [`WorkerFailure`] says how (an exit status or signal, what could not be encoded or
    /// decoded, ...).
    WorkerFailed(WorkerFailure),
    /// The task ran longer than the time it was given (process pool only:
    /// `submit_with_timeout`, or a `map` item timeout); its worker process was killed and
    /// replaced.
    TaskTimedOut {
        /// The task's registered name (`Task::NAME`).
        task: String,
        /// The time it was given.
        limit: Duration,
    },
    /// [`Future::join`](crate::Future::join) was called while other handles to the future
    /// exist (clones, or a done-callback still running): the value stays where they can borrow
    /// it. Join the last handle, or borrow with `result()`.
    Shared,
    /// The value was moved out by [`Future::join`](crate::Future::join) of another handle.
    Taken,
    /// A `map` item the executor refused to take: it was shut down while the iterator ran
    /// (Python raises the `RuntimeError` of `submit`). A broken executor fails the item with
    /// [`Broken`](FutureError::Broken) instead.
    Refused(SubmitError),
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Cancelled => f.write_str("the future was cancelled before its task started"),
            FutureError::Timeout => f.write_str("timed out waiting for the future to finish"),
            FutureError::Panicked(panic) => panic.fmt(f),
            FutureError::Broken(reason) => write!(f, "the executor is broken: {reason}"),
            FutureError::WorkerFailed(failure) => write!(f, "the worker failed to run the task: {failure}"),
            FutureError::TaskTimedOut { task, limit } => {
                write!(
                    f,
                    "task `{task}` ran longer than its limit of {limit:?}; its worker process was killed"
                )
            }
            FutureError::Shared => {
                f.write_str("cannot move the value out: other handles to this future still exist")
            }
            FutureError::Taken => f.write_str("the value was already moved out by join()"),
            FutureError::Refused(error) => write!(f, "the executor refused the item: {error}"),
        }
    }
}

impl std::error::Error for FutureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FutureError::Panicked(panic) => Some(panic),
            FutureError::Broken(reason) => Some(reason),
            FutureError::WorkerFailed(failure) => Some(failure),
            FutureError::Refused(error) => Some(error),
            FutureError::Cancelled
            | FutureError::Timeout
            | FutureError::TaskTimedOut { .. }
            | FutureError::Shared
            | FutureError::Taken => None,
        }
    }
}

/// Why an executor refused a task.
///
/// ```
/// use stealpool::{SubmitError, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(1)?;
/// pool.shutdown(true, false);
/// let refused = pool.submit(|| 1).unwrap_err();   // Python: RuntimeError
/// assert_eq!(refused, SubmitError::Shutdown);
/// assert_eq!(refused.to_string(), "cannot schedule new tasks after shutdown");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// `shutdown` was called (or the executor was dropped); Python raises
    /// `RuntimeError('cannot schedule new futures after shutdown')`.
    Shutdown,
    /// The executor is broken (an initializer panicked, ...); the [`BrokenReason`] says why.
    Broken(BrokenReason),
    /// An argument is out of range (Python raises `ValueError`), e.g.
    /// `MapOptions::buffersize(0)`; the text says which.
    InvalidArgument(&'static str),
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Shutdown => f.write_str("cannot schedule new tasks after shutdown"),
            SubmitError::Broken(reason) => {
                write!(f, "cannot schedule new tasks: the executor is broken: {reason}")
            }
            SubmitError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
        }
    }
}

impl std::error::Error for SubmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SubmitError::Broken(reason) => Some(reason),
            SubmitError::Shutdown | SubmitError::InvalidArgument(_) => None,
        }
    }
}

/// Why an executor could not be built.
///
/// ```
/// use stealpool::{BuildError, ThreadPoolExecutor};
///
/// let error = ThreadPoolExecutor::new(0).unwrap_err();   // Python: ValueError
/// assert!(matches!(error, BuildError::ZeroWorkers));
/// assert_eq!(error.to_string(), "max_workers must be greater than 0");
/// let error = ThreadPoolExecutor::builder().stack_size(0).build().unwrap_err();
/// assert!(matches!(error, BuildError::InvalidStackSize(0)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_workers` was zero (Python raises `ValueError('max_workers must be greater than 0')`).
    ZeroWorkers,
    /// The operating system refused to start a worker (thread or process).
    Spawn(std::io::Error),
    /// An option is out of range or cannot be used here; the text says which and why.
    InvalidConfig(String),
    /// `thread_name_prefix` cannot name a thread: it contains a NUL byte.
    InvalidThreadName(String),
    /// `stack_size` cannot be a thread's stack size: zero, or larger than `isize::MAX` bytes.
    InvalidStackSize(usize),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => f.write_str("max_workers must be greater than 0"),
            BuildError::Spawn(err) => write!(f, "could not start a worker: {err}"),
            BuildError::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            BuildError::InvalidThreadName(prefix) => {
                write!(f, "invalid thread_name_prefix {prefix:?}: a thread name cannot contain a NUL byte")
            }
            BuildError::InvalidStackSize(bytes) => write!(
                f,
                "invalid stack_size {bytes}: it must be greater than 0 and at most isize::MAX bytes"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn(err) => Some(err),
            BuildError::ZeroWorkers
            | BuildError::InvalidConfig(_)
            | BuildError::InvalidThreadName(_)
            | BuildError::InvalidStackSize(_) => None,
        }
    }
}

/// A [`Promise`](crate::Promise) was completed twice, or completed after it was cancelled
/// (Python's `InvalidStateError`). [`state`](Self::state) is the state the future was found in.
///
/// ```
/// use stealpool::{FutureState, Promise};
///
/// let (promise, future) = Promise::new();
/// promise.set_result("first")?;
/// let error = promise.set_result("second").unwrap_err();
/// assert_eq!(error.state(), FutureState::Finished);
/// assert_eq!(error.to_string(), "invalid state: the future is already finished");
/// assert_eq!(future.result(), Ok(&"first"));
///
/// let (promise, future) = Promise::<i32>::new();
/// assert!(future.cancel());
/// assert_eq!(promise.set_result(1).unwrap_err().state(), FutureState::Cancelled);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidStateError {
    pub(crate) state: FutureState,
}

impl InvalidStateError {
    /// The state the future was already in: [`Running`](FutureState::Running) (for
    /// `set_running_or_notify_cancel`), [`Finished`](FutureState::Finished) or
    /// [`Cancelled`](FutureState::Cancelled).
    pub fn state(&self) -> FutureState {
        self.state
    }
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid state: the future is already {}", self.state)
    }
}

impl std::error::Error for InvalidStateError {}

/// The states of a future (Python's `PENDING`, `RUNNING`, `CANCELLED`, `FINISHED`), as an
/// [`InvalidStateError`] reports them. `Display` gives the lower-case name ("finished").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FutureState {
    /// Not started and not cancelled.
    Pending,
    /// Its task is running (or a `Promise` marked it running).
    Running,
    /// It holds its outcome: a value, a panic or an error.
    Finished,
    /// It was cancelled before it started.
    Cancelled,
}

impl fmt::Display for FutureState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FutureState::Pending => "pending",
            FutureState::Running => "running",
            FutureState::Finished => "finished",
            FutureState::Cancelled => "cancelled",
        })
    }
}
