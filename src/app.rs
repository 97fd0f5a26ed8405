//! Wiring: builds the metric state, the pipeline, the detectors, the sources and the HTTP
//! endpoint from a [`Config`], and shuts them down in order: stop intake, drain and commit, save
//! the detector state, flush OTLP, then stop HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock;
use crate::config::{Config, SourceConfig, WebConfig};
use crate::detect::{self, Engine};
use crate::export::guard::{self, WebGuard};
use crate::export::http::{self, HttpState, DEFAULT_LISTEN_ADDRESS, DEFAULT_TELEMETRY_PATH};
use crate::health::Health;
use crate::metrics::internal::{DetectorStateFailed, InternalEvent};
use crate::metrics::Metrics;
use crate::otel::{self, Otel};
use crate::output::EventTopic;
use crate::parse::Parsers;
use crate::pipeline::Pipeline;
use crate::sources::kafka::KafkaSourceConfig;
use crate::sources::{SourceDeps, SourceError};
use crate::state::{self, StateStore};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration:\n{0}")]
    Config(String),
    #[error("cannot listen on {address}: {error}")]
    Listen {
        address: SocketAddr,
        error: std::io::Error,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("cannot build the metric registry: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot set up OTLP export: {0}")]
    Otlp(#[from] otel::transport::ClientError),
    /// The detector state file exists but cannot be read or is not one: starting would forget
    /// (and later overwrite) what the detectors learnt. Move or fix the file named.
    #[error("cannot load the detector state: {0} (move the file away to start without it)")]
    DetectorState(#[from] detect::StateError),
    /// The output topic's producer cannot be created (`output.kafka`).
    #[error("output.kafka: {0}")]
    Output(String),
    #[error("cannot start the detector thread: {0}")]
    DetectorThread(std::io::Error),
    /// The web config file cannot be loaded: serving without the protection it asks for is not
    /// an option.
    #[error("cannot load the web config file {path}:\n{problems}")]
    WebConfig {
        path: std::path::PathBuf,
        problems: String,
    },
    /// The state snapshot exists but cannot be read or is damaged: starting without it would
    /// count again, or from 0. Move or fix the file named.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// Another process holds `state_dir` (see [`state::lock`]).
    #[error(transparent)]
    StateLock(#[from] state::lock::LockError),
    #[error("cannot create state_dir {path}: {error}")]
    StateDir {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
}

/// How often the detectors see the wall clock pass (silent logs, closing anomaly intervals,
/// folded log-injection reports) and their overflow counts reach the metrics.
pub const DETECTOR_TICK: Duration = Duration::from_secs(10);

/// How often the detector state is saved (and once more at shutdown).
pub const DETECTOR_SAVE: Duration = Duration::from_secs(60);

/// How long startup waits for the Kafka cluster id that names the `cluster` label.
pub const CLUSTER_ID_TIMEOUT: Duration = Duration::from_secs(3);

/// How long each ask for the cluster id waits before checking whether startup was abandoned.
const CLUSTER_ID_SLICE: Duration = Duration::from_millis(100);

/// Sets its flag when dropped: tells blocking work that its caller is gone.
struct SetOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The label value when no cluster is configured and none could be asked.
pub const DEFAULT_CLUSTER: &str = "default";

/// Where to serve HTTP (from flags, else the config file, else defaults).
#[derive(Debug, Clone)]
pub struct WebOptions {
    pub listen_address: SocketAddr,
    pub telemetry_path: String,
    /// The exporter-toolkit web config file (TLS, basic auth, headers), if any.
    pub config_file: Option<std::path::PathBuf>,
    /// `/healthz` and `/readyz` without authentication.
    pub open_probes: bool,
}

impl WebOptions {
    /// The `--web.*` flags win over the config file's `web:` section, which wins over the
    /// defaults. The error names the flag; a web config file that cannot be loaded is an error
    /// listing all its problems.
    pub fn resolve(
        listen_address_flag: Option<&str>,
        telemetry_path_flag: Option<&str>,
        config_file_flag: Option<&std::path::Path>,
        config: &WebConfig,
    ) -> Result<WebOptions, String> {
        let address = listen_address_flag
            .or(config.listen_address.as_deref())
            .unwrap_or(DEFAULT_LISTEN_ADDRESS);
        let listen_address = http::parse_listen_address(address)
            .map_err(|e| format!("--web.listen-address: {e}"))?;
        let telemetry_path = telemetry_path_flag
            .or(config.telemetry_path.as_deref())
            .unwrap_or(DEFAULT_TELEMETRY_PATH)
            .to_string();
        if !telemetry_path.starts_with('/') {
            return Err(format!(
                "--web.telemetry-path: `{telemetry_path}` must start with `/`"
            ));
        }
        let (config_file, at) = match config_file_flag {
            Some(f) => (Some(f.to_path_buf()), "--web.config.file"),
            None => (config.config_file.clone(), "web.config_file"),
        };
        if let Some(file) = &config_file {
            if let Err(problems) = crate::export::web_config::load(file) {
                return Err(problems
                    .iter()
                    .map(|p| format!("{at} `{}`: {p}", file.display()))
                    .collect::<Vec<_>>()
                    .join("\n"));
            }
        }
        Ok(WebOptions {
            listen_address,
            telemetry_path,
            config_file,
            open_probes: config.open_probes.unwrap_or(true),
        })
    }
}

/// A running exporter.
pub struct App {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub pipeline: Arc<Pipeline>,
    local_addr: SocketAddr,
    sources: TaskTracker,
    sources_stop: CancellationToken,
    http: TaskTracker,
    http_stop: CancellationToken,
    otel: Option<Otel>,
    /// The normalized event topic, flushed after the sources and detectors stopped.
    output: Option<Arc<EventTopic>>,
    detectors: TaskTracker,
    detectors_stop: CancellationToken,
    /// The state snapshot (`state_dir` with `state.counters`) and its periodic task.
    state: Option<Arc<StateStore>>,
    state_task: TaskTracker,
    state_stop: CancellationToken,
    grace: Duration,
    /// This process's hold on `state_dir`, let go when the app is dropped after its shutdown.
    _state_lock: Option<state::lock::DirLock>,
}

impl App {
    /// Binds the HTTP endpoint and starts every source.
    pub async fn start(config: &Config, web: &WebOptions) -> Result<App, StartError> {
        let state_lock = lock_state_dir(config)?;
        let state_dir = config.state_dir.as_ref().filter(|_| config.state.counters);
        let loaded = load_state(state_dir, config).await?;
        let mut metrics_config = config.metrics.clone();
        if metrics_config.cluster.is_none() {
            metrics_config.cluster = Some(cluster_label(config, loaded.as_ref()).await);
        }
        let metrics = Arc::new(Metrics::new(&metrics_config)?);
        let engine = detector_engine(config)?;
        let parsers =
            Parsers::new(&config.parsers).map_err(|p| StartError::Config(p.join("\n")))?;
        let grace = Duration::from_secs(config.shutdown.grace_period_secs);
        let otel = match otel::settings::resolve(&config.otlp, &otel::settings::ProcessEnv)
            .map_err(|p| StartError::Config(p.join("\n")))?
        {
            Some(settings) => {
                let group_ids = config
                    .sources
                    .iter()
                    .filter_map(|s| Some((s.name().to_string(), s.group_id()?.to_string())))
                    .collect();
                Some(Otel::start(settings, metrics.clone(), group_ids, grace)?)
            }
            None => None,
        };
        let (pipeline, output) = build_pipeline(config, parsers, &metrics, engine, otel.as_ref())?;
        let health = Arc::new(Health::new(metrics.clone()));
        let state = state_dir.map(|dir| {
            let cluster = metrics_config.cluster.clone();
            StateStore::open(
                dir,
                &config.state,
                cluster,
                metrics.clone(),
                health.clone(),
                loaded,
            )
        });
        let guard = web_guard(web)?;
        let (listener, local_addr) = bind(web.listen_address).await?;

        let sources = TaskTracker::new();
        let sources_stop = CancellationToken::new();
        let deps = SourceDeps {
            pipeline: pipeline.clone(),
            health: health.clone(),
            state: state.clone(),
        };
        for config in &config.sources {
            let source = config.start(&deps)?;
            sources.spawn(source.run(sources_stop.clone(), grace));
        }
        sources.close();

        let http = TaskTracker::new();
        let http_stop = CancellationToken::new();
        let (state_task, state_stop) = (TaskTracker::new(), CancellationToken::new());
        if let Some(s) = &state {
            state_task.spawn(s.clone().run(state_stop.clone()));
        }
        state_task.close();
        let http_state = Arc::new(HttpState {
            metrics: metrics.clone(),
            health: health.clone(),
            telemetry_path: web.telemetry_path.clone(),
            guard: guard.clone(),
            state: state.clone(),
        });
        let detectors = TaskTracker::new();
        let detectors_stop = CancellationToken::new();
        if pipeline.detections().is_some() {
            detectors.spawn(run_detectors(
                pipeline.clone(),
                detectors_stop.clone(),
                DETECTOR_TICK,
                DETECTOR_SAVE,
            ));
        }
        detectors.close();

        http.spawn(http::serve(listener, http_state, http_stop.clone(), grace));
        http.spawn(watch_clock(metrics.clone(), http_stop.clone()));
        http.spawn(guard::watch(
            guard.clone(),
            metrics.clone(),
            http_stop.clone(),
            guard::RELOAD_INTERVAL,
        ));
        http.close();
        log_serving(web, local_addr, &guard);

        Ok(App {
            metrics,
            health,
            pipeline,
            local_addr,
            sources,
            sources_stop,
            http,
            http_stop,
            otel,
            output,
            detectors,
            detectors_stop,
            state,
            state_task,
            state_stop,
            grace,
            _state_lock: state_lock,
        })
    }

    /// The address HTTP is actually served on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops intake, lets sources commit what they applied, saves the detector state, flushes
    /// OTLP, then stops HTTP: all of it within the grace period, each step getting what the
    /// steps before it left. A step still running at the deadline is cut short (and named):
    /// no step waits on blocked I/O past it.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + self.grace;
        let mut cut = Vec::new();
        self.sources_stop.cancel();
        let stopped = tokio::time::timeout_at(deadline, self.sources.wait()).await;
        if stopped.is_err() {
            cut.push((
                "sources",
                "records applied since the last offset commit or checkpoint are read again at the next start",
            ));
        }
        // After the sources drained: the last snapshot holds everything they applied.
        let mut failed = 0;
        self.state_stop.cancel();
        if let Some(state) = &self.state {
            let _ = tokio::time::timeout_at(deadline, self.state_task.wait()).await;
            match tokio::time::timeout_at(deadline, state.save_final()).await {
                Err(_) => cut.push((
                    "state snapshot",
                    "records applied since the last snapshot are read again at the next start",
                )),
                Ok(false) => failed += 1,
                Ok(true) => {}
            }
        }
        self.detectors_stop.cancel();
        let stopped = tokio::time::timeout_at(deadline, self.detectors.wait()).await;
        if stopped.is_err() {
            cut.push((
                "detectors",
                "a detector tick or save in progress is abandoned",
            ));
        }
        let saved = tokio::time::timeout_at(deadline, save_detectors(&self.pipeline)).await;
        match saved {
            Err(_) => cut.push((
                "detector state save",
                "detector state since the last save (every 60 s) is lost",
            )),
            Ok(false) => failed += 1,
            Ok(true) => {}
        }
        if let Some(output) = self.output {
            // After the sources and detectors stopped: nothing is published any more.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let closing = tokio::task::spawn_blocking(move || output.close(left));
            if tokio::time::timeout_at(deadline, closing).await.is_err() {
                cut.push((
                    "output topic flush",
                    "events not yet acknowledged by the output topic are lost",
                ));
            }
        }
        if let Some(otel) = self.otel {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let flushed = tokio::time::timeout_at(deadline, otel.shutdown(left)).await;
            if flushed.is_err() {
                cut.push((
                    "OTLP flush",
                    "spans and metric points not yet sent are lost",
                ));
            }
        }
        self.http_stop.cancel();
        let stopped = tokio::time::timeout_at(deadline, self.http.wait()).await;
        if stopped.is_err() {
            cut.push(("HTTP", "scrapes in flight are cut"));
        }
        for (step, lost) in &cut {
            tracing::error!(grace = ?self.grace, step, lost, "Shutdown step cut short at the end of the grace period.");
        }
        if cut.is_empty() && failed == 0 {
            tracing::info!("Stopped.");
        } else if cut.is_empty() {
            // The failed step logged its ERROR (what failed and what it costs).
            tracing::warn!(failed, "Stopped, with steps failed.");
        } else {
            tracing::warn!(
                cut_short = cut.len(),
                failed,
                "Stopped, with steps cut short."
            );
        }
    }
}

/// The web configuration of `web`: its file loaded, or open when there is none.
fn web_guard(web: &WebOptions) -> Result<Arc<WebGuard>, StartError> {
    Ok(Arc::new(match &web.config_file {
        Some(file) => WebGuard::load(file, web.open_probes).map_err(|p| StartError::WebConfig {
            path: file.clone(),
            problems: p.join("\n"),
        })?,
        None => WebGuard::open(),
    }))
}

/// "Serving metrics.", with how the endpoint is protected; a warning when a web config file
/// protects nothing.
fn log_serving(web: &WebOptions, local_addr: SocketAddr, guard: &WebGuard) {
    let settings = guard.settings();
    if web.config_file.is_some() && settings.is_open() {
        tracing::warn!(file = ?web.config_file, "The web config file sets neither TLS nor basic_auth_users: the metrics are served to anyone who can connect.");
    }
    tracing::info!(
        address = %local_addr,
        path = %web.telemetry_path,
        tls = settings.tls.is_some(),
        client_auth = settings.client_auth.as_str(),
        basic_auth_users = settings.users.len(),
        "Serving metrics."
    );
}

/// The HTTP listener on `address`, and the address it is bound to (useful with port 0).
async fn bind(address: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let listen = |error| StartError::Listen { address, error };
    let listener = TcpListener::bind(address).await.map_err(listen)?;
    let local_addr = listener.local_addr().map_err(listen)?;
    Ok((listener, local_addr))
}

/// Creates `state_dir` if missing and locks it for this process ([`state::lock`]), waiting for
/// a process that holds it as long as a graceful shutdown can take (its grace period, plus 5 s).
fn lock_state_dir(config: &Config) -> Result<Option<state::lock::DirLock>, StartError> {
    let Some(dir) = &config.state_dir else {
        return Ok(None);
    };
    std::fs::create_dir_all(dir).map_err(|error| StartError::StateDir {
        path: dir.clone(),
        error,
    })?;
    let wait = Duration::from_secs(config.shutdown.grace_period_secs.saturating_add(5));
    Ok(Some(state::lock::DirLock::acquire(dir, wait)?))
}

/// The state snapshot in `state_dir` (created and locked by [`lock_state_dir`]), if there is
/// one. A snapshot that exists but cannot be read refuses the start, naming the file.
async fn load_state(
    state_dir: Option<&std::path::PathBuf>,
    config: &Config,
) -> Result<Option<state::Snapshot>, StartError> {
    let Some(dir) = state_dir.cloned() else {
        return Ok(None);
    };
    // A snapshot left pending by a crash is settled by asking the Kafka sources' groups, which
    // blocks (seconds at most), so off the async workers.
    let kafka: Vec<KafkaSourceConfig> = config
        .sources
        .iter()
        .filter_map(|s| match s {
            SourceConfig::Kafka(k) => Some(k.clone()),
            SourceConfig::File(_) => None,
        })
        .collect();
    let loaded = tokio::task::spawn_blocking(move || {
        state::load_resolved(&dir, |source, positions, tag, floor| {
            let k = kafka.iter().find(|k| k.name == source)?;
            Some(crate::sources::kafka::pending_landed(
                k, positions, tag, floor,
            ))
        })
    })
    .await
    .map_err(|e| StartError::Config(format!("loading the state snapshot: {e}")))?;
    Ok(loaded?)
}

/// The detectors `config` switches on, with their memory restored from `state_dir` (created and
/// locked by [`lock_state_dir`]). A state file that exists but cannot be read refuses the start,
/// naming the file.
fn detector_engine(config: &Config) -> Result<Engine, StartError> {
    let engine = Engine::new(&config.detectors);
    let Some(dir) = &config.state_dir else {
        return Ok(engine);
    };
    Ok(engine.with_state_dir(dir)?)
}

/// Ticks the detectors with the wall clock every `tick` and saves their state every `save`,
/// until `stop`. A failed save is counted and logged, never fatal.
pub async fn run_detectors(
    pipeline: Arc<Pipeline>,
    stop: CancellationToken,
    tick: Duration,
    save: Duration,
) {
    let mut ticks = tokio::time::interval(tick);
    let mut saves = tokio::time::interval(save);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    saves.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Both fire at once first: skip that, nothing has happened yet.
    ticks.tick().await;
    saves.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => pipeline.detect_tick("clock", crate::clock::now()),
            _ = saves.tick() => {
                save_detectors(&pipeline).await;
            }
        }
    }
}

