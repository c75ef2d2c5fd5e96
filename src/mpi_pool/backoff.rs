//! How an MPI thread waits: polling, first spinning, then with exponential back-off.
//!
//! MPI cannot wake a thread that waits on a channel, and a channel cannot wake a thread blocked
//! in MPI (whose blocking calls spin inside the library anyway). So each MPI thread alternates
//! a non-blocking probe (`MPI_Iprobe`) with a short wait on its channel (commands on rank 0,
//! finished tasks on a worker): a channel message wakes it at once, an MPI message is seen at
//! the next probe. Right after any activity the thread spins for [`SPIN_ROUNDS`] rounds
//! (yielding the core between probes), because the answer to what it just sent usually comes
//! within microseconds; then it sleeps [`FIRST_SLEEP`] for [`SHORT_SLEEPS`] rounds, then
//! doubling up to [`BUSY_SLEEP`] while tasks are out (a message is due) and up to [`MAX_SLEEP`]
//! when it holds no task. A process bound to one core never spins (see `may_spin`). So a
//! busy pool answers in microseconds, and an idle one costs about a thousand probes a second per
//! process. mpi4py.futures polls the same way (its `Backoff`, 1 ms cap), without the spin.

use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

/// Probes after activity before the first sleep. Picked, then checked with `benches/mpi.rs`:
/// yields cost about a microsecond each on an idle core, so this is a few hundred
/// microseconds of spinning, enough to catch the answer to a message just sent.
pub(crate) const SPIN_ROUNDS: u32 = 200;

/// The first sleep: about Linux's default timer slack (50 µs), below which a sleep is not
/// shorter anyway.
pub(crate) const FIRST_SLEEP: Duration = Duration::from_micros(50);

/// Sleeps of [`FIRST_SLEEP`] after the spinning rounds (or instead of them, where spinning is
/// not allowed), before the sleeps start doubling: about a millisecond of quick answers after
/// activity, as the next message usually follows within that.
pub(crate) const SHORT_SLEEPS: u32 = 20;

/// The longest sleep of an idle process (no task anywhere in its hands): the worst added latency
/// for new work (mpi4py.futures' cap).
pub(crate) const MAX_SLEEP: Duration = Duration::from_millis(1);

/// The longest sleep while tasks are out, so that an answer or a result is due: a report and
/// its answer must cross while a rank runs its queued tasks (measured with `benches/mpi.rs`: at
/// 1 ms, a rank with 0.2 ms tasks idled half the time). Costs about 10 000 probes a second.
pub(crate) const BUSY_SLEEP: Duration = Duration::from_micros(100);

/// The wait before the next probe.
pub(crate) struct Backoff {
    round: u32,
    sleep: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { round: 0, sleep: FIRST_SLEEP }
    }

    /// Something happened: spin again.
    pub(crate) fn reset(&mut self) {
        *self = Backoff::new();
    }

    /// The next wait: `None` while spinning (yield, then probe again), else a sleep.
    fn next_wait(&mut self) -> Option<Duration> {
        if self.round < SPIN_ROUNDS && may_spin() {
            self.round += 1;
            return None;
        }
        if self.round < SPIN_ROUNDS + SHORT_SLEEPS {
            self.round = self.round.max(SPIN_ROUNDS) + 1;
            return Some(FIRST_SLEEP);
        }
        let sleep = self.sleep;
        self.sleep = (sleep * 2).min(MAX_SLEEP);
        Some(sleep)
    }

    /// Waits for the next round on `channel`: returns early with a message from it. With
    /// `spin` false it sleeps even in the spinning rounds (the core has other work to do); with
    /// `busy` (a message is due soon) it sleeps at most [`BUSY_SLEEP`].
    pub(crate) fn wait_on<T>(
        &mut self,
        channel: &Receiver<T>,
        spin: bool,
        busy: bool,
    ) -> Result<T, RecvTimeoutError> {
        if !spin {
            self.round = self.round.max(SPIN_ROUNDS);
        }
        match self.next_wait().map(|sleep| if busy { sleep.min(BUSY_SLEEP) } else { sleep }) {
            None => {
                std::thread::yield_now();
                channel.try_recv().map_err(|error| match error {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                })
            }
            Some(sleep) => channel.recv_timeout(sleep),
        }
    }

    /// Waits for the next round, with no channel to watch.
    pub(crate) fn pause(&mut self) {
        match self.next_wait() {
            None => std::thread::yield_now(),
            Some(sleep) => std::thread::sleep(sleep),
        }
    }
}

/// Whether this process may spin: not when it is bound to a single core (`mpiexec` binds each
/// rank to one core when the ranks do not outnumber the cores), where a spinning thread takes the
/// core from the thread it waits for; yielding does not give it back soon enough under Linux's
/// CFS (measured with `benches/mpi.rs`: one worker rank bound to its core answered in
/// milliseconds instead of microseconds).
fn may_spin() -> bool {
    static MAY_SPIN: OnceLock<bool> = OnceLock::new();
    *MAY_SPIN.get_or_init(|| std::thread::available_parallelism().is_ok_and(|cores| cores.get() > 1))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn spins_then_doubles_up_to_the_cap_and_starts_over() {
        if !may_spin() {
            return; // a single core: no spinning rounds to check
        }
        let mut backoff = Backoff::new();
        for _ in 0..SPIN_ROUNDS {
            assert_eq!(backoff.next_wait(), None);
        }
        for _ in 0..SHORT_SLEEPS {
            assert_eq!(backoff.next_wait(), Some(FIRST_SLEEP));
        }
        assert_eq!(backoff.next_wait(), Some(FIRST_SLEEP));
        assert_eq!(backoff.next_wait(), Some(FIRST_SLEEP * 2));
        let waits: Vec<_> = (0..20).map(|_| backoff.next_wait().unwrap()).collect();
        assert_eq!(*waits.last().unwrap(), MAX_SLEEP);
        assert!(waits.windows(2).all(|pair| pair[0] <= pair[1]));
        backoff.reset();
        assert_eq!(backoff.next_wait(), None);
    }

    #[test]
    fn a_message_ends_the_wait() {
        if !may_spin() {
            return;
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        let mut backoff = Backoff::new();
        sender.send(7).unwrap();
        assert_eq!(backoff.wait_on(&receiver, true, false), Ok(7));
        assert_eq!(backoff.wait_on(&receiver, true, false), Err(RecvTimeoutError::Timeout));
        assert_eq!(backoff.wait_on(&receiver, false, true), Err(RecvTimeoutError::Timeout));
        assert_eq!(backoff.next_wait(), Some(FIRST_SLEEP), "not spinning skips to the sleeps");
        drop(sender);
        assert_eq!(backoff.wait_on(&receiver, true, true), Err(RecvTimeoutError::Disconnected));
    }
}
