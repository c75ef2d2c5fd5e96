//! Behaviour tests of `ProcessPoolExecutor`.
//!
//! This target has `harness = false`: a process pool re-executes this binary as its workers, so
//! `main` must call `run_if_worker` before anything else, then it runs the tests itself. Every
//! wait is bounded (`LIMIT`), so a broken pool fails a test instead of hanging it.
//!
//! Run one test: `cargo test --test process_pool -- NAME_SUBSTRING`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stealpool::process_pool::{
    ProcessMapOptions, ProcessPoolExecutor, Registry, Task, WORKER_ENV, run_if_worker,
};
use stealpool::{
    BrokenReason, BuildError, Future, FutureError, MapOptions, ProcessExit, ReturnWhen, StoppedBy,
    SubmitError, TaskPanic, WorkerFailure, as_completed, wait,
};

mod tasks;
use tasks::{Abort, BadArgument, BadOutput, Bytes, Fail, MakePicky, Picky, ReverseBytes, Unregistered};

// The Python notes' two process-pool programs, run here as tests: their tasks are registered in
// this binary's registry.
#[allow(dead_code)]
#[path = "../examples/process_pool_basic.rs"]
mod process_pool_basic;
#[allow(dead_code)]
#[path = "../examples/process_pool_context.rs"]
mod process_pool_context;

/// Upper bound of any wait in these tests.
const LIMIT: Duration = Duration::from_secs(60);

/// Selects what `main` does in a copy of this binary started by a test (not a pool worker).
const ROLE_ENV: &str = "PROCESS_POOL_TEST_ROLE";

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/// Returns the worker's pid.
#[derive(Serialize, Deserialize)]
struct Pid;

impl Task for Pid {
    type Output = u32;
    const NAME: &'static str = "pid";
    fn run(self) -> u32 {
        std::process::id()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Circle { radius: f64 },
    Polygon(Vec<(i32, i32)>),
    Nothing,
}

#[derive(Serialize, Deserialize)]
struct Describe {
    label: String,
    numbers: Vec<i64>,
    shapes: Vec<Shape>,
    note: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Description {
    label: String,
    sum: i64,
    shapes: Vec<Shape>,
    note_len: Option<usize>,
    pid: u32,
}

impl Task for Describe {
    type Output = Description;
    const NAME: &'static str = "describe";
    fn run(self) -> Description {
        Description {
            label: self.label.to_uppercase(),
            sum: self.numbers.iter().sum(),
            shapes: self.shapes.into_iter().rev().collect(),
            note_len: self.note.map(|note| note.len()),
            pid: std::process::id(),
        }
    }
}

/// Squares; panics on 13.
#[derive(Serialize, Deserialize)]
struct Square(u64);

impl Task for Square {
    type Output = (u32, u64);
    const NAME: &'static str = "square";
    fn run(self) -> (u32, u64) {
        assert!(self.0 != 13, "thirteen is unlucky");
        (std::process::id(), self.0 * self.0)
    }
}

/// Has the worker killed with SIGKILL (`kill -9`) while it runs this task.
#[derive(Serialize, Deserialize)]
struct KillSelf;

impl Task for KillSelf {
    type Output = ();
    const NAME: &'static str = "kill_self";
    fn run(self) {
        let pid = std::process::id().to_string();
        let _ = Command::new("sh").args(["-c", &format!("kill -KILL {pid}")]).status();
        loop {
            std::thread::park(); // the signal ends the process
        }
    }
}

/// Prints a line and never finishes (a child busy when its parent dies).
#[derive(Serialize, Deserialize)]
struct Hang;

impl Task for Hang {
    type Output = ();
    const NAME: &'static str = "hang";
    fn run(self) {
        println!("hanging");
        loop {
            std::thread::park();
        }
    }
}

/// Returns its bytes reversed. A plain `Vec<u8>` is encoded byte by byte through serde.
#[derive(Serialize, Deserialize)]
struct Reverse(Vec<u8>);

impl Task for Reverse {
    type Output = Vec<u8>;
    const NAME: &'static str = "reverse";
    fn run(mut self) -> Vec<u8> {
        self.0.reverse();
        self.0
    }
}

/// How many times `CountInit` ran in this process.
static INIT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Serialize, Deserialize)]
struct CountInit;

impl Task for CountInit {
    type Output = ();
    const NAME: &'static str = "count_init";
    fn run(self) {
        INIT_RUNS.fetch_add(1, Ordering::SeqCst);
    }
}

/// The worker's pid and how many times its initializer ran.
#[derive(Serialize, Deserialize)]
struct InitRuns;

impl Task for InitRuns {
    type Output = (u32, usize);
    const NAME: &'static str = "init_runs";
    fn run(self) -> (u32, usize) {
        (std::process::id(), INIT_RUNS.load(Ordering::SeqCst))
    }
}

/// Never returns; first writes its pid to `marker` (if given), so that a test knows it runs.
#[derive(Serialize, Deserialize)]
struct Stall {
    marker: Option<String>,
}

impl Task for Stall {
    type Output = ();
    const NAME: &'static str = "stall";
    fn run(self) {
        if let Some(marker) = self.marker {
            write_marker(&marker, &std::process::id().to_string());
        }
        loop {
            std::thread::park();
        }
    }
}

/// Sleeps this many milliseconds, then returns the worker's pid.
#[derive(Serialize, Deserialize)]
struct SleepMs(u64);

impl Task for SleepMs {
    type Output = u32;
    const NAME: &'static str = "sleep_ms";
    fn run(self) -> u32 {
        std::thread::sleep(Duration::from_millis(self.0));
        std::process::id()
    }
}

/// Starts `sleep 20`, which inherits what a subprocess of a task inherits, writes "WORKER_PID
/// SLEEP_PID" to `marker`, and never returns.
#[derive(Serialize, Deserialize)]
struct SpawnGrandchild {
    marker: String,
}

impl Task for SpawnGrandchild {
    type Output = ();
    const NAME: &'static str = "spawn_grandchild";
    // Never waited for here: the test kills this worker, and the orphaned `sleep` is reaped by
    // whichever process adopts it.
    #[allow(clippy::zombie_processes)]
    fn run(self) {
        let sleep = Command::new("sleep").arg("20").spawn().expect("sleep starts");
        write_marker(&self.marker, &format!("{} {}", std::process::id(), sleep.id()));
        loop {
            std::thread::park();
        }
    }
}

