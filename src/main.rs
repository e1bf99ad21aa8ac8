//! The `raftlab` executable; everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    raftlab::cli::main()
}
