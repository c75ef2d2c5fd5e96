//! The parent side: each worker thread of the pool's inner
//! [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) drives one child process.
//!
//! A submitted task becomes a [`Job`]: the task name, the encoded values (one, or a `map`
//! chunk), one completer per value (the [`Promise`] behind each user's future) and the time
//! each item may run. The job runs on the inner thread pool, so the work-stealing scheduler
//! balances jobs across drivers: an idle driver, and so its idle child, steals the jobs queued
//! behind a busy one.
//!
//! The child of a driver thread lives in a thread-local slot: started on the thread's first job,
//! replaced after it dies, times out, reaches `max_tasks_per_child` or its memory ceiling, and
//! closed and waited for when the thread exits (the slot's destructor runs before the thread
//! can be joined, so `shutdown(wait = true)` returns only after every child has been reaped).
//! Each child is reaped by its own reaper thread the moment it exits (`reaper.rs`), idle or
//! not, and signals reach it only through that thread's record, never a reused pid.
//!
//! # Faults (see `papers/process_pool.md`)
//!
//! - A child found dead before a job is sent (it died while idle) is replaced; no task is lost.
//! - A request that never reached the child (the write failed: the child died before or while
//!   it was sent; or the child ended with [`IDLE_EXIT`], which it does only between requests)
//!   is sent again to a fresh child, at most [`MAX_RESENDS`] times.
//! - A child that dies while running an item (end of stream, or a read error) is killed for
//!   certainty, reaped, and named in that item's error: [`FutureError::WorkerFailed`] with the
//!   exit status or signal.
//! - An item that runs longer than its timeout has its child killed; it fails with
//!   [`FutureError::TaskTimedOut`].
//! - A reply that does not decode or is over the frame-size limit fails the item it stands
//!   for and replaces the child (the stream can no longer be trusted).
//! - In each of the last three cases, the items of the same chunk after the failed one had not
//!   started (a child runs a chunk's items in order and answers each before the next): they
//!   are sent again to a fresh child. A `Fatal` reply (the child could not read the request)
//!   fails them all.
//! - A child that does not become ready within the start timeout, or whose initializer fails,
//!   breaks the pool, as in the thread pool: queued and later jobs fail with
//!   [`FutureError::Broken`], later submits are refused.
//! - After `terminate_workers` / `kill_workers`, no child is started and nothing is sent again:
//!   items not yet sent are cancelled, items sent fail with `WorkerFailed`.

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rustix::process::Signal;
use serde::de::DeserializeOwned;

use super::channel::{AcceptError, ParentEnd, Rendezvous, SOCKET_ENV};
use super::child::{IDLE_ENV, IDLE_EXIT, WORKER_ENV, worker_marker};
use super::protocol::{
    FrameError, InitFailure, PROTOCOL_VERSION, Reply, Request, complete_with_output, fail_promise,
};
use super::reaper::Watched;
use super::registry::ItemFailure;
use crate::error::{BrokenReason, FutureError, IoFailure, ProcessExit, StoppedBy, TaskPanic, WorkerFailure};
use crate::future::Promise;

/// How many times one job is sent again after it did not reach its child. Each resend starts a
/// fresh child; a child that keeps dying before it reads its request fails the job after this.
pub(crate) const MAX_RESENDS: usize = 2;

