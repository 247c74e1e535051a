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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError as RdKafkaError, KafkaResult};
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::blocking::{drop_in_background, wait_detached};
use crate::callbacks::{ClientCallbacks, PythonSettings};
use crate::consumer::registry::MessageRegistry;
use crate::errors::{FerroError, FerroResult, KafkaErrorInfo};
use crate::message::borrowed::NativeMessage;
use crate::topic_partition::from_list;

/// The Python functions given to `subscribe()`, and the consumer they receive (a weak reference:
/// the consumer owns this context).
pub struct RebalanceCallbacks {
    pub consumer: Py<PyAny>,
    pub on_assign: Option<Py<PyAny>>,
    pub on_revoke: Option<Py<PyAny>>,
    pub on_lost: Option<Py<PyAny>>,
}

/// The rdkafka context of our consumers: rdkafka's rebalance handling (eager or cooperative) with
/// the user's callbacks around it, and queued logs, errors, statistics and commit results.
pub struct CoreContext {
    pub callbacks: ClientCallbacks,
    pub rebalance: Mutex<Option<RebalanceCallbacks>>,
    /// An exception raised by a rebalance callback, re-raised by the poll that served it.
    pub rebalance_error: Mutex<Option<PyErr>>,
    /// False once the consumer is closing for good: nothing may call into Python any more.
    pub python_enabled: AtomicBool,
}

impl CoreContext {
    /// Whether callbacks wait to be run (cheap; checked once per poll slice).
    pub fn has_pending(&self) -> bool {
        self.callbacks.has_pending() || self.rebalance_error.lock().is_some()
    }

    /// Keeps an exception to raise from the next call into the consumer.
    pub fn defer_error(&self, err: PyErr) {
        let mut slot = self.rebalance_error.lock();
        if slot.is_none() {
            *slot = Some(err);
        }
    }

    fn call_rebalance(&self, pick: impl Fn(&RebalanceCallbacks) -> Option<&Py<PyAny>>, partitions: &TopicPartitionList) {
        if !self.python_enabled.load(Ordering::Acquire) {
            return;
        }
        // We are on the thread that released the GIL to poll; take it back for the callback.
        Python::try_attach(|py| {
            let (consumer, callback) = {
                let guard = self.rebalance.lock();
                let Some(callbacks) = guard.as_ref() else { return };
                let Some(callback) = pick(callbacks) else { return };
                (callbacks.consumer.clone_ref(py), callback.clone_ref(py))
            };
            let result = consumer.bind(py).call0().and_then(|consumer| callback.bind(py).call1((consumer, from_list(partitions))));
            if let Err(err) = result {
                let mut slot = self.rebalance_error.lock();
                match slot.as_ref() {
                    None => *slot = Some(err),
                    Some(_) => err.write_unraisable(py, None),
                }
            }
        });
    }
}

crate::callbacks::client_context_via_callbacks!(CoreContext);

impl ConsumerContext for CoreContext {
    /// Revocation: before rdkafka unassigns, so the callback can still commit.
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            if consumer.assignment_lost() {
                self.call_rebalance(|c| c.on_lost.as_ref().or(c.on_revoke.as_ref()), partitions);
            } else {
                self.call_rebalance(|c| c.on_revoke.as_ref(), partitions);
            }
        }
    }

    /// Assignment: after rdkafka assigned, so the callback can seek or read positions.
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            self.call_rebalance(|c| c.on_assign.as_ref(), partitions);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        let error = result.err().map(|err| KafkaErrorInfo::from_rdkafka(&err));
        self.callbacks.commit_result(error, from_list(offsets));
    }
}

pub type NativeConsumer = BaseConsumer<CoreContext>;

pub struct ConsumerCore {
    /// Destroyed in `Drop`, on a background thread.
    consumer: ManuallyDrop<NativeConsumer>,
    pub registry: Arc<MessageRegistry>,
    has_group: bool,
    /// Set once close() is done: from then on every call raises. (While closing, rebalance
    /// callbacks may still commit.)
    calls_closed: AtomicBool,
}

/// One result of polling librdkafka.
pub enum Polled {
    Message(NativeMessage),
    Error(RdKafkaError),
    /// Nothing arrived within the slice (or only events, such as a rebalance, were served).
    Nothing,
}

