//! `cargo bench --features mpi --bench mpi`: `MpiPoolExecutor` against `ProcessPoolExecutor`
//! with the same number of workers (1, 2 and 4) on this machine; writes `results/mpi.md` and
//! `results/mpi.csv`.
//!
//! Started by cargo (without `mpiexec`), this binary is the launcher: it measures the process
//! pool itself, and for each worker count runs itself under `mpiexec -n WORKERS+1`, where rank 0
//! measures the MPI pool and prints one line per sample. Without cargo's `--bench` flag (as in
//! `cargo test --benches --features mpi`) every case runs once at toy sizes and nothing is
//! written.
//!
//! Workloads (each sample: submit everything, wait for everything, on rank 0 / the parent):
//! - **imbalanced**: 200 CPU-bound tasks of about 0.2 ms, of which 1% (every 100th, from the
//!   51st) are 100 times heavier; the ideal time is `max(total work / workers, one heavy task)`.
//! - **fan-out**: 1000 tiny tasks (a few µs of work) submitted at once: the cost per task.
//! - **round trip**: 100 tasks one after the other, each waited for before the next: the latency
//!   of one task through the pool.
//!
//! Method: each pool is built and warmed up (workers started, one untimed sample) first; the
//! tables give the median, the interquartile range and the min–max of the samples.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stealpool::mpi_pool::{self, MpiPoolExecutor};
use stealpool::process_pool::{ProcessPoolExecutor, Registry, Task, run_if_worker};

#[path = "support/machine.rs"]
mod support;

/// Worker counts compared.
const WORKERS: [usize; 3] = [1, 2, 4];

/// Tells rank 0 of a job the launcher starts to measure (value: "full" or "toy").
const ROLE_ENV: &str = "STEALPOOL_MPI_BENCH";

#[path = "support/spin_task.rs"]
mod spin_task;
use spin_task::Spin;

fn registry() -> Registry {
    Registry::new().register::<Spin>()
}

/// Sizes of one run.
#[derive(Clone, Copy)]
struct Sizes {
    samples: usize,
    imbalanced_tasks: u64,
    light_rounds: u64,
    fan_out_tasks: u64,
    round_trips: u64,
}

impl Sizes {
    fn new(full: bool) -> Self {
        if full {
            // 120 000 rounds: about 0.2 ms on the machine of the committed report.
            Sizes {
                samples: 7,
                imbalanced_tasks: 200,
                light_rounds: 120_000,
                fan_out_tasks: 1000,
                round_trips: 100,
            }
        } else {
            Sizes { samples: 1, imbalanced_tasks: 20, light_rounds: 1_000, fan_out_tasks: 20, round_trips: 5 }
        }
    }

    fn imbalanced(&self) -> impl Iterator<Item = Spin> + use<> {
        let light = self.light_rounds;
        (0..self.imbalanced_tasks).map(move |i| Spin(if i % 100 == 50 { 100 * light } else { light }))
    }
}

/// The pool under test, reduced to what the workloads need.
trait Pool {
    fn run_all(&self, tasks: Vec<Spin>);
    fn round_trip(&self);
}

/// The two pools have the same `submit`; one implementation for both.
macro_rules! impl_pool {
    ($($executor:ty),*) => {$(
        impl Pool for $executor {
            fn run_all(&self, tasks: Vec<Spin>) {
                let futures: Vec<_> = tasks.into_iter().map(|task| self.submit(task).unwrap()).collect();
                futures.iter().for_each(|future| {
                    future.result().unwrap();
                });
            }

            fn round_trip(&self) {
                self.submit(Spin(1)).unwrap().result().unwrap();
            }
        }
    )*};
}

impl_pool!(ProcessPoolExecutor, MpiPoolExecutor);

/// The samples (seconds) of each workload on `pool`, after one untimed warm-up sample each.
fn measure(pool: &impl Pool, sizes: Sizes) -> Vec<(&'static str, Vec<f64>)> {
    let time = |case: &dyn Fn()| -> Vec<f64> {
        case();
        (0..sizes.samples)
            .map(|_| {
                let start = Instant::now();
                case();
                start.elapsed().as_secs_f64()
            })
            .collect()
    };
    vec![
        ("imbalanced", time(&|| pool.run_all(sizes.imbalanced().collect()))),
        ("fan-out", time(&|| pool.run_all((0..sizes.fan_out_tasks).map(|_| Spin(1_000)).collect()))),
        ("round trip", time(&|| (0..sizes.round_trips).for_each(|_| pool.round_trip()))),
    ]
}