/// Allocates and touches this many MiB and keeps them for the life of the process; returns the
/// worker's pid.
#[derive(Serialize, Deserialize)]
struct Hoard {
    mib: usize,
}

static HOARD: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

impl Task for Hoard {
    type Output = u32;
    const NAME: &'static str = "hoard";
    fn run(self) -> u32 {
        HOARD.lock().unwrap().push(vec![1u8; self.mib << 20]);
        std::process::id()
    }
}

/// The worker's pid and the length of the bytes it was sent.
#[derive(Serialize, Deserialize)]
struct MeasureBytes(Bytes);

impl Task for MeasureBytes {
    type Output = (u32, usize);
    const NAME: &'static str = "measure_bytes";
    fn run(self) -> (u32, usize) {
        (std::process::id(), self.0.0.len())
    }
}

/// Writes the worker's pid to `marker`, then aborts if `abort`; returns the pid.
#[derive(Serialize, Deserialize)]
struct MarkPid {
    marker: String,
    abort: bool,
}

impl Task for MarkPid {
    type Output = u32;
    const NAME: &'static str = "mark_pid";
    fn run(self) -> u32 {
        write_marker(&self.marker, &std::process::id().to_string());
        if self.abort {
            std::process::abort();
        }
        std::process::id()
    }
}

/// Writes `text` to `path` at once: to a temporary name, then renamed, so that a reader never
/// sees half of it.
fn write_marker(path: &str, text: &str) {
    let partial = format!("{path}.partial");
    std::fs::write(&partial, text).expect("the marker is written");
    std::fs::rename(&partial, path).expect("the marker is renamed");
}

fn registry() -> Registry {
    Registry::new()
        .register::<Pid>()
        .register::<Describe>()
        .register::<Square>()
        .register::<Fail>()
        .register::<Abort>()
        .register::<KillSelf>()
        .register::<Hang>()
        .register::<Picky>()
        .register::<MakePicky>()
        .register::<BadOutput>()
        .register::<BadArgument>()
        .register::<Reverse>()
        .register::<ReverseBytes>()
        .register::<CountInit>()
        .register::<InitRuns>()
        .register::<process_pool_basic::ReportPid>()
        .register::<process_pool_context::IndexedTask>()
        .register::<Stall>()
        .register::<SleepMs>()
        .register::<SpawnGrandchild>()
        .register::<Hoard>()
        .register::<MeasureBytes>()
        .register::<MarkPid>()
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// How a child killed by SIGKILL ended.
const SIGKILL: ProcessExit = ProcessExit::Signalled { signal: 9, core_dumped: false };

/// The pattern of a child killed by SIGABRT (with or without a core dump).
macro_rules! SIGABRT {
    () => {
        ProcessExit::Signalled { signal: 6, .. }
    };
}

/// The future's value, waiting at most `LIMIT`.
fn get<T: Send + Sync + 'static>(future: &Future<T>) -> Result<&T, FutureError> {
    match future.result_timeout(LIMIT) {
        Err(FutureError::Timeout) => panic!("a future did not finish within {LIMIT:?}"),
        other => other,
    }
}

fn worker_failure<T: Send + Sync + std::fmt::Debug + 'static>(future: &Future<T>) -> WorkerFailure {
    match get(future) {
        Err(FutureError::WorkerFailed(failure)) => failure.clone(),
        other => panic!("expected WorkerFailed, got {other:?}"),
    }
}

/// `(state, parent pid)` of a process, from `/proc/<pid>/stat`; `None` if it does not exist.
fn process_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

/// Asserts `pid` is a live child of this process.
fn assert_live_child(pid: u32) {
    match process_state(pid) {
        Some((state, parent)) => {
            assert_eq!(parent, std::process::id(), "worker {pid} is not our child");
            assert_ne!(state, 'Z', "worker {pid} is a zombie while the pool runs");
        }
        None => panic!("worker {pid} does not exist while the pool runs"),
    }
}

/// Asserts `pid` is neither a child of ours nor a zombie of ours: it was waited for.
fn assert_reaped(pid: u32) {
    if let Some((state, parent)) = process_state(pid) {
        // The pid may have been reused by an unrelated process; it must not be ours.
        assert!(parent != std::process::id(), "worker {pid} is still our child (state {state})");
    }
}

/// A fresh path for a marker file (removed by `wait_for_marker`).
fn marker_path() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("stealpool-test-{}-{n}", std::process::id()));
    path.to_str().expect("a UTF-8 temporary directory").to_owned()
}

