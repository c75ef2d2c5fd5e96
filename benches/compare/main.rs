//! `cargo bench --bench compare`: stealpool against its peers, in one run, into `results/`.
//!
//! Modes (the report says which produced it):
//! - full (the default under `cargo bench`): 21 timed samples per cell after 3 warm-up runs;
//!   about 6 minutes on a 2-core machine (measured; the report states its own run time).
//! - quick (`STEALPOOL_BENCH=quick` or `-- --quick`): 5 samples per cell after 1 warm-up run,
//!   a tenth of the latency probes; about 1.5 minutes on a 2-core machine.
//! - test (`-- --test`, or any run without cargo's `--bench` flag, as `cargo test --benches`):
//!   every workload once at toy sizes, the report rendered into a temporary directory that is
//!   then removed; `results/` is not touched. This is what CI runs.
//!
//! `STEALPOOL_BENCH_WORKERS=1,2,4,8,16` sets the worker counts swept (default 1, 2, 4, 8).
//!
//! `STEALPOOL_BENCH_FILTER=<text>` keeps only the cells whose `contender/case` (e.g.
//! `stealpool-ws/nested-d16`) contains `<text>` (or one of its `|`-separated parts), and prints their medians to stderr instead of
//! writing `results/` (for profiling one cell, e.g. under `perf record`).
//!
//! Method: for each worker count, every contender is built once (threads started, then warmed
//! up by untimed runs); then, for each workload, the samples are taken round-robin over the
//! contenders (sample `s` starts at contender `s`), so slow drifts of the machine (another
//! process, thermal state) spread over all contenders instead of landing on one. Each sample is
//! the wall time of one whole workload instance (submit everything, wait for everything),
//! measured with `Instant` on the submitting thread. The report gives the median, the
//! inter-quartile range and min–max of the samples; see `papers/benchmarks.md`.

mod contenders;
mod report;
mod work;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::contenders::{Case, Contender, SPECS};
use crate::work::Work;

/// How much to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Test,
    Quick,
    Full,
}

/// The sizes and sample counts of one mode.
pub struct Plan {
    pub mode: Mode,
    pub workers: Vec<usize>,
    pub samples: usize,
    pub warmups: usize,
    pub burst_sizes: Vec<usize>,
    pub depths: Vec<u32>,
    pub imbalanced_n: usize,
    pub map_n: usize,
    pub as_completed_n: usize,
    pub idle_probes: usize,
    pub loaded_probes: usize,
    /// Pause before each idle probe, long enough for every pool's workers to go to sleep.
    pub idle_gap: Duration,
    /// Background tasks per worker queued ahead of each loaded probe, and their size.
    pub load_per_worker: usize,
    pub load_work: Work,
}

/// `STEALPOOL_BENCH_WORKERS=1,2,4,8,16`: the worker counts to sweep (default 1, 2, 4, 8), e.g. for a
/// scaling sweep on a machine with more cores. The report heads its comparisons with the largest count
/// that does not exceed the cores available.
fn workers_from_env() -> Option<Vec<usize>> {
    let text = std::env::var("STEALPOOL_BENCH_WORKERS").ok()?;
    let counts: Vec<usize> =
        text.split(',').filter_map(|count| count.trim().parse().ok()).filter(|&count| count > 0).collect();
    (!counts.is_empty()).then_some(counts)
}

impl Plan {
    fn new(mode: Mode) -> Plan {
        let (samples, warmups, idle_probes, loaded_probes) = match mode {
            Mode::Test => (1, 0, 5, 5),
            Mode::Quick => (5, 1, 500, 1_000),
            Mode::Full => (21, 3, 5_000, 10_000),
        };
        let toy = mode == Mode::Test;
        Plan {
            mode,
            workers: if toy { vec![1, 2] } else { workers_from_env().unwrap_or_else(|| vec![1, 2, 4, 8]) },
            samples,
            warmups,
            burst_sizes: if toy { vec![100] } else { vec![1_000, 10_000, 100_000] },
            depths: if toy { vec![4] } else { vec![12, 16] },
            imbalanced_n: if toy { 200 } else { 10_000 },
            map_n: if toy { 200 } else { 100_000 },
            as_completed_n: if toy { 100 } else { 10_000 },
            idle_probes,
            loaded_probes,
            idle_gap: Duration::from_micros(500),
            load_per_worker: 2,
            load_work: Work::micros(10.0),
        }
    }
}