/// The options a pool's children are started and kept with (`ProcessPoolBuilder`).
pub(crate) struct ChildOptions {
    /// The initializer's task name and encoded value.
    pub(crate) initializer: Option<(&'static str, Vec<u8>)>,
    pub(crate) max_tasks_per_child: Option<usize>,
    /// From spawn to `Ready`, initializer included.
    pub(crate) start_timeout: Duration,
    /// The largest frame accepted from a child.
    pub(crate) max_frame_size: usize,
    /// A child idle this long exits (it is started again on demand).
    pub(crate) idle_timeout: Option<Duration>,
    /// A child whose resident set is larger than this after a job is replaced.
    pub(crate) max_memory_per_child: Option<u64>,
}

/// What every driver of one pool shares.
pub(crate) struct Shared {
    exe: PathBuf,
    args: Vec<OsString>,
    options: ChildOptions,
    /// Why the pool is broken, once it is.
    pub(crate) broken: OnceLock<BrokenReason>,
    pub(crate) processes_started: AtomicUsize,
    /// Children started and not yet reaped.
    live_children: Mutex<usize>,
    children_reaped: Condvar,
    /// Every child not yet waited for by its driver, and the signal `terminate_workers` /
    /// `kill_workers` sent, once one did.
    children: Mutex<Children>,
}

#[derive(Default)]
struct Children {
    list: Vec<Arc<Watched>>,
    stopped_by: Option<Signal>,
}

impl Shared {
    pub(crate) fn new(exe: PathBuf, args: Vec<OsString>, options: ChildOptions) -> Self {
        Shared {
            exe,
            args,
            options,
            broken: OnceLock::new(),
            processes_started: AtomicUsize::new(0),
            live_children: Mutex::new(0),
            children_reaped: Condvar::new(),
            children: Mutex::new(Children::default()),
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

    /// Sends `signal` to every child and keeps any new one from starting (`terminate_workers`,
    /// `kill_workers`). The caller has shut the driver pool down first.
    pub(crate) fn stop_children(&self, signal: Signal) {
        let children = {
            let mut children = self.children();
            children.stopped_by = Some(signal);
            children.list.clone()
        };
        for child in children {
            child.signal(signal);
        }
    }

    /// Why no child may start or be sent work any more, if `stop_children` was called.
    fn stopped(&self) -> Option<StoppedBy> {
        self.children().stopped_by.map(stopped_by)
    }

    fn children(&self) -> MutexGuard<'_, Children> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn identity(&self) -> usize {
        self as *const Shared as usize
    }

    /// Counts a child started by the calling (driver) thread. If the workers were stopped
    /// meanwhile, signals it as they were and says why.
    fn child_started(&self, child: &Arc<Watched>) -> Result<(), StoppedBy> {
        self.processes_started.fetch_add(1, Ordering::Relaxed);
        *self.live_children.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let identity = self.identity();
        HELD.with(|held| held.set((identity, held.get().1 + 1)));
        let mut children = self.children();
        children.list.push(child.clone());
        match children.stopped_by {
            None => Ok(()),
            Some(signal) => {
                child.signal(signal);
                drop(children);
                Err(stopped_by(signal))
            }
        }
    }

    /// Counts a child reaped by the calling (driver) thread.
    fn child_reaped(&self, child: &Arc<Watched>) {
        self.children().list.retain(|listed| !Arc::ptr_eq(listed, child));
        HELD.with(|held| held.set((held.get().0, held.get().1 - 1)));
        *self.live_children.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.children_reaped.notify_all();
    }
}

/// Which call sent `signal` to the children.
fn stopped_by(signal: Signal) -> StoppedBy {
    if signal == Signal::KILL { StoppedBy::KillWorkers } else { StoppedBy::TerminateWorkers }
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
    /// The task's name (`Task::NAME`), for the error if the output does not decode.
    pub(crate) task: &'static str,
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
        complete_with_output(&self.promise, self.task, bytes, self.wrap);
    }

