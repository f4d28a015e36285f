//! The HTTP server of the API listener and of the conductors' boot listener.
//!
//! `axum::serve` waits on a client for ever: a connection that sends nothing, or half a
//! request's headers, holds a file descriptor until the client goes away, so a few
//! hundred slow clients exhaust the process's open files and nobody else is served.
//! Here every connection is watched ([`HttpLimits`]):
//!
//! * waiting for a request (new, or kept alive after a response), it is closed after
//!   the idle timeout;
//! * once a request's first byte arrived, its headers must be complete within the
//!   header timeout;
//! * while a request is being answered it is left alone (the RPC timeout bounds that).
//!
//! A listener holds at most `max_connections`. At the limit, the connection that has
//! waited longest without sending a request is closed to admit the new one, so slow
//! clients cannot lock out prompt ones; when every connection is busy with a request,
//! the new one gets 503 at once and is closed. Either way the listen backlog keeps
//! draining and descriptors stay bounded.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

pub use crate::config::HttpLimits;

/// The answer to a connection turned away because every one is busy: 503 with
/// Ironic's error body, so clients retry as they do for any 503.
fn full_response() -> String {
    let fault = serde_json::json!({
        "faultstring": "Too many connections, please retry later",
        "faultcode": "Server",
        "debuginfo": null,
    });
    let body = serde_json::json!({"error_message": fault.to_string()}).to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Connection: close\r\nRetry-After: 1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// How long a full listener waits for a closed idle connection to release its slot.
const EVICTION_WAIT: Duration = Duration::from_secs(1);

/// Serves `service` on `listener` until `shutdown` completes, then stops accepting,
/// lets requests in flight finish and returns once every connection is closed.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let table = Arc::new(Table::default());
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (or a connection reset before accept): pause
                    // rather than spin, and keep serving the connections we have.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = admit(&slots, &table).await else {
            tracing::warn!(
                max = limits.max_connections,
                "connection limit reached with every connection busy; answering 503"
            );
            // Best effort: a client that cannot take the answer at once is not waited for.
            let _ = stream.try_write(full_response().as_bytes());
            continue;
        };
        let watch = table.insert();
        let service = service.clone();
        let table = table.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            connection(stream, service, limits, watch.clone(), stopping).await;
            table.remove(watch.id);
            drop(slot);
        });
    }
    let _ = stop.send(true);
    // Every slot back means every connection is closed.
    let _all = slots.acquire_many(limits.max_connections as u32).await;
    Ok(())
}

/// A slot for a new connection: a free one, or one freed by closing the connection
/// that has waited longest without a request; none when all are busy.
async fn admit(slots: &Arc<Semaphore>, table: &Table) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if let Ok(slot) = slots.clone().try_acquire_owned() {
        return Some(slot);
    }
    if !table.evict_longest_waiting() {
        return None;
    }
    tokio::time::timeout(EVICTION_WAIT, slots.clone().acquire_owned())
        .await
        .ok()?
        .ok()
}

