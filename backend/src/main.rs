//! `bluetick`: the lab server. Everything it does is in the library; see `cli`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bluetick_backend::cli::main().await
}