/// Waits (at most `LIMIT`) until a task has written `path`; returns what it wrote. Nothing can
/// notify this process of another's file, so this polls, every millisecond.
fn wait_for_marker(path: &str) -> String {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            let _ = std::fs::remove_file(path);
            return text;
        }
        assert!(Instant::now() < deadline, "no task wrote {path} within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Sends `signal` (a name such as "KILL") to `pid`.
fn send_signal(signal: &str, pid: u32) {
    let status = Command::new("kill").args([format!("-{signal}"), pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Waits (at most `LIMIT`) until `pid` is no child of ours, zombie or not: it was reaped.
/// Reaping happens on another thread of this process with no signal to a test, so this polls.
fn wait_until_reaped(pid: u32) -> Duration {
    let start = Instant::now();
    while process_state(pid).is_some_and(|(_, parent)| parent == std::process::id()) {
        assert!(start.elapsed() < LIMIT, "worker {pid} was not reaped within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    start.elapsed()
}

/// Runs `f` on another thread; fails the test if it has not returned within `LIMIT`.
fn within_limit<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    result.recv_timeout(LIMIT).unwrap_or_else(|_| panic!("{what} did not return within {LIMIT:?}"))
}

/// This process's open descriptors.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The socket directories of this process's pools (`stealpool-<pid>-*` in the temporary
/// directory).
fn socket_directories() -> HashSet<String> {
    let prefix = format!("stealpool-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(&prefix))
        .collect()
}

/// Children of this process that are zombies.
fn zombie_children() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| process_state(pid) == Some(('Z', std::process::id())))
        .collect()
}

fn timed_out<T: Send + Sync + std::fmt::Debug + 'static>(future: &Future<T>) -> (String, Duration) {
    match get(future) {
        Err(FutureError::TaskTimedOut { task, limit }) => (task, limit),
        other => panic!("expected TaskTimedOut, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

fn values_round_trip() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let shapes = vec![Shape::Circle { radius: 1.5 }, Shape::Polygon(vec![(0, 0), (3, -4)]), Shape::Nothing];
    let future = pool
        .submit(Describe {
            label: "héllo wörld".into(),
            numbers: vec![1, -2, 3_000_000_000, 4],
            shapes: shapes.clone(),
            note: Some("a note".into()),
        })
        .unwrap();
    let described = get(&future).unwrap();
    assert_eq!(described.label, "HÉLLO WÖRLD");
    assert_eq!(described.sum, 3_000_000_003);
    assert_eq!(described.shapes, shapes.into_iter().rev().collect::<Vec<_>>());
    assert_eq!(described.note_len, Some(6));
    assert_ne!(described.pid, std::process::id(), "the task ran in this process");
    assert_live_child(described.pid);
    let unit = pool.submit(Pid).unwrap();
    assert!(get(&unit).is_ok());
}

fn panics_round_trip_and_the_child_goes_on() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let before = *get(&pool.submit(Pid).unwrap()).unwrap();
    let failed = pool.submit(Fail("the answer is 42".into())).unwrap();
    match get(&failed) {
        Err(FutureError::Panicked(panic)) => assert_eq!(panic.message(), "the answer is 42"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(failed.exception_timeout(LIMIT).unwrap().unwrap().message(), "the answer is 42");
    let after = *get(&pool.submit(Pid).unwrap()).unwrap();
    assert_eq!(before, after, "a panic must not cost the child");
    assert_eq!(pool.processes_started(), 1);
}

fn bad_values_fail_only_their_future() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let pid = *get(&pool.submit(Pid).unwrap()).unwrap();

    tasks::assert_bad_values_fail!(pool, worker_failure);

    assert_eq!(*get(&pool.submit(Picky(12)).unwrap()).unwrap(), 12);
    assert_eq!(*get(&pool.submit(MakePicky(7)).unwrap()).unwrap(), Picky(7));
    assert_eq!(*get(&pool.submit(Pid).unwrap()).unwrap(), pid, "none of these may cost the child");
}

fn a_killed_child_fails_only_its_task_and_is_replaced() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let first = *get(&pool.submit(Pid).unwrap()).unwrap();

    let killed = worker_failure(&pool.submit(KillSelf).unwrap());
    assert_eq!(
        killed,
        WorkerFailure::Died { pid: first, task: "kill_self".into(), status: SIGKILL, stopped_by: None }
    );
    assert_eq!(
        killed.to_string(),
        format!("worker process {first} was killed by signal 9 (SIGKILL) while running task `kill_self`")
    );
    assert_reaped(first);

    let second = *get(&pool.submit(Pid).unwrap()).unwrap();
    assert_ne!(first, second, "the dead child was replaced");
    let aborted = worker_failure(&pool.submit(Abort).unwrap());
    match &aborted {
        WorkerFailure::Died {
            pid,
            task,
            status: ProcessExit::Signalled { signal: 6, .. },
            stopped_by: None,
        } => {
            assert_eq!((*pid, task.as_str()), (second, "abort"))
        }
        other => panic!("expected the abort, got {other:?}"),
    }
    assert!(
        aborted.to_string().starts_with(&format!("worker process {second} was killed by signal 6 (SIGABRT")),
        "{aborted}"
    );
    assert_reaped(second);

    let futures: Vec<_> = (20..70).map(|n| pool.submit(Square(n)).unwrap()).collect();
    for (n, future) in (20..70).zip(&futures) {
        assert_eq!(get(future).unwrap().1, n * n);
    }
    assert_eq!(pool.processes_started(), 3);
}

fn a_crash_among_many_tasks_fails_one() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let mut squares = Vec::new();
    let mut crashes = Vec::new();
    for n in 20..80u64 {
        squares.push(pool.submit(Square(n)).unwrap());
        if n % 20 == 10 {
            crashes.push(pool.submit(Abort).unwrap());
        }
    }
    for (n, future) in (20..80u64).zip(&squares) {
        assert_eq!(get(future).unwrap().1, n * n, "task {n}");
    }
    for crash in &crashes {
        assert!(matches!(worker_failure(crash), WorkerFailure::Died { status: SIGABRT!(), .. }));
    }
    // Futures of the process pool work with wait and as_completed.
    let (done, not_done) = wait(&squares, Some(LIMIT), ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (60, 0));
    let (done, _) = wait(&crashes, Some(LIMIT), ReturnWhen::FirstException);
    assert!(!done.is_empty());
    assert_eq!(as_completed(&squares, Some(LIMIT)).filter(|item| item.is_ok()).count(), 60);
}

fn initializer_runs_once_per_child() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(CountInit)
        .max_tasks_per_child(3)
        .build()
        .unwrap();
    let futures: Vec<_> = (0..12).map(|_| pool.submit(InitRuns).unwrap()).collect();
    let mut pids = HashSet::new();
    for future in &futures {
        let (pid, runs) = *get(future).unwrap();
        assert_eq!(runs, 1, "worker {pid} ran its initializer {runs} times");
        pids.insert(pid);
    }
    // 12 tasks, at most 3 per child: at least 4 children, each initialised.
    assert!(pids.len() >= 4, "{pids:?}");
    assert_eq!(INIT_RUNS.load(Ordering::SeqCst), 0, "the initializer ran in the parent");
}

fn a_failing_initializer_breaks_the_pool() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(Fail("no database".into()))
        .build()
        .unwrap();
    let futures: Vec<_> = (0..4).map(|n| pool.submit(Square(n)).unwrap()).collect();
    for future in &futures {
        match get(future) {
            Err(FutureError::Broken(reason)) => {
                assert_eq!(reason, BrokenReason::InitializerPanicked(TaskPanic::new("no database")));
                assert_eq!(reason.to_string(), "a worker's initializer panicked: no database");
            }
            other => panic!("expected Broken, got {other:?}"),
        }
    }
    match pool.submit(Pid) {
        Err(SubmitError::Broken(reason)) => {
            assert_eq!(reason, BrokenReason::InitializerPanicked(TaskPanic::new("no database")))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let unknown = ProcessPoolExecutor::builder().max_workers(1).initializer(Unregistered).build().unwrap();
    match get(&unknown.submit(Pid).unwrap()) {
        Err(FutureError::Broken(reason)) => {
            let failure = WorkerFailure::NotRegistered { task: "unregistered".into() };
            assert_eq!(reason, BrokenReason::InitializerFailed(failure));
            assert!(reason.to_string().contains("`unregistered` is not registered"), "{reason}");
        }
        other => panic!("expected Broken, got {other:?}"),
    }
}

fn max_tasks_per_child_recycles_children() {
    let pool = ProcessPoolExecutor::builder().max_workers(1).max_tasks_per_child(2).build().unwrap();
    let pids: Vec<u32> = (0..6).map(|_| *get(&pool.submit(Pid).unwrap()).unwrap()).collect();
    assert_eq!(pids[0], pids[1]);
    assert_eq!(pids[2], pids[3]);
    assert_eq!(pids[4], pids[5]);
    assert_eq!(pids.iter().collect::<HashSet<_>>().len(), 3, "{pids:?}");
    // A retired child is reaped at once, not at shutdown.
    assert_reaped(pids[0]);
    assert_reaped(pids[2]);
    assert_eq!(pool.processes_started(), 3);
}

fn map_with_chunksize_keeps_order() {
    let pool = ProcessPoolExecutor::new(3).unwrap();
    let results: Vec<(u32, u64)> = pool
        .map_with((100..200).map(Square), MapOptions::new().chunksize(7))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let values: Vec<u64> = results.iter().map(|(_, value)| *value).collect();
    assert_eq!(values, (100..200).map(|n| n * n).collect::<Vec<_>>());
    // A chunk is one message: its items ran in one child.
    for chunk in results.chunks(7) {
        assert!(chunk.iter().all(|(pid, _)| *pid == chunk[0].0), "a chunk was split: {chunk:?}");
    }
    // Plain map: an error is yielded at its item, and the next items follow.
    let mut items = pool.map((10..20).map(Square)).unwrap();
    for n in 10..13 {
        assert_eq!(items.next().unwrap().unwrap().1, n * n);
    }
    match items.next() {
        Some(Err(FutureError::Panicked(panic))) => assert_eq!(panic.message(), "thirteen is unlucky"),
        other => panic!("expected the panic of item 13, got {other:?}"),
    }
    for n in 14..20 {
        assert_eq!(items.next().unwrap().unwrap().1, n * n);
    }
    assert!(items.next().is_none());
    // A look-ahead of zero is refused before anything is sent.
    let refused = pool.map_with((0..3).map(Square), MapOptions::new().buffersize(0));
    assert!(matches!(refused, Err(SubmitError::InvalidArgument(_))));
    // With chunks, the panic still fails only its own item.
    let mut chunked = pool.map_with((11..16).map(Square), MapOptions::new().chunksize(5)).unwrap();
    assert_eq!(chunked.next().unwrap().unwrap().1, 121);
    assert_eq!(chunked.next().unwrap().unwrap().1, 144);
    assert!(matches!(chunked.next(), Some(Err(FutureError::Panicked(_)))));
    // A lazy, endless input with a bounded look-ahead.
    let firsts: Vec<u64> = pool
        .map_with((20..).map(Square), MapOptions::new().buffersize(4).chunksize(2))
        .unwrap()
        .take(9)
        .map(|item| item.unwrap().1)
        .collect();
    assert_eq!(firsts, (20..29).map(|n| n * n).collect::<Vec<_>>());
}

fn sixteen_mebibyte_values_round_trip() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let data: Vec<u8> = (0..16u32 << 20).map(|i| (i ^ (i >> 11)) as u8).collect();
    let mut expected = data.clone();
    expected.reverse();
    let bytes = pool.submit(ReverseBytes(Bytes(data.clone()))).unwrap();
    // Element by element through serde: slow without optimisations, so smaller in debug builds.
    let plain_len = if cfg!(debug_assertions) { 1 << 20 } else { data.len() };
    let plain = pool.submit(Reverse(data[data.len() - plain_len..].to_vec())).unwrap();
    assert!(get(&bytes).unwrap().0 == expected, "16 MiB did not round-trip");
    assert!(get(&plain).unwrap()[..] == expected[..plain_len], "a plain Vec<u8> did not round-trip");
}

fn shutdown_leaves_no_child() {
    let pool = ProcessPoolExecutor::new(3).unwrap();
    let futures: Vec<_> = (20..50).map(|n| pool.submit(Square(n)).unwrap()).collect();
    let pids: HashSet<u32> = futures.iter().map(|future| get(future).unwrap().0).collect();
    pids.iter().for_each(|&pid| assert_live_child(pid));
    drop(pool);
    pids.iter().for_each(|&pid| assert_reaped(pid));

    // shutdown(wait = false) then drop; and cancel_futures.
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let pid = *get(&pool.submit(Pid).unwrap()).unwrap();
    pool.shutdown(false, true);
    assert_eq!(pool.submit(Pid).unwrap_err(), SubmitError::Shutdown);
    pool.shutdown(true, false);
    assert_reaped(pid);
    drop(pool);

    // Queued tasks either run or are cancelled; none is left pending.
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let queued: Vec<_> = (20..40).map(|n| pool.submit(Square(n)).unwrap()).collect();
    pool.shutdown(true, true);
    for future in &queued {
        assert!(future.done(), "a future is still pending after shutdown");
        assert!(future.cancelled() || get(future).is_ok());
    }
}

/// A done-callback runs on the driver thread that completed the future; shutting the pool down
/// from there makes that driver run the queued jobs itself, and none may be lost.
fn shutdown_from_a_done_callback() {
    let pool = std::sync::Arc::new(ProcessPoolExecutor::new(1).unwrap());
    let first = pool.submit(Pid).unwrap();
    let rest: Vec<_> = (20..25).map(|n| pool.submit(Square(n)).unwrap()).collect();
    let (shut, was_shut) = mpsc::channel();
    let owner = pool.clone();
    first.add_done_callback(move |_| {
        owner.shutdown(true, false);
        let _ = shut.send(());
    });
    was_shut.recv_timeout(LIMIT).expect("the callback's shutdown returned");
    assert_eq!(pool.submit(Pid).unwrap_err(), SubmitError::Shutdown);
    for (n, future) in (20..25).zip(&rest) {
        assert_eq!(get(future).unwrap().1, n * n);
    }
    let pid = *get(&first).unwrap();
    // The callback may still hold the last reference to the pool, so its drop may happen on the
    // driver; an explicit shutdown here still waits for every child, the driver's included.
    pool.shutdown(true, false);
    assert_reaped(pid);
}

fn build_options_are_checked() {
    assert!(matches!(ProcessPoolExecutor::new(0), Err(BuildError::ZeroWorkers)));
    match ProcessPoolExecutor::builder().max_tasks_per_child(0).build() {
        Err(BuildError::InvalidConfig(why)) => assert!(why.contains("max_tasks_per_child")),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let pool = ProcessPoolExecutor::builder().build().unwrap();
    assert_eq!(pool.max_workers(), std::thread::available_parallelism().unwrap().get());
    assert_eq!(pool.processes_started(), 0, "children start lazily");
}

/// A copy of this binary runs a pool whose child is busy, prints the child's pid, and is then
/// killed: the orphaned child must exit by itself. It holds the copy's standard output open,
/// so the end of that output tells when it has exited.
fn a_child_exits_when_its_parent_dies() {
    let mut parent = Command::new(std::env::current_exe().unwrap())
        .env(ROLE_ENV, "orphaning-parent")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = parent.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = lines.send(line.ok());
        }
        let _ = lines.send(None); // end of output: every writer has exited
    });
    let deadline = Instant::now() + LIMIT;
    let next = || received.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok().flatten();
    let pid: u32 =
        next().and_then(|line| line.strip_prefix("child ")?.parse().ok()).expect("the child's pid");
    assert_eq!(next().as_deref(), Some("hanging"));
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert_eq!(next(), None, "the orphaned child did not exit");
    // Its output closed as it began to exit. Until it is gone (or a zombie of its new parent),
    // nothing can notify a process that is not its parent, so this last step polls.
    while let Some((state, _)) = process_state(pid).filter(|(state, _)| *state != 'Z') {
        assert!(Instant::now() < deadline, "the orphaned child {pid} is still running (state {state})");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The copy of this binary that `a_child_exits_when_its_parent_dies` starts.
fn orphaning_parent() -> ! {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let pid = *pool.submit(Pid).unwrap().result().unwrap();
    println!("child {pid}");
    let _busy = pool.submit(Hang).unwrap();
    loop {
        std::thread::park(); // until the test kills this process
    }
}

/// A program that forgets the hook gets an error, not a fork bomb.
fn a_missing_hook_is_an_error() {
    let output = Command::new(std::env::current_exe().unwrap())
        .env(ROLE_ENV, "forgot-the-hook")
        // The marker a pool gives its children: the protocol version and the parent's pid.
        .env(WORKER_ENV, format!("1:{}", std::process::id()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("did not call stealpool::process_pool::run_if_worker"), "{stdout}");
}

/// `main` of the copy started with the marker but without calling the hook.
fn forgot_the_hook() -> ! {
    match ProcessPoolExecutor::new(1) {
        Err(error) => println!("{error}"),
        Ok(_) => println!("a pool was built"),
    }
    std::process::exit(0)
}

fn example_process_pool_basic() {
    let pids = process_pool_basic::run().unwrap();
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&pid| pid != std::process::id()), "{pids:?}");
    pids.iter().for_each(|&pid| assert_reaped(pid));
}

fn example_process_pool_context() {
    let done = process_pool_context::run().unwrap();
    assert_eq!(done.iter().map(|(index, _)| *index).collect::<Vec<_>>(), [2, 3, 4]);
    let pids: HashSet<u32> = done.iter().map(|(_, pid)| *pid).collect();
    assert!((1..=3).contains(&pids.len()), "{pids:?}");
    assert!(!pids.contains(&std::process::id()));
    pids.iter().for_each(|&pid| assert_reaped(pid));
}

// ---------------------------------------------------------------------------------------------
// Faults: tasks that hang, children that die at awkward moments, bad input from a child
// ---------------------------------------------------------------------------------------------

fn a_task_over_its_timeout_is_killed_and_the_pool_goes_on() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let first = *get(&pool.submit(Pid).unwrap()).unwrap();
    let limit = Duration::from_millis(200);
    let start = Instant::now();
    let stalled = pool.submit_with_timeout(Stall { marker: None }, limit).unwrap();
    assert_eq!(timed_out(&stalled), ("stall".to_owned(), limit));
    assert!(start.elapsed() >= limit, "failed after {:?}", start.elapsed());
    let message = get(&stalled).unwrap_err().to_string();
    assert!(message.contains("task `stall` ran longer than its limit of 200ms"), "{message}");
    // The future fails once the child is reaped.
    assert_reaped(first);
    // A task within its limit is unaffected, and the replacement child serves on.
    let second = *get(&pool.submit_with_timeout(SleepMs(1), LIMIT).unwrap()).unwrap();
    assert_ne!(first, second);
    assert_eq!(*get(&pool.submit(Pid).unwrap()).unwrap(), second);
    assert_eq!(pool.processes_started(), 2);
}