/// Serves one connection until it ends, times out, is evicted or the server stops.
async fn connection<S>(
    stream: TcpStream,
    service: S,
    limits: HttpLimits,
    watch: Arc<Watch>,
    mut stopping: watch::Receiver<bool>,
) where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let io = TokioIo::new(Watched {
        inner: stream,
        watch: watch.clone(),
    });
    let busy = watch.clone();
    let handler = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let request = busy.begin();
        let answer = service.clone().oneshot(req.map(Body::new));
        async move {
            let response = answer.await;
            drop(request);
            response
        }
    });
    // hyper's own header timeout would also cut kept-alive connections: the watch
    // above times both phases instead.
    let conn = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, handler);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = watch.deadline(&limits);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline) => {
                if watch.expired(&limits) {
                    tracing::debug!("closing a connection that sent no complete request in time");
                    return;
                }
            }
            () = watch.changed.notified() => {}
            () = watch.evicted.notified() => {
                tracing::debug!("closing an idle connection to admit a new one");
                return;
            }
            _ = stopping.changed(), if !draining => {
                // Finishes the request in flight, if any, then closes.
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Milliseconds since the server's start, as stored in the atomics.
fn now_ms() -> u64 {
    clock_base().elapsed().as_millis() as u64
}

fn clock_base() -> Instant {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn at_ms(ms: u64) -> Instant {
    clock_base() + Duration::from_millis(ms)
}

/// What the server knows of one connection, shared by its task, its I/O and the
/// accept loop (which picks the connection to evict).
struct Watch {
    id: u64,
    /// Requests being answered (more than one only with pipelining).
    busy: AtomicUsize,
    /// When the connection began waiting for a request: opened or last answered.
    waiting_since: AtomicU64,
    /// One past the time of the first byte of the next request; 0 while none came.
    first_byte: AtomicU64,
    /// Wakes the connection's task to recompute its deadline.
    changed: Notify,
    /// Tells the connection's task to close, to free its slot for a new connection.
    evicted: Notify,
}

impl Watch {
    fn new(id: u64) -> Watch {
        Watch {
            id,
            busy: AtomicUsize::new(0),
            waiting_since: AtomicU64::new(now_ms()),
            first_byte: AtomicU64::new(0),
            changed: Notify::new(),
            evicted: Notify::new(),
        }
    }

    /// When the connection is due to be closed, as far as is known now. A busy one is
    /// looked at again after an idle timeout.
    fn deadline(&self, limits: &HttpLimits) -> Instant {
        if self.is_busy() {
            return Instant::now() + limits.idle_timeout;
        }
        match self.first_byte.load(Ordering::Acquire) {
            0 => at_ms(self.waiting_since.load(Ordering::Acquire)) + limits.idle_timeout,
            first => at_ms(first - 1) + limits.header_timeout,
        }
    }

    fn expired(&self, limits: &HttpLimits) -> bool {
        !self.is_busy() && Instant::now() >= self.deadline(limits)
    }

    fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire) > 0
    }

    /// Notes bytes received: the first one after a wait starts the header timeout.
    fn received(&self) {
        if self.is_busy() {
            return;
        }
        let first = now_ms() + 1;
        if self
            .first_byte
            .compare_exchange(0, first, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// Marks a request as being answered until the guard drops.
    fn begin(self: &Arc<Watch>) -> Answering {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Answering(self.clone())
    }
}

/// A request being answered; dropping it starts the wait for the next one.
struct Answering(Arc<Watch>);

impl Drop for Answering {
    fn drop(&mut self) {
        let watch = &self.0;
        watch.waiting_since.store(now_ms(), Ordering::Release);
        watch.first_byte.store(0, Ordering::Release);
        watch.busy.fetch_sub(1, Ordering::AcqRel);
        watch.changed.notify_one();
    }
}

/// The open connections of one listener.
#[derive(Default)]
struct Table {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Watch>>>,
}

impl Table {
    fn insert(&self) -> Arc<Watch> {
        let watch = Arc::new(Watch::new(self.next.fetch_add(1, Ordering::Relaxed)));
        self.lock().insert(watch.id, watch.clone());
        watch
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Tells the connection that has waited longest without a complete request to
    /// close; false when every connection is answering one.
    fn evict_longest_waiting(&self) -> bool {
        let open = self.lock();
        let victim = open
            .values()
            .filter(|w| !w.is_busy())
            .min_by_key(|w| w.waiting_since.load(Ordering::Acquire));
        match victim {
            Some(watch) => {
                // Out of the running for the next eviction while it closes.
                watch.busy.fetch_add(1, Ordering::AcqRel);
                watch.evicted.notify_one();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Watch>>> {
        // A panic elsewhere cannot leave the map inconsistent: keep serving.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A connection's socket that reports the bytes it receives to its [`Watch`].
struct Watched {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