/// Rank 0 of a measuring job: prints `sample WORKLOAD SECONDS` lines.
fn measure_mpi(full: bool) {
    let pool = MpiPoolExecutor::new().expect("an MPI pool on rank 0");
    for (workload, samples) in measure(&pool, Sizes::new(full)) {
        for seconds in samples {
            println!("sample {workload} {seconds}");
        }
    }
}

/// Runs `mpiexec -n workers+1` on this binary; returns its samples per workload.
fn run_mpi_job(workers: usize, full: bool) -> BTreeMap<String, Vec<f64>> {
    let mut job = Command::new("mpiexec")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", &(workers + 1).to_string()])
        .arg(std::env::current_exe().unwrap())
        .env(ROLE_ENV, if full { "full" } else { "toy" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("mpiexec could not be started: is Open MPI installed? (README.md, \"MPI pool\")");
    let stdout = job.stdout.take().unwrap();
    // The job is bounded: it is killed if it outlives this limit.
    let deadline = Instant::now() + Duration::from_secs(300);
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = job.kill();
            let _ = job.wait();
            panic!("the MPI job with {workers} worker ranks did not end within 300 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the MPI job with {workers} worker ranks failed: {status}");
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in reader.join().unwrap().lines() {
        if let Some(rest) = line.strip_prefix("sample ") {
            let (workload, seconds) = rest.rsplit_once(' ').expect("a sample line");
            samples.entry(workload.to_owned()).or_default().push(seconds.parse().expect("seconds"));
        }
    }
    samples
}

/// Median, quartiles, minimum and maximum, in milliseconds.
struct Summary {
    median: f64,
    q1: f64,
    q3: f64,
    min: f64,
    max: f64,
}

fn summary(samples: &[f64]) -> Summary {
    let mut ms: Vec<f64> = samples.iter().map(|s| s * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Summary { median: at(0.5), q1: at(0.25), q3: at(0.75), min: ms[0], max: ms[ms.len() - 1] }
}

fn main() {
    run_if_worker(&registry()); // process-pool children and MPI worker ranks serve tasks here
    if let Ok(scale) = std::env::var(ROLE_ENV) {
        return measure_mpi(scale == "full");
    }
    assert!(mpi_pool::this_rank().is_none(), "start this benchmark with cargo, not with mpiexec");
    let full = std::env::args().any(|arg| arg == "--bench");
    let sizes = Sizes::new(full);

    // (workload, workers, pool) -> samples
    let mut results: Vec<(String, usize, &str, Vec<f64>)> = Vec::new();
    for workers in WORKERS {
        let pool = ProcessPoolExecutor::new(workers).unwrap();
        for (workload, samples) in measure(&pool, sizes) {
            results.push((workload.to_owned(), workers, "process", samples));
        }
        drop(pool);
        for (workload, samples) in run_mpi_job(workers, full) {
            results.push((workload, workers, "mpi", samples));
        }
        eprintln!("mpi bench: {workers} worker(s) measured");
    }
    if !full {
        println!("mpi bench: every case ran once at toy sizes (pass --bench for the report)");
        return;
    }
    write_report(&results, sizes);
}

fn write_report(results: &[(String, usize, &str, Vec<f64>)], sizes: Sizes) {
    let find = |workload: &str, workers: usize, pool: &str| {
        results.iter().find(|r| r.0 == workload && r.1 == workers && r.2 == pool).map(|r| summary(&r.3))
    };
    let mut csv = String::from("workload,workers,pool,samples,median_ms,q1_ms,q3_ms,min_ms,max_ms\n");
    for (workload, workers, pool, samples) in results {
        let s = summary(samples);
        let _ = writeln!(
            csv,
            "{workload},{workers},{pool},{},{:.3},{:.3},{:.3},{:.3},{:.3}",
            samples.len(),
            s.median,
            s.q1,
            s.q3,
            s.min,
            s.max
        );
    }
    // The ideal time of the imbalanced workload, from a sequential run of its tasks here.
    let sequential = {
        let start = Instant::now();
        sizes.imbalanced().for_each(|task| {
            black_box(task.run());
        });
        start.elapsed().as_secs_f64() * 1e3
    };
    let heavy = sequential * 100.0 / (sizes.imbalanced_tasks as f64 - 2.0 + 200.0);

    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let mut md = String::new();
    let _ = writeln!(md, "# MPI pool vs process pool\n");
    let _ = writeln!(
        md,
        "`cargo bench --features mpi --bench mpi` (benches/mpi.rs), commit {commit}, release build. \
         Machine: {}. Open MPI on one machine (`mpiexec --oversubscribe -n WORKERS+1`: rank 0 \
         is the program, the others are the worker ranks), against `ProcessPoolExecutor::new(WORKERS)`. \
         Median of {} samples after one warm-up; IQR = interquartile range; ratio = MPI median / \
         process-pool median (below 1: MPI faster). Raw numbers: `results/mpi.csv`.\n",
        support::machine(),
        sizes.samples
    );
    let describe = [
        (
            "imbalanced",
            format!(
                "{} tasks of {} rounds of xorshift, every 100th (from the 51st) 100 times heavier; \
                 sequentially {sequential:.1} ms here, one heavy task {heavy:.1} ms; ideal = max(sequential / \
                 workers, heavy)",
                sizes.imbalanced_tasks, sizes.light_rounds
            ),
        ),
        (
            "fan-out",
            format!(
                "{} tasks of 1000 rounds submitted at once; per task = median / tasks",
                sizes.fan_out_tasks
            ),
        ),
        ("round trip", format!("{} tasks one after the other; per task = median / tasks", sizes.round_trips)),
    ];
    for (workload, what) in describe {
        let _ = writeln!(md, "## {workload}\n\n{what}.\n");
        let per_task = match workload {
            "fan-out" => Some(sizes.fan_out_tasks as f64),
            "round trip" => Some(sizes.round_trips as f64),
            _ => None,
        };
        let extra = if workload == "imbalanced" { " ideal |" } else { " MPI per task | process per task |" };
        let _ = writeln!(
            md,
            "| workers | MPI median (IQR; min–max) | process pool median (IQR; min–max) | ratio |{extra}"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|{}", if per_task.is_some() { "---:|" } else { "" });
        for workers in WORKERS {
            let (Some(mpi), Some(process)) =
                (find(workload, workers, "mpi"), find(workload, workers, "process"))
            else {
                continue;
            };
            let cell = |s: &Summary| {
                format!("{:.1} ms ({:.1}–{:.1}; {:.1}–{:.1})", s.median, s.q1, s.q3, s.min, s.max)
            };
            let tail = match per_task {
                Some(n) => format!(" {:.0} µs | {:.0} µs |", mpi.median * 1e3 / n, process.median * 1e3 / n),
                None => format!(" {:.1} ms |", (sequential / workers as f64).max(heavy)),
            };
            let _ = writeln!(
                md,
                "| {workers} | {} | {} | {:.2}× |{tail}",
                cell(&mpi),
                cell(&process),
                mpi.median / process.median
            );
        }
        let _ = writeln!(md);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let _ = writeln!(
        md,
        "Notes. The machine has {cores} cores. With 1 worker the job has 2 ranks, which Open MPI \
         binds to one core each when they do not outnumber the cores: their MPI threads then sleep \
         instead of spinning (papers/mpi.md, section 2), hence the round trip of that row. With 2 \
         and 4 workers the ranks outnumber the cores and are not bound; with 4 workers, workers \
         share cores with each other and with rank 0, so those rows measure oversubscription, not \
         scaling. Load average at the end of the run: {} (other work on the machine shows in the \
         spread).",
        load.join(" ")
    );
    std::fs::create_dir_all("results").unwrap();
    std::fs::write("results/mpi.csv", csv).unwrap();
    std::fs::write("results/mpi.md", md).unwrap();
    println!("wrote results/mpi.md and results/mpi.csv");
}
