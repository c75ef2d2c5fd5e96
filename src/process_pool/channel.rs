//! The private channel between the parent and one child: a Unix socket that the child connects
//! to in a fresh directory only this user can enter, checked on both sides with `SO_PEERCRED`.
//!
//! # The decision
//!
//! The channel must reach no process but the child: not another local user, and not the
//! processes a task starts. Standard input, the obvious choice, fails the second test: every
//! subprocess a task spawns inherits it, so a grandchild (`sleep 20`) keeps the socket open
//! after its worker is killed (the parent sees no end of stream until the grandchild exits)
//! and can read protocol frames. A socket pair passed at descriptor 3 would need `unsafe` code
//! twice (a `pre_exec` hook to place the descriptor, `from_raw_fd` in the child) and, in the
//! parent, a moment where the descriptor is not close-on-exec, when a process started by any
//! other thread of the program would inherit it. So the child connects to a named socket:
//!
//! 1. For each child, the parent makes a fresh directory, mode 0700, under the temporary
//!    directory. `mkdir` fails if the name exists, so nobody else can have prepared it, and only
//!    this user (and root) can reach what is inside.
//! 2. The parent listens on `worker.sock` in that directory and starts the child with the path
//!    in [`SOCKET_ENV`]. The child connects and checks that the listener belongs to its parent
//!    (`SO_PEERCRED` gives the pid that called `listen`).
//! 3. The parent accepts within the start deadline, drops any connection whose peer is not the
//!    pid it spawned, then closes the listener and removes the name and the directory: one
//!    connection per child, and nothing left on disk once the child is connected (a parent
//!    killed while a child starts leaves one empty directory behind).
//!
//! Sockets made by `std` are close-on-exec from the moment they exist (`SOCK_CLOEXEC`), in the
//! parent and in the child: no subprocess of either ever holds the channel, so the child's
//! death always reads as the end of the stream at once. A child's standard input is
//! `/dev/null`, as CPython's `multiprocessing` does (a task has no terminal to read from);
//! standard output and error are inherited.
//!
//! The parent's end, [`ParentEnd`], reads replies with a deadline (a task's timeout) by
//! setting the socket's receive timeout to the time left before each read.

use std::fs::DirBuilder;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::child::WORKER_ENV;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use super::protocol::write_frame;
use super::protocol::{FrameError, read_frame_limited};
use super::reaper::Watched;

/// The environment variable that tells a child where its parent listens.
pub(crate) const SOCKET_ENV: &str = "STEALPOOL_WORKER_SOCKET";

/// Longest temporary-directory path used for the sockets: a socket path and its terminating NUL
/// must fit in `sun_path` (104 bytes on the BSDs, 108 on Linux), with the names below the base
/// (`/stealpool-<pid>-<16 hex digits>/worker.sock`: 50 bytes with a 10-digit pid):
/// 104 - 1 - 50 = 53.
const MAX_BASE_LEN: usize = 53;

/// Where one child is expected to connect: a listening socket in a fresh private directory,
/// both removed on drop.
pub(crate) struct Rendezvous {
    listener: UnixListener,
    dir: PathBuf,
    path: PathBuf,
}

/// Why a child did not connect.
pub(crate) enum AcceptError {
    /// The deadline passed first.
    TimedOut,
    /// The child exited first.
    Exited,
    /// Accepting failed.
    Io(io::Error),
}

impl Rendezvous {
    /// Makes a fresh directory with mode 0700 and listens in it (see the module documentation).
    pub(crate) fn new() -> io::Result<Rendezvous> {
        let mut base = std::env::temp_dir();
        if base.as_os_str().len() > MAX_BASE_LEN {
            base = PathBuf::from("/tmp");
        }
        for _ in 0..16 {
            let dir = base.join(format!("stealpool-{}-{:016x}", std::process::id(), fastrand::u64(..)));
            match DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => {
                    return Err(io::Error::new(
                        error.kind(),
                        format!("could not create a private directory in {}: {error}", base.display()),
                    ));
                }
            }
            let path = dir.join("worker.sock");
            let listening = UnixListener::bind(&path).and_then(|listener| {
                listener.set_nonblocking(true)?;
                Ok(listener)
            });
            return match listening {
                Ok(listener) => Ok(Rendezvous { listener, dir, path }),
                Err(error) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    Err(error)
                }
            };
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "could not find a fresh name for a socket directory",
        ))
    }

    /// The path the child is to connect to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Waits until `child` connects, it exits, or `deadline` passes.
    pub(crate) fn accept(self, child: &Watched, deadline: Instant) -> Result<UnixStream, AcceptError> {
        let exit_notice = ExitNotice::new(child);
        loop {
            match self.listener.accept() {
                Ok((stream, _)) if peer_is(&stream, child.pid()) => {
                    stream.set_nonblocking(false).map_err(AcceptError::Io)?;
                    return Ok(stream);
                }
                Ok(_) => continue, // a stranger (same user, guessed the name): dropped
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(AcceptError::Io(error)),
            }
            // Checked after `accept`: a child that connected and then died is still accepted,
            // and its death is seen on the stream.
            if exit_notice.seen || child.has_exited() {
                return Err(AcceptError::Exited);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AcceptError::TimedOut);
            }
            exit_notice.wait(&self.listener, left).map_err(AcceptError::Io)?;
        }
    }
}

