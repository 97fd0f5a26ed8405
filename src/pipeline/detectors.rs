//! The pipeline's detectors: run inline, under a lock, by whichever thread applied the input (a
//! detection is raised the moment its event is applied; unit tests), or on a thread of their own
//! ([`Detectors::on_thread`]: the exporter and `replay`), fed [`Batch`]es of the calls the input
//! makes, so parsing and detection use two cores. Either way the engine sees the same calls in
//! the same order and raises the same detections.
//!
//! On a thread, a batch is handed on when it is full; a batch that is not (a live input that
//! slowed down or stopped) is taken by the detector thread itself after [`IDLE_PULL`] without a
//! full one, so a detection waits at most about that long for its event's batch.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use crate::detect::queue::{Batch, Call};
use crate::detect::{self, Detection, Detector, Engine, Facts, SummaryRow, Suspect};
use crate::event::SecurityEvent;
use crate::metrics::internal::{DetectionRaised, InternalEvent};
use crate::metrics::Metrics;
use crate::otel;
use crate::output::EventTopic;

/// Calls a batch holds before it is handed to the detector thread. Large, because each handing
/// on may wake the thread, which costs tens of microseconds in a VM (under 10 ns a call here);
/// not larger, because detectors that fall behind (a flood of new subjects) keep every batch
/// full, and those batches are most of what a flood adds to memory beside the detectors' caps.
const BATCH_CALLS: usize = 4096;
/// Text a batch holds before it is handed on, whatever its calls.
const BATCH_TEXT: usize = 512 * 1024;
/// Full batches waiting for the detector thread: beyond them the input waits. With the one
/// being filled, the one being worked through and one emptied spare, at most five batches of
/// `BATCH_CALLS` calls (about 100 bytes each) and `BATCH_TEXT` bytes exist: about 2 MiB of
/// calls, at most 2.5 MiB of text.
const BATCHES_QUEUED: usize = 2;
/// How long the detector thread waits for a full batch before it takes the one being filled.
pub(super) const IDLE_PULL: Duration = Duration::from_millis(100);

/// The engine and what of its overflow and suppression counts was already reported.
struct State {
    engine: Engine,
    /// [`Engine::overflowed`] at the last tick, per detector (in the engine's order).
    overflow_reported: Vec<u64>,
    /// [`Engine::suppressed`] at the last tick, per detector (in the engine's order).
    suppressed_reported: Vec<u64>,
}

/// Where detections go: their metric and log line ([`DetectionRaised`]) and, when OTLP traces
/// are on, a `kafka.security.detection` span.
#[derive(Clone)]
struct Report {
    metrics: Arc<Metrics>,
    otel: Option<Arc<otel::Handle>>,
    output: Option<Arc<EventTopic>>,
}

impl Report {
    fn detected(&self, source: &str, detections: &[Detection]) {
        for d in detections {
            DetectionRaised {
                source,
                detection: d,
            }
            .emit(&self.metrics);
            if let Some(otel) = &self.otel {
                otel.detection(source, d);
            }
            if let Some(output) = &self.output {
                output.publish_detection(d);
            }
        }
    }
}

impl State {
    /// Makes `call` on the engine and reports what it raises.
    fn call(&mut self, call: Call<'_>, report: &Report, out: &mut Vec<Detection>) {
        out.clear();
        let source = match call {
            Call::Observe { source, facts } => {
                self.engine.observe_facts(&facts, out);
                source
            }
            Call::LogEntry { source, stream, at } => {
                self.engine.log_entry(stream, at, out);
                source
            }
            Call::Suspect { source, suspect } => {
                self.engine.suspect(&suspect, out);
                source
            }
            Call::Time { source, now, end } => {
                self.time(now, end, &report.metrics, out);
                source
            }
        };
        if !out.is_empty() {
            report.detected(source, out);
        }
    }

    /// Time passes up to `now` (and the input ends, with `end`); brings
    /// `kafka_security_detector_overflow_total` and `kafka_security_detections_suppressed_total`
    /// up to date.
    fn time(&mut self, now: SystemTime, end: bool, metrics: &Metrics, out: &mut Vec<Detection>) {
        self.engine.tick(now, out);
        if end {
            self.engine.finish(out);
        }
        let overflowed = self.engine.overflowed();
        report_growth(overflowed, &mut self.overflow_reported, |d, n| {
            metrics.record_detector_overflow(d, n)
        });
        let suppressed = self.engine.suppressed();
        report_growth(suppressed, &mut self.suppressed_reported, |d, n| {
            metrics.record_detections_suppressed(d, n)
        });
    }
}

