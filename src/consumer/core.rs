//! The native half of a consumer, shared by the Python `Consumer` and every message it lent out.
//!
//! ```text
//! Python Consumer ──Arc──► ConsumerCore (rdkafka BaseConsumer + registry of live messages)
//!                              ▲
//! NativeMessage ──Arc──────────┘  (inside BorrowedMessage slots and exported buffers)
//! ```
//! librdkafka requires every message to be destroyed before its handle: the handle is destroyed
//! only when the last `Arc<ConsumerCore>` drops, and then on a background thread, because
//! `BaseConsumer`'s drop closes the consumer and may block.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::{ClientConfig, ClientContext};

use crate::blocking::{drop_in_background, wait_detached};
use crate::consumer::registry::MessageRegistry;
use crate::errors::{FerroError, FerroResult};
use crate::message::borrowed::NativeMessage;

/// The rdkafka context of our consumers: rdkafka's default rebalance handling, logs to the `log`
/// crate (silent unless a logger is installed).
pub struct CoreContext;

impl ClientContext for CoreContext {}
impl ConsumerContext for CoreContext {}

pub type NativeConsumer = BaseConsumer<CoreContext>;

pub struct ConsumerCore {
    /// Destroyed in `Drop`, on a background thread.
    consumer: ManuallyDrop<NativeConsumer>,
    pub registry: Arc<MessageRegistry>,
    has_group: bool,
}

/// One result of polling librdkafka.
pub enum Polled {
    Message(NativeMessage),
    Error(RdKafkaError),
    /// Nothing arrived within the slice (or only events, such as a rebalance, were served).
    Nothing,
}

impl ConsumerCore {
    pub fn new(config: &ClientConfig) -> FerroResult<Arc<Self>> {
        let consumer: NativeConsumer = config.create_with_context(CoreContext)?;
        Ok(Arc::new(ConsumerCore {
            consumer: ManuallyDrop::new(consumer),
            registry: Arc::new(MessageRegistry::default()),
            has_group: config.get("group.id").is_some(),
        }))
    }

    pub fn native(&self) -> &NativeConsumer {
        &self.consumer
    }

    /// The rdkafka consumer, or `Closed` once `close()` started.
    pub fn open(&self) -> FerroResult<&NativeConsumer> {
        if self.registry.is_closed() {
            Err(FerroError::Closed("consumer"))
        } else {
            Ok(&self.consumer)
        }
    }

    /// Polls librdkafka once, for at most `timeout`. Call with the GIL released.
    pub fn poll_native(self: &Arc<Self>, timeout: Duration) -> Polled {
        let polled = NativeMessage::try_new(self.clone(), |core| match core.consumer.poll(timeout) {
            Some(Ok(message)) => Ok(message),
            Some(Err(err)) => Err(Some(err)),
            None => Err(None),
        });
        match polled {
            Ok(native) => Polled::Message(native),
            Err(Some(err)) => Polled::Error(err),
            Err(None) => Polled::Nothing,
        }
    }

    /// Invalidates every live message, leaves the group and closes librdkafka's consumer, with the
    /// GIL released and Ctrl-C honoured. Returns once closed or at `deadline`; what is left then
    /// finishes when the handle is destroyed. Idempotent.
    pub fn close(self: &Arc<Self>, py: Python<'_>, deadline: Option<Instant>) -> PyResult<()> {
        if !self.registry.close() || !self.has_group {
            return Ok(());
        }
        // Starts an asynchronous close whose rebalance and commit events we serve by polling.
        if self.consumer.close_queue().is_err() {
            return Ok(()); // already closing or closed
        }
        wait_detached(py, deadline, |slice| {
            if !self.consumer.closed() {
                // Messages still queued are dropped: their partitions are being revoked.
                drop(self.consumer.poll(slice));
            }
            self.consumer.closed().then_some(())
        })?;
        Ok(())
    }
}

impl Drop for ConsumerCore {
    fn drop(&mut self) {
        // SAFETY: `consumer` is taken exactly once, here, and never touched again: `self` is being
        // dropped. No message borrows from it any more, since every NativeMessage holds an
        // Arc<ConsumerCore> and this is the last one.
        let consumer = unsafe { ManuallyDrop::take(&mut self.consumer) };
        drop_in_background(consumer, "consumer");
    }
}
