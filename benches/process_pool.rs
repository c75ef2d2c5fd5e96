//! `cargo bench --bench process_pool`: the process pool against the thread pool on CPU-bound
//! work, and the process pool's cost per task; writes `results/process_pool.md`.
//!
//! Without cargo's `--bench` flag (as in `cargo test --benches`) every case runs once at toy
//! sizes and nothing is written.
//!
//! Method: each pool is built and warmed up (children started, one untimed run) before it is
//! timed; a sample is the wall time of one whole case (submit everything, wait for everything)
//! on the submitting thread; the table gives the median of the samples. "Cold start" is the
//! exception: it times building a pool and getting its first result, child start-up included.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stealpool::process_pool::{ProcessPoolExecutor, Registry, Task, run_if_worker};
use stealpool::{MapOptions, ThreadPoolExecutor};

#[path = "support/spin_task.rs"]
mod spin_task;
use spin_task::{Spin, spin};

#[derive(Serialize, Deserialize)]
struct Noop(u64);

impl Task for Noop {
    type Output = u64;
    const NAME: &'static str = "bench::noop";
    fn run(self) -> u64 {
        self.0
    }
}

fn registry() -> Registry {
    Registry::new().register::<Spin>().register::<Noop>()
}

/// The median wall time of `samples` runs of `case`.
fn median(samples: usize, mut case: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            case();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn per_task(duration: Duration, tasks: usize) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6 / tasks as f64)
}

fn main() {
    run_if_worker(&registry());
    let full = std::env::args().any(|arg| arg == "--bench");
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (samples, cpu_tasks, noops, round_trips) =
        if full { (7, 16 * workers, 5000, 1000) } else { (1, 4, 50, 10) };

    // Calibrate one CPU-bound task to about 2 ms on this machine.
    let mut rounds = 1u64 << 16;
    while median(3, || {
        black_box(spin(rounds));
    }) < Duration::from_millis(2)
        && full
    {
        rounds *= 2;
    }
    let task_time = median(5, || {
        black_box(spin(rounds));
    });

    let threads = ThreadPoolExecutor::new(workers).unwrap();
    let processes = ProcessPoolExecutor::new(workers).unwrap();
    let warm_up = |pool: &ProcessPoolExecutor| {
        let futures: Vec<_> = (0..4 * workers).map(|n| pool.submit(Spin(n as u64 * 1000)).unwrap()).collect();
        futures.iter().for_each(|future| {
            black_box(*future.result().unwrap());
        });
    };
    warm_up(&processes);

    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |case: &str, time: Duration, note: String| rows.push((case.into(), ms(time), note));

    // 1. CPU-bound work. The three contenders take their samples in turn, so a slow drift of a
    // shared machine spreads over all three instead of landing on one.
    let contenders: [(&str, &dyn Fn()); 3] = [
        ("sequential", &|| {
            for _ in 0..cpu_tasks {
                black_box(spin(rounds));
            }
        }),
        ("thread pool", &|| {
            let futures: Vec<_> =
                (0..cpu_tasks).map(|_| threads.submit(move || spin(rounds)).unwrap()).collect();
            futures.iter().for_each(|future| {
                black_box(*future.result().unwrap());
            });
        }),
        ("process pool", &|| {
            let futures: Vec<_> = (0..cpu_tasks).map(|_| processes.submit(Spin(rounds)).unwrap()).collect();
            futures.iter().for_each(|future| {
                black_box(*future.result().unwrap());
            });
        }),
    ];
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..samples {
        for (slot, (_, case)) in contenders.iter().enumerate() {
            times[slot].push(median(1, case));
        }
    }
    let medians = times.map(|mut samples| {
        samples.sort();
        samples[samples.len() / 2]
    });
    for ((name, _), time) in contenders.iter().zip(medians) {
        let speedup = format!("{:.2}×", medians[0].as_secs_f64() / time.as_secs_f64());
        row(&format!("{cpu_tasks} CPU-bound tasks, {name}"), time, speedup);
    }

    // 2. Overhead per task: empty tasks, all submitted, then all awaited.
    let noop_threads = median(samples, || {
        let futures: Vec<_> = (0..noops as u64).map(|n| threads.submit(move || n).unwrap()).collect();
        futures.iter().for_each(|future| {
            black_box(*future.result().unwrap());
        });
    });
    row(&format!("{noops} empty tasks, thread pool submit"), noop_threads, per_task(noop_threads, noops));
    let noop_processes = median(samples, || {
        let futures: Vec<_> = (0..noops as u64).map(|n| processes.submit(Noop(n)).unwrap()).collect();
        futures.iter().for_each(|future| {
            black_box(*future.result().unwrap());
        });
    });
    row(
        &format!("{noops} empty tasks, process pool submit"),
        noop_processes,
        per_task(noop_processes, noops),
    );
    for chunk in [1, 16, 256] {
        let mapped = median(samples, || {
            let options = MapOptions::new().chunksize(chunk);
            for value in processes.map_with((0..noops as u64).map(Noop), options).unwrap() {
                black_box(value.unwrap());
            }
        });
        row(
            &format!("{noops} empty tasks, process pool map chunksize {chunk}"),
            mapped,
            per_task(mapped, noops),
        );
    }

    // 3. Latency: one task at a time, submit then wait.
    let round_trip = median(samples, || {
        for n in 0..round_trips as u64 {
            black_box(*processes.submit(Noop(n)).unwrap().result().unwrap());
        }
    });
    row(&format!("{round_trips} round trips, process pool"), round_trip, per_task(round_trip, round_trips));
    let thread_trip = median(samples, || {
        for n in 0..round_trips as u64 {
            black_box(*threads.submit(move || n).unwrap().result().unwrap());
        }
    });
    row(&format!("{round_trips} round trips, thread pool"), thread_trip, per_task(thread_trip, round_trips));

    // 4. Cold start: build a pool, get one result (starts one child), shut down (reaps it).
    let cold = median(samples, || {
        let pool = ProcessPoolExecutor::new(1).unwrap();
        black_box(*pool.submit(Noop(1)).unwrap().result().unwrap());
    });
    row("cold start: new pool, first result, shutdown", cold, String::new());

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let mut report = String::new();
    let _ = writeln!(report, "# Process pool vs thread pool\n");
    let _ = writeln!(
        report,
        "`cargo bench --bench process_pool` (benches/process_pool.rs). {workers} workers in each pool \
         ({workers} CPUs available); one CPU-bound task is {} of xorshift ({rounds} rounds); median of \
         {samples} samples; {} build; load average at the end of the run: {load} (the CPU-bound rows \
         need a quiet machine).\n",
        ms(task_time),
        if cfg!(debug_assertions) { "debug" } else { "release" },
    );
    let _ = writeln!(report, "| case | median wall time | speed-up / per task |\n|---|---:|---:|");
    for (case, time, note) in &rows {
        let _ = writeln!(report, "| {case} | {time} | {note} |");
    }
    print!("{report}");
    if full {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results/process_pool.md");
        std::fs::write(path, report).expect("write results/process_pool.md");
        eprintln!("wrote {path}");
    }
}
