//! A child process watched by its own reaper thread: reaped the moment it exits, signalled
//! without the risk of hitting a reused pid.
//!
//! # Why a thread per child
//!
//! A driver thread waits on its child's socket, not on the child, and spends the time between
//! jobs parked in the inner thread pool. A child that died while idle would stay a zombie until
//! its driver's next job. So each child is handed, as it starts, to a small thread that blocks
//! in `waitid` until the child exits and reaps it at once; the driver reads the exit status
//! from here when it needs it (to describe a death, or when it retires the child).
//!
//! # Signals and pid reuse
//!
//! A pid can be reused as soon as its process is reaped, so `kill(pid)` from another thread
//! (`kill_workers`, a timeout) is only safe while the child is known not to be reaped yet. The
//! reaper first waits with `WNOWAIT` (the child is then a zombie and its pid still taken),
//! then takes the state lock, reaps, and records the status before it unlocks. A signal is sent
//! under the same lock and only while no status is recorded: it reaches this child or its
//! zombie, never a stranger.

use std::io;
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process, waitid};

/// The reaper thread's stack: it only waits.
const REAPER_STACK: usize = 64 * 1024;

/// A child process and its exit status, once it has exited.
pub(crate) struct Watched {
    pid: u32,
    /// `None` while the child runs; `Some(status)` once reaped (`Some(None)`: reaped, but the
    /// status could not be read).
    status: Mutex<Option<Option<ExitStatus>>>,
    exited: Condvar,
}

impl Watched {
    /// Hands `child` to a new reaper thread. If the thread cannot start, the child is killed
    /// and reaped here and the error returned.
    pub(crate) fn watch(mut child: Child) -> io::Result<Arc<Watched>> {
        let watched = Arc::new(Watched { pid: child.id(), status: Mutex::new(None), exited: Condvar::new() });
        let reaper_view = watched.clone();
        // The child goes to the thread only once it runs, so that it can still be killed here.
        let (give, take) = mpsc::sync_channel::<Child>(1);
        let spawned = std::thread::Builder::new()
            .name("stealpool-reaper".into())
            .stack_size(REAPER_STACK)
            .spawn(move || {
                if let Ok(child) = take.recv() {
                    reaper_view.reap(child);
                }
            });
        match spawned {
            Ok(_) => {
                let _ = give.send(child);
                Ok(watched)
            }
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error)
            }
        }
    }

    /// The reaper thread's body (see the module documentation).
    fn reap(&self, mut child: Child) {
        if let Some(pid) = Pid::from_raw(self.pid as i32) {
            // Until it has exited (it is then a zombie), or cannot be waited for this way (then
            // `wait` below decides).
            let exited = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
            while let Err(rustix::io::Errno::INTR) = waitid(WaitId::Pid(pid), exited) {}
        }
        let mut status = self.lock();
        *status = Some(child.wait().ok());
        drop(status);
        self.exited.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Option<Option<ExitStatus>>> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The child's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the child has exited and been reaped.
    pub(crate) fn has_exited(&self) -> bool {
        self.lock().is_some()
    }

    /// Sends `signal` unless the child has already been reaped; whether it was sent.
    pub(crate) fn signal(&self, signal: Signal) -> bool {
        let status = self.lock();
        let Some(pid) = Pid::from_raw(self.pid as i32) else { return false };
        status.is_none() && kill_process(pid, signal).is_ok()
    }

    /// Waits until the child has exited and been reaped; its exit status (`None` if it could
    /// not be read).
    pub(crate) fn wait(&self) -> Option<ExitStatus> {
        let mut status = self.lock();
        loop {
            if let Some(status) = *status {
                return status;
            }
            status = self.exited.wait(status).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Kills the child (a no-op once it has exited) and waits for it.
    ///
    /// Killing first makes the wait certain to end. It does not change the status of a child
    /// that had already begun to exit: its status is fixed before its socket closes.
    pub(crate) fn kill_and_wait(&self) -> Option<ExitStatus> {
        self.signal(Signal::KILL);
        self.wait()
    }

    /// The child's resident set size in bytes, from `/proc/<pid>/status` (`None` where there
    /// is no such file, or once the child is gone).
    pub(crate) fn resident_bytes(&self) -> Option<u64> {
        if self.has_exited() {
            return None; // the pid may belong to another process by now
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
        let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kib * 1024)
    }
}