impl Drop for Rendezvous {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// What wakes the accept loop when the child exits before connecting: a pidfd on Linux, polled
/// with the listener; elsewhere, polling the listener in short slices.
struct ExitNotice {
    #[cfg(target_os = "linux")]
    pidfd: Option<std::os::fd::OwnedFd>,
    seen: bool,
}

impl ExitNotice {
    /// How long one poll lasts where a child's exit cannot be polled for.
    const SLICE: Duration = Duration::from_millis(10);

    fn new(child: &Watched) -> Self {
        #[cfg(target_os = "linux")]
        {
            use rustix::process::{Pid, PidfdFlags, pidfd_open};
            let pidfd =
                Pid::from_raw(child.pid() as i32).and_then(|pid| pidfd_open(pid, PidfdFlags::empty()).ok());
            ExitNotice { pidfd, seen: false }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = child;
            ExitNotice { seen: false }
        }
    }

    /// Waits at most `left` for a connection on `listener` or the child's exit.
    fn wait(&self, listener: &UnixListener, left: Duration) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        #[cfg(target_os = "linux")]
        let exit = self.pidfd.as_ref();
        #[cfg(not(target_os = "linux"))]
        let exit: Option<&UnixListener> = None;
        let slice = if exit.is_some() { left } else { left.min(Self::SLICE) };
        let timeout = Timespec::try_from(slice).unwrap_or(Timespec { tv_sec: i64::MAX, tv_nsec: 0 });
        let mut fds = vec![PollFd::new(listener, PollFlags::IN)];
        if let Some(exit) = exit {
            fds.push(PollFd::new(exit, PollFlags::IN));
        }
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// The child's side: connects to the socket its parent named and checks that the parent is
/// listening on it.
pub(crate) fn connect_to_parent() -> io::Result<UnixStream> {
    let path = std::env::var_os(SOCKET_ENV).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{WORKER_ENV} is set but {SOCKET_ENV} is not: this process was not started by a process pool"
            ),
        )
    })?;
    let stream = UnixStream::connect(&path).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!(
                "{WORKER_ENV} is set but the pool's socket {} cannot be reached ({error})",
                Path::new(&path).display()
            ),
        )
    })?;
    if !peer_is(&stream, std::os::unix::process::parent_id()) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the socket named by the environment does not belong to this process's parent",
        ));
    }
    Ok(stream)
}

/// Whether the process at the other end of `stream` is `pid` (`SO_PEERCRED`). Where the
/// credentials cannot be read this way, the private directory is the only protection.
fn peer_is(stream: &UnixStream, pid: u32) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::net::sockopt::socket_peercred(stream)
            .is_ok_and(|peer| peer.pid.as_raw_nonzero().get() as u32 == pid)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (stream, pid);
        true
    }
}

/// The parent's end of one child's channel: requests out, replies in, each read bounded by an
/// optional deadline.
pub(crate) struct ParentEnd {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// The receive timeout the socket has now (`None`: blocking).
    timeout_set: Option<Duration>,
    /// The deadline of the read in progress.
    deadline: Option<Instant>,
}

impl ParentEnd {
    pub(crate) fn new(stream: UnixStream) -> io::Result<Self> {
        let reader = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
        Ok(ParentEnd { reader, writer: stream, timeout_set: None, deadline: None })
    }

    /// Writes one complete frame. On Linux the bytes go out with `MSG_NOSIGNAL`: a write to a
    /// child that died fails with `EPIPE` (and the request is resent to a fresh child) instead
    /// of raising `SIGPIPE`, which kills the whole parent if the host program restored that
    /// signal's default action (Rust programs ignore it unless told otherwise).
    pub(crate) fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let mut rest = frame;
            while !rest.is_empty() {
                match rustix::net::send(&self.writer, rest, rustix::net::SendFlags::NOSIGNAL) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(sent) => rest = &rest[sent..],
                    Err(rustix::io::Errno::INTR) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            Ok(())
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        write_frame(&mut self.writer, frame)
    }

    /// Reads one frame of at most `max` bytes. A read still waiting at `deadline` fails with
    /// [`io::ErrorKind::TimedOut`].
    pub(crate) fn receive(
        &mut self,
        deadline: Option<Instant>,
        max: usize,
    ) -> Result<Option<Vec<u8>>, FrameError> {
        self.deadline = deadline;
        read_frame_limited(self, max)
    }

    /// Closes both directions: the child reads the end of the stream and exits.
    pub(crate) fn close(&self) {
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
    }
}

impl Read for ParentEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.reader.buffer().is_empty() {
            let wanted = match self.deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Err(io::ErrorKind::TimedOut.into()),
                },
            };
            if wanted != self.timeout_set {
                self.reader.get_ref().set_read_timeout(wanted)?;
                self.timeout_set = wanted;
            }
        }
        match self.reader.read(buf) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Err(io::ErrorKind::TimedOut.into()),
            other => other,
        }
    }
}
