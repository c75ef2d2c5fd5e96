//! The parent side: each worker thread of the pool's inner
//! [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) drives one child process.
//!
//! A submitted task becomes a [`Job`]: the task name, the encoded values (one, or a `map`
//! chunk) and one completer per value (the [`Promise`] behind each user's future). The job runs
//! on the inner thread pool, so the work-stealing scheduler balances jobs across drivers: an idle
//! driver, and so its idle child, steals the jobs queued behind a busy one.
//!
//! The child of a driver thread lives in a thread-local slot: started on the thread's first job,
//! replaced after it dies or reaches `max_tasks_per_child`, and closed and reaped when the
//! thread exits (the slot's destructor runs before the thread can be joined, so
//! `shutdown(wait = true)` returns only after every child has been waited for).
//!
//! # Faults (see `papers/process_pool.md`)
//!
//! - A child found dead before a job is sent (it died while idle) is reaped and replaced; no
//!   task is lost.
//! - A child that dies while running a job (end of stream, or a failed write) is killed for
//!   certainty, reaped, and named in the error of every item it had not answered:
//!   [`FutureError::WorkerFailed`] with the exit status or signal. The next job starts a new child.
//! - A reply that does not decode fails the rest of the job and replaces the child (the stream
//!   can no longer be trusted).
//! - An initializer that fails breaks the pool, as in the thread pool: queued and later jobs
//!   fail with [`FutureError::Broken`], later submits are refused.

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::io::{self, BufReader};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use serde::de::DeserializeOwned;

use super::child::WORKER_ENV;
use super::protocol::{PROTOCOL_VERSION, Reply, Request, decode_value, read_frame, write_frame};
use crate::error::{FutureError, TaskPanic};
use crate::future::Promise;

