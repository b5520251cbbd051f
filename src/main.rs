//! The `jitaa` binary: everything happens in the command layer (`jitaa::main`, in src/commands/).

fn main() -> std::process::ExitCode {
    jitaa::main()
}
