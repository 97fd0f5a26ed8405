//! The binary: parse flags, set up logging, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use kafka_security_exporter::app::{self, WebOptions};
use kafka_security_exporter::cli::{parse_utc_offset, Cli, Command, GlobalArgs, When};
use kafka_security_exporter::config::{Config, WebConfig};
use kafka_security_exporter::export::http::{
    parse_listen_address, DEFAULT_LISTEN_ADDRESS, DEFAULT_TELEMETRY_PATH,
};
use kafka_security_exporter::{demo, replay, shutdown, telemetry};

/// EX_USAGE from sysexits.h: the config (or a flag) is wrong.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.global.log_level, cli.global.log_format);
    match cli.command {
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(config) => {
                println!(
                    "{}: OK ({} source(s))",
                    file.display(),
                    config.sources.len()
                );
                ExitCode::SUCCESS
            }
            Err(problems) => {
                eprintln!("{} problem(s) found:\n{problems}", problems.0.len());
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Run { config } => {
            let config = match Config::load(&config) {
                Ok(c) => c,
                Err(problems) => {
                    eprintln!("{} problem(s) found:\n{problems}", problems.0.len());
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let web = match web_options(&cli.global, &config.web) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            block_on(app::run(config, web, shutdown::signal()))
        }
        Command::Replay {
            format,
            utc_offset,
            layout,
            config,
            top,
            progress,
            files,
        } => {
            let utc_offset_secs = match parse_utc_offset(&utc_offset) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("--utc-offset: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let layout = match layout
                .map(|l| kafka_security_exporter::parse::layout::Layout::for_kind(&l, format))
                .transpose()
            {
                Ok(l) => l.map(std::sync::Arc::new),
                Err(e) => {
                    eprintln!("--layout: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let (metrics, parsers) = match config.map(|c| Config::load(&c)) {
                None => Default::default(),
                Some(Ok(c)) => (c.metrics, c.parsers),
                Some(Err(problems)) => {
                    eprintln!("{} problem(s) found:\n{problems}", problems.0.len());
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let options = replay::ReplayOptions {
                inputs: files,
                kind: format,
                framer: kafka_security_exporter::parse::log4j::FramerConfig {
                    utc_offset_secs,
                    layout,
                    ..Default::default()
                },
                metrics,
                parsers,
                progress: match progress {
                    When::Always => true,
                    When::Never => false,
                    When::Auto => replay::stderr_is_terminal(),
                },
                top,
            };
            let start = std::time::Instant::now();
            match replay::replay(&options) {
                Ok((metrics, stats)) => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    if let Err(e) = out.write_all(&metrics.render()).and_then(|()| out.flush()) {
                        eprintln!("error: cannot write the exposition: {e}");
                        return ExitCode::FAILURE;
                    }
                    eprint!(
                        "{}",
                        replay::summary(&metrics, &stats, top, start.elapsed().as_secs_f64())
                    );
                    ExitCode::SUCCESS
                }
                Err(e @ replay::ReplayError::Config(_)) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_CONFIG)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(66) // EX_NOINPUT
                }
            }
        }
        Command::Demo {
            rate,
            duration_secs,
        } => {
            let web = match web_options(&cli.global, &WebConfig::default()) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let options = demo::DemoOptions {
                rate,
                duration: duration_secs.map(std::time::Duration::from_secs),
            };
            block_on(demo::run(web, options, shutdown::signal()))
        }
    }
}

/// Flags win over the config file, which wins over the defaults.
fn web_options(flags: &GlobalArgs, config: &WebConfig) -> Result<WebOptions, String> {
    let address = flags
        .web_listen_address
        .as_deref()
        .or(config.listen_address.as_deref())
        .unwrap_or(DEFAULT_LISTEN_ADDRESS);
    let listen_address =
        parse_listen_address(address).map_err(|e| format!("--web.listen-address: {e}"))?;
    let telemetry_path = flags
        .web_telemetry_path
        .clone()
        .or(config.telemetry_path.clone())
        .unwrap_or_else(|| DEFAULT_TELEMETRY_PATH.to_string());
    if !telemetry_path.starts_with('/') {
        return Err(format!(
            "--web.telemetry-path: `{telemetry_path}` must start with `/`"
        ));
    }
    Ok(WebOptions {
        listen_address,
        telemetry_path,
    })
}

fn block_on<E: std::fmt::Display>(
    fut: impl std::future::Future<Output = Result<(), E>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kse-worker")
        .build()
    {
        Ok(r) => r,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(fut);
    // The app already bounded every shutdown step; a librdkafka call still blocked on a dead
    // broker must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "Exporter failed.");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