fn many_timeouts_leave_no_zombie_and_no_descriptor() {
    // A first pool opens whatever the process opens once (nothing, today), before counting.
    drop(ProcessPoolExecutor::new(1).unwrap().submit(Pid).unwrap().result().map(|_| ()));
    let before = open_descriptors();
    let dirs_before = socket_directories();
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let limit = Duration::from_millis(30);
    let stalled: Vec<_> =
        (0..24).map(|_| pool.submit_with_timeout(Stall { marker: None }, limit).unwrap()).collect();
    for future in &stalled {
        assert_eq!(timed_out(future), ("stall".to_owned(), limit));
    }
    assert_eq!(pool.processes_started(), 24, "one child per timed-out task");
    // A socket directory lives only while its child starts.
    assert_eq!(socket_directories().difference(&dirs_before).count(), 0, "a socket directory stayed");
    assert_eq!(zombie_children(), Vec::<u32>::new());
    let pid = *get(&pool.submit(Pid).unwrap()).unwrap();
    assert_live_child(pid);
    drop(pool);
    assert_reaped(pid);
    assert_eq!(zombie_children(), Vec::<u32>::new());
    assert_eq!(open_descriptors(), before, "descriptors leaked");
    let left: Vec<_> = socket_directories().difference(&dirs_before).cloned().collect();
    assert_eq!(left, Vec::<String>::new(), "a socket directory was left behind");
}

