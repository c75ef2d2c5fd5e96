//! `cargo bench --bench instructions`: instructions per task on glibc's allocator (see
//! `common.rs`).

mod common;

fn main() {
    common::main("glibc");
}
