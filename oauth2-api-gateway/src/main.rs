//! `oauth2-api-gateway`: protect any HTTP API with OAuth2 / OpenID Connect bearer tokens.
//!
//! - `demo [--port N]` (the default): an embedded issuer and a protected echo API, with
//!   ready-to-paste `curl` lines.
//! - `serve --config FILE [--check]`: run from a TOML file, in echo mode or as a reverse proxy.
//! - `token inspect|verify|mint`: look at, check, or make tokens.

mod config;
mod demo;
mod echo;
mod listener;
mod proxy;
mod server;
mod token_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "oauth2-api-gateway",
    version,
    about = "Protect any HTTP API with OAuth2 / OIDC bearer tokens"
)]
struct Cli {
    /// Log format: human-readable or JSON lines.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start an embedded issuer and a protected echo API on 127.0.0.1 (the default command).
    Demo {
        /// Port of the echo API.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Port of the browser demo page (another origin; default: the API's port + 1).
        #[arg(long)]
        page_port: Option<u16>,
    },
    /// Serve from a TOML config file (echo mode, or a reverse proxy with `upstream`).
    Serve {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Only check the config file, then exit.
        #[arg(long)]
        check: bool,
    },
    /// Token tools.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Demo {
            port: 8080,
            page_port: None,
        }) {
            Command::Demo { port, page_port } => demo::run(port, page_port).await,
            Command::Serve { config, check } => server::serve_file(&config, check).await,
            Command::Token(cmd) => token_cmd::run(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
