//! What every loom model shares: how a model is checked, and how its broken twin is run.

use stealpool::loom_api::{Fault, inject};

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
///
/// Loom explores every interleaving with at most this many preemptions (switches away from a
/// thread that could have continued; a thread that blocks or yields switches for free). Every
/// bug of the broken twins needs one or two, and most concurrency bugs found in practice need
/// few (Musuvathi & Qadeer, "Iterative context bounding", PLDI 2007). Three keeps each model to
/// seconds.
pub const DEFAULT_PREEMPTIONS: usize = 3;

/// The least preemption bound a broken twin runs with: each twin's bug needs two preemptions at
/// most, so a lower `LOOM_MAX_PREEMPTIONS` must not make a twin miss it.
pub const TWIN_MIN_PREEMPTIONS: usize = 2;

/// Checks `model` under every interleaving loom explores (bounded by `LOOM_MAX_PREEMPTIONS`, or
/// [`DEFAULT_PREEMPTIONS`]), and reports on stderr how many executions that took (shown with
/// `--nocapture`).
#[allow(dead_code)]
pub fn check(model: impl Fn() + Sync + Send + 'static) {
    check_bounded(0, model);
}

/// Like [`check`], with the preemption bound capped at `max_preemptions`: for models whose
/// state space (several pool threads) makes the default bound take minutes.
#[allow(dead_code)]
pub fn check_capped(max_preemptions: usize, model: impl Fn() + Sync + Send + 'static) {
    check_between(0, max_preemptions, model);
}

fn check_bounded(min_preemptions: usize, model: impl Fn() + Sync + Send + 'static) {
    check_between(min_preemptions, usize::MAX, model);
}

fn check_between(min_preemptions: usize, max_preemptions: usize, model: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    let mut builder = loom::model::Builder::new();
    let bound =
        builder.preemption_bound.unwrap_or(DEFAULT_PREEMPTIONS).min(max_preemptions).max(min_preemptions);
    builder.preemption_bound = Some(bound);
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    builder.check({
        let executions = executions.clone();
        move || {
            executions.fetch_add(1, Relaxed);
            model();
        }
    });
    eprintln!(
        "{}: {} executions, preemption bound {bound}, {:.2?}",
        std::thread::current().name().unwrap_or("model"),
        executions.load(Relaxed),
        started.elapsed()
    );
}

/// Checks `model` with `fault` injected: the broken twin, which must panic.
#[allow(dead_code)]
pub fn check_broken(fault: Fault, model: impl Fn() + Sync + Send + 'static) {
    let _fault = inject(fault);
    check_bounded(TWIN_MIN_PREEMPTIONS, model);
}

/// Like [`check_broken`], with the bound capped at `max_preemptions` (at least
/// [`TWIN_MIN_PREEMPTIONS`]): for twins whose model's state space at the default bound is too
/// large for loom to reach the failure in reasonable time.
#[allow(dead_code)]
pub fn check_broken_capped(fault: Fault, max_preemptions: usize, model: impl Fn() + Sync + Send + 'static) {
    let _fault = inject(fault);
    check_between(TWIN_MIN_PREEMPTIONS, max_preemptions.max(TWIN_MIN_PREEMPTIONS), model);
}

/// Like [`check_broken`], for a fault with more than one symptom (which one loom meets first
/// depends on the preemption bound): if the model fails with a message containing one of
/// `symptoms`, panics with "loom found the fault: {message}"; any other failure passes through
/// unchanged, so it does not satisfy the twin's `should_panic`.
#[allow(dead_code)]
pub fn check_broken_any(fault: Fault, model: impl Fn() + Sync + Send + 'static, symptoms: &[&str]) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_broken(fault, model)));
    if let Err(payload) = outcome {
        let message = match (payload.downcast_ref::<String>(), payload.downcast_ref::<&str>()) {
            (Some(message), _) => message.clone(),
            (None, Some(message)) => message.to_string(),
            (None, None) => String::new(),
        };
        if symptoms.iter().any(|symptom| message.contains(symptom)) {
            panic!("loom found the fault: {message}");
        }
        std::panic::resume_unwind(payload);
    }
}

/// A pool owned by a model: dropped (shut down, its workers joined) when the model ends, but
/// leaked when the model is unwinding from a failure loom found. After a deadlock loom has no
/// thread left to run a shutdown on, and a panic while unwinding would abort the test binary
/// instead of reporting the failure.
#[allow(dead_code)]
pub struct ModelPool(Option<stealpool::ThreadPoolExecutor>);

#[allow(dead_code)]
impl ModelPool {
    /// A pool of `workers` threads on the default (work-stealing) scheduler.
    pub fn new(workers: usize) -> Self {
        Self::with_scheduler(workers, stealpool::SchedulerKind::WorkStealing)
    }

    /// A pool of `workers` threads on the scheduler `kind`.
    pub fn with_scheduler(workers: usize, kind: stealpool::SchedulerKind) -> Self {
        let pool = stealpool::ThreadPoolExecutor::builder().max_workers(workers).scheduler(kind).build();
        ModelPool(Some(pool.expect("a valid pool")))
    }
}

impl std::ops::Deref for ModelPool {
    type Target = stealpool::ThreadPoolExecutor;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for ModelPool {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::mem::forget(self.0.take());
        }
    }
}