    fn fail(&self, error: FutureError) {
        fail_promise(&self.promise, error);
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
    /// How long each item may run in its child (`submit_with_timeout`, a `map` item timeout).
    pub(crate) timeout: Option<Duration>,
}

/// A live child process and the parent's end of its channel.
struct WorkerProcess {
    shared: Arc<Shared>,
    process: Arc<Watched>,
    /// `None` until the child has connected.
    end: Option<ParentEnd>,
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
    /// Its initializer failed, or it did not become ready in time: the pool breaks.
    Broken(BrokenReason),
    /// It could not be started, died before it was ready, or the workers were stopped: this
    /// job fails, the pool goes on.
    Other(WorkerFailure),
}

/// Runs a job on this driver thread's child (see the module documentation).
pub(crate) fn run_job(shared: &Arc<Shared>, job: Job) {
    let Job { name, payloads, completers, timeout } = job;
    if let Some(reason) = shared.broken.get() {
        completers.iter().for_each(|item| item.fail(FutureError::Broken(reason.clone())));
        return;
    }
    if shared.stopped().is_some() {
        // Not started yet: cancelled, as `shutdown(cancel_futures = true)` does.
        completers.iter().for_each(|item| item.cancel());
        return;
    }
    // Start the futures; cancelled items are not sent.
    let mut pending: Vec<usize> = (0..completers.len()).filter(|&index| completers[index].start()).collect();
    let fail = |items: &[usize], error: FutureError| {
        items.iter().for_each(|&index| completers[index].fail(error.clone()));
    };
    let mut resends = 0;
    while !pending.is_empty() {
        // The child is taken out of the slot while the job runs: completing a future runs the
        // user's done-callbacks on this thread, and one that shuts the pool down makes this
        // thread help run queued jobs, re-entering here. Such a nested job finds the slot empty
        // and starts a child of its own instead of borrowing the one in use.
        let mut worker = match take_worker(shared) {
            Ok(worker) => worker,
            Err(error) => return fail(&pending, error),
        };
        let items: Vec<&[u8]> = pending.iter().map(|&index| payloads[index].as_slice()).collect();
        let outcome =
            worker.run(name, &items, timeout, |at, reply| completers[pending[at]].complete(reply, name));
        let (answered, stop) = match outcome {
            Ok(()) => return worker.job_done(),
            Err(stopped) => stopped,
        };
        let mut rest = pending.split_off(answered);
        let stopped = shared.stopped();
        match worker.settle(name, timeout, answered, stop) {
            Settled::NotDelivered { pid, status } => {
                resends += 1;
                if stopped.is_some() || resends > MAX_RESENDS {
                    let task = name.to_owned();
                    let failure = WorkerFailure::NotDelivered {
                        pid,
                        task,
                        status,
                        attempts: resends,
                        stopped_by: stopped,
                    };
                    return fail(&rest, FutureError::WorkerFailed(failure));
                }
            }
            Settled::Failed(error) => {
                let first = rest.remove(0);
                completers[first].fail(match (error, stopped) {
                    (FutureError::WorkerFailed(WorkerFailure::Died { pid, task, status, .. }), Some(by)) => {
                        FutureError::WorkerFailed(WorkerFailure::Died {
                            pid,
                            task,
                            status,
                            stopped_by: Some(by),
                        })
                    }
                    (error, _) => error,
                });
                if let Some(by) = stopped {
                    // The rest of the chunk never started; nothing is sent any more.
                    return fail(
                        &rest,
                        FutureError::WorkerFailed(WorkerFailure::NotStarted { stopped_by: by }),
                    );
                }
            }
            Settled::FailedAll(failure) => return fail(&rest, FutureError::WorkerFailed(failure)),
        }
        pending = rest; // never started: sent again to a fresh child
    }
}

/// This thread's child if it is alive, else a new one.
fn take_worker(shared: &Arc<Shared>) -> Result<WorkerProcess, FutureError> {
    let worker = WORKER.with(|slot| slot.borrow_mut().take());
    // A child that died while idle (its reaper has reaped it) had no task running on it.
    if let Some(worker) = worker
        && !worker.process.has_exited()
    {
        return Ok(worker);
    }
    match WorkerProcess::start(shared) {
        Ok(started) => Ok(started),
        Err(StartError::Broken(reason)) => {
            Err(FutureError::Broken(shared.broken.get_or_init(|| reason).clone()))
        }
        Err(StartError::Other(failure)) => Err(FutureError::WorkerFailed(failure)),
    }
}

impl dyn Completer {
    fn complete(&self, outcome: ItemReply<'_>, task: &str) {
        match outcome {
            ItemReply::Value(bytes) => self.succeed(bytes),
            ItemReply::Panicked(message) => self.fail(FutureError::Panicked(TaskPanic::new(message))),
            ItemReply::Failed(failure) => self.fail(FutureError::WorkerFailed(failure.into_failure(task))),
        }
    }
}

/// One item's reply, as handed to its completer.
enum ItemReply<'a> {
    Value(&'a [u8]),
    Panicked(&'a str),
    Failed(ItemFailure),
}

/// Why a job stopped before every item was answered.
enum RunError {
    /// The request could not be written: the child never read it.
    NotDelivered,
    /// The stream broke while an item ran: the child died.
    Died,
    /// The item ran past its timeout.
    TimedOut,
    /// The child sent something that is not a valid reply.
    Garbled(String),
    /// The child's reply is over the size limit.
    TooLarge { size: usize, limit: usize },
    /// The child could not read the request (a `Fatal` reply).
    Fatal(String),
    /// The request could not be encoded; nothing was sent.
    Unsendable(WorkerFailure),
}

/// What a stopped job means for its unanswered items, once the child is dealt with.
enum Settled {
    /// None of them ran: send them again. The child `pid` ended with `status`.
    NotDelivered { pid: u32, status: ProcessExit },
    /// The first failed with this error; the others never started.
    Failed(FutureError),
    /// All of them fail with this failure.
    FailedAll(WorkerFailure),
}

impl WorkerProcess {
    /// Starts a child, waits until it connects, sends the `Hello` and waits for `Ready`, all
    /// within the start timeout.
    fn start(shared: &Arc<Shared>) -> Result<WorkerProcess, StartError> {
        let options = &shared.options;
        let limit = options.start_timeout;
        let deadline = Instant::now().checked_add(limit).unwrap_or_else(far_future);
        let spawn_failed =
            |error: io::Error| StartError::Other(WorkerFailure::SpawnFailed(IoFailure::from(error)));
        let rendezvous = Rendezvous::new().map_err(spawn_failed)?;
        let mut command = Command::new(&shared.exe);
        command
            .args(&shared.args)
            .env(WORKER_ENV, worker_marker(std::process::id()))
            .env(SOCKET_ENV, rendezvous.path())
            .stdin(Stdio::null());
        if let Some(idle) = options.idle_timeout {
            command.env(IDLE_ENV, idle.as_millis().max(1).to_string());
        }
        let process = Watched::watch(command.spawn().map_err(spawn_failed)?).map_err(spawn_failed)?;
        let pid = process.pid();
        let registered = shared.child_started(&process);
        // From here on, dropping `worker` kills (until connected) or closes, and reaps.
        let mut worker = WorkerProcess { shared: shared.clone(), process, end: None, tasks_run: 0 };
        registered.map_err(|stopped_by| StartError::Other(WorkerFailure::NotStarted { stopped_by }))?;
        let stream = match rendezvous.accept(&worker.process, deadline) {
            Ok(stream) => stream,
            Err(AcceptError::TimedOut) => {
                worker.process.kill_and_wait();
                return Err(StartError::Broken(BrokenReason::DidNotConnect { pid, limit }));
            }
            Err(AcceptError::Exited) => {
                let status = process_exit(worker.process.wait());
                return Err(StartError::Other(WorkerFailure::DiedStarting { pid, status }));
            }
            Err(AcceptError::Io(error)) => return Err(spawn_failed(error)),
        };
        let end = worker.end.insert(ParentEnd::new(stream).map_err(spawn_failed)?);
        let init = options.initializer.as_ref().map(|(name, payload)| (*name, payload.as_slice()));
        let hello = Request::Hello { version: PROTOCOL_VERSION, init }.encode().map_err(spawn_failed)?;
        let answer = match end.send(&hello) {
            Ok(()) => end.receive(Some(deadline), options.max_frame_size),
            Err(error) => Err(FrameError::Io(error)),
        };
        match answer {
            Ok(Some(frame)) => match Reply::decode(&frame) {
                Ok(Reply::Ready { .. }) => Ok(worker),
                Ok(Reply::InitFailed(failure)) => Err(StartError::Broken(match failure {
                    InitFailure::Panicked(message) => {
                        BrokenReason::InitializerPanicked(TaskPanic::new(message))
                    }
                    InitFailure::Failed(failure) => {
                        let name = options.initializer.as_ref().map_or("", |(name, _)| name);
                        BrokenReason::InitializerFailed(failure.into_failure(name))
                    }
                    InitFailure::Version(version) => {
                        BrokenReason::ProtocolMismatch { pool: PROTOCOL_VERSION, worker: version }
                    }
                })),
                Ok(other) => {
                    Err(StartError::Other(worker.reap_garbled(format!("expected Ready, got {other:?}"))))
                }
                Err(error) => Err(StartError::Other(worker.reap_garbled(error))),
            },
            Err(FrameError::Io(error)) if error.kind() == io::ErrorKind::TimedOut => {
                worker.process.kill_and_wait();
                let initializer = options.initializer.as_ref().map(|(name, _)| (*name).to_owned());
                Err(StartError::Broken(BrokenReason::DidNotBecomeReady { pid, limit, initializer }))
            }
            Err(FrameError::TooLarge { len, max }) => {
                worker.process.kill_and_wait();
                Err(StartError::Other(WorkerFailure::ReplyTooLarge { pid, size: len, limit: max }))
            }
            Ok(None) | Err(FrameError::Io(_)) => {
                let status = process_exit(worker.process.kill_and_wait());
                Err(StartError::Other(WorkerFailure::DiedStarting { pid, status }))
            }
        }
    }

    /// Sends `Run` and hands each item's reply to `complete(index, reply)`, in order. Each item
    /// may take `timeout` from the reply before it (the first: from the send). On error, says
    /// how many items were answered before it.
    fn run(
        &mut self,
        name: &str,
        items: &[&[u8]],
        timeout: Option<Duration>,
        mut complete: impl FnMut(usize, ItemReply<'_>),
    ) -> Result<(), (usize, RunError)> {
        let max_frame = self.shared.options.max_frame_size;
        let end = self.end.as_mut().expect("a ready worker is connected");
        let frame = Request::Run { name, items: items.to_vec() }.encode().map_err(|_| {
            let failure = WorkerFailure::InputTooLarge { task: name.to_owned(), limit: u64::from(u32::MAX) };
            (0, RunError::Unsendable(failure))
        })?;
        end.send(&frame).map_err(|_| (0, RunError::NotDelivered))?;
        let mut started = Instant::now();
        for at in 0..items.len() {
            let deadline = timeout.map(|limit| started.checked_add(limit).unwrap_or_else(far_future));
            let frame = match end.receive(deadline, max_frame) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Err((at, RunError::Died)),
                Err(FrameError::Io(error)) if error.kind() == io::ErrorKind::TimedOut => {
                    return Err((at, RunError::TimedOut));
                }
                Err(FrameError::Io(_)) => return Err((at, RunError::Died)),
                Err(FrameError::TooLarge { len, max }) => {
                    return Err((at, RunError::TooLarge { size: len, limit: max }));
                }
            };
            match Reply::decode(&frame) {
                Ok(Reply::Value(bytes)) => complete(at, ItemReply::Value(bytes)),
                Ok(Reply::Panicked(message)) => complete(at, ItemReply::Panicked(message)),
                Ok(Reply::Failed(failure)) => complete(at, ItemReply::Failed(failure)),
                Ok(Reply::Fatal(why)) => return Err((at, RunError::Fatal(why.to_owned()))),
                Ok(other) => return Err((at, RunError::Garbled(format!("unexpected reply {other:?}")))),
                Err(error) => return Err((at, RunError::Garbled(format!("malformed reply: {error}")))),
            }
            started = Instant::now();
        }
        Ok(())
    }

    /// A job finished on this child: keeps it in the thread's slot, or retires it.
    fn job_done(mut self) {
        self.tasks_run += 1;
        self.keep_or_retire();
    }

    /// Keeps the child in the thread's slot, or retires it (after `max_tasks_per_child` jobs,
    /// or over its memory ceiling).
    fn keep_or_retire(self) {
        let options = &self.shared.options;
        if options.max_tasks_per_child.is_some_and(|max| self.tasks_run >= max) {
            return; // retire: dropping it closes and reaps it; the next job starts a new one
        }
        if let Some(max) = options.max_memory_per_child
            && self.process.resident_bytes().is_some_and(|resident| resident > max)
        {
            return; // over its memory ceiling: retired the same way
        }
        // Put it back, unless a nested job left a child there (then this one is reaped).
        let spare = WORKER.with(|slot| slot.borrow_mut().replace(self));
        drop(spare);
    }

    /// Deals with a child whose job stopped early (it is killed and reaped, except when it
    /// only sent a `Fatal`), and says what that means for the unanswered items.
    fn settle(self, name: &str, timeout: Option<Duration>, answered: usize, stop: RunError) -> Settled {
        let pid = self.process.pid();
        match stop {
            RunError::NotDelivered => {
                let status = process_exit(self.process.kill_and_wait());
                Settled::NotDelivered { pid, status }
            }
            RunError::Died => {
                let status = process_exit(self.process.kill_and_wait());
                if answered == 0 && status.code() == Some(IDLE_EXIT) {
                    // It exited for being idle before the task reached it.
                    return Settled::NotDelivered { pid, status };
                }
                let task = name.to_owned();
                Settled::Failed(FutureError::WorkerFailed(WorkerFailure::Died {
                    pid,
                    task,
                    status,
                    stopped_by: None,
                }))
            }
            RunError::TimedOut => {
                self.process.kill_and_wait();
                let limit = timeout.unwrap_or_default();
                Settled::Failed(FutureError::TaskTimedOut { task: name.to_owned(), limit })
            }
            RunError::Garbled(why) => Settled::Failed(FutureError::WorkerFailed(self.reap_garbled(why))),
            RunError::TooLarge { size, limit } => {
                self.process.kill_and_wait();
                Settled::Failed(FutureError::WorkerFailed(WorkerFailure::ReplyTooLarge { pid, size, limit }))
            }
            RunError::Fatal(why) => Settled::FailedAll(self.reap_garbled(why)),
            RunError::Unsendable(failure) => {
                // Nothing was sent: the child is idle and in step, and stays.
                self.keep_or_retire();
                Settled::FailedAll(failure)
            }
        }
    }

    /// Kills and reaps a child that sent a bad reply; the failure of the item it held.
    fn reap_garbled(self, message: String) -> WorkerFailure {
        let pid = self.process.pid();
        self.process.kill_and_wait();
        WorkerFailure::Protocol { pid, message }
    }
}

impl Drop for WorkerProcess {
    /// Closes the socket (the child reads the end of the stream and exits), or kills a child
    /// that never connected, and waits until its reaper has reaped it.
    fn drop(&mut self) {
        match &self.end {
            Some(end) => end.close(),
            None => {
                self.process.signal(Signal::KILL);
            }
        }
        self.process.wait();
        self.shared.child_reaped(&self.process);
    }
}

/// A deadline no wait reaches (for durations too long to add to `Instant::now()`).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// How a child ended, from its status (`None`: it could not be read).
pub(crate) fn process_exit(status: Option<ExitStatus>) -> ProcessExit {
    let Some(status) = status else { return ProcessExit::Unknown };
    if let Some(code) = status.code() {
        return ProcessExit::Exited(code);
    }
    match status.signal() {
        Some(signal) => ProcessExit::Signalled { signal, core_dumped: status.core_dumped() },
        None => ProcessExit::Unknown,
    }
}
