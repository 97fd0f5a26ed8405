//! The binary: parse flags, set up logging, call into the library, map errors to exit codes.
//!
//! Everything it prints goes through [`telemetry::Stream`], which never blocks and never panics
//! on a closed or full output; before it exits it waits for that output at most [`EXIT_FLUSH`].

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kafka_security_exporter::app::{self, WebOptions};
use kafka_security_exporter::cli::{Cli, Command, GlobalArgs};
use kafka_security_exporter::config::{Config, ConfigErrors, WebConfig};
use kafka_security_exporter::replay::ReplayArgs;
use kafka_security_exporter::telemetry::Stream;
use kafka_security_exporter::{build_info, demo, replay, shutdown, telemetry};
use tokio_util::sync::CancellationToken;

/// EX_USAGE from sysexits.h: the config (or a flag) is wrong.
const EXIT_CONFIG: u8 = 64;
/// EX_NOINPUT from sysexits.h: an input file is missing or unreadable.
const EXIT_NOINPUT: u8 = 66;

/// The longest the process waits for its queued output before it exits: a blocked stderr
/// loses its last lines (counted) rather than holding the exit.
const EXIT_FLUSH: Duration = Duration::from_secs(1);

/// The same when a second signal ends the process at once.
const FORCED_EXIT_FLUSH: Duration = Duration::from_millis(200);

/// How long the runtime waits at exit for blocking work still running (a librdkafka call on a
/// dead broker) after the app has stopped.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.global.log_level, cli.global.log_format);
    let code = command(cli);
    telemetry::flush(EXIT_FLUSH);
    code
}

fn command(cli: Cli) -> ExitCode {
    match cli.command {
        Command::CheckConfig { file } => check_config(&cli.global, &file),
        Command::Run { config, cluster } => run(&cli.global, &config, cluster),
        Command::Replay(args) => replay_files(&args),
        Command::Pseudonym {
            config,
            reverse,
            values,
        } => pseudonym(&config, reverse, &values),
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
            block_on(RUNTIME_SHUTDOWN, |stop| {
                demo::run(web, options, stop.cancelled_owned())
            })
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
            let out = Stream::Stdout;
            out.print(&format!(
                "{}: OK ({} source(s))",
                file.display(),
                config.sources.len()
            ));
            if detectors.is_empty() {
                out.print("detectors: off");
            } else {
                out.print(&format!("detectors: {}", detectors.join(", ")));
            }
            match &config.state_dir {
                Some(dir) => out.print(&format!("state_dir: {}", dir.display())),
                None => out.print("state_dir: none (detector memory is lost at restart)"),
            }
            let on = config.privacy.pseudonymize;
            let pseudonymized = [("principals", on.principals), ("addresses", on.addresses)]
                .into_iter()
                .filter_map(|(what, on)| on.then_some(what))
                .collect::<Vec<_>>();
            match (&config.privacy.key_id, pseudonymized.is_empty()) {
                (Some(id), false) => out.print(&format!(
                    "privacy: {} pseudonymized with key {id}",
                    pseudonymized.join(" and ")
                )),
                _ => out.print("privacy: off (principals and addresses as written)"),
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
    // Blocking work left over after the app stopped may hold the exit this long at most,
    // within the grace period.
    let leftover = RUNTIME_SHUTDOWN.min(Duration::from_secs(config.shutdown.grace_period_secs));
    match web_options(flags, &config.web) {
        Ok(web) => block_on(leftover, |stop| {
            app::run(config, web, stop.cancelled_owned())
        }),
        Err(code) => code,
    }
}

/// Prints the pseudonym of each value (or, with `reverse`, the address each stands for), or
/// every value's problem and nothing else.
fn pseudonym(file: &Path, reverse: bool, values: &[String]) -> ExitCode {
    let config = match Config::load(file) {
        Ok(c) => c,
        Err(problems) => return config_problems(&problems),
    };
    let keys = match config.privacy.keys() {
        Ok(k) => k,
        Err(problems) => {
            let at = |p: String| format!("{}: {p}", file.display());
            return config_problems(&ConfigErrors(problems.into_iter().map(at).collect()));
        }
    };
    let (answers, problems): (Vec<_>, Vec<_>) = values
        .iter()
        .map(|v| keys.lookup(v, reverse).map_err(|e| format!("`{v}`: {e}")))
        .partition(Result::is_ok);
    if !problems.is_empty() {
        for p in problems.into_iter().filter_map(Result::err) {
            Stream::Stderr.print(&format!("error: {p}"));
        }
        return ExitCode::from(EXIT_CONFIG);
    }
    for answer in answers.into_iter().filter_map(Result::ok) {
        Stream::Stdout.print(&answer);
    }
    ExitCode::SUCCESS
}

fn replay_files(args: &ReplayArgs) -> ExitCode {
    let options = match replay::ReplayOptions::from_args(args) {
        Ok(o) => o,
        Err(e) => {
            Stream::Stderr.print(&e.to_string());
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match replay::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            Stream::Stderr.print(&format!("error: {e}"));
            match e {
                replay::ReplayError::Config(_) | replay::ReplayError::Topic(_) => {
                    ExitCode::from(EXIT_CONFIG)
                }
                replay::ReplayError::Output(_)
                | replay::ReplayError::Thread(_)
                | replay::ReplayError::TopicIncomplete { .. } => ExitCode::FAILURE,
                _ => ExitCode::from(EXIT_NOINPUT),
            }
        }
    }
}

/// Prints every problem of a config file: a usage error.
fn config_problems(problems: &ConfigErrors) -> ExitCode {
    Stream::Stderr.print(&format!(
        "{} problem(s) found:\n{problems}",
        problems.0.len()
    ));
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
        Stream::Stderr.print(&e);
        ExitCode::from(EXIT_CONFIG)
    })
}

/// Runs `start(stop)` on a fresh runtime, `stop` being cancelled at the first SIGTERM or SIGINT
/// (a second one exits at once with 128 + its number). Signals are listened for before anything
/// starts, so one during startup stops the process too.
fn block_on<E: std::fmt::Display, F: std::future::Future<Output = Result<(), E>>>(
    leftover: Duration,
    start: impl FnOnce(CancellationToken) -> F,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kse-worker")
        .build()
    {
        Ok(r) => r,
        Err(error) => {
            Stream::Stderr.print(&format!("cannot start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let stop = shutdown::watch(|signal| {
            telemetry::flush(FORCED_EXIT_FLUSH);
            std::process::exit(i32::from(signal.exit_code()));
        });
        tracing::info!(version = build_info::VERSION, "Starting.");
        start(stop).await
    });
    // The app already bounded every shutdown step; a librdkafka call still blocked on a dead
    // broker must not keep the process alive.
    runtime.shutdown_timeout(leftover);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "Exporter failed.");
            Stream::Stderr.print(&format!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}
