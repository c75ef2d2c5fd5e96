//! Behaviour tests of `MpiPoolExecutor` (feature `mpi`).
//!
//! `cargo test --release --features mpi --test mpi` runs this binary without MPI; it then acts
//! as the launcher: it starts itself under `mpiexec -n 3` (rank 0 runs the tests, ranks 1 and 2
//! serve tasks) and checks the job's exit status, then checks what happens without worker
//! ranks (no `mpiexec`, and `-n 1`) and when a worker rank dies. Every `mpiexec` it starts is
//! killed if it runs past `JOB_LIMIT`, and every wait inside the tests is bounded by `LIMIT`, so
//! a broken pool fails the run instead of hanging it.
//!
//! Run one test: `cargo test --features mpi --test mpi -- NAME_SUBSTRING`; or launch by hand:
//! `mpiexec --allow-run-as-root --oversubscribe -n 3 target/debug/deps/mpi-HASH`.

use std::collections::HashSet;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stealpool::mpi_pool::{self, MpiPoolExecutor};

mod tasks;
use stealpool::process_pool::{Registry, Task, run_if_worker};
use stealpool::{
    BuildError, Future, FutureError, MapOptions, ReturnWhen, SubmitError, WorkerFailure, as_completed, wait,
};
use tasks::{Abort, BadArgument, BadOutput, Bytes, Fail, MakePicky, Picky, ReverseBytes};

// The Python notes' process-pool programs over MPI (examples/mpi_pool.rs), run here as tests.
#[allow(dead_code)]
#[path = "../examples/mpi_pool.rs"]
mod mpi_pool_example;

/// Upper bound of any wait in these tests.
const LIMIT: Duration = Duration::from_secs(60);

/// Upper bound of one `mpiexec` job started by the launcher.
const JOB_LIMIT: Duration = Duration::from_secs(120);

/// Worker ranks of the test job.
const WORKER_RANKS: usize = 2;

/// Selects what rank 0 does in a job the launcher starts.
const ROLE_ENV: &str = "MPI_TEST_ROLE";

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/// Returns the rank that ran it.
#[derive(Serialize, Deserialize)]
struct Rank;

impl Task for Rank {
    type Output = usize;
    const NAME: &'static str = "rank";
    fn run(self) -> usize {
        mpi_pool::this_rank().expect("a worker rank knows its rank")
    }
}