impl ConsumerCore {
    pub fn new(config: &ClientConfig, settings: PythonSettings) -> FerroResult<Arc<Self>> {
        settings.allow_only("consumer", &["error_cb", "stats_cb", "on_commit", "logger"])?;
        let context = CoreContext {
            callbacks: ClientCallbacks::new(settings),
            rebalance: Mutex::new(None),
            rebalance_error: Mutex::new(None),
            python_enabled: AtomicBool::new(true),
        };
        let consumer: NativeConsumer = config.create_with_context(context)?;
        Ok(Arc::new(ConsumerCore {
            consumer: ManuallyDrop::new(consumer),
            registry: Arc::new(MessageRegistry::default()),
            has_group: config.get("group.id").is_some(),
            calls_closed: AtomicBool::new(false),
        }))
    }

    pub fn native(&self) -> &NativeConsumer {
        &self.consumer
    }

    pub fn context(&self) -> &CoreContext {
        self.consumer.context()
    }

    /// Closes for good without waiting (finaliser path): the rest happens when the handle drops.
    pub fn abandon(&self) {
        self.calls_closed.store(true, Ordering::Release);
        self.context().python_enabled.store(false, Ordering::Release);
        self.registry.close();
    }

    /// Commits asynchronously with the result posted to the consumer queue, where poll hands it to
    /// the `on_commit` callback (rd_kafka_commit alone reports manual async commits nowhere).
    pub fn commit_async(&self, offsets: &TopicPartitionList) -> FerroResult<()> {
        let consumer = self.open()?;
        let native = consumer.client().native_ptr();
        // SAFETY: `native` is a live consumer handle while `consumer` is borrowed. The queue reference
        // from rd_kafka_queue_get_consumer (null without a group) is ours to destroy, which we do
        // right after rd_kafka_commit_queue enqueued the request (it keeps its own reference).
        let err = unsafe {
            let queue = rdkafka::bindings::rd_kafka_queue_get_consumer(native);
            if queue.is_null() {
                return Err(FerroError::Value("asynchronous commits need a group.id".into()));
            }
            let err = rdkafka::bindings::rd_kafka_commit_queue(native, offsets.ptr(), queue, None, std::ptr::null_mut());
            rdkafka::bindings::rd_kafka_queue_destroy(queue);
            err
        };
        if err == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            Err(FerroError::Kafka(KafkaErrorInfo::from_code(err.into(), "commit failed")))
        }
    }

    /// Runs queued callbacks and re-raises what a rebalance callback raised. With the GIL.
    pub fn dispatch_callbacks(&self, py: Python<'_>) -> PyResult<()> {
        let context = self.context();
        let queued = context.callbacks.dispatch(py);
        if let Some(err) = context.rebalance_error.lock().take() {
            return Err(err);
        }
        queued
    }

    /// The rdkafka consumer, or `Closed` once closed.
    pub fn open(&self) -> FerroResult<&NativeConsumer> {
        if self.calls_closed.load(Ordering::Acquire) {
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
        if !self.registry.close() {
            self.calls_closed.store(true, Ordering::Release);
            return Ok(());
        }
        let waited = if self.has_group && self.consumer.close_queue().is_ok() {
            // An asynchronous close whose rebalance (on_revoke) and commit events we serve by polling.
            wait_detached(py, deadline, |slice| {
                if !self.consumer.closed() {
                    // Messages still queued are dropped: their partitions are being revoked.
                    drop(self.consumer.poll(slice));
                }
                self.consumer.closed().then_some(())
            })
            .map(drop)
        } else {
            Ok(())
        };
        // From here on the handle may be finished off on any thread: no more Python callbacks.
        self.calls_closed.store(true, Ordering::Release);
        self.context().python_enabled.store(false, Ordering::Release);
        let dispatched = self.dispatch_callbacks(py);
        *self.context().rebalance.lock() = None;
        waited.and(dispatched)
    }
}

impl Drop for ConsumerCore {
    fn drop(&mut self) {
        self.context().python_enabled.store(false, Ordering::Release);
        // SAFETY: `consumer` is taken exactly once, here, and never touched again: `self` is being
        // dropped. No message borrows from it any more, since every NativeMessage holds an
        // Arc<ConsumerCore> and this is the last one.
        let consumer = unsafe { ManuallyDrop::take(&mut self.consumer) };
        drop_in_background(consumer, "consumer");
    }
}