/// The pipeline every source feeds: pseudonyms (`privacy:`), spans and log records (`otlp:`), the
/// output topic (`output:`) and the detectors on their own thread.
fn build_pipeline(
    config: &Config,
    parsers: Parsers,
    metrics: &Arc<Metrics>,
    engine: Engine,
    otel: Option<&Otel>,
) -> Result<(Arc<Pipeline>, Option<Arc<EventTopic>>), StartError> {
    let privacy = config
        .privacy
        .load()
        .map_err(|p| StartError::Config(p.join("\n")))?;
    if let Some(p) = &privacy {
        tracing::info!(
            key_id = p.key_id(),
            principals = p.switches().principals,
            addresses = p.switches().addresses,
            "Pseudonymizing."
        );
    }
    let mut pipeline = Pipeline::new(parsers, metrics.clone()).with_privacy(privacy);
    if let Some(o) = &otel {
        pipeline = pipeline.with_otel(o.handle.clone());
    }
    let output = match &config.output.kafka {
        Some(k) => Some(Arc::new(
            EventTopic::start(k, metrics.clone()).map_err(StartError::Output)?,
        )),
        None => None,
    };
    if let Some(o) = &output {
        pipeline = pipeline.with_output(o.clone());
    }
    if !engine.is_empty() {
        tracing::info!(detectors = ?engine.detectors().iter().map(|d| d.as_str()).collect::<Vec<_>>(), state_dir = ?config.state_dir, "Detectors on.");
    }
    let pipeline = Arc::new(
        pipeline
            .with_detectors(engine)
            .with_detector_thread()
            .map_err(StartError::DetectorThread)?,
    );
    Ok((pipeline, output))
}

