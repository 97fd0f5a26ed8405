//! The binary: parse flags, set up logging, call into the library, map errors to exit codes.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kafka_security_exporter::app::{self, WebOptions};
use kafka_security_exporter::cli::{Cli, Command, GlobalArgs};
use kafka_security_exporter::config::{Config, ConfigErrors, WebConfig};
use kafka_security_exporter::replay::ReplayArgs;
use kafka_security_exporter::{demo, replay, shutdown, telemetry};

/// EX_USAGE from sysexits.h: the config (or a flag) is wrong.
const EXIT_CONFIG: u8 = 64;
/// EX_NOINPUT from sysexits.h: an input file is missing or unreadable.
const EXIT_NOINPUT: u8 = 66;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.global.log_level, cli.global.log_format);
    match cli.command {
        Command::CheckConfig { file } => check_config(&cli.global, &file),
        Command::Run { config, cluster } => run(&cli.global, &config, cluster),
        Command::Replay(args) => replay_files(&args),
        Command::Demo {
            rate,
            duration_secs,
        } => {
            let web = match web_options(&cli.global, &WebConfig::default()) {
                Ok(w) => w,
                Err(code) => return code,
            };
            let options = demo::DemoOptions {
                rate,
                duration: duration_secs.map(Duration::from_secs),
            };
            block_on(demo::run(web, options, shutdown::signal()))
        }
    }
}

fn check_config(flags: &GlobalArgs, file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(config) => {
            // The flag's web config file, checked like the config's own `web.config_file`.
            if let Err(code) = web_options(flags, &config.web) {
                return code;
            }
            let detectors = kafka_security_exporter::detect::Engine::new(&config.detectors)
                .detectors()
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>();
            println!(
                "{}: OK ({} source(s))",
                file.display(),
                config.sources.len()
            );
            if detectors.is_empty() {
                println!("detectors: off");
            } else {
                println!("detectors: {}", detectors.join(", "));
            }
            match &config.state_dir {
                Some(dir) => println!("state_dir: {}", dir.display()),
                None => println!("state_dir: none (detector memory is lost at restart)"),
            }
            ExitCode::SUCCESS
        }
        Err(problems) => config_problems(&problems),
    }
}

fn run(flags: &GlobalArgs, config: &Path, cluster: Option<String>) -> ExitCode {
    let mut config = match Config::load(config) {
        Ok(c) => c,
        Err(problems) => return config_problems(&problems),
    };
    if let Some(cluster) = cluster {
        config.metrics.cluster = Some(cluster);
        let problems = config.metrics.problems();
        if !problems.is_empty() {
            return config_problems(&ConfigErrors(
                problems
                    .into_iter()
                    .map(|p| p.replace("metrics.cluster", "--cluster"))
                    .collect(),
            ));
        }
    }
    match web_options(flags, &config.web) {
        Ok(web) => block_on(app::run(config, web, shutdown::signal())),
        Err(code) => code,
    }
}

fn replay_files(args: &ReplayArgs) -> ExitCode {
    let options = match replay::ReplayOptions::from_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match replay::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                replay::ReplayError::Config(_) => ExitCode::from(EXIT_CONFIG),
                replay::ReplayError::Output(_) | replay::ReplayError::Thread(_) => {
                    ExitCode::FAILURE
                }
                _ => ExitCode::from(EXIT_NOINPUT),
            }
        }
    }
}

/// Prints every problem of a config file: a usage error.
fn config_problems(problems: &ConfigErrors) -> ExitCode {
    eprintln!("{} problem(s) found:\n{problems}", problems.0.len());
    ExitCode::from(EXIT_CONFIG)
}

/// Where to serve HTTP; a bad flag or setting is a usage error.
fn web_options(flags: &GlobalArgs, config: &WebConfig) -> Result<WebOptions, ExitCode> {
    WebOptions::resolve(
        flags.web_listen_address.as_deref(),
        flags.web_telemetry_path.as_deref(),
        flags.web_config_file.as_deref(),
        config,
    )
    .map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_CONFIG)
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
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "Exporter failed.");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
