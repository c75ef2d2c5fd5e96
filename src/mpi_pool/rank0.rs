//! Rank 0's MPI thread: the central queue, the per-rank accounting, and every MPI call of
//! rank 0.
//!
//! Executors hand it [`Command`]s over a channel (a submitted job, a cancel of an executor's
//! queued jobs, the end of the program); it answers worker reports with batches, completes the
//! futures from the results, reclaims queued work from busy ranks when others idle, and at the
//! end stops the workers and finalises MPI. The protocol it follows, and why it cannot
//! deadlock or lose a task, is in the [module documentation](super) ("Protocol").

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;

use mpi::point_to_point::MatchedReceiveVec;
use mpi::request::{Request, StaticScope};
use mpi::traits::*;
use serde::de::DeserializeOwned;

use super::Ticket;
use super::backoff::Backoff;
use super::protocol::{
    MAX_MESSAGE, OutcomeRef, SIGNAL, TAG_RECLAIM, TAG_REPORT, TAG_STOP, TAG_STOPPED, TAG_TASKS, TaskRef,
    decode_report, encode_tasks, task_size,
};
use crate::error::{BrokenReason, FutureError, TaskPanic, WorkerFailure};
use crate::future::Promise;
use crate::process_pool::protocol::{complete_with_output, fail_promise};

/// Tasks a worker rank may hold at once: the one it runs, those queued behind it, and results
/// not yet reported (see the module documentation, "Scheduling"). Picked with
/// `benches/mpi.rs`: against 4, 16 cut the fan-out of 1000 tiny tasks from 110 to 33 ms on one
/// worker rank and from 6.3 to 3.6 ms on four, and left the imbalanced workload unchanged: a
/// report and its answer must cross while the rank still has queued work, and results waiting
/// for the next report count against the room. A long task holds up what is queued behind it
/// only until an idle rank reclaims it.
pub(crate) const RANK_CAPACITY: usize = 16;

/// What an executor asks of the MPI thread.
pub(crate) enum Command {
    /// Queue a job (one task, or one `map` chunk).
    Submit(Job),
    /// Cancel the queued (not yet sent) tasks of the executor with this id.
    CancelQueued(u64),
    /// The program is ending: stop the workers and finalise MPI.
    Finalize,
}

/// Tasks that travel together to one rank: one submitted task, or one `map` chunk.
pub(crate) struct Job {
    /// The id of the executor that submitted it.
    pub(crate) owner: u64,
    pub(crate) items: Vec<JobItem>,
}

/// One task: its registered name, encoded value, and the completer of its future.
pub(crate) struct JobItem {
    pub(crate) name: &'static str,
    pub(crate) payload: Vec<u8>,
    pub(crate) completer: Box<dyn Completer>,
    /// Marked running (sent once already, then given back by a `Reclaim`).
    pub(crate) started: bool,
}

/// The completer of one task's future: decodes the output and completes the promise.
pub(crate) trait Completer: Send {
    /// Marks the future running; false if it was cancelled (the task is then dropped).
    fn start(&self) -> bool;
    /// Completes the future with the decoded output (or the decoding failure).
    fn succeed(&self, bytes: &[u8]);
    /// Completes the future with an error; a panic becomes the future's exception.
    fn fail(&self, error: FutureError);
    /// Cancels the future if it has not started; true if it is now cancelled.
    fn cancel(&self) -> bool;
}

/// The [`Completer`] of a future of `O`.
pub(crate) struct Typed<O: 'static> {
    pub(crate) promise: Promise<O>,
    /// The task's name (`Task::NAME`), for the error if the output does not decode.
    pub(crate) task: &'static str,
    /// Counts the task as unfinished for its executor until rank 0 lets go of it.
    pub(crate) _ticket: Ticket,
}

impl<O: DeserializeOwned + Send + Sync + 'static> Completer for Typed<O> {
    fn start(&self) -> bool {
        self.promise.set_running_or_notify_cancel().unwrap_or(false)
    }

    fn succeed(&self, bytes: &[u8]) {
        complete_with_output(&self.promise, self.task, bytes, std::convert::identity::<O>);
    }

    fn fail(&self, error: FutureError) {
        fail_promise(&self.promise, error);
    }

    fn cancel(&self) -> bool {
        self.promise.cancel_future()
    }
}

