//! Turns a [`Run`] into `REPORT.md`, SVG charts and raw CSV.
//!
//! Statistics: each cell's samples are sorted; the median is the middle sample (the mean of the
//! two middle ones for an even count), the quartiles are linearly interpolated (the "type 7"
//! estimator of R and NumPy), and min–max are the extremes. Ratios compare medians:
//! `vs naive = naive median / median` and `vs best peer = best peer's median / median`, so a
//! value above 1 means faster. Per-task overhead is `(median − inline median) / tasks`.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;

use hdrhistogram::Histogram;
use plotters::prelude::*;

use crate::contenders::{Role, SPECS};
use crate::{Measured, Mode, Run};

const FULL_COMMAND: &str = "cargo bench --bench compare";
const QUICK_COMMAND: &str = "STEALPOOL_BENCH=quick cargo bench --bench compare";

/// Percentiles of the latency tables.
const PERCENTILES: [(f64, &str); 4] = [(0.50, "p50"), (0.90, "p90"), (0.99, "p99"), (0.999, "p99.9")];

/// Section titles and what each workload does.
const GROUPS: &[(&str, &str, &str)] = &[
    (
        "burst-empty",
        "External burst, empty tasks",
        "`n` empty tasks submitted one by one from a thread outside the pool, then wait for all: \
         pure submission, hand-off and completion overhead.",
    ),
    (
        "burst-1us",
        "External burst, 1 µs tasks",
        "As above, each task spinning ~1 µs (a calibrated `black_box` loop).",
    ),
    (
        "nested",
        "Nested fan-out",
        "A binary tree of tasks spawned from tasks (2^(depth+1) − 1 nodes); leaves spin ~1 µs; \
         each inner node waits for its two children. The root is submitted from outside.",
    ),
    (
        "imbalanced",
        "Imbalanced burst",
        "An external burst of 1 µs tasks where 1% of the tasks, at fixed pseudo-random \
         positions, are 100× heavier (100 µs).",
    ),
    (
        "map",
        "Executor.map",
        "`map` over `0..n` with a 1 µs function, results consumed in input order. stealpool \
         only: no peer has per-item futures with ordered results.",
    ),
    (
        "as-completed",
        "as_completed",
        "`n` 1 µs submissions consumed in completion order (`as_completed`); tokio's closest \
         equivalent is `JoinSet::join_next`.",
    ),
];

fn command(mode: Mode) -> &'static str {
    match mode {
        Mode::Quick => QUICK_COMMAND,
        _ => FULL_COMMAND,
    }
}

/// `YYYY-MM-DD HH:MM UTC` (through `date`, which every supported platform has).
pub fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .unwrap_or_else(|| "unknown time".into())
}

/// Sorted-sample statistics of one cell.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    pub max: f64,
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    let fraction = position - low as f64;
    sorted[low] as f64 * (1.0 - fraction) + sorted[high] as f64 * fraction
}

fn summarize(samples: &[u64]) -> Summary {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    Summary {
        median: quantile(&sorted, 0.5),
        q1: quantile(&sorted, 0.25),
        q3: quantile(&sorted, 0.75),
        min: sorted[0] as f64,
        max: sorted[sorted.len() - 1] as f64,
    }
}

/// `1.23 ms`, `456 µs`, `78.9 ns`.
fn fmt_ns(ns: f64) -> String {
    let abs = ns.abs();
    if abs >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if abs >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if abs >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn id(contender: usize) -> &'static str {
    SPECS[contender].id
}

fn index_of(role_or_id: &str) -> Option<usize> {
    SPECS.iter().position(|spec| spec.id == role_or_id)
}

/// Lookups over a run's cells.
struct View<'a> {
    run: &'a Run,
    /// The worker count the headline comparisons use: the machine's cores, if measured.
    headline: usize,
}

impl<'a> View<'a> {
    fn new(run: &'a Run) -> View<'a> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let headline =
            run.plan.workers.iter().copied().filter(|&w| w <= cores).max().unwrap_or(run.plan.workers[0]);
        View { run, headline }
    }