/// Records how much each detector's running `totals` grew since `reported`, and remembers them.
fn report_growth(
    totals: Vec<(Detector, u64)>,
    reported: &mut [u64],
    mut record: impl FnMut(Detector, u64),
) {
    for ((detector, total), reported) in totals.into_iter().zip(reported) {
        if total > *reported {
            record(detector, total - *reported);
            *reported = total;
        }
    }
}

/// What goes to the detector thread.
enum Message {
    Batch(Batch),
    /// Answer once every batch before has been worked through.
    Sync(SyncSender<()>),
}

/// The input's end of the detector thread.
struct Producer {
    batch: Batch,
    to_thread: SyncSender<Message>,
    /// Worked-through batches, to fill again.
    emptied: Receiver<Batch>,
}

struct Thread {
    /// Shared with the detector thread, which takes a batch that is not full when idle.
    producer: Arc<Mutex<Option<Producer>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

/// The detectors of a pipeline.
pub(super) struct Detectors {
    state: Arc<Mutex<State>>,
    report: Report,
    thread: Option<Thread>,
}

impl Detectors {
    pub(super) fn new(engine: Engine, metrics: Arc<Metrics>) -> Detectors {
        let reported = vec![0; engine.detectors().len()];
        Detectors {
            state: Arc::new(Mutex::new(State {
                engine,
                overflow_reported: reported.clone(),
                suppressed_reported: reported,
            })),
            report: Report {
                metrics,
                otel: None,
                output: None,
            },
            thread: None,
        }
    }

    /// Reports detections as spans through `otel` too (before [`Detectors::on_thread`]).
    pub(super) fn set_otel(&mut self, otel: Option<Arc<otel::Handle>>) {
        self.report.otel = otel;
    }

    /// Produces detections to the output topic too (before [`Detectors::on_thread`]).
    pub(super) fn set_output(&mut self, output: Option<Arc<EventTopic>>) {
        self.report.output = output;
    }

