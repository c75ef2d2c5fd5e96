//! `cargo bench --bench burst_mimalloc`: the external burst with mimalloc as the global allocator.
//! See `common.rs`.

mod common;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    common::run("mimalloc");
}