#[derive(Serialize, Deserialize)]
struct Describe {
    label: String,
    numbers: Vec<i64>,
    note: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Description {
    label: String,
    sum: i64,
    note_len: Option<usize>,
    rank: usize,
}

impl Task for Describe {
    type Output = Description;
    const NAME: &'static str = "describe";
    fn run(self) -> Description {
        Description {
            label: self.label.to_uppercase(),
            sum: self.numbers.iter().sum(),
            note_len: self.note.map(|note| note.len()),
            rank: mpi_pool::this_rank().unwrap(),
        }
    }
}

/// Squares; panics on 13. Returns the rank too.
#[derive(Serialize, Deserialize)]
struct Square(u64);

impl Task for Square {
    type Output = (usize, u64);
    const NAME: &'static str = "square";
    fn run(self) -> (usize, u64) {
        assert!(self.0 != 13, "thirteen is unlucky");
        (mpi_pool::this_rank().unwrap(), self.0 * self.0)
    }
}

/// Sleeps this many milliseconds; returns its rank.
#[derive(Serialize, Deserialize)]
struct Sleep(u64);

impl Task for Sleep {
    type Output = usize;
    const NAME: &'static str = "sleep";
    fn run(self) -> usize {
        std::thread::sleep(Duration::from_millis(self.0));
        mpi_pool::this_rank().unwrap()
    }
}

fn registry() -> Registry {
    Registry::new()
        .register::<Rank>()
        .register::<Describe>()
        .register::<Square>()
        .register::<Fail>()
        .register::<Sleep>()
        .register::<Abort>()
        .register::<Picky>()
        .register::<MakePicky>()
        .register::<BadOutput>()
        .register::<BadArgument>()
        .register::<ReverseBytes>()
        .register::<mpi_pool_example::ReportRank>()
        .register::<mpi_pool_example::IndexedTask>()
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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

/// Waits (at most `LIMIT`) until `condition` holds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One sleeping task per worker rank, each sent to its rank: returns once all are running, so
/// that every rank is busy and tasks submitted next stay queued on rank 0 until one finishes.
fn occupy_every_rank(pool: &MpiPoolExecutor, millis: u64) -> Vec<Future<usize>> {
    let sleepers: Vec<_> = (0..pool.max_workers()).map(|_| pool.submit(Sleep(millis)).unwrap()).collect();
    wait_until("every sleeper was sent to a rank", || sleepers.iter().all(Future::running));
    sleepers
}

// ---------------------------------------------------------------------------------------------
// Tests (rank 0 of `mpiexec -n 3`)
// ---------------------------------------------------------------------------------------------

fn values_round_trip() {
    let pool = MpiPoolExecutor::new().unwrap();
    assert_eq!(pool.max_workers(), WORKER_RANKS);
    let future = pool
        .submit(Describe {
            label: "héllo wörld".into(),
            numbers: vec![1, -2, 3_000_000_000, 4],
            note: Some("a note".into()),
        })
        .unwrap();
    let described = get(&future).unwrap();
    assert_eq!(described.label, "HÉLLO WÖRLD");
    assert_eq!(described.sum, 3_000_000_003);
    assert_eq!(described.note_len, Some(6));
    assert!((1..=WORKER_RANKS).contains(&described.rank), "ran on rank {}", described.rank);
}

fn tasks_run_on_every_worker_rank_never_on_rank_0() {
    let pool = MpiPoolExecutor::new().unwrap();
    // Sleeps long enough that one rank cannot take them all.
    let futures: Vec<_> = (0..4 * WORKER_RANKS).map(|_| pool.submit(Sleep(50)).unwrap()).collect();
    let ranks: HashSet<usize> = futures.iter().map(|future| *get(future).unwrap()).collect();
    assert_eq!(ranks, (1..=WORKER_RANKS).collect(), "the ranks that ran tasks");
}

fn panics_come_back_as_panicked_and_the_rank_goes_on() {
    let pool = MpiPoolExecutor::new().unwrap();
    let failed = pool.submit(Fail("the answer is 42".into())).unwrap();
    match get(&failed) {
        Err(FutureError::Panicked(panic)) => assert_eq!(panic.message(), "the answer is 42"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(failed.exception_timeout(LIMIT).unwrap().unwrap().message(), "the answer is 42");
    let panics: Vec<_> = (0..20).map(|n| pool.submit(Fail(format!("panic {n}"))).unwrap()).collect();
    for (n, future) in panics.iter().enumerate() {
        match get(future) {
            Err(FutureError::Panicked(panic)) => assert_eq!(panic.message(), format!("panic {n}")),
            other => panic!("expected a panic, got {other:?}"),
        }
    }
    // Every rank still serves.
    tasks_run_on_every_worker_rank_never_on_rank_0();
}

fn bad_values_fail_only_their_future() {
    let pool = MpiPoolExecutor::new().unwrap();
    tasks::assert_bad_values_fail!(pool, worker_failure);
    assert_eq!(*get(&pool.submit(Picky(12)).unwrap()).unwrap(), 12);
    assert_eq!(*get(&pool.submit(MakePicky(7)).unwrap()).unwrap(), Picky(7));
}

fn map_with_chunksize_keeps_order() {
    let pool = MpiPoolExecutor::new().unwrap();
    let results: Vec<(usize, u64)> = pool
        .map_with((100..300).map(Square), MapOptions::new().chunksize(7))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let values: Vec<u64> = results.iter().map(|(_, value)| *value).collect();
    assert_eq!(values, (100..300).map(|n| n * n).collect::<Vec<_>>());
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
    // With chunks, a panic still fails only its own item.
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
    // A timeout ends the iteration.
    let mut slow = pool.map_with([Sleep(400)], MapOptions::new().timeout(Duration::from_millis(50))).unwrap();
    assert_eq!(slow.next().unwrap().unwrap_err(), FutureError::Timeout);
}

fn wait_and_as_completed_work_on_its_futures() {
    let pool = MpiPoolExecutor::new().unwrap();
    let squares: Vec<_> = (20..80).map(|n| pool.submit(Square(n)).unwrap()).collect();
    let failed = vec![pool.submit(Fail("boom".into())).unwrap()];
    let (done, not_done) = wait(&squares, Some(LIMIT), ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (60, 0));
    let (done, _) = wait(&failed, Some(LIMIT), ReturnWhen::FirstException);
    assert_eq!(done.len(), 1);
    assert_eq!(as_completed(&squares, Some(LIMIT)).filter(|item| item.is_ok()).count(), 60);
    for (n, future) in (20..80u64).zip(&squares) {
        assert_eq!(get(future).unwrap().1, n * n);
    }
    // A slow task shows up after the fast ones, and a timeout is reported.
    let slow = pool.submit(Sleep(300)).unwrap();
    let fast = pool.submit(Sleep(1)).unwrap();
    let (done, not_done) = wait([&slow, &fast], Some(LIMIT), ReturnWhen::FirstCompleted);
    assert_eq!((done.len(), not_done.len()), (1, 1));
    let order: Vec<_> = as_completed([&slow, &fast], Some(Duration::from_millis(1))).collect();
    assert!(order.iter().any(|item| item.as_ref().err() == Some(&FutureError::Timeout)), "{order:?}");
    assert!(get(&slow).is_ok());
}

fn cancel_works_on_queued_tasks_only() {
    let pool = MpiPoolExecutor::new().unwrap();
    let sleepers = occupy_every_rank(&pool, 1_500);
    let queued: Vec<_> = (0..3).map(|n| pool.submit(Square(n)).unwrap()).collect();
    assert!(!queued[0].running(), "a task queued on rank 0 is not running");
    assert!(queued[0].cancel(), "a queued task can be cancelled");
    assert!(queued[2].cancel());
    assert!(queued[0].cancelled() && queued[0].done());
    assert_eq!(get(&queued[0]).unwrap_err(), FutureError::Cancelled);
    assert!(!sleepers[0].cancel(), "a task sent to a rank cannot be cancelled");
    // The one not cancelled runs; the cancelled ones never do.
    assert_eq!(get(&queued[1]).unwrap().1, 1);
    assert_eq!(get(&queued[2]).unwrap_err(), FutureError::Cancelled);
    sleepers.iter().for_each(|sleeper| assert!(get(sleeper).is_ok()));
}

fn a_long_task_does_not_hold_up_the_rest() {
    let pool = MpiPoolExecutor::new().unwrap();
    let long = pool.submit(Sleep(3_000)).unwrap();
    let shorts: Vec<_> = (0..12).map(|_| pool.submit(Sleep(20)).unwrap()).collect();
    let started = Instant::now();
    for short in &shorts {
        assert!(get(short).is_ok());
    }
    let elapsed = started.elapsed();
    // Without reclaiming, short tasks queued behind the long one on its rank would wait 3 s.
    assert!(!long.done(), "the short tasks waited for the long one ({elapsed:?})");
    assert!(elapsed < Duration::from_millis(2_500), "{elapsed:?}");
    assert!(get(&long).is_ok());
}

fn shutdown_semantics() {
    // shutdown(wait = false): later submits are refused; drop waits for what was accepted.
    let pool = MpiPoolExecutor::new().unwrap();
    let accepted: Vec<_> = (0..10).map(|_| pool.submit(Sleep(30)).unwrap()).collect();
    pool.shutdown(false, false);
    assert_eq!(pool.submit(Rank).unwrap_err(), SubmitError::Shutdown);
    assert!(matches!(pool.map([Rank]), Err(SubmitError::Shutdown)));
    drop(pool);
    assert!(accepted.iter().all(Future::done), "drop returned before the accepted tasks finished");
    assert!(accepted.iter().all(|future| get(future).is_ok()));

    // shutdown(wait = true, cancel_futures = true): running tasks finish, queued ones are
    // cancelled, nothing is left pending.
    let pool = MpiPoolExecutor::new().unwrap();
    let sleepers = occupy_every_rank(&pool, 1_000);
    let queued: Vec<_> = (0..20).map(|n| pool.submit(Square(n)).unwrap()).collect();
    pool.shutdown(true, true);
    assert!(sleepers.iter().all(|future| get(future).is_ok()));
    assert!(queued.iter().all(Future::cancelled), "queued tasks were not all cancelled");
    pool.shutdown(true, true); // idempotent
}

fn executors_share_the_worker_ranks() {
    let first = MpiPoolExecutor::new().unwrap();
    let second = MpiPoolExecutor::new().unwrap();
    let a: Vec<_> = (0..30).map(|n| first.submit(Square(n + 20)).unwrap()).collect();
    let b: Vec<_> = (0..30).map(|n| second.submit(Square(n + 50)).unwrap()).collect();
    first.shutdown(true, false);
    assert!(a.iter().all(Future::done));
    assert_eq!(get(&second.submit(Square(3)).unwrap()).unwrap().1, 9, "the other executor goes on");
    for (n, future) in (50..80u64).zip(&b) {
        assert_eq!(get(future).unwrap().1, n * n);
    }
}

/// A done-callback runs on rank 0's MPI thread; shutting the pool down from there must not
/// wait (that thread completes the tasks), and no task may be lost.
fn shutdown_from_a_done_callback() {
    let pool = std::sync::Arc::new(MpiPoolExecutor::new().unwrap());
    let first = pool.submit(Rank).unwrap();
    let rest: Vec<_> = (20..25).map(|n| pool.submit(Square(n)).unwrap()).collect();
    let (shut, was_shut) = mpsc::channel();
    let owner = pool.clone();
    first.add_done_callback(move |_| {
        owner.shutdown(true, false);
        let _ = shut.send(());
    });
    was_shut.recv_timeout(LIMIT).expect("the callback's shutdown returned");
    assert_eq!(pool.submit(Rank).unwrap_err(), SubmitError::Shutdown);
    for (n, future) in (20..25).zip(&rest) {
        assert_eq!(get(future).unwrap().1, n * n);
    }
}

fn sixteen_mebibyte_values_round_trip() {
    let pool = MpiPoolExecutor::new().unwrap();
    let data: Vec<u8> = (0..16u32 << 20).map(|i| (i ^ (i >> 11)) as u8).collect();
    let mut expected = data.clone();
    expected.reverse();
    // Two at once, so that large batches and large reports cross.
    let futures: Vec<_> = (0..2).map(|_| pool.submit(ReverseBytes(Bytes(data.clone()))).unwrap()).collect();
    for future in &futures {
        assert!(get(future).unwrap().0 == expected, "16 MiB did not round-trip");
    }
}

fn many_small_tasks_each_complete_once() {
    let pool = MpiPoolExecutor::new().unwrap();
    let futures: Vec<_> = (0..2_000).map(|n| pool.submit(Square(n % 1000 + 14)).unwrap()).collect();
    for (n, future) in (0..2_000u64).zip(&futures) {
        assert_eq!(get(future).unwrap().1, (n % 1000 + 14).pow(2));
    }
}

fn example_mpi_pool() {
    let basic = mpi_pool_example::basic().unwrap();
    assert_eq!(basic.len(), 2);
    assert!(basic.iter().all(|&(rank, pid)| rank >= 1 && pid != std::process::id()), "{basic:?}");
    let done = mpi_pool_example::context().unwrap();
    assert_eq!(done.iter().map(|(index, _)| *index).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(done.iter().all(|&(_, rank)| (1..=WORKER_RANKS).contains(&rank)), "{done:?}");
}

const TESTS: &[(&str, fn())] = &[
    ("values_round_trip", values_round_trip),
    ("tasks_run_on_every_worker_rank_never_on_rank_0", tasks_run_on_every_worker_rank_never_on_rank_0),
    ("panics_come_back_as_panicked_and_the_rank_goes_on", panics_come_back_as_panicked_and_the_rank_goes_on),
    ("bad_values_fail_only_their_future", bad_values_fail_only_their_future),
    ("map_with_chunksize_keeps_order", map_with_chunksize_keeps_order),
    ("wait_and_as_completed_work_on_its_futures", wait_and_as_completed_work_on_its_futures),
    ("cancel_works_on_queued_tasks_only", cancel_works_on_queued_tasks_only),
    ("a_long_task_does_not_hold_up_the_rest", a_long_task_does_not_hold_up_the_rest),
    ("shutdown_semantics", shutdown_semantics),
    ("executors_share_the_worker_ranks", executors_share_the_worker_ranks),
    ("shutdown_from_a_done_callback", shutdown_from_a_done_callback),
    ("sixteen_mebibyte_values_round_trip", sixteen_mebibyte_values_round_trip),
    ("many_small_tasks_each_complete_once", many_small_tasks_each_complete_once),
    ("example_mpi_pool", example_mpi_pool),
];

/// Rank 0 of the test job: runs the tests selected by the arguments.
fn run_tests(filters: &[String]) -> ExitCode {
    tasks::run_selected(&format!("mpi (rank 0 of {} ranks)", WORKER_RANKS + 1), TESTS, filters)
}

/// Rank 0 of the crash job: a worker rank aborts while running a task.
fn crash() -> ExitCode {
    let pool = MpiPoolExecutor::new().unwrap();
    println!("submitting the task that aborts its rank");
    let future = pool.submit(Abort).unwrap();
    // MPI ends the job: this wait never returns normally.
    let outcome = future.result_timeout(LIMIT).map(|_| ());
    println!("rank 0 survived the crash of a worker rank: {outcome:?}");
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// The launcher (this binary started without mpiexec)
// ---------------------------------------------------------------------------------------------

/// Runs `mpiexec -n ranks` on this binary with `role`; kills it after `JOB_LIMIT`. Returns its
/// exit status and, if `capture`, its output (else the output goes to ours).
fn mpiexec(ranks: usize, role: &str, args: &[String], capture: bool) -> (ExitStatus, String) {
    let mut command = Command::new("mpiexec");
    // As root, Open MPI refuses to start without the first flag; the second lets the job have
    // more ranks than this machine has cores.
    command.args(["--allow-run-as-root", "--oversubscribe", "-n", &ranks.to_string()]);
    command.arg(std::env::current_exe().unwrap()).args(args).env(ROLE_ENV, role).stdin(Stdio::null());
    if capture {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut job = command.spawn().expect("mpiexec could not be started: is Open MPI installed?");
    let readers: Vec<_> = [
        job.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>),
        job.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut stream| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            text
        })
    })
    .collect();
    let deadline = Instant::now() + JOB_LIMIT;
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = job.kill();
            let _ = job.wait();
            panic!("`mpiexec -n {ranks}` ({role}) did not end within {JOB_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = readers.into_iter().map(|reader| reader.join().unwrap()).collect();
    (status, output)
}

fn launcher(filters: &[String]) -> ExitCode {
    let mut failed = 0;
    let mut check = |name: &str, test: &dyn Fn()| match catch_unwind(AssertUnwindSafe(test)) {
        Ok(()) => println!("test {name} ... ok"),
        Err(_) => {
            failed += 1;
            println!("test {name} ... FAILED");
        }
    };
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));

    if !filters.is_empty() && !TESTS.iter().any(|(name, _)| wanted(name)) {
        println!("(no test on the MPI job matches the filters)");
    } else {
        check("the behaviour tests under `mpiexec -n 3`", &|| {
            let (status, _) = mpiexec(WORKER_RANKS + 1, "tests", filters, false);
            assert!(status.success(), "the MPI test job failed: {status}");
        });
    }
    if wanted("no_worker_ranks") {
        check("no_worker_ranks_is_an_error", &|| {
            match MpiPoolExecutor::new() {
                Err(BuildError::InvalidConfig(why)) => {
                    assert!(why.contains("not started by mpiexec"), "{why}")
                }
                other => panic!("expected InvalidConfig, got {other:?}"),
            }
            assert_eq!(mpi_pool::worker_ranks(), 0);
            let (status, output) = mpiexec(1, "single", &[], true);
            assert!(status.success(), "{status}: {output}");
            assert!(output.contains("single rank, so there are no worker ranks"), "{output}");
        });
    }
    if wanted("a_dead_worker_rank_ends_the_job") {
        check("a_dead_worker_rank_ends_the_job", &|| {
            let started = Instant::now();
            let (status, output) = mpiexec(2, "crash", &[], true);
            assert!(!status.success(), "the job succeeded: {output}");
            assert!(output.contains("submitting the task that aborts its rank"), "{output}");
            assert!(!output.contains("rank 0 survived"), "{output}");
            assert!(output.contains("signal 6"), "mpiexec did not name the signal: {output}");
            println!("    (the job ended in {:.1?}, status {status})", started.elapsed());
        });
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn main() -> ExitCode {
    run_if_worker(&registry()); // worker ranks serve tasks here and never return
    // Arguments that are not flags filter the tests by name, as libtest's do.
    let filters: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    if mpi_pool::this_rank().is_none() {
        return launcher(&filters);
    }
    match std::env::var(ROLE_ENV).as_deref() {
        Ok("single") => {
            match MpiPoolExecutor::new() {
                Err(error) => println!("{error}"),
                Ok(_) => println!("a pool was built"),
            }
            ExitCode::SUCCESS
        }
        Ok("crash") => crash(),
        _ => run_tests(&filters),
    }
}