/// What every driver of one pool shares.
pub(crate) struct Shared {
    exe: PathBuf,
    args: Vec<OsString>,
    /// The initializer's task name and encoded value.
    initializer: Option<(&'static str, Vec<u8>)>,
    max_tasks_per_child: Option<usize>,
    /// Why the pool is broken, once it is.
    pub(crate) broken: OnceLock<String>,
    pub(crate) processes_started: AtomicUsize,
    /// Children started and not yet reaped.
    live_children: Mutex<usize>,
    children_reaped: Condvar,
}

impl Shared {
    pub(crate) fn new(
        exe: PathBuf,
        args: Vec<OsString>,
        initializer: Option<(&'static str, Vec<u8>)>,
        max_tasks_per_child: Option<usize>,
    ) -> Self {
        Shared {
            exe,
            args,
            initializer,
            max_tasks_per_child,
            broken: OnceLock::new(),
            processes_started: AtomicUsize::new(0),
            live_children: Mutex::new(0),
            children_reaped: Condvar::new(),
        }
    }

    /// Blocks until every child of the pool has been reaped, except those the calling thread
    /// holds itself (when a done-callback on a driver shuts the pool down).
    ///
    /// Joining the driver threads is not enough: a driver that shut the pool down from inside
    /// is not joined by anyone, and it reaps its child only when it exits.
    pub(crate) fn wait_for_children(&self) {
        let own = HELD.with(|held| if held.get().0 == self.identity() { held.get().1 } else { 0 });
        let mut live = self.live_children.lock().unwrap_or_else(|e| e.into_inner());
        while *live > own {
            live = self.children_reaped.wait(live).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn identity(&self) -> usize {
        self as *const Shared as usize
    }

    /// Counts a child started by the calling (driver) thread.
    fn child_started(&self) {
        self.processes_started.fetch_add(1, Ordering::Relaxed);
        *self.live_children.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let identity = self.identity();
        HELD.with(|held| held.set((identity, held.get().1 + 1)));
    }

    /// Counts a child reaped by the calling (driver) thread.
    fn child_reaped(&self) {
        HELD.with(|held| held.set((held.get().0, held.get().1 - 1)));
        *self.live_children.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.children_reaped.notify_all();
    }
}

/// The completer of one item's future: decodes the output and completes the promise.
pub(crate) trait Completer: Send + Sync {
    /// Marks the future running; false if it was cancelled (the item is then not sent).
    fn start(&self) -> bool;
    /// Completes the future with the decoded output (or a decoding failure).
    fn succeed(&self, bytes: &[u8]);
    /// Completes the future with an error (ignored if it is already complete).
    fn fail(&self, error: FutureError);
    /// Cancels the future if it has not started.
    fn cancel(&self);
}

/// A [`Completer`] for output `O`, stored in the future as `wrap(O)` (`map` stores a slot).
pub(crate) struct Typed<O, W: 'static> {
    pub(crate) promise: Promise<W>,
    pub(crate) wrap: fn(O) -> W,
}

impl<O, W> Completer for Typed<O, W>
where
    O: DeserializeOwned + Send + Sync + 'static,
    W: Send + Sync + 'static,
{
    fn start(&self) -> bool {
        self.promise.set_running_or_notify_cancel().unwrap_or(false)
    }

    fn succeed(&self, bytes: &[u8]) {
        match decode_value::<O>(bytes) {
            Ok(value) => {
                let _ = self.promise.set_result((self.wrap)(value));
            }
            Err(error) => {
                self.fail(FutureError::WorkerFailed(format!("could not decode the task's output: {error}")))
            }
        }
    }

    fn fail(&self, error: FutureError) {
        // A panic is the task's own outcome (`exception()` returns it), not a pool failure.
        let _ = match error {
            FutureError::Panicked(panic) => self.promise.set_exception(panic),
            error => self.promise.set_error(error),
        };
    }

    fn cancel(&self) {
        self.promise.cancel_future();
    }
}

/// One message's worth of work: task `name` on each payload.
pub(crate) struct Job {
    pub(crate) name: &'static str,
    pub(crate) payloads: Vec<Vec<u8>>,
    /// Shared with the inner future's done-callback, which completes them if the job never runs.
    pub(crate) completers: Arc<[Box<dyn Completer>]>,
}

/// A live child process and its end of the socket.
struct WorkerProcess {
    shared: Arc<Shared>,
    child: Child,
    pid: u32,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    tasks_run: usize,
}

thread_local! {
    /// The child driven by this thread. A driver thread serves one pool, so one slot suffices.
    static WORKER: RefCell<Option<WorkerProcess>> = const { RefCell::new(None) };
    /// (identity of the pool's `Shared`, children this thread holds). No destructor, so the
    /// `WORKER` slot's destructor can still update it while the thread exits.
    static HELD: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Why a child could not be made ready.
enum StartError {
    /// Its initializer failed: the pool breaks.
    Init(String),
    /// It could not be started or did not answer: this job fails, the pool goes on.
    Other(String),
}

/// Runs a job on this driver thread's child (see the module documentation).
pub(crate) fn run_job(shared: &Arc<Shared>, job: Job) {
    let Job { name, payloads, completers } = job;
    if let Some(reason) = shared.broken.get() {
        completers.iter().for_each(|item| item.fail(FutureError::Broken(reason.clone())));
        return;
    }
    // Start the futures; cancelled items are not sent.
    let live: Vec<usize> = (0..completers.len()).filter(|&index| completers[index].start()).collect();
    if live.is_empty() {
        return;
    }
    let fail_all = |error: FutureError| live.iter().for_each(|&index| completers[index].fail(error.clone()));
    // The child is taken out of the slot while the job runs: completing a future runs the
    // user's done-callbacks on this thread, and one that shuts the pool down makes this thread
    // help run queued jobs, re-entering here. Such a nested job finds the slot empty and starts
    // a child of its own instead of borrowing the one in use.
    let mut worker = WORKER.with(|slot| slot.borrow_mut().take());
    if worker.as_mut().is_some_and(|worker| worker.has_exited()) {
        // Died while idle: reap it (drop) and start another; no task was running on it.
        worker = None;
    }
    if worker.is_none() {
        match WorkerProcess::start(shared) {
            Ok(started) => worker = Some(started),
            Err(StartError::Init(reason)) => {
                let reason = shared.broken.get_or_init(|| reason).clone();
                fail_all(FutureError::Broken(reason));
                return;
            }
            Err(StartError::Other(why)) => {
                fail_all(FutureError::WorkerFailed(why));
                return;
            }
        }
    }
    let mut worker = worker.expect("a child was just started");
    let items: Vec<&[u8]> = live.iter().map(|&index| payloads[index].as_slice()).collect();
    match worker.run(name, &items, |at, outcome| completers[live[at]].complete(outcome)) {
        Ok(()) => {
            worker.tasks_run += 1;
            if shared.max_tasks_per_child.is_some_and(|max| worker.tasks_run >= max) {
                return; // retire: dropping it closes and reaps it; the next job starts a new one
            }
            // Put it back, unless a nested job left a child there (then this one is reaped).
            let spare = WORKER.with(|slot| slot.borrow_mut().replace(worker));
            drop(spare);
        }
        Err((done, why)) => {
            let why = match why {
                RunError::Died(context) => worker.reap_dead(&context),
                RunError::Garbled(why) => worker.reap_garbled(why),
            };
            live[done..]
                .iter()
                .for_each(|&index| completers[index].fail(FutureError::WorkerFailed(why.clone())));
        }
    }
}

impl dyn Completer {
    fn complete(&self, outcome: ItemReply<'_>) {
        match outcome {
            ItemReply::Value(bytes) => self.succeed(bytes),
            ItemReply::Panicked(message) => self.fail(FutureError::Panicked(TaskPanic::new(message))),
            ItemReply::Failed(why) => self.fail(FutureError::WorkerFailed(why.to_owned())),
        }
    }
}

/// One item's reply, as handed to its completer.
enum ItemReply<'a> {
    Value(&'a [u8]),
    Panicked(&'a str),
    Failed(&'a str),
}

/// Why a job stopped before every item was answered.
enum RunError {
    /// The stream broke: the child died (the text says what the driver was doing).
    Died(String),
    /// The child sent something that is not a valid reply, or a `Fatal` reply.
    Garbled(String),
}

impl WorkerProcess {
    /// Starts a child, sends the `Hello` and waits for `Ready`.
    fn start(shared: &Arc<Shared>) -> Result<WorkerProcess, StartError> {
        let spawn_failed =
            |error: io::Error| StartError::Other(format!("could not start a worker process: {error}"));
        let (parent_end, child_end) = UnixStream::pair().map_err(spawn_failed)?;
        let mut command = Command::new(&shared.exe);
        command
            .args(&shared.args)
            .env(WORKER_ENV, PROTOCOL_VERSION.to_string())
            .stdin(Stdio::from(OwnedFd::from(child_end)));
        let child = command.spawn().map_err(spawn_failed)?;
        // Close this process's copy of the child's end, so that the child's death reads as the
        // end of the stream here.
        drop(command);
        let pid = child.id();
        let reader = match parent_end.try_clone() {
            Ok(stream) => BufReader::with_capacity(64 * 1024, stream),
            Err(error) => {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                return Err(spawn_failed(error));
            }
        };
        shared.child_started();
        let mut worker =
            WorkerProcess { shared: shared.clone(), child, pid, reader, writer: parent_end, tasks_run: 0 };
        let init = shared.initializer.as_ref().map(|(name, payload)| (*name, payload.as_slice()));
        let hello = Request::Hello { version: PROTOCOL_VERSION, init }.encode();
        let answer = hello
            .and_then(|frame| write_frame(&mut worker.writer, &frame))
            .and_then(|()| read_frame(&mut worker.reader));
        match answer {
            Ok(Some(frame)) => match Reply::decode(&frame) {
                Ok(Reply::Ready { .. }) => Ok(worker),
                Ok(Reply::InitFailed(why)) => {
                    let why = why.to_owned();
                    drop(worker);
                    Err(StartError::Init(why))
                }
                Ok(other) => {
                    Err(StartError::Other(worker.reap_garbled(format!("expected Ready, got {other:?}"))))
                }
                Err(error) => Err(StartError::Other(worker.reap_garbled(error))),
            },
            Ok(None) | Err(_) => {
                let status = worker.kill_and_reap();
                Err(StartError::Other(format!(
                    "worker process {pid} {} before it was ready; does the program's main call \
                     stealpool::process_pool::run_if_worker first?",
                    describe(status)
                )))
            }
        }
    }

    /// Whether the child has exited (it is then reaped by `try_wait`).
    fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `Run` and hands each item's reply to `complete(index, reply)`, in order. On error,
    /// says how many items were answered before it.
    fn run(
        &mut self,
        name: &str,
        items: &[&[u8]],
        mut complete: impl FnMut(usize, ItemReply<'_>),
    ) -> Result<(), (usize, RunError)> {
        let frame = Request::Run { name, items: items.to_vec() }
            .encode()
            .map_err(|error| (0, RunError::Garbled(format!("could not send the task: {error}"))))?;
        write_frame(&mut self.writer, &frame)
            .map_err(|error| (0, RunError::Died(format!("while task `{name}` was sent to it ({error})"))))?;
        for at in 0..items.len() {
            let frame = match read_frame(&mut self.reader) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Err((at, RunError::Died(format!("while running task `{name}`")))),
                Err(error) => {
                    return Err((at, RunError::Died(format!("while running task `{name}` ({error})"))));
                }
            };
            match Reply::decode(&frame) {
                Ok(Reply::Value(bytes)) => complete(at, ItemReply::Value(bytes)),
                Ok(Reply::Panicked(message)) => complete(at, ItemReply::Panicked(message)),
                Ok(Reply::Failed(why)) => complete(at, ItemReply::Failed(why)),
                Ok(Reply::Fatal(why)) => return Err((at, RunError::Garbled(why.to_owned()))),
                Ok(other) => return Err((at, RunError::Garbled(format!("unexpected reply {other:?}")))),
                Err(error) => return Err((at, RunError::Garbled(format!("malformed reply: {error}")))),
            }
        }
        Ok(())
    }

    /// Kills (a no-op if it already exited) and reaps the child; returns its exit status.
    ///
    /// Killing first makes the wait certain to end. It does not change the status of a child
    /// that had already begun to exit: its status is fixed before its socket closes.
    fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// Reaps a child whose stream broke; the error text for the items it held.
    fn reap_dead(mut self, context: &str) -> String {
        let pid = self.pid;
        let status = self.kill_and_reap();
        format!("worker process {pid} {} {context}", describe(status))
    }

    /// Kills and reaps a child that sent a bad reply; the error text for the items it held.
    fn reap_garbled(mut self, why: String) -> String {
        let pid = self.pid;
        self.kill_and_reap();
        format!("worker process {pid} could not run the task: {why}")
    }
}

impl Drop for WorkerProcess {
    /// Closes the socket (the child reads the end of the stream and exits) and reaps the child.
    fn drop(&mut self) {
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
        let _ = self.child.wait();
        self.shared.child_reaped();
    }
}

/// "exited with status 3", "was killed by signal 9 (SIGKILL)", ...
pub(crate) fn describe(status: Option<ExitStatus>) -> String {
    let Some(status) = status else { return "ended (its exit status could not be read)".to_owned() };
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(signal) => {
            let core = if status.core_dumped() { ", core dumped" } else { "" };
            match signal_name(signal) {
                Some(name) => format!("was killed by signal {signal} ({name}{core})"),
                None => format!("was killed by signal {signal}{core}"),
            }
        }
        None => format!("ended ({status})"),
    }
}

/// The names of the signals a dying worker is likely to report (Linux numbering; the ones that
/// differ elsewhere are left out).
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
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
