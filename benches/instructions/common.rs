//! Instructions per task, counted by callgrind: the per-task cost of the pool, free of the
//! machine's timing noise (papers/benchmarks.md, "Instruction counts").
//!
//! ```sh
//! cargo bench --bench instructions                 # measure, print, write results/instructions.csv
//! cargo bench --bench instructions -- --check      # measure, fail if a figure grew > 10%
//! cargo bench --bench instructions_mimalloc        # the same binary on mimalloc (printed only)
//! ```
//!
//! `instructions` runs on glibc's allocator (what a program gets by default), and its figures are
//! the committed ones and the ones CI gates on; `instructions_mimalloc` is the same code with
//! mimalloc as the global allocator, to show the allocator's share (papers/stealpool.md).
//!
//! Each workload runs twice under `valgrind --tool=callgrind`, at a small and a large size, in a
//! child process of this same binary (`--child WORKLOAD SIZE`). The difference of the two totals
//! divided by the difference of the sizes is the cost of one task (or one tree node): start-up,
//! thread creation and teardown cancel out. Every pool has one worker, so the counts do not
//! depend on how the two threads interleave beyond the brief spins of a waiter. Callgrind
//! repeats within about 1% for the same binary.
//!
//! Without cargo's `--bench` flag (as `cargo test --benches` runs it) each workload runs once,
//! natively, at a toy size, and nothing is written.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use stealpool::{PoolHandle, SchedulerKind, ThreadPoolExecutor};

#[path = "../support/machine.rs"]
mod machine;
use machine::machine;

/// One measured workload: a name, what is counted, the two sizes, and the target in Ir per unit.
struct Workload {
    name: &'static str,
    unit: &'static str,
    sizes: (usize, usize),
    run: fn(usize),
    /// The target this figure is held to (`None`: a peer, shown for comparison).
    target: Option<u64>,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "ws-external-burst",
        unit: "task",
        sizes: (2_000, 12_000),
        run: |n| external_burst(SchedulerKind::WorkStealing, n),
        target: Some(450),
    },
    Workload {
        name: "shared-external-burst",
        unit: "task",
        sizes: (2_000, 12_000),
        run: |n| external_burst(SchedulerKind::SharedQueue, n),
        target: None,
    },
    Workload {
        name: "ws-nested-submit-result",
        unit: "node",
        sizes: (9, 12),
        run: |depth| nested(SchedulerKind::WorkStealing, depth as u32),
        target: Some(300),
    },
    Workload {
        name: "shared-nested-submit-result",
        unit: "node",
        sizes: (9, 12),
        run: |depth| nested(SchedulerKind::SharedQueue, depth as u32),
        target: None,
    },
    Workload {
        name: "ws-join-tree",
        unit: "node",
        sizes: (9, 12),
        run: |depth| join_tree(SchedulerKind::WorkStealing, depth as u32),
        target: Some(120),
    },
    Workload {
        name: "threadpool-external-burst",
        unit: "task",
        sizes: (2_000, 12_000),
        run: threadpool_burst,
        target: None,
    },
    Workload {
        name: "rayon-spawn-burst",
        unit: "task",
        sizes: (2_000, 12_000),
        run: rayon_burst,
        target: None,
    },
    Workload { name: "rayon-join-tree", unit: "node", sizes: (9, 12), run: rayon_tree, target: None },
];

fn pool(scheduler: SchedulerKind) -> ThreadPoolExecutor {
    ThreadPoolExecutor::builder().max_workers(1).scheduler(scheduler).build().expect("a valid pool")
}

/// One outside thread submits `n` empty tasks, then waits for each in turn.
fn external_burst(scheduler: SchedulerKind, n: usize) {
    let pool = pool(scheduler);
    let futures: Vec<_> = (0..n).map(|i| pool.submit(move || i).expect("the pool is open")).collect();
    for future in &futures {
        std::hint::black_box(future.result().expect("an empty task cannot fail"));
    }
}