fn map_items_have_their_own_timeout() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let limit = Duration::from_secs(1);
    let options = MapOptions::new().chunksize(3).task_timeout(limit);
    let mut items = pool.map_with([SleepMs(0), SleepMs(60_000), SleepMs(0)], options).unwrap();
    let first = *items.next().unwrap().as_ref().unwrap();
    match items.next() {
        Some(Err(FutureError::TaskTimedOut { task, limit: given })) => {
            assert_eq!((task.as_str(), given), ("sleep_ms", limit))
        }
        other => panic!("expected the second item to time out, got {other:?}"),
    }
    // A failed item does not end the iteration: the third item ran on a fresh child.
    assert!(items.next().unwrap().is_ok(), "the item after the timed-out one");
    assert!(items.next().is_none());
    drop(items);
    assert_reaped(first);
    // Six items of 250 ms in one chunk: 1.5 s in all, each within the limit of 1 s, which counts
    // from the item's own start.
    let pids: Vec<u32> = pool
        .map_with((0..6).map(|_| SleepMs(250)), ProcessMapOptions::new().chunksize(6).task_timeout(limit))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(pids.iter().all(|&pid| pid == pids[0] && pid != first), "{pids:?}");
}

/// Starts a `Stall` with a marker and waits until it runs in its child; the child's pid.
fn stall(pool: &ProcessPoolExecutor) -> (Future<()>, u32) {
    let marker = marker_path();
    let future = pool.submit(Stall { marker: Some(marker.clone()) }).unwrap();
    let pid = wait_for_marker(&marker).parse().unwrap();
    (future, pid)
}

