//! The shape of a run: threads, the window, CPU samples, and the per-request
//! deadline every connection loop uses.
//!
//! A run starts `threads` OS threads, each with a single-threaded tokio
//! runtime and a `LocalSet` driving its share of the connections, as wrk
//! does with its event loops: no work stealing, no locks between
//! connections of a thread. The calling thread sleeps until the window
//! opens, samples CPU, sleeps until it closes, samples again, and joins the
//! threads. Every connection loop stops at the window's end, abandoning a
//! request still in flight, so a hung server cannot hang a run.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::task::{JoinSet, LocalSet};
use tokio::time::Sleep;

use crate::cpu::{CpuTime, StatTimes, ticks_of};
use crate::stats::{Recorder, Window};
use crate::{Error, Settings};

/// How long a connection waits after failing to connect before it tries
/// again, so a refused port does not become a busy loop.
pub(crate) const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// What one connection's loop is given.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    /// This connection's number, 0-based across all threads; it picks the
    /// first body so connections do not send in lockstep.
    pub(crate) index: usize,
    pub(crate) window: Window,
    pub(crate) settings: Arc<Settings>,
    /// The thread's recorder, shared by its connections (one thread, so
    /// `Rc<RefCell>`; never borrowed across an `.await`).
    pub(crate) rec: Rc<RefCell<Recorder>>,
}

/// A connection's loop, as built by an engine on the thread that runs it.
pub(crate) type ConnFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Builds a connection's loop; shared by every thread.
pub(crate) type Driver = Arc<dyn Fn(Conn) -> ConnFuture + Send + Sync>;

/// What a run measured, before it becomes a [`Report`](crate::Report).
#[derive(Debug)]
pub(crate) struct Measured {
    pub(crate) rec: Recorder,
    pub(crate) elapsed: Duration,
    pub(crate) server_cpu: Option<CpuTime>,
    pub(crate) loadgen_cpu: Option<CpuTime>,
    pub(crate) aux_cpu: Option<CpuTime>,
}

/// Runs `driver` over `settings.connections` connections and measures,
/// with the CPU of the server and of the auxiliary processes `aux`.
pub(crate) fn measure(
    settings: &Settings,
    server_pid: Option<u32>,
    aux: &[u32],
    driver: Driver,
) -> Result<Measured, Error> {
    settings.validate()?;
    if let Some(pid) = server_pid {
        StatTimes::read(Some(pid))?;
    }
    for &pid in aux {
        StatTimes::read(Some(pid))?;
    }
    let now = Instant::now();
    let window = Window {
        start: now + settings.warmup,
        end: now + settings.warmup + settings.duration,
    };
    let shared = Arc::new(settings.clone());
    let mut threads = Vec::with_capacity(settings.threads);
    for t in 0..settings.threads {
        let conns: Vec<usize> = (t..settings.connections)
            .step_by(settings.threads)
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("building a tokio runtime", e))?;
        let (driver, shared) = (driver.clone(), shared.clone());
        let handle = std::thread::Builder::new()
            .name(format!("kit-load-{t}"))
            .spawn(move || drive_thread(&runtime, conns, window, shared, driver))
            .map_err(|e| Error::io("spawning a load thread", e))?;
        threads.push(handle);
    }

    sleep_until(window.start);
    let before = (sample(server_pid), sample(None), ticks_of(aux));
    sleep_until(window.end);
    let after = (sample(server_pid), sample(None), ticks_of(aux));

    let mut total = Recorder::new(window)?;
    for handle in threads {
        let rec = handle.join().map_err(|_| Error::Panicked)??;
        total.merge(&rec)?;
    }
    let cpu = |b: Option<u64>, a: Option<u64>| Some(CpuTime::between(b?, a?));
    Ok(Measured {
        rec: total,
        elapsed: window.len(),
        server_cpu: server_pid.and(cpu(before.0, after.0)),
        loadgen_cpu: cpu(before.1, after.1),
        aux_cpu: (!aux.is_empty()).then(|| cpu(before.2, after.2)).flatten(),
    })
}

/// One load thread: spawn its connections, wait for all of them to stop at
/// the window's end, hand back what they counted.
fn drive_thread(
    runtime: &tokio::runtime::Runtime,
    conns: Vec<usize>,
    window: Window,
    settings: Arc<Settings>,
    driver: Driver,
) -> Result<Recorder, Error> {
    let rec = Rc::new(RefCell::new(Recorder::new(window)?));
    let local = LocalSet::new();
    local.block_on(runtime, async {
        let mut set = JoinSet::new();
        for index in conns {
            let conn = Conn {
                index,
                window,
                settings: settings.clone(),
                rec: rec.clone(),
            };
            set.spawn_local(driver(conn));
        }
        while set.join_next().await.is_some() {}
    });
    drop(local);
    match Rc::try_unwrap(rec) {
        Ok(cell) => Ok(cell.into_inner()),
        Err(shared) => Ok(shared.replace(Recorder::new(window)?)),
    }
}

/// CPU ticks of a process (`None`: this one) right now, if readable.
fn sample(pid: Option<u32>) -> Option<u64> {
    StatTimes::read(pid).ok().map(|t| t.own())
}

fn sleep_until(t: Instant) {
    let left = t.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        std::thread::sleep(left);
    }
}

/// How a bounded request ended.
#[derive(Debug)]
pub(crate) enum Bounded<T> {
    /// It finished.
    Done(T),
    /// The per-request timeout passed first.
    TimedOut,
    /// The window ended first: stop.
    Ended,
}

/// One timer per connection (or stream), re-armed for each request at the
/// earlier of its timeout and the window's end.
#[derive(Debug)]
pub(crate) struct Deadline {
    sleep: Pin<Box<Sleep>>,
    end: Instant,
    timeout: Duration,
}

impl Deadline {
    pub(crate) fn new(conn: &Conn) -> Deadline {
        Deadline {
            sleep: Box::pin(tokio::time::sleep_until(conn.window.end.into())),
            end: conn.window.end,
            timeout: conn.settings.timeout,
        }
    }

    /// Whether the window has ended.
    pub(crate) fn ended(&self) -> bool {
        Instant::now() >= self.end
    }

    /// Runs `fut` until it finishes, times out, or the window ends.
    pub(crate) async fn run<F: Future>(&mut self, fut: F) -> Bounded<F::Output> {
        let mut fut = pin!(fut);
        self.run_pinned(Instant::now(), fut.as_mut()).await
    }

    /// [`run`](Deadline::run) for a future already pinned in place, with
    /// the timeout counted from `start` (the caller's own timestamp):
    /// the connection loops' hot path, which neither moves the request's
    /// future nor reads the clock again.
    pub(crate) async fn run_pinned<F: Future>(
        &mut self,
        start: Instant,
        mut fut: Pin<&mut F>,
    ) -> Bounded<F::Output> {
        let at = (start + self.timeout).min(self.end);
        self.sleep.as_mut().reset(at.into());
        poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Bounded::Done(out));
            }
            match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) if self.ended() => Poll::Ready(Bounded::Ended),
                Poll::Ready(()) => Poll::Ready(Bounded::TimedOut),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Waits [`RECONNECT_BACKOFF`], or until the window ends.
    pub(crate) async fn backoff(&mut self) {
        let at = (Instant::now() + RECONNECT_BACKOFF).min(self.end);
        self.sleep.as_mut().reset(at.into());
        self.sleep.as_mut().await;
    }
}
