//! How an MPI thread waits: polling with exponential back-off.
//!
//! MPI cannot wake a thread that waits on a channel, and a channel cannot wake a thread blocked
//! in MPI (whose blocking calls spin inside the library anyway). So each MPI thread alternates
//! a non-blocking probe (`MPI_Iprobe`) with a short wait on its channel (commands on rank 0,
//! finished tasks on a worker): a channel message wakes it at once, an MPI message is seen at
//! the next probe. The wait doubles from [`FIRST_WAIT`] up to [`MAX_WAIT`] while nothing
//! happens and starts over after any activity, so a busy pool polls tightly and an idle one
//! costs about a thousand probes a second per process. mpi4py.futures polls the same way (its
//! `Backoff`, 1 ms cap).

use std::time::Duration;

/// The first wait after activity (picked, not measured: with doubling it reaches the cap in ten
/// idle rounds, about 2 ms after the last activity).
pub(crate) const FIRST_WAIT: Duration = Duration::from_micros(1);

/// The longest wait: the worst added latency for a message to an idle process (mpi4py.futures'
/// cap).
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(1);

/// The wait before the next probe.
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { next: Duration::ZERO }
    }

    /// Something happened: probe again at once.
    pub(crate) fn reset(&mut self) {
        self.next = Duration::ZERO;
    }

    /// How long to wait now (zero right after activity: just yield); doubles the next one.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = if wait.is_zero() { FIRST_WAIT } else { (wait * 2).min(MAX_WAIT) };
        wait
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_starts_over() {
        let mut backoff = Backoff::new();
        assert_eq!(backoff.next_wait(), Duration::ZERO);
        assert_eq!(backoff.next_wait(), FIRST_WAIT);
        assert_eq!(backoff.next_wait(), FIRST_WAIT * 2);
        let waits: Vec<_> = (0..20).map(|_| backoff.next_wait()).collect();
        assert_eq!(*waits.last().unwrap(), MAX_WAIT);
        assert!(waits.windows(2).all(|pair| pair[0] <= pair[1]));
        backoff.reset();
        assert_eq!(backoff.next_wait(), Duration::ZERO);
    }
}
