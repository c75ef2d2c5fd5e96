//! What both property suites share: the pool configurations they draw, the proptest
//! configuration (case count, where failures persist), a latch, and a panic hook that keeps the
//! planned panics of the tasks out of the test output.

// Each suite uses only part of this module.
#![allow(dead_code)]

use std::fmt;
use std::sync::{Condvar, Mutex, Once};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use stealpool::{LocalOrder, SchedulerKind, ThreadPoolExecutor};

/// How long a wait that the model says must end may take before the case fails as a hang.
/// Never a timing assertion: it only turns a lost wake-up into a failing case instead of a stuck
/// test run.
pub const LIVENESS: Duration = Duration::from_secs(10);

/// Every panic a task raises on purpose starts with this, so the hook can keep it quiet.
pub const PLANNED: &str = "planned";

/// The configuration of every property: `default_cases` cases unless `PROPTEST_CASES` says
/// otherwise, failures persisted in `proptests/proptest-regressions/<file>` (paths are relative
/// to the package root, where `cargo test` runs test binaries).
pub fn config(default_cases: u32, persistence: &'static str) -> Config {
    let cases =
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(persistence))),
        ..Config::default()
    }
}

/// Installs (once) a panic hook that stays silent for planned panics and defers to the default
/// hook for everything else, assertion failures included.
pub fn quiet_planned_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.starts_with(PLANNED) {
                default(info);
            }
        }));
    });
}

/// One pool configuration: scheduler, local order (work stealing only) and worker count.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PoolSpec {
    pub kind: SchedulerKind,
    pub order: LocalOrder,
    pub workers: usize,
}

impl fmt::Debug for PoolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SchedulerKind::SharedQueue => write!(f, "SharedQueue x{}", self.workers),
            _ => write!(f, "{:?}/{:?} x{}", self.kind, self.order, self.workers),
        }
    }
}

impl PoolSpec {
    pub fn build(&self) -> ThreadPoolExecutor {
        ThreadPoolExecutor::builder()
            .max_workers(self.workers)
            .scheduler(self.kind)
            .local_order(self.order)
            .build()
            .expect("1..=8 workers is a valid pool")
    }
}

/// Both schedulers (the scheduler is a parameter of every property, never a copy of it), both
/// local orders, 1 to 8 workers. Shrinks toward work stealing, LIFO, one worker.
pub fn pool_spec() -> impl Strategy<Value = PoolSpec> {
    let kind = prop_oneof![Just(SchedulerKind::WorkStealing), Just(SchedulerKind::SharedQueue)];
    let order = prop_oneof![Just(LocalOrder::Lifo), Just(LocalOrder::Fifo)];
    (kind, order, 1usize..=8).prop_map(|(kind, order, workers)| PoolSpec { kind, order, workers })
}

/// A one-shot gate that tasks block on until the test opens it.
#[derive(Default)]
pub struct Latch {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Latch {
    pub fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    pub fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
}

/// Runs `work` on another thread and gives up after [`LIVENESS`], so that a blocking call that
/// never returns fails the case (the stuck thread is leaked) instead of hanging the run.
pub fn bounded<R: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver.recv_timeout(LIVENESS).map_err(|_| format!("{what} did not return within {LIVENESS:?}"))
}
