//! `cargo bench --bench instructions_mimalloc`: the instruction counts of `instructions` with
//! mimalloc as the global allocator (see `common.rs`).

mod common;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    common::main("mimalloc");
}