/// Compares the system clock with the exporter's every second until `stop` (see [`clock`]):
/// a jump is counted and logged, and its adoption logged.
async fn watch_clock(metrics: Arc<Metrics>, stop: CancellationToken) {
    for direction in clock::Direction::ALL {
        metrics.record_clock_jump(direction.as_str(), 0);
    }
    let mut watch = clock::Watch::default();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => match watch.check() {
                Some(clock::Jump::Jumped { direction, by }) => {
                    metrics.record_clock_jump(direction.as_str(), 1);
                    tracing::warn!(
                        direction = direction.as_str(),
                        by = %humantime::format_duration(Duration::from_secs(by.as_secs())),
                        "The system clock jumped; detector windows and event delays keep the exporter's monotonic time, and follow the new time only if it holds for 10 minutes."
                    );
                }
                Some(clock::Jump::Adopted { direction, by }) => tracing::warn!(
                    direction = direction.as_str(),
                    by = %humantime::format_duration(Duration::from_secs(by.as_secs())),
                    "The system clock's jump held for 10 minutes; the exporter follows it now."
                ),
                None => {}
            },
        }
    }
}

/// Saves the detector state off the async workers; a failure is a [`DetectorStateFailed`].
/// Whether it was saved.
async fn save_detectors(pipeline: &Arc<Pipeline>) -> bool {
    let p = pipeline.clone();
    let result = tokio::task::spawn_blocking(move || p.save_detectors()).await;
    let error = match result {
        Ok(Ok(())) => return true,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    DetectorStateFailed { error: &error }.emit(pipeline.metrics());
    false
}

/// The `cluster` label when `metrics.cluster` is unset: the one the restored state snapshot's
/// series carry (they must go on under it), else the cluster id of the first Kafka source's
/// cluster, asked once (at most [`CLUSTER_ID_TIMEOUT`]), else [`DEFAULT_CLUSTER`].
/// Asked before anything is registered because every series carries it from the start.
async fn cluster_label(config: &Config, loaded: Option<&state::Snapshot>) -> String {
    if let Some(cluster) = loaded.and_then(|l| l.cluster.clone()) {
        return cluster;
    }
    let Some(kafka) = config.sources.iter().find_map(|s| match s {
        SourceConfig::Kafka(k) => Some(k.clone()),
        SourceConfig::File(_) => None,
    }) else {
        return DEFAULT_CLUSTER.to_string();
    };
    // Asked in short slices, so a start abandoned at a signal ends the blocking call within
    // one slice instead of holding the exit for the whole timeout.
    let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _abandon_on_drop = SetOnDrop(abandoned.clone());
    let asked = tokio::task::spawn_blocking(move || {
        let consumer: rdkafka::consumer::BaseConsumer =
            kafka.client_config().ok()?.create().ok()?;
        let client = rdkafka::consumer::Consumer::client(&consumer);
        let deadline = std::time::Instant::now() + CLUSTER_ID_TIMEOUT;
        let topic = kafka
            .topics
            .iter()
            .find_map(|t| t.name.clone())
            .unwrap_or_else(|| "__consumer_offsets".to_string());
        let mut answered = false;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || abandoned.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            // `fetch_cluster_id` only waits for metadata, and an idle librdkafka client first
            // connects on its one-second timer; a metadata request (for one topic, not the whole
            // cluster's) connects at once, and its answer carries the cluster id. Asked until
            // one is answered; a failed one is retried here.
            if !answered {
                answered = client
                    .fetch_metadata(Some(&topic), left.min(CLUSTER_ID_SLICE))
                    .is_ok();
            }
            if let Some(id) = client.fetch_cluster_id(left.min(CLUSTER_ID_SLICE)) {
                return Some(id);
            }
        }
    })
    .await
    .ok()
    .flatten();
    match asked {
        Some(id) => {
            tracing::info!(cluster = %id, "Labelling every series with the Kafka cluster id.");
            id
        }
        None => {
            tracing::warn!(
                cluster = DEFAULT_CLUSTER,
                "Kafka cluster id not known within the timeout; set metrics.cluster to name the cluster."
            );
            DEFAULT_CLUSTER.to_string()
        }
    }
}

