//! Why a worker process (or an MPI rank) could not run a task: [`WorkerFailure`], and how a
//! worker process ended: [`ProcessExit`], [`StoppedBy`].

use std::fmt;

use super::{IoFailure, TaskPanic};

/// Why the worker running a task failed to run it (process and MPI pools): carried by
/// [`FutureError::WorkerFailed`](crate::FutureError::WorkerFailed).
///
/// The task's own panic is not a `WorkerFailure` (it is
/// [`FutureError::Panicked`](crate::FutureError::Panicked)), nor is running past its time
/// limit ([`FutureError::TaskTimedOut`](crate::FutureError::TaskTimedOut)).
///
/// ```
/// use stealpool::{FutureError, ProcessExit, WorkerFailure};
///
/// // What a process pool reports for a worker process that aborted while running a task.
/// let error = FutureError::WorkerFailed(WorkerFailure::Died {
///     pid: 4242,
///     task: "crunch".into(),
///     status: ProcessExit::Signalled { signal: 6, core_dumped: false },
///     stopped_by: None,
/// });
/// match &error {
///     FutureError::WorkerFailed(WorkerFailure::Died { status: ProcessExit::Signalled { signal: 6, .. }, .. }) => {}
///     other => unreachable!("{other:?}"),
/// }
/// assert_eq!(
///     error.to_string(),
///     "the worker failed to run the task: worker process 4242 was killed by signal 6 (SIGABRT) \
///      while running task `crunch`"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerFailure {
    /// The worker process ended while it ran the task.
    Died {
        /// The worker process's id.
        pid: u32,
        /// The task's registered name (`Task::NAME`).
        task: String,
        /// How the process ended.
        status: ProcessExit,
        /// Set if the pool's workers were stopped on purpose (which is why it ended).
        stopped_by: Option<StoppedBy>,
    },
    /// The task never reached a worker process: each process it was sent to ended before it
    /// read the task (the last one is named here), or the pool's workers were stopped.
    NotDelivered {
        /// The id of the last worker process it was sent to.
        pid: u32,
        /// The task's registered name.
        task: String,
        /// How that process ended.
        status: ProcessExit,
        /// How many times the task was sent.
        attempts: usize,
        /// Set if the pool's workers were stopped (so the task was not sent again).
        stopped_by: Option<StoppedBy>,
    },
    /// A worker process started for the task ended before it was ready: its `main` did not
    /// call `run_if_worker` first, or it crashed while starting.
    DiedStarting {
        /// The worker process's id.
        pid: u32,
        /// How it ended.
        status: ProcessExit,
    },
    /// A worker process could not be started for the task.
    SpawnFailed(IoFailure),
    /// The task did not start: the pool's workers were stopped first.
    NotStarted {
        /// What stopped them.
        stopped_by: StoppedBy,
    },
    /// The worker process broke the pool's protocol (a reply that does not decode, or an
    /// unexpected one; or it could not read the request); it was replaced. The text is the
    /// decoder's diagnosis.
    Protocol {
        /// The worker process's id.
        pid: u32,
        /// What was wrong.
        message: String,
    },
    /// The worker process's reply is larger than `ProcessPoolBuilder::max_frame_size`; it was
    /// replaced.
    ReplyTooLarge {
        /// The worker process's id.
        pid: u32,
        /// The reply's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The task's name is not registered in the worker's registry.
    NotRegistered {
        /// The task's name.
        task: String,
    },
    /// The task could not be serialised in the parent; it was not sent.
    InputUnencodable {
        /// The task's name.
        task: String,
        /// The serialiser's message.
        message: String,
    },
    /// The task is larger than the largest message the pool can send; it was not sent.
    InputTooLarge {
        /// The task's name.
        task: String,
        /// The largest message in bytes.
        limit: u64,
    },
    /// The worker could not decode the task (its type differs from the registered one).
    InputUndecodable {
        /// The task's name.
        task: String,
        /// The decoder's message.
        message: String,
    },
    /// The worker could not serialise (or send) the task's output.
    OutputUnencodable {
        /// The task's name.
        task: String,
        /// The serialiser's message.
        message: String,
    },
    /// The task's output could not be decoded in the parent (its type differs from the
    /// registered one).
    OutputUndecodable {
        /// The task's name.
        task: String,
        /// The decoder's message.
        message: String,
    },
    /// An MPI worker rank broke the pool's protocol and was retired; the tasks it held fail.
    RankRetired {
        /// The rank.
        rank: usize,
        /// What was wrong.
        message: String,
    },
    /// The pool's own driver thread panicked while it handled the task.
    DriverPanicked(TaskPanic),
}

impl WorkerFailure {
    /// How the worker process ended, where the failure is a process's end.
    ///
    /// ```
    /// use stealpool::{ProcessExit, WorkerFailure};
    ///
    /// let status = ProcessExit::Exited(3);
    /// let failure = WorkerFailure::DiedStarting { pid: 7, status: status.clone() };
    /// assert_eq!(failure.exit_status(), Some(&status));
    /// assert_eq!(WorkerFailure::NotRegistered { task: "x".into() }.exit_status(), None);
    /// ```
    pub fn exit_status(&self) -> Option<&ProcessExit> {
        match self {
            WorkerFailure::Died { status, .. }
            | WorkerFailure::NotDelivered { status, .. }
            | WorkerFailure::DiedStarting { status, .. } => Some(status),
            _ => None,
        }
    }
}