/// One workload instance of the report.
pub struct CaseSpec {
    /// The report section it belongs to (a workload family).
    pub group: &'static str,
    /// Unique, file-name safe: `burst-1us-n100000`.
    pub id: String,
    /// The size, for table rows: `n = 100000`.
    pub param: String,
    /// Tasks one instance creates (for per-task overhead and throughput).
    pub tasks: usize,
    pub case: Case,
}

/// The samples of one (case, contender, worker count) cell, in nanoseconds.
pub struct Measured {
    pub case: usize,
    pub contender: usize,
    /// 0 for contenders whose worker count does not apply.
    pub workers: usize,
    pub samples: Vec<u64>,
}

/// The latency distributions of one contender at one worker count.
pub struct LatencyRun {
    pub contender: usize,
    pub workers: usize,
    pub loaded: bool,
    pub start: Histogram<u64>,
    pub result: Histogram<u64>,
}

/// Everything one run produced.
pub struct Run {
    pub plan: Plan,
    pub cases: Vec<CaseSpec>,
    pub measured: Vec<Measured>,
    /// (case, contender, reason) for the cells a contender refused.
    pub skipped: Vec<(usize, usize, &'static str)>,
    pub latency: Vec<LatencyRun>,
    pub iters_per_us: u64,
    pub elapsed: Duration,
    pub started_at: String,
}

fn cases(plan: &Plan) -> Vec<CaseSpec> {
    let micro = Work::micros(1.0);
    let mut cases = Vec::new();
    for (group, work) in [("burst-empty", Work::EMPTY), ("burst-1us", micro)] {
        for &n in &plan.burst_sizes {
            let id = format!("{group}-n{n}");
            cases.push(CaseSpec {
                group,
                id,
                param: format!("n = {n}"),
                tasks: n,
                case: Case::Burst { n, work },
            });
        }
    }
    for &depth in &plan.depths {
        cases.push(CaseSpec {
            group: "nested",
            id: format!("nested-d{depth}"),
            param: format!("depth = {depth}"),
            // Every node of the tree is a task (rayon's join makes half of them).
            tasks: (1 << (depth + 1)) - 1,
            case: Case::Nested { depth, work: micro },
        });
    }
    let n = plan.imbalanced_n;
    let heavy = Work { micros: 1.0, heavy_one_in: 100, heavy_factor: 100 };
    cases.push(CaseSpec {
        group: "imbalanced",
        id: format!("imbalanced-n{n}"),
        param: format!("n = {n}"),
        tasks: n,
        case: Case::Burst { n, work: heavy },
    });
    let n = plan.map_n;
    cases.push(CaseSpec {
        group: "map",
        id: format!("map-n{n}"),
        param: format!("n = {n}"),
        tasks: n,
        case: Case::Map { n, work: micro },
    });
    let n = plan.as_completed_n;
    cases.push(CaseSpec {
        group: "as-completed",
        id: format!("as-completed-n{n}"),
        param: format!("n = {n}"),
        tasks: n,
        case: Case::AsCompleted { n, work: micro },
    });
    cases
}

fn mode_from_args() -> Mode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    if has("--test") || !has("--bench") {
        // `cargo test --benches` runs the binary without `--bench`: a smoke run, as criterion does.
        Mode::Test
    } else if has("--quick") || std::env::var("STEALPOOL_BENCH").is_ok_and(|value| value == "quick") {
        Mode::Quick
    } else {
        Mode::Full
    }
}