/// A binary tree of `2^(depth+1) - 1` tasks: each node submits both children and waits for them.
fn nested(scheduler: SchedulerKind, depth: u32) {
    fn node(handle: &PoolHandle, depth: u32) {
        if depth == 0 {
            return;
        }
        let children = [0, 1].map(|_| {
            let inner = handle.clone();
            handle.submit(move || node(&inner, depth - 1)).expect("the pool is open")
        });
        for child in &children {
            child.result().expect("a tree node does not fail");
        }
    }
    let pool = pool(scheduler);
    let handle = pool.handle();
    pool.submit(move || node(&handle, depth)).expect("the pool is open").result().expect("no failure");
}

/// The same tree written with `PoolHandle::join`: each node queues its second child and runs
/// the first itself (rayon's `join`).
fn join_tree(scheduler: SchedulerKind, depth: u32) {
    fn node(handle: &PoolHandle, depth: u32) {
        if depth == 0 {
            return;
        }
        handle.join(|| node(handle, depth - 1), || node(handle, depth - 1));
    }
    let pool = pool(scheduler);
    let handle = pool.handle();
    pool.submit(move || node(&handle, depth)).expect("the pool is open").result().expect("no failure");
}

/// A count-down latch for the peers that return nothing (as in `benches/compare`).
struct Latch {
    remaining: AtomicUsize,
    done: Mutex<bool>,
    signal: Condvar,
}

impl Latch {
    fn new(count: usize) -> Arc<Latch> {
        Arc::new(Latch {
            remaining: AtomicUsize::new(count),
            done: Mutex::new(false),
            signal: Condvar::new(),
        })
    }
    fn count_down(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.signal.notify_all();
        }
    }
    fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.signal.wait(done).unwrap();
        }
    }
}

fn threadpool_burst(n: usize) {
    let pool = threadpool::ThreadPool::new(1);
    let latch = Latch::new(n);
    for _ in 0..n {
        let latch = latch.clone();
        pool.execute(move || latch.count_down());
    }
    latch.wait();
}

fn rayon_burst(n: usize) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a rayon pool");
    let latch = Latch::new(n);
    for _ in 0..n {
        let latch = latch.clone();
        pool.spawn(move || latch.count_down());
    }
    latch.wait();
}

fn rayon_tree(depth: usize) {
    fn node(depth: usize) {
        if depth > 0 {
            rayon::join(|| node(depth - 1), || node(depth - 1));
        }
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a rayon pool");
    pool.install(|| node(depth));
}

/// Tasks (or tree nodes) a workload of `size` runs.
fn units(workload: &Workload, size: usize) -> usize {
    match workload.unit {
        "node" => (1 << (size + 1)) - 1,
        _ => size,
    }
}

/// Runs one workload under callgrind and returns the instructions it executed.
fn callgrind_total(exe: &Path, workload: &Workload, size: usize) -> Result<u64, String> {
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["--child", workload.name, &size.to_string()])
        .output()
        .map_err(|error| format!("cannot run valgrind ({error}); install it (apt-get install valgrind)"))?;
    if !output.status.success() {
        return Err(format!(
            "{} under callgrind failed: {}",
            workload.name,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|line| line.split_once("Collected :").and_then(|(_, count)| count.trim().parse().ok()))
        .ok_or_else(|| format!("no 'Collected' line in callgrind's output:\n{stderr}"))
}

/// The process's peak resident set (`VmHWM` of /proc/self/status), in KiB.
fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `workload` at `size` natively and returns its peak resident set in KiB (the median of
/// three runs).
fn peak_memory(exe: &Path, workload: &str, size: usize) -> u64 {
    let mut peaks: Vec<u64> = (0..3)
        .map(|_| {
            let output = Command::new(exe)
                .args(["--child", workload, &size.to_string(), "--peak-memory"])
                .output()
                .expect("this binary runs");
            String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0)
        })
        .collect();
    peaks.sort();
    peaks[1]
}

fn results_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("results").join("instructions.csv")
}

/// The committed figures: workload name -> Ir per unit.
fn committed() -> Vec<(String, u64)> {
    let Ok(text) = std::fs::read_to_string(results_file()) else { return Vec::new() };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',');
            let name = fields.next()?.to_owned();
            let _unit = fields.next()?;
            Some((name, fields.next()?.parse().ok()?))
        })
        .collect()
}

