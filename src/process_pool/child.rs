//! The worker process: what [`run_if_worker`] turns a child into.
//!
//! # Life of a child
//!
//! 1. The parent starts the program's own executable with [`WORKER_ENV`] set and the path of
//!    a socket to connect to (see `channel.rs`: a private, close-on-exec channel that the
//!    task's own subprocesses never inherit). Standard input is `/dev/null`; standard output
//!    and error are inherited, so what a task prints shows up where the parent's output goes
//!    (as with CPython's workers).
//! 2. `main` calls [`run_if_worker`] first; seeing the marker, it never returns. It connects,
//!    reads the `Hello`, runs the initializer if there is one, and answers `Ready` (or
//!    `InitFailed`, then exits).
//! 3. A reader thread reads requests and hands them to the main thread, which runs each item
//!    and streams one reply per item. The reader exists so that the end of the stream is seen
//!    at once, even while a task runs: the parent closing the socket (shutdown, recycling) or
//!    dying (the kernel closes its end) makes the child exit immediately, so a child never
//!    outlives its pool, also without `PR_SET_PDEATHSIG`.
//! 4. With an idle timeout (`ProcessPoolBuilder::idle_timeout`, passed in [`IDLE_ENV`]), a
//!    child that waited that long for a request exits with status [`IDLE_EXIT`]. Only the main
//!    thread decides this, between requests, so a child that exits this way has not started
//!    any request since its last reply: a request the parent sent meanwhile was never run,
//!    and the parent, seeing that status, sends it again to a fresh child.

use std::io::{self, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::channel::connect_to_parent;
use super::protocol::{InitFailure, PROTOCOL_VERSION, Reply, Request, read_frame, write_frame};
use super::registry::{ItemFailure, ItemOutcome, Registry};

/// The environment variable that marks a child as a worker. Its value is
/// `<protocol version>:<pid of the pool's process>`: a process whose parent is not that pool
/// (a program that a task starts, which inherits the variable) is not a worker.
pub const WORKER_ENV: &str = "STEALPOOL_WORKER";

/// The environment variable carrying a child's idle timeout in milliseconds, when it has one.
pub(crate) const IDLE_ENV: &str = "STEALPOOL_WORKER_IDLE_MS";

/// The exit status of a child that ended because it was idle for its idle timeout.
/// (`EX_TEMPFAIL`: a task that ends its process with this status is taken for an idle exit,
/// and its job is sent once more; see `driver.rs`.)
pub(crate) const IDLE_EXIT: i32 = 75;

/// Set once this process has become a worker (to refuse building a pool inside one).
static IN_WORKER: AtomicBool = AtomicBool::new(false);

/// Whether this process was started as a worker of a process pool.
pub(crate) fn started_as_worker() -> bool {
    worker_marker_for(std::env::var(WORKER_ENV).ok().as_deref(), std::os::unix::process::parent_id())
}

/// The value of [`WORKER_ENV`] that a pool in process `pool_pid` gives its children.
pub(crate) fn worker_marker(pool_pid: u32) -> String {
    format!("{PROTOCOL_VERSION}:{pool_pid}")
}

/// Whether `marker` (the value of [`WORKER_ENV`], if set) names `parent` as the pool that
/// started this process.
fn worker_marker_for(marker: Option<&str>, parent: u32) -> bool {
    marker
        .and_then(|marker| marker.split_once(':'))
        .and_then(|(_, pid)| pid.parse::<u32>().ok())
        .is_some_and(|pool| pool == parent)
}

/// Whether [`run_if_worker`] turned this process into a worker (i.e. code is running in a task).
pub(crate) fn is_worker() -> bool {
    IN_WORKER.load(Ordering::Relaxed)
}

/// Turns this process into a worker if a process pool started it; otherwise returns at once.
///
/// Call it first thing in `main` (before parsing arguments or starting threads), with the
/// registry of every task type the program submits. In a worker it serves tasks until the pool
/// closes it, then exits the process: it never returns there.
///
/// ```no_run
/// # use stealpool::process_pool::Registry;
/// # fn registry() -> Registry { Registry::new() }
/// fn main() {
///     stealpool::process_pool::run_if_worker(&registry());
///     // ... the program proper: build a ProcessPoolExecutor and submit tasks.
/// }
/// ```
///
/// Test targets: the default test harness owns `main`, so put process-pool tests in a target
/// with `harness = false` whose `main` calls this first, then runs the tests.
///
/// With the `mpi` feature, the same call also turns ranks 1.. of an `mpiexec` launch into
/// workers of the `MpiPoolExecutor` (the `mpi_pool` module).
pub fn run_if_worker(registry: &Registry) {
    if !started_as_worker() {
        // Under `mpiexec`, a worker rank serves the MPI pool here and never returns; rank 0
        // starts its MPI thread (see `crate::mpi_pool`).
        #[cfg(feature = "mpi")]
        crate::mpi_pool::enter(registry);
        return;
    }
    IN_WORKER.store(true, Ordering::Relaxed);
    let code = match serve(registry) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("stealpool: worker process {}: {error}", std::process::id());
            2
        }
    };
    exit(code)
}

