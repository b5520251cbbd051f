//! The `jitaa` binary: everything happens in the command layer (`jitaa::main`, in src/commands/).

// mimalloc: `audit verify` and `audit export` allocate an object's bytes for every git
// object they read; measured 11-14 % less time than the system allocator at 1,000,000
// records (README, Benchmarks), for 40-110 MB more resident memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jitaa::main()
}