    /// Runs the detectors on a thread of their own from now on.
    pub(super) fn on_thread(&mut self) -> std::io::Result<()> {
        if self.thread.is_some() {
            return Ok(());
        }
        let (to_thread, inbox) = mpsc::sync_channel::<Message>(BATCHES_QUEUED);
        let (give_back, emptied) = mpsc::sync_channel::<Batch>(1);
        let producer = Arc::new(Mutex::new(Some(Producer {
            batch: Batch::default(),
            to_thread,
            emptied,
        })));
        let (state, report) = (self.state.clone(), self.report.clone());
        let filling = producer.clone();
        let handle = std::thread::Builder::new()
            .name("detectors".into())
            .spawn(move || {
                let mut work = Work {
                    state,
                    report,
                    give_back,
                    out: Vec::new(),
                };
                loop {
                    match inbox.recv_timeout(IDLE_PULL) {
                        Ok(message) => work.message(message),
                        Err(RecvTimeoutError::Timeout) => work.pull(&inbox, &filling),
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })?;
        self.thread = Some(Thread {
            producer,
            handle: Mutex::new(Some(handle)),
        });
        Ok(())
    }

    /// Makes a call: at once when inline, else recorded for the detector thread (handed on
    /// when its batch is full).
    fn call(&self, call: Call<'_>) {
        let Some(thread) = &self.thread else {
            self.state.lock().call(call, &self.report, &mut Vec::new());
            return;
        };
        let mut producer = thread.producer.lock();
        let Some(p) = producer.as_mut() else {
            return;
        };
        p.batch.push(&call);
        if p.batch.len() >= BATCH_CALLS || p.batch.text_len() >= BATCH_TEXT {
            if let Err(stopped) = hand_on(p) {
                drop(producer);
                self.stopped(stopped);
            }
        }
    }

    pub(super) fn observe(&self, source: &str, event: &SecurityEvent<'_>) {
        let facts = Facts::of(event);
        self.call(Call::Observe { source, facts });
    }

    pub(super) fn log_entry(&self, source: &str, stream: &str, at: SystemTime) {
        self.call(Call::LogEntry { source, stream, at });
    }

    pub(super) fn suspect(&self, source: &str, suspect: &Suspect<'_>) {
        let suspect = *suspect;
        self.call(Call::Suspect { source, suspect });
    }

    pub(super) fn time(&self, source: &str, now: SystemTime, end: bool) {
        self.call(Call::Time { source, now, end });
    }

    /// Waits until the detector thread has worked through every call made so far (nothing to
    /// wait for inline).
    fn sync(&self) {
        let Some(thread) = &self.thread else {
            return;
        };
        let mut producer = thread.producer.lock();
        let Some(p) = producer.as_mut() else {
            return;
        };
        let (done, answer) = mpsc::sync_channel(1);
        let sent =
            hand_on(p).and_then(|()| p.to_thread.send(Message::Sync(done)).map_err(|_| Stopped));
        drop(producer);
        if let Err(stopped) = sent.and_then(|()| answer.recv().map_err(|_| Stopped)) {
            self.stopped(stopped);
        }
    }

    /// Every detection so far by detector and subject ([`Engine::summary`]).
    pub(super) fn summary(&self) -> (Vec<SummaryRow>, u64) {
        self.sync();
        self.state.lock().engine.summary()
    }

    /// Saves the detectors' memory ([`Engine::save`]).
    pub(super) fn save(&self) -> Result<(), detect::StateError> {
        self.sync();
        self.state.lock().engine.save()
    }

    /// The detector thread stopped: it panicked (a bug); the panic goes on here.
    #[cold]
    fn stopped(&self, _: Stopped) -> ! {
        let handle = self.thread.as_ref().and_then(|t| t.handle.lock().take());
        match handle.map(JoinHandle::join) {
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            _ => panic!("the detector thread stopped"),
        }
    }
}

/// The detector thread's side.
struct Work {
    state: Arc<Mutex<State>>,
    report: Report,
    /// Worked-through batches go back to the input.
    give_back: SyncSender<Batch>,
    out: Vec<Detection>,
}

impl Work {
    fn message(&mut self, message: Message) {
        match message {
            Message::Batch(batch) => self.batch(batch),
            Message::Sync(done) => {
                let _ = done.send(());
            }
        }
    }

    fn batch(&mut self, mut batch: Batch) {
        let mut state = self.state.lock();
        for call in batch.calls() {
            state.call(call, &self.report, &mut self.out);
        }
        drop(state);
        batch.clear();
        // One spare is enough (or the input has gone): drop it then.
        let _ = self.give_back.try_send(batch);
    }

    /// No full batch came for [`IDLE_PULL`]: takes the one being filled, unless the input is
    /// using it right now (it may be waiting to hand a batch on, so this never waits for it).
    /// What was handed on before is worked through first, so the calls keep their order.
    fn pull(&mut self, inbox: &Receiver<Message>, filling: &Mutex<Option<Producer>>) {
        let Some(mut producer) = filling.try_lock() else {
            return;
        };
        let Some(p) = producer.as_mut().filter(|p| !p.batch.is_empty()) else {
            return;
        };
        // The input hands batches on only while it holds the lock this thread now holds.
        let queued: Vec<Message> = inbox.try_iter().collect();
        let next = p.emptied.try_recv().unwrap_or_default();
        let partial = std::mem::replace(&mut p.batch, next);
        drop(producer);
        for message in queued {
            self.message(message);
        }
        self.batch(partial);
    }
}

/// The detector thread is gone.
struct Stopped;

/// Hands the batch being filled to the detector thread (when it holds anything) and takes an
/// emptied one (or a new one) to fill.
fn hand_on(p: &mut Producer) -> Result<(), Stopped> {
    if p.batch.is_empty() {
        return Ok(());
    }
    let next = p.emptied.try_recv().unwrap_or_default();
    let full = std::mem::replace(&mut p.batch, next);
    p.to_thread.send(Message::Batch(full)).map_err(|_| Stopped)
}

impl Drop for Detectors {
    /// Works through what is still queued, then stops the detector thread.
    fn drop(&mut self) {
        if let Some(thread) = &self.thread {
            if let Some(mut p) = thread.producer.lock().take() {
                let _ = hand_on(&mut p);
            }
            if let Some(handle) = thread.handle.lock().take() {
                let _ = handle.join();
            }
        }
    }
}
