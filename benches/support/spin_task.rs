//! The CPU-bound task the process-pool and MPI-pool benches share (each includes this file with
//! `#[path]` and registers `Spin` in its own registry).

use std::hint::black_box;

use serde::{Deserialize, Serialize};
use stealpool::process_pool::Task;

/// CPU-bound work: `rounds` steps of xorshift.
pub fn spin(rounds: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ rounds;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// `spin` as a task of a process or MPI pool.
#[derive(Serialize, Deserialize)]
pub struct Spin(pub u64);

impl Task for Spin {
    type Output = u64;
    const NAME: &'static str = "bench::spin";
    fn run(self) -> u64 {
        spin(black_box(self.0))
    }
}