fn kill_workers_stops_hung_tasks() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let (first, first_pid) = stall(&pool);
    let (second, second_pid) = stall(&pool);
    // Both drivers are busy: these wait in the queue.
    let queued: Vec<_> = (0..3).map(|_| pool.submit(Pid).unwrap()).collect();
    pool.kill_workers();
    for (future, pid) in [(&first, first_pid), (&second, second_pid)] {
        let why = worker_failure(future);
        let stopped_by = Some(StoppedBy::KillWorkers);
        assert_eq!(why, WorkerFailure::Died { pid, task: "stall".into(), status: SIGKILL, stopped_by });
        assert!(why.to_string().contains("kill_workers()"), "{why}");
    }
    for future in &queued {
        assert!(matches!(future.result_timeout(LIMIT), Err(FutureError::Cancelled)));
    }
    assert_eq!(pool.submit(Pid).unwrap_err(), SubmitError::Shutdown);
    within_limit("the drop after kill_workers", move || drop(pool));
    assert_reaped(first_pid);
    assert_reaped(second_pid);
}

fn terminate_workers_sends_sigterm() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let (stalled, pid) = stall(&pool);
    pool.terminate_workers();
    let why = worker_failure(&stalled);
    let status = ProcessExit::Signalled { signal: 15, core_dumped: false };
    let stopped_by = Some(StoppedBy::TerminateWorkers);
    assert_eq!(why, WorkerFailure::Died { pid, task: "stall".into(), status, stopped_by });
    assert!(why.to_string().contains("was killed by signal 15 (SIGTERM)"), "{why}");
    assert!(why.to_string().contains("terminate_workers()"), "{why}");
    pool.terminate_workers(); // idempotent
    within_limit("the drop after terminate_workers", move || drop(pool));
    assert_reaped(pid);
}

/// `shutdown(wait = false, cancel_futures = true)`, then the drop: neither waits for a task
/// that never returns.
fn drop_after_shutdown_without_wait_does_not_hang() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let (stalled, pid) = stall(&pool);
    let queued = pool.submit(Pid).unwrap();
    pool.shutdown(false, true);
    assert!(queued.cancelled());
    within_limit("the drop after shutdown(false, true)", move || drop(pool));
    // The task still runs, in the background; ending its child ends it.
    assert_live_child(pid);
    send_signal("KILL", pid);
    let stopped_by = None;
    assert_eq!(
        worker_failure(&stalled),
        WorkerFailure::Died { pid, task: "stall".into(), status: SIGKILL, stopped_by }
    );
    wait_until_reaped(pid);
}

/// A task's subprocess inherits nothing of the channel: when the worker is killed, the parent
/// sees it at once, though `sleep 20` (started by the task) lives on.
fn a_grandchild_does_not_hold_the_channel() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let marker = marker_path();
    let future = pool.submit(SpawnGrandchild { marker: marker.clone() }).unwrap();
    let pids: Vec<u32> = wait_for_marker(&marker).split(' ').map(|pid| pid.parse().unwrap()).collect();
    let (worker, sleep) = (pids[0], pids[1]);
    let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{sleep}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .map(|target| target.display().to_string())
        .filter(|target| target.starts_with("socket:"))
        .collect();
    assert_eq!(sockets, Vec::<String>::new(), "the grandchild holds sockets");
    let killed = Instant::now();
    send_signal("KILL", worker);
    let why = worker_failure(&future);
    let detected = killed.elapsed();
    send_signal("KILL", sleep);
    let task = "spawn_grandchild".into();
    assert_eq!(why, WorkerFailure::Died { pid: worker, task, status: SIGKILL, stopped_by: None });
    println!("    the worker's death was seen {detected:?} after the kill");
    assert!(detected < Duration::from_secs(1), "the worker's death took {detected:?} to see");
    assert_reaped(worker);
    assert_ne!(*get(&pool.submit(Pid).unwrap()).unwrap(), worker);
}

