//! `oauth2-api-gateway`: protect any HTTP API with OAuth2 / OpenID Connect bearer tokens.
//!
//! - `demo [--port N]` (the default): an embedded issuer and a protected echo API, with
//!   ready-to-paste `curl` lines.
//! - `serve --config FILE [--check]`: run from a TOML file, in echo mode or as a reverse proxy.
//! - `token inspect|verify|mint`: look at, check, or make tokens.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
#[cfg(feature = "dev-tools")]
use oauth2_api_gateway::{demo, token_cmd};

#[derive(Debug, Parser)]
#[command(
    name = "oauth2-api-gateway",
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
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `oauth2-api-gateway man > oauth2-api-gateway.1`.
    Man,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a complete, commented configuration that `serve --check` accepts.
    Example,
}

/// `--version`: the version and the features of this build.
fn version() -> &'static str {
    let features = oauth2_api_gateway::enabled_features();
    let text = format!(
        "{} (features: {})",
        env!("CARGO_PKG_VERSION"),
        if features.is_empty() {
            "none".to_owned()
        } else {
            features.join(", ")
        }
    );
    Box::leak(text.into_boxed_str())
}

/// The command line, with the version text of this build.
fn command() -> clap::Command {
    Cli::command().version(version())
}

/// Commands that only print something and need neither logging nor a runtime.
fn print_only(chosen: &Option<Command>) -> Option<ExitCode> {
    match chosen {
        Some(Command::Config(ConfigCommand::Example)) => {
            print!("{}", oauth2_api_gateway::EXAMPLE_CONFIG);
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                *shell,
                &mut command(),
                "oauth2-api-gateway",
                &mut std::io::stdout(),
            );
        }
        Some(Command::Man) => {
            if let Err(e) = clap_mangen::Man::new(command()).render(&mut std::io::stdout()) {
                eprintln!("error: {e}");
                return Some(ExitCode::FAILURE);
            }
        }
        _ => return None,
    }
    Some(ExitCode::SUCCESS)
}

/// What must live until the end of `main` (the OTLP exporter flushes when dropped).
#[cfg(feature = "otlp")]
type LoggingGuard = Option<oauth2_api_gateway::telemetry::OtlpGuard>;
#[cfg(not(feature = "otlp"))]
type LoggingGuard = ();

/// Logs to stderr (human or JSON lines), plus, with a `[telemetry]` section in the config
/// file of `serve`, spans exported over OTLP.
fn init_logging(
    format: LogFormat,
    telemetry: Option<&oauth2_api_gateway::telemetry::Telemetry>,
) -> Result<LoggingGuard, String> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal: never in a file or a pipe, nor with NO_COLOR.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    let fmt = match format {
        LogFormat::Human => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    let registry = tracing_subscriber::registry().with(fmt.with_filter(filter));
    #[cfg(feature = "otlp")]
    {
        let Some(telemetry) = telemetry else {
            registry.init();
            return Ok(None);
        };
        let (layer, guard) = oauth2_api_gateway::telemetry::otlp_layer(telemetry)?;
        registry.with(layer).init();
        Ok(Some(guard))
    }
    #[cfg(not(feature = "otlp"))]
    {
        // The config check refuses a `[telemetry]` section in a build without `otlp`.
        let _ = telemetry;
        registry.init();
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(code) = print_only(&cli.command) {
        return code;
    }
    let telemetry = match &cli.command {
        Some(Command::Serve {
            config,
            check: false,
        }) => match oauth2_api_gateway::telemetry::read_telemetry(config) {
            Ok(t) => t,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let _guard = match init_logging(cli.log_format, telemetry.as_ref()) {
        Ok(guard) => guard,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
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
        // Answered by `print_only` before the runtime starts.
        Some(Command::Config(_) | Command::Completions { .. } | Command::Man) => {
            Ok(ExitCode::SUCCESS)
        }
    }
}