thread_local! {
    /// Set on rank 0's MPI thread (where done-callbacks of MPI futures run).
    static ON_MPI_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller is rank 0's MPI thread (a done-callback): it must not wait for tasks.
pub(crate) fn on_mpi_thread() -> bool {
    ON_MPI_THREAD.with(Cell::get)
}

/// A started MPI thread.
pub(crate) struct Started {
    pub(crate) commands: Sender<Command>,
    pub(crate) workers: usize,
    pub(crate) thread: JoinHandle<()>,
}

/// Starts rank 0's MPI thread, which initialises MPI; returns once MPI is initialised.
pub(crate) fn start() -> Result<Started, String> {
    let (ready, is_ready) = mpsc::sync_channel::<Result<usize, String>>(1);
    let (commands, incoming) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("stealpool-mpi".into())
        .spawn(move || {
            let (universe, rank, size) = match super::launch::initialize() {
                Ok(world) => world,
                Err(why) => {
                    let _ = ready.send(Err(why));
                    return;
                }
            };
            if rank != 0 {
                let _ =
                    ready.send(Err(format!("the executor's MPI thread runs on rank {rank}, not on rank 0")));
                return;
            }
            ON_MPI_THREAD.with(|flag| flag.set(true));
            let _ = ready.send(Ok(size - 1));
            let world = universe.world();
            Driver::new(size - 1, incoming).run(&world);
            drop(universe); // MPI_Finalize
        })
        .map_err(|error| format!("could not start the MPI thread: {error}"))?;
    match is_ready.recv() {
        Ok(Ok(workers)) => Ok(Started { commands, workers, thread }),
        Ok(Err(why)) => Err(why),
        Err(_) => Err("the MPI thread ended while initialising MPI".into()),
    }
}

/// What rank 0 knows about one worker rank.
#[derive(Clone, Default)]
struct Rank {
    /// Tasks sent to it and neither answered nor given back.
    assigned: usize,
    /// It sent a report that has not been answered yet: it waits for a `Tasks` message.
    owed: bool,
    /// A `Reclaim` was sent and its answer has not arrived.
    reclaiming: bool,
    /// It just gave tasks back: answer it with an empty batch this time.
    no_refill: bool,
    /// False once it sent something unreadable: no more tasks go to it.
    usable: bool,
}

/// The state of rank 0's MPI thread.
struct Driver {
    commands: Receiver<Command>,
    queue: VecDeque<Job>,
    /// Items in `queue` (cancelled ones included until they are dropped).
    queued_items: usize,
    /// Index `r - 1` for worker rank `r`.
    ranks: Vec<Rank>,
    /// Sent tasks by id: the rank holding it, and the task.
    in_flight: HashMap<u64, (usize, JobItem)>,
    next_id: u64,
    /// Non-blocking `Reclaim` and `Stop` sends not yet complete (their buffer is `SIGNAL`).
    signals: Vec<Request<'static, [u8]>>,
}

impl Driver {
    fn new(workers: usize, commands: Receiver<Command>) -> Self {
        Driver {
            commands,
            queue: VecDeque::new(),
            queued_items: 0,
            ranks: vec![Rank { usable: true, ..Rank::default() }; workers],
            in_flight: HashMap::new(),
            next_id: 0,
            signals: Vec::new(),
        }
    }

    /// The loop: commands, then MPI messages, then answers and reclaims; polls with back-off.
    fn run(mut self, world: &impl Communicator) {
        let mut backoff = Backoff::new();
        loop {
            let mut active = false;
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Finalize) | Err(TryRecvError::Disconnected) => return self.stop(world),
                    Ok(command) => {
                        self.command(command);
                        active = true;
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            while let Some(message) = world.any_process().immediate_matched_probe() {
                let (body, status) = message.matched_receive_vec::<u8>();
                self.message(status.source_rank() as usize, status.tag(), &body);
                active = true;
            }
            if active {
                self.dispatch(world);
                self.reclaim(world);
                backoff.reset();
            }
            self.signals =
                std::mem::take(&mut self.signals).into_iter().filter_map(|req| req.test().err()).collect();
            if !active {
                let busy = !self.in_flight.is_empty();
                match backoff.wait_on(&self.commands, true, busy) {
                    Ok(Command::Finalize) | Err(RecvTimeoutError::Disconnected) => return self.stop(world),
                    Ok(command) => {
                        self.command(command);
                        self.dispatch(world);
                        backoff.reset();
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Submit(job) => {
                self.queued_items += job.items.len();
                self.queue.push_back(job);
            }
            Command::CancelQueued(owner) => {
                for job in self.queue.iter_mut().filter(|job| job.owner == owner) {
                    let before = job.items.len();
                    // A task given back by a reclaim is already running: it stays.
                    job.items.retain(|item| item.started || !item.completer.cancel());
                    self.queued_items -= before - job.items.len();
                }
                self.queue.retain(|job| !job.items.is_empty());
            }
            Command::Finalize => unreachable!("handled by the loop"),
        }
    }

    /// One message from worker rank `source`.
    fn message(&mut self, source: usize, tag: i32, body: &[u8]) {
        let Some(index) = source.checked_sub(1).filter(|&index| index < self.ranks.len()) else {
            return eprintln!("stealpool: MPI thread: ignoring a message from rank {source}");
        };
        if tag != TAG_REPORT {
            return eprintln!("stealpool: MPI thread: ignoring a message with tag {tag} from rank {source}");
        }
        if !self.ranks[index].usable {
            return;
        }
        let report = match decode_report(body) {
            Ok(report) => report,
            Err(why) => {
                return self.retire(index, format!("it sent an unreadable report: {why}"));
            }
        };
        self.ranks[index].owed = true;
        for (id, outcome) in report.results {
            match self.in_flight.remove(&id) {
                Some((holder, item)) if holder == index => {
                    self.ranks[index].assigned -= 1;
                    match outcome {
                        OutcomeRef::Value(bytes) => item.completer.succeed(bytes),
                        OutcomeRef::Panicked(message) => {
                            item.completer.fail(FutureError::Panicked(TaskPanic::new(message)))
                        }
                        OutcomeRef::Failed(failure) => {
                            item.completer.fail(FutureError::WorkerFailed(failure.into_failure(item.name)))
                        }
                    }
                }
                Some(other) => {
                    self.in_flight.insert(id, other);
                    eprintln!(
                        "stealpool: MPI thread: rank {source} answered task {id}, which it does not hold"
                    );
                }
                None => eprintln!("stealpool: MPI thread: rank {source} answered unknown task {id}"),
            }
        }
        if let Some(returned) = report.returned {
            let rank = &mut self.ranks[index];
            rank.reclaiming = false;
            rank.no_refill = !returned.is_empty();
            // Back to the front of the queue, in their order: they are older than anything queued.
            for id in returned.into_iter().rev() {
                match self.in_flight.remove(&id) {
                    Some((holder, item)) if holder == index => {
                        self.ranks[index].assigned -= 1;
                        self.queued_items += 1;
                        self.queue.push_front(Job { owner: u64::MAX, items: vec![item] });
                    }
                    Some(other) => {
                        self.in_flight.insert(id, other);
                    }
                    None => {}
                }
            }
        }
        if let Some(why) = report.fatal {
            self.retire(index, why.to_owned());
        }
    }

    /// Stops using a rank whose messages cannot be trusted; fails the tasks it holds.
    fn retire(&mut self, index: usize, why: String) {
        let failure = WorkerFailure::RankRetired { rank: index + 1, message: why };
        eprintln!("stealpool: MPI thread: {failure}; no more tasks go to it");
        let rank = &mut self.ranks[index];
        rank.usable = false;
        rank.owed = false;
        rank.assigned = 0;
        let held: Vec<u64> =
            self.in_flight.iter().filter(|(_, (holder, _))| *holder == index).map(|(id, _)| *id).collect();
        for id in held {
            if let Some((_, item)) = self.in_flight.remove(&id) {
                item.completer.fail(FutureError::WorkerFailed(failure.clone()));
            }
        }
    }

    /// Answers the ranks owed an answer: idle ones first, each with a fair share of the queue.
    /// An idle rank with nothing to get stays owed (parked) until tasks arrive.
    fn dispatch(&mut self, world: &impl Communicator) {
        let usable = self.ranks.iter().filter(|rank| rank.usable).count();
        if usable == 0 {
            while let Some(job) = self.queue.pop_front() {
                let broken = FutureError::Broken(BrokenReason::NoUsableRanks);
                job.items.into_iter().for_each(|item| item.completer.fail(broken.clone()));
            }
            self.queued_items = 0;
            return;
        }
        let mut owed: Vec<usize> = (0..self.ranks.len()).filter(|&index| self.ranks[index].owed).collect();
        owed.sort_by_key(|&index| (self.ranks[index].assigned > 0, index));
        for index in owed {
            let batch = if self.ranks[index].no_refill { Vec::new() } else { self.take_batch(index, usable) };
            self.ranks[index].no_refill = false;
            if batch.is_empty() && self.ranks[index].assigned == 0 {
                continue; // parked
            }
            self.send_tasks(world, index, batch);
        }
    }

    /// Takes whole jobs from the front of the queue for rank `index`: at most its free room and
    /// its fair share of what is queued (at least one job for an idle rank).
    fn take_batch(&mut self, index: usize, usable: usize) -> Vec<JobItem> {
        let room = RANK_CAPACITY.saturating_sub(self.ranks[index].assigned);
        let limit = room.min(self.queued_items.div_ceil(usable).max(1));
        let mut batch: Vec<JobItem> = Vec::new();
        let mut size = 4;
        while batch.len() < limit {
            let Some(job) = self.queue.front() else { break };
            let job_size: usize = job.items.iter().map(|item| task_size(item.name, &item.payload)).sum();
            if !batch.is_empty() && size + job_size > MAX_MESSAGE {
                break;
            }
            let Job { owner, items } = self.queue.pop_front().expect("the front job exists");
            self.queued_items -= items.len();
            let mut items = items.into_iter();
            while let Some(mut item) = items.next() {
                let item_size = task_size(item.name, &item.payload);
                if 4 + item_size > MAX_MESSAGE {
                    item.completer.fail(FutureError::WorkerFailed(WorkerFailure::InputTooLarge {
                        task: item.name.to_owned(),
                        limit: MAX_MESSAGE as u64,
                    }));
                    continue;
                }
                if !batch.is_empty() && size + item_size > MAX_MESSAGE {
                    // A chunk too large for one message: the rest goes in a later batch.
                    let rest: Vec<JobItem> = std::iter::once(item).chain(items).collect();
                    self.queued_items += rest.len();
                    self.queue.push_front(Job { owner, items: rest });
                    return batch;
                }
                if !item.started && !item.completer.start() {
                    continue; // cancelled while queued: it never runs
                }
                item.started = true;
                size += item_size;
                batch.push(item);
            }
        }
        batch
    }

    /// Sends a `Tasks` answer to rank `index`, which is waiting for it (so the blocking send
    /// completes: see "Protocol").
    fn send_tasks(&mut self, world: &impl Communicator, index: usize, batch: Vec<JobItem>) {
        let first = self.next_id;
        self.next_id += batch.len() as u64;
        let body = encode_tasks(batch.iter().enumerate().map(|(offset, item)| TaskRef {
            id: first + offset as u64,
            name: item.name,
            payload: &item.payload,
        }));
        world.process_at_rank(index as i32 + 1).send_with_tag(&body[..], TAG_TASKS);
        let rank = &mut self.ranks[index];
        rank.owed = false;
        rank.assigned += batch.len();
        for (item, id) in batch.into_iter().zip(first..) {
            self.in_flight.insert(id, (index, item));
        }
    }

    /// With nothing queued and a rank idle, asks every rank holding queued tasks to give the
    /// ones it has not started back (one `Reclaim` in flight per rank).
    fn reclaim(&mut self, world: &impl Communicator) {
        let idle = self.ranks.iter().any(|rank| rank.usable && rank.owed && rank.assigned == 0);
        if !self.queue.is_empty() || !idle {
            return;
        }
        for index in 0..self.ranks.len() {
            let rank = &mut self.ranks[index];
            if rank.usable && !rank.reclaiming && !rank.owed && rank.assigned >= 2 {
                rank.reclaiming = true;
                let process = world.process_at_rank(index as i32 + 1);
                self.signals.push(process.immediate_send_with_tag(StaticScope, &SIGNAL[..], TAG_RECLAIM));
            }
        }
    }

    /// The end: fails what is queued, stops every worker rank, waits for each rank's last
    /// message (completing tasks whose results still arrive), fails what is left.
    fn stop(mut self, world: &impl Communicator) {
        for job in self.queue.drain(..) {
            job.items
                .into_iter()
                .for_each(|item| item.completer.fail(FutureError::Broken(BrokenReason::MpiFinalized)));
        }
        for rank in 1..=self.ranks.len() {
            let process = world.process_at_rank(rank as i32);
            self.signals.push(process.immediate_send_with_tag(StaticScope, &SIGNAL[..], TAG_STOP));
        }
        let mut stopped = vec![false; self.ranks.len()];
        let mut backoff = Backoff::new();
        while stopped.contains(&false) {
            match world.any_process().immediate_matched_probe() {
                Some(message) => {
                    let (body, status) = message.matched_receive_vec::<u8>();
                    let source = status.source_rank() as usize;
                    if status.tag() == TAG_STOPPED && (1..=stopped.len()).contains(&source) {
                        stopped[source - 1] = true;
                    } else {
                        self.message(source, status.tag(), &body);
                    }
                    backoff.reset();
                }
                None => backoff.pause(),
            }
        }
        for (_, (_, item)) in self.in_flight.drain() {
            item.completer.fail(FutureError::Broken(BrokenReason::MpiFinalized));
        }
        for request in self.signals.drain(..) {
            request.wait();
        }
    }
}
