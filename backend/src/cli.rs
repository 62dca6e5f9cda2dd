//! The `bluetick` command: parse flags, set up logging, bind, serve until Ctrl-C or
//! SIGTERM. It lives in the library so the test suite can run the very same entry
//! point as a child process (and kill it).

use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::config::Config;

pub async fn main() -> ExitCode {
    let mut config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let listener = match TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bluetick: cannot listen on {}: {e}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        // Scripts and tests read this exact line to learn the port when started on :0.
        Ok(addr) => {
            println!("bluetick listening on http://{addr}/ (Ctrl-C to stop)");
            // Printed, never logged: whoever started the server is the instructor.
            let token = config.instructor_token.get_or_insert_with(new_instructor_token);
            println!("instructor page: http://{addr}/teach (instructor token: {token})");
        }
        Err(e) => eprintln!("bluetick: listening, but the address is unknown: {e}"),
    }

    match crate::run(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bluetick: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A fresh instructor token: 122 random bits, easy to copy.
fn new_instructor_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Ctrl-C, or SIGTERM from a supervisor or a test script.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
