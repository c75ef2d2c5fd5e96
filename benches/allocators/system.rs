//! `cargo bench --bench burst_system`: the external burst with glibc's allocator (the default).
//! See `common.rs`.

mod common;

fn main() {
    common::run("glibc");
}