/// Runs the exporter until `signal` resolves, then shuts down in order. A `signal` during startup
/// abandons the start before any source read anything (sources are spawned in the start's last
/// step, which does not wait), so nothing is lost.
pub async fn run(
    config: Config,
    web: WebOptions,
    signal: impl Future<Output = ()>,
) -> Result<(), StartError> {
    tokio::pin!(signal);
    let app = tokio::select! {
        app = App::start(&config, &web) => app?,
        () = &mut signal => {
            tracing::info!("Stopped during startup, before any source read anything.");
            return Ok(());
        }
    };
    signal.await;
    app.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (in paused time, a little at a time) until `f` holds.
    async fn eventually(what: &str, f: impl Fn() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("never: {what}");
    }

    /// `output.kafka` is wired from the config to the pipeline, and what is still queued at
    /// shutdown (held back here by a long `linger.ms`) is flushed to the topic.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_output_topic_is_flushed_at_shutdown() {
        use crate::parse::{Input, Record};
        let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
        cluster.create_topic("security-events", 1, 1).unwrap();
        let config = Config::parse(&format!(
            "detectors: {{enabled: false}}\noutput:\n  kafka:\n    topic: security-events\n    properties: {{bootstrap.servers: '{}', linger.ms: 60000}}\n",
            cluster.bootstrap_servers()
        ))
        .unwrap();
        let web = WebOptions::resolve(Some("127.0.0.1:0"), None, None, &config.web).unwrap();
        let app = App::start(&config, &web).await.unwrap();
        let json = br#"{"timestamp":"2025-03-18T10:15:30Z","event_type":"login","user":"carol","ip":"10.0.0.1","outcome":"success"}"#;
        app.pipeline
            .apply("app", Input::Json, &Record::from_payload(json));
        let metrics = app.metrics.clone();
        // The series of `name` whose labels include `label` (every series has `cluster` too).
        let sample = |name: &str, label: &str| {
            String::from_utf8(metrics.render())
                .unwrap()
                .lines()
                .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
                .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        };
        assert_eq!(sample("kafka_security_output_events_total", ""), Some(0.0));
        let started = std::time::Instant::now();
        app.shutdown().await;
        // Far below the 60 s linger, with room for a loaded machine: flushed, not lingered
        // (a linger would also end in the purge, counted as `shutdown` below).
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "flushed, not lingered: {:?}",
            started.elapsed()
        );
        assert_eq!(sample("kafka_security_output_events_total", ""), Some(1.0));
        assert_eq!(
            sample(
                "kafka_security_output_dropped_total",
                r#"reason="shutdown""#
            ),
            Some(0.0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn detectors_are_saved_every_minute_and_a_failed_save_is_counted_not_fatal() {
        use crate::detect::{Detector, DetectorsConfig};
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let off = DetectorsConfig {
            enabled: false,
            ..DetectorsConfig::default()
        };
        std::fs::create_dir(&state).unwrap();
        let engine = Engine::new(&off)
            .with_test_detector(Detector::BruteForce, 3, 10)
            .with_state_dir(&state)
            .unwrap();
        let metrics = Arc::new(Metrics::new(&Default::default()).unwrap());
        let parsers = Parsers::new(&Default::default()).unwrap();
        let pipeline = Arc::new(Pipeline::new(parsers, metrics.clone()).with_detectors(engine));
        let stop = CancellationToken::new();
        let task = tokio::spawn(run_detectors(
            pipeline.clone(),
            stop.clone(),
            DETECTOR_TICK,
            DETECTOR_SAVE,
        ));
        let file = state.join(detect::STATE_FILE);
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert!(!file.exists(), "saved before a minute passed");
        tokio::time::sleep(Duration::from_secs(2)).await;
        eventually("saved after a minute", || file.exists()).await;
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(saved["detectors"]["brute_force"]["failures"], 0);

        // A file in the directory's place (as a full or read-only disk would): the next save
        // fails, is counted, and the loop goes on. (A deleted directory is made again.)
        std::fs::remove_dir_all(&state).unwrap();
        std::fs::write(&state, "not a directory").unwrap();
        let failures = || {
            String::from_utf8(metrics.render())
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("kafka_security_detector_state_failures_total "))
                .map(str::to_string)
        };
        assert_eq!(failures().as_deref(), Some("0"));
        tokio::time::sleep(Duration::from_secs(60)).await;
        eventually("a failed save counted", || {
            failures().as_deref() == Some("1")
        })
        .await;
        assert!(!task.is_finished());
        stop.cancel();
        task.await.unwrap();
    }

    #[test]
    fn web_flags_win_over_the_config_which_wins_over_defaults() {
        let config = WebConfig {
            listen_address: Some("127.0.0.1:9000".into()),
            telemetry_path: Some("/m".into()),
            ..WebConfig::default()
        };
        let w = WebOptions::resolve(None, None, None, &config).unwrap();
        assert_eq!(
            (w.listen_address.to_string(), w.telemetry_path.as_str()),
            ("127.0.0.1:9000".to_string(), "/m")
        );
        let w = WebOptions::resolve(Some(":9100"), Some("/x"), None, &config).unwrap();
        assert_eq!(
            (w.listen_address.port(), w.telemetry_path.as_str()),
            (9100, "/x")
        );
        let w = WebOptions::resolve(None, None, None, &WebConfig::default()).unwrap();
        assert_eq!(
            (w.listen_address.port(), w.telemetry_path.as_str()),
            (9976, DEFAULT_TELEMETRY_PATH)
        );
        assert_eq!(
            WebOptions::resolve(None, Some("metrics"), None, &config).unwrap_err(),
            "--web.telemetry-path: `metrics` must start with `/`"
        );
    }
}