impl fmt::Display for WorkerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerFailure::Died { pid, task, status, stopped_by } => {
                write!(f, "worker process {pid} {status} while running task `{task}`")?;
                match stopped_by {
                    Some(by) => write!(f, " ({by})"),
                    None => Ok(()),
                }
            }
            WorkerFailure::NotDelivered { pid, task, status, attempts, stopped_by } => {
                write!(f, "worker process {pid} {status} before task `{task}` reached it; ")?;
                match stopped_by {
                    Some(by) => by.fmt(f),
                    None => write!(f, "gave up after sending it {attempts} times"),
                }
            }
            WorkerFailure::DiedStarting { pid, status } => write!(
                f,
                "worker process {pid} {status} before it was ready; does the program's main call \
                 stealpool::process_pool::run_if_worker first?"
            ),
            WorkerFailure::SpawnFailed(error) => write!(f, "could not start a worker process: {error}"),
            WorkerFailure::NotStarted { stopped_by } => write!(f, "the task did not start: {stopped_by}"),
            WorkerFailure::Protocol { pid, message } => {
                write!(f, "worker process {pid} could not run the task: {message}")
            }
            WorkerFailure::ReplyTooLarge { pid, size, limit } => write!(
                f,
                "worker process {pid} could not run the task: its reply of {size} bytes is over the \
                 limit of {limit} bytes (ProcessPoolBuilder::max_frame_size)"
            ),
            WorkerFailure::NotRegistered { task } => write!(
                f,
                "task `{task}` is not registered in the worker's registry (add \
                 `.register::<YourTask>()` to the registry passed to run_if_worker)"
            ),
            WorkerFailure::InputUnencodable { task, message } => {
                write!(f, "could not serialise task `{task}`: {message}")
            }
            WorkerFailure::InputTooLarge { task, limit } => {
                write!(
                    f,
                    "task `{task}` is larger than the largest message the pool can send ({limit} bytes)"
                )
            }
            WorkerFailure::InputUndecodable { task, message } => {
                write!(f, "could not decode the value of task `{task}`: {message}")
            }
            WorkerFailure::OutputUnencodable { task, message } => {
                write!(f, "could not serialise the output of task `{task}`: {message}")
            }
            WorkerFailure::OutputUndecodable { task, message } => {
                write!(f, "could not decode the task's output (task `{task}`): {message}")
            }
            WorkerFailure::RankRetired { rank, message } => {
                write!(f, "worker rank {rank} was retired after a protocol error: {message}")
            }
            WorkerFailure::DriverPanicked(panic) => {
                write!(f, "the pool's driver thread panicked: {}", panic.message())
            }
        }
    }
}

impl std::error::Error for WorkerFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorkerFailure::SpawnFailed(error) => Some(error),
            WorkerFailure::DriverPanicked(panic) => Some(panic),
            _ => None,
        }
    }
}

/// How a worker process ended (what `std::process::ExitStatus` tells, as a value to match).
///
/// `Display` reads as a verb phrase: "exited with status 3", "was killed by signal 9 (SIGKILL)".
///
/// ```
/// use stealpool::ProcessExit;
///
/// let killed = ProcessExit::Signalled { signal: 9, core_dumped: false };
/// assert_eq!(killed.signal(), Some(9));
/// assert_eq!(killed.signal_name(), Some("SIGKILL"));
/// assert_eq!(killed.to_string(), "was killed by signal 9 (SIGKILL)");
/// assert_eq!(ProcessExit::Exited(3).to_string(), "exited with status 3");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProcessExit {
    /// It exited with this status code.
    Exited(i32),
    /// It was killed by this signal.
    Signalled {
        /// The signal number.
        signal: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
    /// Its exit status could not be read.
    Unknown,
}

impl ProcessExit {
    /// The exit code, if it exited.
    pub fn code(&self) -> Option<i32> {
        match self {
            ProcessExit::Exited(code) => Some(*code),
            _ => None,
        }
    }

    /// The signal number, if a signal killed it.
    pub fn signal(&self) -> Option<i32> {
        match self {
            ProcessExit::Signalled { signal, .. } => Some(*signal),
            _ => None,
        }
    }

    /// The signal's name ("SIGKILL"), for the signals a dying worker is likely to report
    /// (Linux numbering; the ones that differ elsewhere are left out).
    pub fn signal_name(&self) -> Option<&'static str> {
        Some(match self.signal()? {
            1 => "SIGHUP",
            2 => "SIGINT",
            3 => "SIGQUIT",
            4 => "SIGILL",
            5 => "SIGTRAP",
            6 => "SIGABRT",
            8 => "SIGFPE",
            9 => "SIGKILL",
            11 => "SIGSEGV",
            13 => "SIGPIPE",
            14 => "SIGALRM",
            15 => "SIGTERM",
            #[cfg(target_os = "linux")]
            7 => "SIGBUS",
            _ => return None,
        })
    }
}

impl fmt::Display for ProcessExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessExit::Exited(code) => write!(f, "exited with status {code}"),
            ProcessExit::Signalled { signal, core_dumped } => {
                let core = if *core_dumped { ", core dumped" } else { "" };
                match self.signal_name() {
                    Some(name) => write!(f, "was killed by signal {signal} ({name}{core})"),
                    None if *core_dumped => write!(f, "was killed by signal {signal} (core dumped)"),
                    None => write!(f, "was killed by signal {signal}"),
                }
            }
            ProcessExit::Unknown => f.write_str("ended (its exit status could not be read)"),
        }
    }
}

/// Which call stopped a process pool's workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoppedBy {
    /// `ProcessPoolExecutor::kill_workers` (SIGKILL).
    KillWorkers,
    /// `ProcessPoolExecutor::terminate_workers` (SIGTERM).
    TerminateWorkers,
}

impl fmt::Display for StoppedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoppedBy::KillWorkers => "the pool's workers were killed by kill_workers()",
            StoppedBy::TerminateWorkers => "the pool's workers were terminated by terminate_workers()",
        })
    }
}