fn a_hung_initializer_hits_the_start_timeout() {
    // Long enough for the child to start and connect on a loaded machine: the initializer is
    // what must run out of time.
    let limit = Duration::from_secs(1);
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .initializer(Stall { marker: None })
        .start_timeout(limit)
        .build()
        .unwrap();
    let start = Instant::now();
    match get(&pool.submit(Pid).unwrap()) {
        Err(FutureError::Broken(reason)) => {
            match &reason {
                BrokenReason::DidNotBecomeReady { limit: seen, initializer: Some(name), .. } => {
                    assert_eq!((*seen, name.as_str()), (limit, "stall"))
                }
                other => panic!("expected DidNotBecomeReady, got {other:?}"),
            }
            let why = reason.to_string();
            assert!(why.contains("did not become ready within the start timeout of 1s"), "{why}");
            assert!(why.contains("its initializer `stall` was still running"), "{why}");
        }
        other => panic!("expected Broken, got {other:?}"),
    }
    assert!(start.elapsed() >= limit);
    assert!(matches!(pool.submit(Pid), Err(SubmitError::Broken(BrokenReason::DidNotBecomeReady { .. }))));
    assert_eq!(zombie_children(), Vec::<u32>::new());
    within_limit("the drop of a pool broken by a start timeout", move || drop(pool));
}

fn a_reply_over_the_frame_limit_fails_only_its_task() {
    let pool = ProcessPoolExecutor::builder().max_workers(1).max_frame_size(64 * 1024).build().unwrap();
    let first = *get(&pool.submit(Pid).unwrap()).unwrap();
    let why = worker_failure(&pool.submit(ReverseBytes(Bytes(vec![7; 100_000]))).unwrap());
    match why {
        WorkerFailure::ReplyTooLarge { pid, size, limit } => {
            assert_eq!((pid, limit), (first, 64 * 1024));
            assert!(size > 100_000, "{size}");
        }
        ref other => panic!("expected ReplyTooLarge, got {other:?}"),
    }
    assert!(why.to_string().contains("over the limit of 65536 bytes"), "{why}");
    assert!(why.to_string().contains("max_frame_size"), "{why}");
    assert_reaped(first);
    let small = pool.submit(ReverseBytes(Bytes(vec![1, 2, 3]))).unwrap();
    assert_eq!(get(&small).unwrap().0, [3, 2, 1]);
    assert_ne!(*get(&pool.submit(Pid).unwrap()).unwrap(), first);
}

/// A child killed while idle is reaped at once, not when its driver gets the next job.
fn an_idle_child_that_dies_is_reaped_at_once() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let pid = *get(&pool.submit(Pid).unwrap()).unwrap();
    send_signal("KILL", pid);
    let took = wait_until_reaped(pid);
    println!("    reaped {took:?} after the kill");
    assert_ne!(*get(&pool.submit(Pid).unwrap()).unwrap(), pid);
    assert_eq!(pool.processes_started(), 2);
}

/// The child is stopped, then killed while the parent writes it an 8 MiB request (the socket
/// fills, so the write is still going on): the child never read the request, so the task is
/// sent again to a fresh child instead of failing.
fn a_request_that_never_arrived_is_sent_again() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    for _ in 0..3 {
        let pid = *get(&pool.submit(Pid).unwrap()).unwrap();
        send_signal("STOP", pid);
        let future = pool.submit(MeasureBytes(Bytes(vec![5; 8 << 20]))).unwrap();
        send_signal("KILL", pid);
        let (ran_on, len) = *get(&future).unwrap();
        assert_eq!(len, 8 << 20);
        assert_ne!(ran_on, pid);
        assert_reaped(pid);
    }
}

fn an_idle_timeout_retires_children() {
    let pool =
        ProcessPoolExecutor::builder().max_workers(1).idle_timeout(Duration::from_secs(1)).build().unwrap();
    let first = *get(&pool.submit(Pid).unwrap()).unwrap();
    assert_eq!(*get(&pool.submit(Pid).unwrap()).unwrap(), first, "a busy child stays");
    let took = wait_until_reaped(first);
    assert!(took < Duration::from_secs(5), "the idle child exited after {took:?}");
    let second = *get(&pool.submit(Pid).unwrap()).unwrap();
    assert_ne!(second, first);
    assert_eq!(pool.processes_started(), 2);
}

fn a_memory_ceiling_replaces_a_grown_child() {
    let pool = ProcessPoolExecutor::builder().max_workers(1).max_memory_per_child(64 << 20).build().unwrap();
    let small = *get(&pool.submit(Hoard { mib: 1 }).unwrap()).unwrap();
    assert_eq!(*get(&pool.submit(Pid).unwrap()).unwrap(), small, "a child under its ceiling stays");
    let grown = *get(&pool.submit(Hoard { mib: 96 }).unwrap()).unwrap();
    assert_eq!(grown, small);
    // Checked after the job, whose future completed first: the next task has a new child.
    assert_ne!(*get(&pool.submit(Pid).unwrap()).unwrap(), grown);
    assert_reaped(grown);
}

/// A child that dies in the middle of a chunk fails the item it was running; the items after
/// it had not started, and run on a fresh child.
fn the_rest_of_a_chunk_runs_on_a_fresh_child() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let markers: Vec<String> = (0..4).map(|_| marker_path()).collect();
    let tasks =
        markers.iter().enumerate().map(|(n, marker)| MarkPid { marker: marker.clone(), abort: n == 1 });
    let mut items = pool.map_with(tasks.collect::<Vec<_>>(), MapOptions::new().chunksize(4)).unwrap();
    let first = *items.next().unwrap().as_ref().unwrap();
    match items.next() {
        Some(Err(FutureError::WorkerFailed(WorkerFailure::Died { status: SIGABRT!(), task, .. }))) => {
            assert_eq!(task, "mark_pid")
        }
        other => panic!("expected the second item's worker to abort, got {other:?}"),
    }
    drop(items); // the items after the failed one still run, whether or not they are read
    let pids: Vec<u32> = markers.iter().map(|marker| wait_for_marker(marker).parse().unwrap()).collect();
    assert_eq!(pids[..2], [first, first]);
    assert_ne!(pids[2], first, "the rest of the chunk ran on the child that died");
    assert_eq!(pids[3], pids[2]);
    assert_reaped(first);
}