    /// The cell of `contender` on `case` at `workers` (a non-scaling contender's one cell).
    fn cell(&self, case: usize, contender: usize, workers: usize) -> Option<&'a Measured> {
        self.run
            .measured
            .iter()
            .find(|m| m.case == case && m.contender == contender && (m.workers == workers || m.workers == 0))
    }

    fn median(&self, case: usize, contender: usize, workers: usize) -> Option<f64> {
        self.cell(case, contender, workers).map(|m| summarize(&m.samples).median)
    }

    fn naive(&self, case: usize, workers: usize) -> Option<f64> {
        let naive = SPECS.iter().position(|spec| spec.role == Role::Naive)?;
        self.median(case, naive, workers)
    }

    fn inline(&self, case: usize) -> Option<f64> {
        let limit = SPECS.iter().position(|spec| spec.role == Role::Limit)?;
        self.median(case, limit, 0)
    }

    /// The fastest peer's (id, median) at `workers`.
    fn best_peer(&self, case: usize, workers: usize) -> Option<(usize, f64)> {
        SPECS
            .iter()
            .enumerate()
            .filter(|(_, spec)| spec.role == Role::Peer)
            .filter_map(|(index, _)| Some((index, self.median(case, index, workers)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn cases_of(&self, group: &str) -> impl Iterator<Item = usize> + '_ {
        let group = group.to_string();
        self.run.cases.iter().enumerate().filter(move |(_, case)| case.group == group).map(|(index, _)| index)
    }

    /// The last (largest) case of a group.
    fn largest(&self, group: &str) -> Option<usize> {
        self.cases_of(group).last()
    }
}

fn machine() -> Vec<(&'static str, String)> {
    let read = |path: &str| fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split(':').nth(1))
        .map_or_else(|| "unknown".to_string(), |name| name.trim().to_string());
    let logical = cpuinfo.lines().filter(|line| line.starts_with("processor")).count();
    let os_release = read("/etc/os-release");
    let os = os_release
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map_or_else(|| std::env::consts::OS.to_string(), |name| name.trim_matches('"').to_string());
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map_or_else(|| "unknown".to_string(), |text| text.trim().to_string())
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let available = std::thread::available_parallelism().map_or(0, |n| n.get());
    vec![
        ("CPU", cpu),
        ("cores", format!("{available} available to the process ({logical} logical CPUs in /proc/cpuinfo)")),
        ("OS", format!("{os}, Linux {kernel}")),
        ("rustc", run(&rustc, &["-V"])),
        ("stealpool commit", run("git", &["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "--short", "HEAD"])),
    ]
}

/// Prints every measured cell's median and IQR (filtered runs, which write no report).
pub fn print_cells(run: &Run) {
    for m in &run.measured {
        let s = summarize(&m.samples);
        eprintln!(
            "{:>18} {:<24} workers={:<2} median {:>10}  IQR {}–{}  ({:.0} ns/task)",
            id(m.contender),
            run.cases[m.case].id,
            m.workers,
            fmt_ns(s.median),
            fmt_ns(s.q1),
            fmt_ns(s.q3),
            s.median / run.cases[m.case].tasks as f64
        );
    }
}

/// Writes the report into `directory` (created if needed); returns how many files it wrote.
pub fn write(run: &Run, directory: &Path) -> io::Result<usize> {
    fs::create_dir_all(directory)?;
    let view = View::new(run);
    let mut files = 0;
    let mut charts = Vec::new();
    for (index, case) in run.cases.iter().enumerate() {
        let name = format!("throughput-{}.svg", case.id);
        throughput_chart(&view, index, &directory.join(&name))?;
        charts.push((index, name));
        files += 1;
    }
    let mut latency_charts = Vec::new();
    for loaded in [false, true] {
        for metric in ["start", "result"] {
            let load = if loaded { "loaded" } else { "idle" };
            let name = format!("latency-cdf-{load}-{metric}.svg");
            if latency_chart(&view, loaded, metric, &directory.join(&name))? {
                latency_charts.push((format!("submit→{metric} latency, {load} pool"), name));
                files += 1;
            }
        }
    }
    fs::write(directory.join("samples.csv"), samples_csv(run))?;
    fs::write(directory.join("summary.csv"), summary_csv(&view))?;
    fs::write(directory.join("latency.csv"), latency_csv(run))?;
    fs::write(directory.join("REPORT.md"), markdown(&view, &charts, &latency_charts))?;
    Ok(files + 4)
}

fn markdown(view: &View, charts: &[(usize, String)], latency_charts: &[(String, String)]) -> String {
    let run = view.run;
    let cmd = command(run.plan.mode);
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# stealpool: performance comparison\n");
    let _ = writeln!(
        w,
        "Generated by `{cmd}` ({:?} mode: {} timed sample{} per cell after {} warm-up {}) on {}; \
         the run took {}. Every table, chart and CSV file here is regenerated by that command \
         (`{FULL_COMMAND}` for the full run, `{QUICK_COMMAND}` for the quick one). Method, \
         statistics and threats to validity: `papers/benchmarks.md`.\n",
        run.plan.mode,
        run.plan.samples,
        if run.plan.samples == 1 { "" } else { "s" },
        run.plan.warmups,
        if run.plan.warmups == 1 { "run" } else { "runs" },
        run.started_at,
        crate::fmt_elapsed(run.elapsed)
    );
    let _ = writeln!(w, "## Machine\n\n| | |\n|---|---|");
    for (key, value) in machine() {
        let _ = writeln!(w, "| {key} | {value} |");
    }
    let _ = writeln!(
        w,
        "| spin calibration | {} iterations ≈ 1 µs |\n| worker counts | {:?} (headline comparisons at {} = \
         the cores available) |\n",
        run.iters_per_us, run.plan.workers, view.headline
    );

    let _ = writeln!(w, "## Contenders\n\n| contender | role | configuration |\n|---|---|---|");
    for spec in SPECS {
        let role = match spec.role {
            Role::Ours => "stealpool",
            Role::Naive => "naive baseline",
            Role::Peer => "peer",
            Role::Limit => "sequential limit",
        };
        let _ = writeln!(
            w,
            "| `{}` | {role} | {} |",
            spec.id,
            spec.config.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    let _ = writeln!(
        w,
        "\nColumns of the workload tables: **median** of the per-sample wall times (one sample = one \
         whole instance: submit all, wait for all); **IQR** = inter-quartile range (q1–q3) and \
         **min–max** over the samples; **Mtasks/s** = tasks / median; **vs naive** = \
         `stealpool-shared` median / this median and **vs best peer** = the fastest peer's median \
         (threadpool, rayon, tokio, std-thread) at the same worker count / this median (above 1 = \
         faster); **overhead/task** = (median − inline median) / tasks, in ns (negative when \
         parallel speed-up outweighs the overhead; the 1-worker rows are the pure overhead). \
         Contenders without a worker count (inline, std-thread) are measured once, in the rows \
         marked `any`; their **vs naive** and **vs best peer** use the naive pool's and the best \
         peer's medians at the headline worker count ({}).\n",
        view.headline
    );

    targets(view, w);
    instruction_counts(w);
    hand_off(w);
    lifo_fifo(view, w);

    let _ = writeln!(w, "## Workloads\n");
    for &(group, title, description) in GROUPS {
        let cases: Vec<usize> = view.cases_of(group).collect();
        if cases.is_empty() {
            continue;
        }
        let _ = writeln!(w, "### {title}\n\n{description}\n");
        for case in cases {
            let spec = &run.cases[case];
            let _ = writeln!(w, "#### {title}, {}\n", spec.param);
            if let Some((_, chart)) = charts.iter().find(|(index, _)| *index == case) {
                let _ = writeln!(w, "![throughput vs workers, {}]({chart})\n", spec.id);
                let pools_only = if pools_only(spec) { POOLS_ONLY_NOTE } else { "" };
                let _ = writeln!(
                    w,
                    "*Figure: throughput vs workers ({}){pools_only}; regenerate with `{cmd}`.*\n",
                    spec.id
                );
            }
            case_table(view, case, w);
        }
    }

    latency_section(view, latency_charts, w);
    let _ = writeln!(
        w,
        "## Raw data\n\n- `samples.csv`: every timed sample (case, contender, workers, sample index, ns).\n\
         - `summary.csv`: the statistics of the tables above, one row per cell.\n\
         - `latency.csv`: the latency percentiles per contender, worker count, load and metric.\n\n\
         All regenerated by `{cmd}`."
    );
    md
}

fn case_table(view: &View, case: usize, w: &mut String) {
    let run = view.run;
    let tasks = run.cases[case].tasks as f64;
    let _ = writeln!(
        w,
        "| workers | contender | median | IQR | min–max | Mtasks/s | vs naive | vs best peer | overhead/task |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let inline = view.inline(case);
    let ratio = |reference: Option<f64>, median: f64| {
        reference.map_or("–".into(), |r| format!("{:.2}×", r / median))
    };
    let mut rows = Vec::new();
    for &workers in &run.plan.workers {
        for (contender, spec) in SPECS.iter().enumerate() {
            if spec.scales {
                rows.push((workers, contender, workers.to_string()));
            }
        }
    }
    for (contender, spec) in SPECS.iter().enumerate() {
        if !spec.scales {
            rows.push((view.headline, contender, "any".to_string()));
        }
    }
    for (workers, contender, label) in rows {
        let Some(cell) = view.cell(case, contender, workers) else { continue };
        let s = summarize(&cell.samples);
        let best = view.best_peer(case, workers);
        let overhead = inline.map_or("–".into(), |inline| format!("{:.0}", (s.median - inline) / tasks));
        let _ = writeln!(
            w,
            "| {label} | `{}` | {} | {}–{} | {}–{} | {:.2} | {} | {} | {} |",
            id(contender),
            fmt_ns(s.median),
            fmt_ns(s.q1),
            fmt_ns(s.q3),
            fmt_ns(s.min),
            fmt_ns(s.max),
            tasks / s.median * 1e3,
            ratio(view.naive(case, workers), s.median),
            ratio(best.map(|(_, m)| m), s.median),
            overhead,
        );
    }
    // Only the peers' refusals are news; stealpool's variants are refused by design.
    let skipped: Vec<_> = run
        .skipped
        .iter()
        .filter(|(c, contender, _)| *c == case && SPECS[*contender].role != Role::Ours)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(w);
        for (_, contender, reason) in skipped {
            let _ = writeln!(w, "- `{}` not run: {reason}.", id(*contender));
        }
    }
    let _ = writeln!(w);
}

/// The instruction counts of `cargo bench --bench instructions` (`results/instructions.md`),
/// which that bench regenerates (callgrind runs take minutes of their own, so this report
/// includes the last ones rather than measuring them).
fn instruction_counts(w: &mut String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/instructions.md");
    if let Ok(text) = std::fs::read_to_string(path) {
        let _ = writeln!(w, "## Instruction counts\n\n{}", text.trim_end());
        let _ = writeln!(w);
    }
}

/// The hand-off latency of `cargo bench --bench handoff` (`results/handoff.md`), which that
/// bench regenerates.
fn hand_off(w: &mut String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/handoff.md");
    if let Ok(text) = std::fs::read_to_string(path) {
        let _ = writeln!(w, "## Hand-off latency\n\n{}", text.trim_end());
        let _ = writeln!(w);
    }
}

fn targets(view: &View, w: &mut String) {
    let h = view.headline;
    let (Some(ws), Some(rayon)) = (index_of("stealpool-ws"), index_of("rayon")) else { return };
    let _ = writeln!(
        w,
        "## Targets\n\nWork stealing (`stealpool-ws`) against the goals the project set itself, at \
         {h} workers (the cores) unless stated.\n\n| target | workload | measured | met |\n|---|---|---:|:---:|"
    );
    let verdict = |ok: bool| if ok { "yes" } else { "**no**" };
    let mut speedup = |group: &str, goal: f64, contender: usize| {
        if let Some(case) = view.largest(group)
            && let (Some(naive), Some(mine)) = (view.naive(case, h), view.median(case, contender, h))
        {
            let x = naive / mine;
            let who = if contender == ws { String::new() } else { format!(" (`{}`)", id(contender)) };
            let _ = writeln!(
                w,
                "| ≥ {goal}× the naive pool{who} | {} | {x:.2}× | {} |",
                view.run.cases[case].id,
                verdict(x >= goal)
            );
        }
    };
    speedup("nested", 3.0, ws);
    if let Some(join) = index_of("stealpool-ws-join") {
        speedup("nested", 3.0, join);
    }
    speedup("burst-1us", 1.5, ws);
    speedup("burst-empty", 1.5, ws);
    for (case, spec) in view.run.cases.iter().enumerate() {
        if let (Some((peer, best)), Some(mine)) = (view.best_peer(case, h), view.median(case, ws, h)) {
            let behind = mine / best - 1.0;
            let _ = writeln!(
                w,
                "| not > 10% behind the best peer | {} (best: `{}`) | {:+.0}% time |  {} |",
                spec.id,
                id(peer),
                behind * 100.0,
                verdict(behind <= 0.10)
            );
        }
    }
    for group in ["burst-empty", "burst-1us", "nested"] {
        let Some(case) = view.largest(group) else { continue };
        let tasks = view.run.cases[case].tasks as f64;
        let (Some(inline), Some(mine), Some(theirs)) =
            (view.inline(case), view.median(case, ws, 1), view.median(case, rayon, 1))
        else {
            continue;
        };
        let (mine, theirs) = ((mine - inline) / tasks, (theirs - inline) / tasks);
        let _ = writeln!(
            w,
            "| overhead/task ≤ 2× rayon's (1 worker) | {} | {mine:.0} ns vs {theirs:.0} ns | {} |",
            view.run.cases[case].id,
            verdict(mine <= 2.0 * theirs.max(1.0))
        );
    }
    let _ = writeln!(w);
}

fn lifo_fifo(view: &View, w: &mut String) {
    let (Some(lifo), Some(fifo)) = (index_of("stealpool-ws"), index_of("stealpool-ws-fifo")) else { return };
    let _ = writeln!(
        w,
        "## Local deque order: LIFO vs FIFO\n\nThe work-stealing scheduler's own-deque order, chosen \
         by measurement: `stealpool-ws` (LIFO, newest first) against `stealpool-ws-fifo` (oldest \
         first); thieves take the other end in both. **FIFO/LIFO** = FIFO median / LIFO median \
         (above 1: LIFO faster); **IQRs overlap**: whether the two cells' inter-quartile ranges \
         overlap (if they do, the difference is within this run's noise).\n\n\
         | workload | workers | LIFO median | FIFO median | FIFO/LIFO | IQRs overlap |\n|---|---:|---:|---:|---:|:---:|"
    );
    let mut per_group: Vec<(&str, Vec<f64>)> = Vec::new();
    for group in ["burst-empty", "burst-1us", "nested"] {
        let mut ratios = Vec::new();
        for case in view.cases_of(group) {
            for &workers in &view.run.plan.workers {
                let (Some(l), Some(f)) = (view.cell(case, lifo, workers), view.cell(case, fifo, workers))
                else {
                    continue;
                };
                let (l, f) = (summarize(&l.samples), summarize(&f.samples));
                let overlap = l.q1 <= f.q3 && f.q1 <= l.q3;
                ratios.push(f.median / l.median);
                let _ = writeln!(
                    w,
                    "| {} | {workers} | {} | {} | {:.2} | {} |",
                    view.run.cases[case].id,
                    fmt_ns(l.median),
                    fmt_ns(f.median),
                    f.median / l.median,
                    if overlap { "yes" } else { "no" }
                );
            }
        }
        per_group.push((group, ratios));
    }
    let _ = writeln!(w, "\nGeometric mean of FIFO/LIFO per workload family:\n");
    for (group, ratios) in per_group {
        if ratios.is_empty() {
            continue;
        }
        let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let faster = ratios.iter().filter(|&&r| r > 1.0).count();
        let _ = writeln!(
            w,
            "- {group}: {geo:.3} (LIFO faster in {faster} of {} cells){}",
            ratios.len(),
            if geo > 1.02 {
                ": LIFO is ahead"
            } else if geo < 0.98 {
                ": FIFO is ahead"
            } else {
                ": within 2%, no measurable difference"
            }
        );
    }
    let _ = writeln!(w);
}

fn latency_section(view: &View, charts: &[(String, String)], w: &mut String) {
    let plan = &view.run.plan;
    let _ = writeln!(
        w,
        "## Latency\n\n**submit→start**: from just before `submit` to the first instruction of the \
         task; **submit→result**: until the submitting thread holds the result (each library's \
         own completion path: stealpool `Future::result`, tokio `block_on(JoinHandle)`, rayon and \
         threadpool an `mpsc` channel, std-thread `join`). **Idle**: {} probes, each after a \
         {} µs pause so that the workers have gone to sleep (the wake-up is part of the latency). \
         **Loaded**: {} probes, each submitted behind {} background tasks per worker of {} µs \
         (waited for after each probe). Distributions recorded in an HDR histogram (3 significant \
         digits).\n",
        plan.idle_probes,
        plan.idle_gap.as_micros(),
        plan.loaded_probes,
        plan.load_per_worker,
        plan.load_work.micros
    );
    for (what, name) in charts {
        let _ = writeln!(
            w,
            "![{what}]({name})\n\n*Figure: CDF of the {what}, {} workers ({name}); regenerate with `{}`.*\n",
            view.headline,
            command(plan.mode)
        );
    }
    let _ = writeln!(
        w,
        "| workers | contender | load | start p50 | p90 | p99 | p99.9 | result p50 | p90 | p99 | p99.9 | max |\n\
         |---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for run in &view.run.latency {
        let mut cells = Vec::new();
        for hist in [&run.start, &run.result] {
            for (q, _) in PERCENTILES {
                cells.push(fmt_ns(hist.value_at_quantile(q) as f64));
            }
        }
        let workers = if run.workers == 0 { "any".into() } else { run.workers.to_string() };
        let _ = writeln!(
            w,
            "| {workers} | `{}` | {} | {} | {} |",
            id(run.contender),
            if run.loaded { "loaded" } else { "idle" },
            cells.join(" | "),
            fmt_ns(run.result.max() as f64)
        );
    }
    let _ = writeln!(w, "\n`std-thread` has no pool to load; `inline` has no submission.\n");
}

fn samples_csv(run: &Run) -> String {
    let mut csv = String::from("case,group,param,tasks,contender,role,workers,sample,ns\n");
    for m in &run.measured {
        let case = &run.cases[m.case];
        for (sample, ns) in m.samples.iter().enumerate() {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{:?},{},{sample},{ns}",
                case.id,
                case.group,
                case.param,
                case.tasks,
                id(m.contender),
                SPECS[m.contender].role,
                m.workers
            );
        }
    }
    csv
}

fn summary_csv(view: &View) -> String {
    let mut csv = String::from(
        "case,contender,workers,samples,median_ns,q1_ns,q3_ns,min_ns,max_ns,tasks_per_s,vs_naive,vs_best_peer,overhead_ns_per_task\n",
    );
    for m in &view.run.measured {
        let s = summarize(&m.samples);
        let tasks = view.run.cases[m.case].tasks as f64;
        let at = if m.workers == 0 { view.headline } else { m.workers };
        let opt = |value: Option<f64>| value.map_or(String::new(), |v| format!("{v:.4}"));
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.0},{:.0},{:.0},{:.0},{:.0},{:.1},{},{},{}",
            view.run.cases[m.case].id,
            id(m.contender),
            m.workers,
            m.samples.len(),
            s.median,
            s.q1,
            s.q3,
            s.min,
            s.max,
            tasks / s.median * 1e9,
            opt(view.naive(m.case, at).map(|n| n / s.median)),
            opt(view.best_peer(m.case, at).map(|(_, b)| b / s.median)),
            opt(view.inline(m.case).map(|i| (s.median - i) / tasks)),
        );
    }
    csv
}

fn latency_csv(run: &Run) -> String {
    let mut csv = String::from("contender,workers,load,metric,count,p50_ns,p90_ns,p99_ns,p999_ns,max_ns\n");
    for l in &run.latency {
        for (metric, hist) in [("start", &l.start), ("result", &l.result)] {
            let percentiles: Vec<String> =
                PERCENTILES.iter().map(|(q, _)| hist.value_at_quantile(*q).to_string()).collect();
            let _ = writeln!(
                csv,
                "{},{},{},{metric},{},{},{}",
                id(l.contender),
                l.workers,
                if l.loaded { "loaded" } else { "idle" },
                hist.len(),
                percentiles.join(","),
                hist.max()
            );
        }
    }
    csv
}

// --- charts ----------------------------------------------------------------------------------

/// A fixed colour per contender, so each keeps its colour across charts.
fn colour(contender: usize) -> RGBColor {
    const PALETTE: [RGBColor; 9] = [
        RGBColor(0xd6, 0x27, 0x28),
        RGBColor(0xff, 0x7f, 0x0e),
        RGBColor(0x7f, 0x7f, 0x7f),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0x94, 0x67, 0xbd),
        RGBColor(0x8c, 0x56, 0x4b),
        RGBColor(0x17, 0xbe, 0xcf),
        RGBColor(0xbc, 0xbd, 0x22),
    ];
    PALETTE[contender % PALETTE.len()]
}

fn chart_error<E: std::fmt::Display>(error: E) -> io::Error {
    io::Error::other(error.to_string())
}

const SIZE: (u32, u32) = (820, 500);

/// Said under a chart drawn without the inline loop (see [`pools_only`]).
const POOLS_ONLY_NOTE: &str = ", pools only: the inline loop, hundreds of times faster on empty tasks, \
                               would flatten every pool to zero (its figure is in the table)";

/// Whether a case's chart leaves the inline loop out: on empty tasks the loop does no work at
/// all, and on a linear axis its throughput squashes every pool into the bottom row of pixels.
fn pools_only(case: &crate::CaseSpec) -> bool {
    case.group == "burst-empty"
}

/// Throughput (tasks per second, from the median) against the worker count, one line per contender.
fn throughput_chart(view: &View, case: usize, path: &Path) -> io::Result<()> {
    let run = view.run;
    let spec = &run.cases[case];
    let workers = &run.plan.workers;
    let (low, high) = (workers[0] as f64, *workers.last().expect("a worker count") as f64);
    let mut lines: Vec<(usize, Vec<(f64, f64)>)> = Vec::new();
    for (contender, contender_spec) in SPECS.iter().enumerate() {
        if pools_only(spec) && contender_spec.role == Role::Limit {
            continue;
        }
        let points: Vec<(f64, f64)> = workers
            .iter()
            .filter_map(|&w| Some((w as f64, spec.tasks as f64 / view.median(case, contender, w)? * 1e3)))
            .collect();
        if !points.is_empty() {
            lines.push((contender, points));
        }
    }
    let top = lines.iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).fold(0.0, f64::max) * 1.15;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let (plot, footer) = root.split_vertically(SIZE.1 - 24);
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            format!(
                "{}: throughput vs workers{}",
                spec.id,
                if pools_only(spec) { " (pools only, no inline loop)" } else { "" }
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d((low.max(0.9)..high.max(low + 1.0)).log_scale(), 0.0..top.max(1e-3))
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("million tasks / s (median)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(chart_error)?;
    for (contender, points) in lines {
        let colour = colour(contender);
        let points = if SPECS[contender].scales {
            points
        } else {
            vec![(low.max(0.9), points[0].1), (high.max(low + 1.0), points[0].1)]
        };
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(chart_error)?
            .label(id(contender))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        if SPECS[contender].scales {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(chart_error)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(chart_error)?;
    footer
        .draw_text(
            &format!("regenerate: {}   (results/{})", command(run.plan.mode), file_name(path)),
            &("sans-serif", 12).into_font().color(&BLACK.mix(0.7)),
            (12, 4),
        )
        .map_err(chart_error)?;
    root.present().map_err(chart_error)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}

/// The CDF of one latency metric at the headline worker count; false if nothing to draw.
fn latency_chart(view: &View, loaded: bool, metric: &str, path: &Path) -> io::Result<bool> {
    let runs: Vec<_> = view
        .run
        .latency
        .iter()
        .filter(|l| l.loaded == loaded && (l.workers == view.headline || l.workers == 0))
        .collect();
    if runs.is_empty() {
        return Ok(false);
    }
    let pick = |l: &crate::LatencyRun| -> Histogram<u64> {
        if metric == "start" { l.start.clone() } else { l.result.clone() }
    };
    let curves: Vec<(usize, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|l| {
            let hist = pick(l);
            let points = (0..=1000)
                .map(|i| f64::from(i) / 1000.0)
                .chain([0.9995, 0.9999, 1.0])
                .map(|q| ((hist.value_at_quantile(q) as f64 / 1e3).max(0.01), q * 100.0))
                .collect();
            (l.contender, points)
        })
        .collect();
    let all = curves.iter().flat_map(|(_, points)| points.iter().map(|p| p.0));
    let (min, max) = all.fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let (plot, footer) = root.split_vertically(SIZE.1 - 24);
    let load = if loaded { "loaded" } else { "idle" };
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            format!("submit→{metric} latency, {load} pool, {} workers", view.headline),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d((min * 0.8..max * 1.25).log_scale(), 0.0..100.0)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("latency, µs (log scale)")
        .y_desc("percentile")
        .draw()
        .map_err(chart_error)?;
    for (contender, points) in curves {
        let colour = colour(contender);
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(chart_error)?
            .label(id(contender))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(chart_error)?;
    footer
        .draw_text(
            &format!("regenerate: {}   (results/{})", command(view.run.plan.mode), file_name(path)),
            &("sans-serif", 12).into_font().color(&BLACK.mix(0.7)),
            (12, 4),
        )
        .map_err(chart_error)?;
    root.present().map_err(chart_error)?;
    Ok(true)
}
