//! The in-process transport of the embedded mode: the conductor runs in the gateway's
//! process. Requests and replies are handed over as they are: encoding them (twice
//! each way) only cost CPU, and the encoding has its own tests and the RabbitMQ
//! transport's.

use std::sync::Arc;
use std::time::Duration;

use super::{Handler, Request, Response, Transport, epoch_ms};
use crate::error::Error;

pub struct MemoryTransport {
    handler: Arc<dyn Handler>,
}

impl MemoryTransport {
    pub fn new(handler: Arc<dyn Handler>) -> MemoryTransport {
        MemoryTransport { handler }
    }
}

#[async_trait::async_trait]
impl Transport for MemoryTransport {
    async fn call(&self, request: Request) -> Response {
        let wait = Duration::from_millis(request.deadline_ms.saturating_sub(epoch_ms()));
        let method = request.call.method();
        let handler = self.handler.clone();
        // The conductor's work runs in its own task: a caller that gives up does not
        // cancel a mutation half-way. It stays in the caller's span, so its log lines
        // show under the API request that caused them.
        let work = tokio::spawn(tracing::Instrument::in_current_span(async move {
            handler.handle(request).await
        }));
        match tokio::time::timeout(wait, work).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => Err(Error::Internal(format!("conductor task failed: {e}"))),
            Err(_) => {
                metrics::counter!(crate::metrics::RPC_TIMEOUTS, "method" => method).increment(1);
                Err(Error::Unavailable(
                    "The conductor did not answer in time, please retry later.".into(),
                ))
            }
        }
    }
}
