//! The `jitaa` binary: everything happens in the command layer (`jitaa::commands`).

fn main() -> std::process::ExitCode {
    jitaa::commands::main()
}
