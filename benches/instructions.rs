//! Instructions per task, counted by callgrind: the per-task cost of the pool, free of the
//! machine's timing noise (papers/benchmarks.md, "Instruction counts").
//!
//! ```sh
//! cargo bench --bench instructions                 # measure, print, write results/instructions.csv
//! cargo bench --bench instructions -- --check      # measure, fail if a figure grew > 10%
//! ```
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--child") {
        let name = &args[at + 1];
        let size: usize = args[at + 2].parse().expect("a size");
        let workload = WORKLOADS.iter().find(|w| w.name == name).expect("a known workload");
        (workload.run)(size);
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
    let exe = std::env::current_exe().expect("the path of this binary");
    let previous = committed();
    let mut rows = Vec::new();
    let mut regressions = Vec::new();
    println!("| workload | Ir per unit | target | committed |");
    println!("|---|--:|--:|--:|");
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
        println!("| {} | {per_unit} per {} | {target} | {before_text} |", workload.name, workload.unit);
        if let Some(before) = before
            && workload.target.is_some()
            && per_unit * 10 > before * 11
        {
            regressions
                .push(format!("{}: {per_unit} Ir per {} > 1.1 × {before}", workload.name, workload.unit));
        }
        rows.push(format!("{},{},{per_unit}", workload.name, workload.unit));
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
    println!("written: results/instructions.csv");
}