/// Ends the process; flushes standard output first (`process::exit` runs no destructors, and a
/// task may have printed a line that is still buffered).
fn exit(code: i32) -> ! {
    let _ = io::stdout().flush();
    std::process::exit(code)
}

/// The worker's life after the marker was seen (see the module documentation).
fn serve(registry: &Registry) -> io::Result<()> {
    let socket = connect_to_parent()?;
    let mut reader = BufReader::with_capacity(64 * 1024, socket.try_clone()?);
    let mut writer = socket;

    let Some(hello) = read_frame(&mut reader)? else { return Ok(()) };
    let (version, init) = match Request::decode(&hello) {
        Ok(Request::Hello { version, init }) => (version, init),
        Ok(other) => return Err(io::Error::other(format!("expected Hello, got {other:?}"))),
        Err(error) => return Err(io::Error::other(format!("malformed Hello: {error}"))),
    };
    if version != PROTOCOL_VERSION {
        let failure = InitFailure::Version(PROTOCOL_VERSION);
        return write_frame(&mut writer, &Reply::InitFailed(failure).encode()?);
    }
    if let Some((name, payload)) = init {
        let failure = match registry.run(name, payload) {
            ItemOutcome::Value(_) => None,
            ItemOutcome::Panicked(message) => Some(InitFailure::Panicked(message)),
            ItemOutcome::Failed(failure) => Some(InitFailure::Failed(failure)),
        };
        if let Some(failure) = failure {
            return write_frame(&mut writer, &Reply::InitFailed(failure).encode()?);
        }
    }
    write_frame(&mut writer, &Reply::Ready { pid: std::process::id() }.encode()?)?;

    // One request at a time is in flight (the parent waits for the replies), so a rendezvous
    // channel loses nothing.
    let (requests, incoming) = mpsc::sync_channel::<Vec<u8>>(0);
    std::thread::Builder::new().name("stealpool-worker-reader".into()).spawn(move || {
        loop {
            match read_frame(&mut reader) {
                Ok(Some(frame)) => {
                    if requests.send(frame).is_err() {
                        exit(2);
                    }
                }
                // The parent closed the pool, or died: nothing will ever be asked again.
                Ok(None) => exit(0),
                Err(error) => {
                    eprintln!("stealpool: worker process {}: reading a request: {error}", std::process::id());
                    exit(2)
                }
            }
        }
    })?;
    let idle = std::env::var(IDLE_ENV).ok().and_then(|ms| ms.parse().ok()).map(Duration::from_millis);
    loop {
        let frame = match idle {
            None => incoming.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some(idle) => incoming.recv_timeout(idle),
        };
        match frame {
            Ok(frame) => serve_request(registry, &frame, &mut writer)?,
            Err(mpsc::RecvTimeoutError::Timeout) => exit(IDLE_EXIT),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// Runs one request's items in order, streaming one reply per item.
fn serve_request(registry: &Registry, frame: &[u8], writer: &mut UnixStream) -> io::Result<()> {
    let (name, items) = match Request::decode(frame) {
        Ok(Request::Run { name, items }) => (name, items),
        Ok(other) => {
            let why = format!("unexpected request {other:?}");
            return write_frame(writer, &Reply::Fatal(&why).encode()?);
        }
        Err(error) => {
            let why = format!("the worker could not decode the request: {error}");
            return write_frame(writer, &Reply::Fatal(&why).encode()?);
        }
    };
    for payload in items {
        let reply = match registry.run(name, payload) {
            ItemOutcome::Value(bytes) => Reply::Value(&bytes).encode(),
            ItemOutcome::Panicked(message) => Reply::Panicked(&message).encode(),
            ItemOutcome::Failed(failure) => Reply::Failed(failure).encode(),
        };
        let frame = match reply {
            Ok(frame) => frame,
            Err(error) => Reply::Failed(ItemFailure::OutputUnencodable(error.to_string())).encode()?,
        };
        write_frame(writer, &frame)?;
    }
    Ok(())
}

#[cfg(test)]
mod marker_tests {
    use super::{worker_marker, worker_marker_for};

    #[test]
    fn only_the_pools_own_children_are_workers() {
        let marker = worker_marker(4242);
        assert!(worker_marker_for(Some(&marker), 4242));
        // A grandchild (started by a task) inherits the marker but has another parent.
        assert!(!worker_marker_for(Some(&marker), 777));
        assert!(!worker_marker_for(Some("1"), 4242));
        assert!(!worker_marker_for(None, 4242));
    }
}
