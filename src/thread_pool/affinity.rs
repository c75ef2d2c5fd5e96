//! Optional CPU affinity for worker slots ([`ThreadPoolBuilder::pin_workers`]).
//!
//! With pinning on, the thread that holds worker slot `i` runs only on the `i`-th CPU of the
//! process's affinity mask (modulo its size), and so does a spare thread that takes slot `i` over
//! from a waiting task (the waiting thread may then run on any of the process's CPUs until it
//! takes a slot again). The kernel can then not leave two busy workers on one CPU while another
//! idles, which on a 2-CPU machine makes a burst 1.4–1.6× slower in a quarter to a third of the
//! bursts (`cargo bench --bench placement`, papers/stealpool.md §4.0). Linux only (through
//! `sched_setaffinity`); elsewhere the option is accepted and does nothing. Pinning is best
//! effort: a CPU the process may not use, or a refused call, leaves the thread unpinned.
//!
//! [`ThreadPoolBuilder::pin_workers`]: crate::ThreadPoolBuilder::pin_workers

/// The CPUs this process may run on, in increasing order (empty if unknown or not Linux).
#[cfg(target_os = "linux")]
pub(crate) fn allowed_cpus() -> Vec<usize> {
    use rustix::thread::{CpuSet, sched_getaffinity};
    match sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&cpu| set.is_set(cpu)).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

/// Restricts the calling thread to `cpus` (best effort: an error leaves it as it was).
#[cfg(target_os = "linux")]
pub(crate) fn allow_current_thread(cpus: &[usize]) {
    use rustix::thread::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    cpus.iter().for_each(|&cpu| set.set(cpu));
    let _ = sched_setaffinity(None, &set);
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn allow_current_thread(_cpus: &[usize]) {}
