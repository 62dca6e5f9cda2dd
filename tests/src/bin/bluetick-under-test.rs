//! The `bluetick` server's own entry point, built inside the test crate so that tests can
//! run it as a child process (`CARGO_BIN_EXE_bluetick-under-test`), signal it and kill it.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bluetick_backend::cli::main().await
}
