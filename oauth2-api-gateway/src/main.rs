//! `oauth2-api-gateway`: protect any HTTP API with OAuth2 / OpenID Connect bearer tokens.
//!
//! - `demo [--port N]` (the default): an embedded issuer and a protected echo API, with
//!   ready-to-paste `curl` lines.
//! - `serve --config FILE [--check]`: run from a TOML file, in echo mode or as a reverse proxy.
//! - `token inspect|verify|mint`: look at, check, or make tokens.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
#[cfg(feature = "dev-tools")]
use oauth2_api_gateway::{demo, token_cmd};

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
    #[cfg(feature = "dev-tools")]
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
    #[cfg(feature = "dev-tools")]
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
    let result = match cli.command {
        // Outside any runtime: checking a file starts nothing (no key fetch).
        Some(Command::Serve {
            config,
            check: true,
        }) => oauth2_api_gateway::check_file(&config),
        command => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(dispatch(command)),
            Err(e) => Err(format!("cannot start the runtime: {e}")),
        },
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Option<Command>) -> Result<ExitCode, String> {
    match command {
        Some(Command::Serve { config, .. }) => oauth2_api_gateway::serve_file(&config).await,
        #[cfg(feature = "dev-tools")]
        Some(Command::Demo { port, page_port }) => demo::run(port, page_port).await,
        #[cfg(feature = "dev-tools")]
        None => demo::run(8080, None).await,
        #[cfg(feature = "dev-tools")]
        Some(Command::Token(cmd)) => token_cmd::run(cmd).await,
        #[cfg(not(feature = "dev-tools"))]
        None => Err("no command: use `serve --config FILE` (this build has no `demo`)".to_owned()),
    }
}