/// A child whose `main` never reaches the hook is killed at the start timeout; the pool is
/// broken with an error that says so. Run in a copy of this binary, whose children park.
fn a_child_that_never_connects_hits_the_start_timeout() {
    let output = within_limit("the copy of the test binary", || {
        Command::new(std::env::current_exe().unwrap())
            .env(ROLE_ENV, "late-hook")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("did not connect to the pool"), "{stdout}");
    assert!(stdout.contains("within the start timeout of 500ms"), "{stdout}");
    assert!(stdout.contains("run_if_worker"), "{stdout}");
    assert!(stdout.contains("refused: cannot schedule new tasks: the executor is broken"), "{stdout}");
}

/// `main` of the copy: a pool whose children (copies too) never reach the hook.
fn late_hook_parent() -> ! {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .start_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    match pool.submit(Pid).unwrap().result() {
        Err(error) => println!("{error}"),
        Ok(pid) => println!("a worker {pid} answered"),
    }
    match pool.submit(Pid) {
        Err(error) => println!("refused: {error}"),
        Ok(_) => println!("accepted"),
    }
    drop(pool);
    std::process::exit(0)
}

fn fault_options_are_checked() {
    let invalid = |builder: stealpool::process_pool::ProcessPoolBuilder, option: &str| match builder.build() {
        Err(BuildError::InvalidConfig(why)) => assert!(why.contains(option), "{why}"),
        other => panic!("expected InvalidConfig for {option}, got {other:?}"),
    };
    invalid(ProcessPoolExecutor::builder().start_timeout(Duration::ZERO), "start_timeout");
    invalid(ProcessPoolExecutor::builder().idle_timeout(Duration::ZERO), "idle_timeout");
    invalid(ProcessPoolExecutor::builder().max_frame_size(10), "max_frame_size");
    invalid(ProcessPoolExecutor::builder().max_memory_per_child(0), "max_memory_per_child");
}

// ---------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------

const TESTS: &[(&str, fn())] = &[
    ("values_round_trip", values_round_trip),
    ("panics_round_trip_and_the_child_goes_on", panics_round_trip_and_the_child_goes_on),
    ("bad_values_fail_only_their_future", bad_values_fail_only_their_future),
    (
        "a_killed_child_fails_only_its_task_and_is_replaced",
        a_killed_child_fails_only_its_task_and_is_replaced,
    ),
    ("a_crash_among_many_tasks_fails_one", a_crash_among_many_tasks_fails_one),
    ("initializer_runs_once_per_child", initializer_runs_once_per_child),
    ("a_failing_initializer_breaks_the_pool", a_failing_initializer_breaks_the_pool),
    ("max_tasks_per_child_recycles_children", max_tasks_per_child_recycles_children),
    ("map_with_chunksize_keeps_order", map_with_chunksize_keeps_order),
    ("sixteen_mebibyte_values_round_trip", sixteen_mebibyte_values_round_trip),
    ("shutdown_leaves_no_child", shutdown_leaves_no_child),
    ("shutdown_from_a_done_callback", shutdown_from_a_done_callback),
    ("build_options_are_checked", build_options_are_checked),
    ("a_child_exits_when_its_parent_dies", a_child_exits_when_its_parent_dies),
    ("a_missing_hook_is_an_error", a_missing_hook_is_an_error),
    ("example_process_pool_basic", example_process_pool_basic),
    ("example_process_pool_context", example_process_pool_context),
    (
        "a_task_over_its_timeout_is_killed_and_the_pool_goes_on",
        a_task_over_its_timeout_is_killed_and_the_pool_goes_on,
    ),
    ("many_timeouts_leave_no_zombie_and_no_descriptor", many_timeouts_leave_no_zombie_and_no_descriptor),
    ("map_items_have_their_own_timeout", map_items_have_their_own_timeout),
    ("kill_workers_stops_hung_tasks", kill_workers_stops_hung_tasks),
    ("terminate_workers_sends_sigterm", terminate_workers_sends_sigterm),
    ("drop_after_shutdown_without_wait_does_not_hang", drop_after_shutdown_without_wait_does_not_hang),
    ("a_grandchild_does_not_hold_the_channel", a_grandchild_does_not_hold_the_channel),
    ("a_hung_initializer_hits_the_start_timeout", a_hung_initializer_hits_the_start_timeout),
    ("a_reply_over_the_frame_limit_fails_only_its_task", a_reply_over_the_frame_limit_fails_only_its_task),
    ("an_idle_child_that_dies_is_reaped_at_once", an_idle_child_that_dies_is_reaped_at_once),
    ("a_request_that_never_arrived_is_sent_again", a_request_that_never_arrived_is_sent_again),
    ("an_idle_timeout_retires_children", an_idle_timeout_retires_children),
    ("a_memory_ceiling_replaces_a_grown_child", a_memory_ceiling_replaces_a_grown_child),
    ("the_rest_of_a_chunk_runs_on_a_fresh_child", the_rest_of_a_chunk_runs_on_a_fresh_child),
    (
        "a_child_that_never_connects_hits_the_start_timeout",
        a_child_that_never_connects_hits_the_start_timeout,
    ),
    ("fault_options_are_checked", fault_options_are_checked),
];

fn main() -> ExitCode {
    match std::env::var(ROLE_ENV).as_deref() {
        Ok("forgot-the-hook") => forgot_the_hook(),
        // The children of this copy inherit the role and park before the hook: a `main` that
        // never reaches it.
        Ok("late-hook") if std::env::var_os(WORKER_ENV).is_some() => loop {
            std::thread::park();
        },
        Ok("late-hook") => late_hook_parent(),
        Ok("orphaning-parent") => {
            run_if_worker(&registry());
            orphaning_parent()
        }
        _ => run_if_worker(&registry()),
    }
    // Arguments that are not flags filter the tests by name, as libtest's do.
    let filters: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    tasks::run_selected("process_pool", TESTS, &filters)
}