/// The entry point of both bench binaries; `allocator` names the global allocator.
pub fn main(allocator: &str) {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--child") {
        let name = &args[at + 1];
        let size: usize = args[at + 2].parse().expect("a size");
        let workload = WORKLOADS.iter().find(|w| w.name == name).expect("a known workload");
        (workload.run)(size);
        if args.iter().any(|arg| arg == "--peak-memory") {
            println!("{}", peak_resident_kib());
        }
        return;
    }
    if !args.iter().any(|arg| arg == "--bench") {
        // Test mode: each workload once, natively, small.
        for workload in WORKLOADS {
            (workload.run)(workload.sizes.0.min(64));
        }
        return;
    }
    let check = args.iter().any(|arg| arg == "--check");
    let record = allocator == "glibc";
    println!("allocator: {allocator}");
    let exe = std::env::current_exe().expect("the path of this binary");
    let previous = committed();
    let mut rows = Vec::new();
    let mut regressions = Vec::new();
    let mut table = vec![
        "| workload | Ir per unit | target | met | previous record |".to_owned(),
        "|---|--:|--:|:-:|--:|".to_owned(),
    ];
    println!("{}\n{}", table[0], table[1]);
    for workload in WORKLOADS {
        let (small, large) = workload.sizes;
        let totals = callgrind_total(&exe, workload, small)
            .and_then(|low| Ok((low, callgrind_total(&exe, workload, large)?)));
        let (low, high) = match totals {
            Ok(totals) => totals,
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(2);
            }
        };
        let per_unit = high.saturating_sub(low) / (units(workload, large) - units(workload, small)) as u64;
        let before = previous.iter().find(|(name, _)| name == workload.name).map(|(_, ir)| *ir);
        let target = workload.target.map_or("peer".to_owned(), |t| format!("≤ {t}"));
        let before_text = before.map_or("-".to_owned(), |ir| ir.to_string());
        let met = match workload.target {
            Some(target) if per_unit <= target => "yes",
            Some(_) => "**no**",
            None => "",
        };
        let line = format!(
            "| {} | {per_unit} per {} | {target} | {met} | {before_text} |",
            workload.name, workload.unit
        );
        println!("{line}");
        table.push(line);
        // Gated: the figures with a target. The others are for comparison; the shared queue's and
        // the peers' counts move by several percent between runs (their waits spin for as long
        // as the other thread takes, which callgrind's thread scheduling varies).
        if let Some(before) = before
            && workload.target.is_some()
            && per_unit * 10 > before * 11
        {
            regressions
                .push(format!("{}: {per_unit} Ir per {} > 1.1 × {before}", workload.name, workload.unit));
        }
        rows.push(format!("{},{},{per_unit}", workload.name, workload.unit));
    }
    if !record {
        return;
    }
    if check {
        if regressions.is_empty() {
            println!("no figure grew by more than 10% over results/instructions.csv");
            return;
        }
        eprintln!("instruction counts grew by more than 10%:\n  {}", regressions.join("\n  "));
        std::process::exit(1);
    }
    let csv = format!("workload,unit,ir_per_unit\n{}\n", rows.join("\n"));
    std::fs::write(results_file(), csv).expect("results/ is writable");
    let (ws, shared, rayon) = (
        peak_memory(&exe, "ws-nested-submit-result", 16),
        peak_memory(&exe, "shared-nested-submit-result", 16),
        peak_memory(&exe, "rayon-join-tree", 16),
    );
    let mut markdown = String::new();
    markdown.push_str(&format!(
        "Instructions per task (or tree node) counted by callgrind, 1 worker, empty tasks, glibc's \
         allocator; the difference of two sizes, so start-up cancels out. Regenerate with `cargo bench \
         --bench instructions` (CI runs it with `-- --check`, failing if a figure with a target grows \
         by more than 10%). Machine: {}.\n\n",
        machine()
    ));
    markdown.push_str(&table.join("\n"));
    markdown.push_str(&format!(
        "\n\nPeak resident memory of the depth-16 tree (131 071 nodes) on 1 worker, median of 3 runs: \
         work stealing {ws} KiB, shared queue {shared} KiB, rayon's `join` {rayon} KiB (target: within \
         2x rayon's: {}).\n",
        if ws <= 2 * rayon { "met" } else { "not met" }
    ));
    std::fs::write(results_file().with_extension("md"), markdown).expect("results/ is writable");
    println!("written: results/instructions.csv, results/instructions.md");
}
