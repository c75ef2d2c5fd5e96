//! How a process learns that `mpiexec` started it, and how it initialises MPI.
//!
//! # Rank detection
//!
//! Before MPI is initialised, the launcher's environment tells the rank: Open MPI sets
//! `OMPI_COMM_WORLD_RANK` and `OMPI_COMM_WORLD_SIZE`, MPICH's and Intel MPI's Hydra set
//! `PMI_RANK` and `PMI_SIZE`. A process counts as launched by MPI when one of these pairs is
//! present and the size is above 1; then [`run_if_worker`](crate::process_pool::run_if_worker)
//! initialises MPI (on a worker rank, on the main thread; on rank 0, on the pool's MPI thread),
//! and from then on MPI's own `MPI_Comm_rank` / `MPI_Comm_size` are authoritative: a
//! disagreement with the environment is an error. Initialising MPI only when the environment
//! says so keeps a program run without `mpiexec` (or with `-n 1`) free of MPI: it never starts an
//! MPI runtime it does not need.
//!
//! # Thread level
//!
//! All MPI calls of a process are made by one thread, the one that initialised MPI (the
//! worker's main thread; rank 0's MPI thread), so the pool asks for `MPI_THREAD_FUNNELED` and
//! needs nothing more. It checks what it gets: `MPI_THREAD_SINGLE` (an MPI library built
//! without thread support) is reported on standard error and the pool carries on, because its
//! MPI calls are funnelled through one thread anyway; only other threads existing at all goes
//! beyond that promise, and no common MPI library relies on it.

use mpi::Threading;
use mpi::environment::Universe;
use mpi::topology::Communicator;

/// `(rank, size)` from the launcher's environment, if an MPI launcher started this process.
pub(crate) fn launched() -> Option<(usize, usize)> {
    let pairs = [("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE")];
    pairs.iter().find_map(|(rank, size)| {
        let rank = std::env::var(rank).ok()?.parse().ok()?;
        let size = std::env::var(size).ok()?.parse().ok()?;
        Some((rank, size))
    })
}

/// Initialises MPI on the calling thread, which must then make every MPI call of the process.
/// Returns the universe (dropping it finalises MPI) and the rank and size of the world.
pub(crate) fn initialize() -> Result<(Universe, usize, usize), String> {
    let (universe, provided) = mpi::initialize_with_threading(Threading::Funneled)
        .ok_or("MPI was already initialised in this process by other code")?;
    if provided == Threading::Single {
        eprintln!(
            "stealpool: the MPI library provides only MPI_THREAD_SINGLE; the pool funnels every MPI \
             call through one thread and carries on"
        );
    }
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    if let Some(expected) = launched().filter(|&expected| expected != (rank, size)) {
        return Err(format!(
            "the launcher's environment says rank {} of {}, MPI says rank {rank} of {size}",
            expected.0, expected.1
        ));
    }
    Ok((universe, rank, size))
}