fn fmt_elapsed(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The `STEALPOOL_BENCH_FILTER` text, if set (see the module documentation).
fn filter() -> Option<String> {
    std::env::var("STEALPOOL_BENCH_FILTER").ok().filter(|text| !text.is_empty())
}

/// Whether `cell` (`contender/case`) contains one of the `|`-separated parts of `filter`.
fn matches_filter(filter: &str, cell: &str) -> bool {
    filter.split('|').any(|part| cell.contains(part))
}

fn measure(plan: Plan) -> Run {
    let filter = filter();
    let selected = |contender: usize, case: &CaseSpec| {
        filter
            .as_ref()
            .is_none_or(|text| matches_filter(text, &format!("{}/{}", SPECS[contender].id, case.id)))
    };
    let start = Instant::now();
    let started_at = report::utc_now();
    let iters_per_us = work::calibrate();
    eprintln!("compare: {:?} mode; spin calibrated at {iters_per_us} iterations/µs", plan.mode);
    let cases = cases(&plan);
    let mut measured = Vec::new();
    let mut skipped = Vec::new();
    let mut latency = Vec::new();
    let total_cells = plan.workers.len() * cases.len();
    let mut cells_done = 0;

    for (round, &workers) in plan.workers.iter().enumerate() {
        // Contenders whose worker count does not apply run in the first round only.
        let built: Vec<(usize, Box<dyn Contender>)> = SPECS
            .iter()
            .enumerate()
            .filter(|(_, spec)| spec.scales || round == 0)
            .map(|(index, spec)| (index, (spec.build)(workers)))
            .collect();
        for (case_index, case) in cases.iter().enumerate() {
            let mut active: Vec<(usize, &dyn Contender, Vec<u64>)> = Vec::new();
            for (index, contender) in &built {
                if !selected(*index, case) {
                    continue;
                }
                match contender.supports(&case.case) {
                    Ok(()) => active.push((*index, contender.as_ref(), Vec::with_capacity(plan.samples))),
                    Err(reason) if round == 0 || SPECS[*index].scales => {
                        if !skipped.iter().any(|&(c, i, _)| c == case_index && i == *index) {
                            skipped.push((case_index, *index, reason));
                        }
                    }
                    Err(_) => {}
                }
            }
            for _ in 0..plan.warmups {
                for (_, contender, _) in &active {
                    contender.run(&case.case);
                }
            }
            for sample in 0..plan.samples {
                let count = active.len();
                for offset in 0..count {
                    let (_, contender, samples) = &mut active[(sample + offset) % count];
                    let begun = Instant::now();
                    contender.run(&case.case);
                    samples.push(work::nanos_since(begun));
                }
            }
            for (index, _, samples) in active {
                let workers = if SPECS[index].scales { workers } else { 0 };
                measured.push(Measured { case: case_index, contender: index, workers, samples });
            }
            cells_done += 1;
            eprintln!(
                "[{cells_done:>3}/{total_cells}] {:>8} workers={workers:<2} {:<24} {} contenders",
                fmt_elapsed(start.elapsed()),
                case.id,
                built.len()
            );
        }
        for (index, contender) in &built {
            if filter
                .as_ref()
                .is_some_and(|text| !matches_filter(text, &format!("{}/latency", SPECS[*index].id)))
            {
                continue;
            }
            for loaded in [false, true] {
                let (probes, background) = if loaded {
                    (plan.loaded_probes, plan.load_per_worker * workers)
                } else {
                    (plan.idle_probes, 0)
                };
                let mut start_hist = new_histogram();
                let mut result_hist = new_histogram();
                let mut supported = true;
                for _ in 0..probes {
                    if !loaded {
                        std::thread::sleep(plan.idle_gap);
                    }
                    match contender.probe(background, plan.load_work) {
                        Some((started, finished)) => {
                            start_hist.saturating_record(started.max(1));
                            result_hist.saturating_record(finished.max(1));
                        }
                        None => {
                            supported = false;
                            break;
                        }
                    }
                }
                if supported {
                    let workers = if SPECS[*index].scales { workers } else { 0 };
                    latency.push(LatencyRun {
                        contender: *index,
                        workers,
                        loaded,
                        start: start_hist,
                        result: result_hist,
                    });
                }
            }
        }
        eprintln!("          {:>8} workers={workers:<2} latency probes done", fmt_elapsed(start.elapsed()));
    }
    Run { plan, cases, measured, skipped, latency, iters_per_us, elapsed: start.elapsed(), started_at }
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns .. 100 s at 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

fn main() {
    let mode = mode_from_args();
    let run = measure(Plan::new(mode));
    if filter().is_some() {
        report::print_cells(&run);
        return;
    }
    let (directory, temporary) = match mode {
        Mode::Test => {
            (std::env::temp_dir().join(format!("stealpool-compare-test-{}", std::process::id())), true)
        }
        _ => (PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results"), false),
    };
    let written = report::write(&run, &directory)
        .unwrap_or_else(|error| panic!("could not write the report into {}: {error}", directory.display()));
    if temporary {
        std::fs::remove_dir_all(&directory).expect("remove the test mode's report");
        eprintln!("compare: test mode passed ({} files rendered and removed)", written);
    } else {
        eprintln!(
            "compare: done in {}; {} files in {} (open REPORT.md)",
            fmt_elapsed(run.elapsed),
            written,
            directory.display()
        );
    }
}
