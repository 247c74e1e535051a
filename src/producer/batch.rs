//! `Producer.produce_batch()`: many messages to one topic in one GIL-free call, with one future for
//! the batch. The messages are read out of Python first (with the GIL, all validated before any is
//! sent): a list's values and keys are copied into one buffer, an Arrow table's columns are read
//! in place. Then they go to librdkafka without the GIL, waiting (in slices: Ctrl-C) while its queue
//! is full. Each message travels as a member of the batch (`native::batch_opaque`: one member
//! array per batch, no allocation per message); its outcome goes to the batch's slot array
//! (`BatchCell`), whose own cell, the batch's future, finishes with the last message, to a list of
//! reports and errors in order.

#![forbid(unsafe_code)]

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, GenericListArray, OffsetSizeTrait, RecordBatch, StructArray};
use arrow_schema::{DataType, Schema, TimeUnit};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use rdkafka::bindings as rdsys;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::types::RDKafkaErrorCode;

use super::core::{PlainMessage, ProducerCore, ProducerHandle, Refused};
use super::delivery::{BatchCell, BatchMember, Delivery, DeliveryCell, Outcome};
use crate::args::Int;
use crate::blocking::wait_detached;
use crate::errors::{FerroError, KafkaErrorInfo};
use crate::message::headers;
use crate::native::batch_opaque::Issuer;
use crate::native::bytes_like::{with_opt_bytes, HeldBytes};
use crate::native::producer::TopicRef;

/// The bytes of a value or key of a list's message.
enum Data {
    /// Copied into the batch's buffer (from a bytearray, a memoryview, ...).
    Copied(Range<usize>),
    /// Inside an immutable `bytes` or `str` that the batch holds a reference to: not copied.
    Held(HeldBytes),
}

/// One message of a list.
pub(super) struct Item {
    value: Option<Data>,
    key: Option<Data>,
    headers: Option<OwnedHeaders>,
    timestamp: Option<i64>,
    partition: Option<i32>,
}

/// A column of bytes in any of Arrow's binary and string layouts.
enum Bytes {
    Binary(ArrayRef),
    LargeBinary(ArrayRef),
    Utf8(ArrayRef),
    LargeUtf8(ArrayRef),
    BinaryView(ArrayRef),
    Utf8View(ArrayRef),
}

impl Bytes {
    fn of(array: &ArrayRef, column: &str) -> PyResult<Bytes> {
        let a = array.clone();
        Ok(match array.data_type() {
            DataType::Binary => Bytes::Binary(a),
            DataType::LargeBinary => Bytes::LargeBinary(a),
            DataType::Utf8 => Bytes::Utf8(a),
            DataType::LargeUtf8 => Bytes::LargeUtf8(a),
            DataType::BinaryView => Bytes::BinaryView(a),
            DataType::Utf8View => Bytes::Utf8View(a),
            other => {
                return Err(FerroError::Type(format!(
                    "column {column:?} must be binary or string (any Arrow layout), not {other}"
                ))
                .into())
            }
        })
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        let array = match self {
            Bytes::Binary(a) | Bytes::LargeBinary(a) | Bytes::Utf8(a) | Bytes::LargeUtf8(a) => a,
            Bytes::BinaryView(a) | Bytes::Utf8View(a) => a,
        };
        if array.is_null(i) {
            return None;
        }
        Some(match self {
            Bytes::Binary(a) => a.as_binary::<i32>().value(i),
            Bytes::LargeBinary(a) => a.as_binary::<i64>().value(i),
            Bytes::Utf8(a) => a.as_string::<i32>().value(i).as_bytes(),
            Bytes::LargeUtf8(a) => a.as_string::<i64>().value(i).as_bytes(),
            Bytes::BinaryView(a) => a.as_binary_view().value(i),
            Bytes::Utf8View(a) => a.as_string_view().value(i).as_bytes(),
        })
    }
}

/// A `headers` column: list<struct<key, value>>, any list and bytes layout.
struct HeaderColumn {
    list: ArrayRef,
    /// Row i's headers are entries `starts[i]..starts[i + 1]`.
    starts: Vec<usize>,
    keys: Bytes,
    values: Bytes,
}

impl HeaderColumn {
    fn of(array: &ArrayRef) -> PyResult<HeaderColumn> {
        fn parts<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> (Vec<usize>, ArrayRef) {
            (list.value_offsets().iter().map(|o| o.as_usize()).collect(), list.values().clone())
        }
        let (starts, entries) = match array.data_type() {
            DataType::List(_) => parts(array.as_list::<i32>()),
            DataType::LargeList(_) => parts(array.as_list::<i64>()),
            other => return Err(header_type_error(other)),
        };
        let Some(pairs) = entries.as_any().downcast_ref::<StructArray>() else {
            return Err(header_type_error(array.data_type()));
        };
        let field = |name: &str, position: usize| -> PyResult<ArrayRef> {
            pairs
                .column_by_name(name)
                .or_else(|| pairs.columns().get(position))
                .cloned()
                .ok_or_else(|| header_type_error(array.data_type()))
        };
        let (keys, values) = (field("key", 0)?, field("value", 1)?);
        if keys.null_count() > 0 {
            return Err(FerroError::Value("header keys must not be null".into()).into());
        }
        Ok(HeaderColumn {
            list: array.clone(),
            starts,
            keys: Bytes::of(&keys, "headers.key")?,
            values: Bytes::of(&values, "headers.value")?,
        })
    }

    fn is_empty(&self, i: usize) -> bool {
        self.list.is_null(i) || self.starts[i] == self.starts[i + 1]
    }

    fn get(&self, i: usize) -> Option<OwnedHeaders> {
        if self.list.is_null(i) {
            return None;
        }
        let entries = self.starts[i]..self.starts[i + 1];
        if entries.is_empty() {
            return None;
        }
        let mut headers = OwnedHeaders::new_with_capacity(entries.len());
        for j in entries {
            let key = String::from_utf8_lossy(self.keys.get(j).unwrap_or_default());
            headers = headers.insert(Header { key: &key, value: self.values.get(j) });
        }
        Some(headers)
    }
}

fn header_type_error(found: &DataType) -> PyErr {
    FerroError::Type(format!(
        "column \"headers\" must be list<struct<key: string, value: binary>> (any list and bytes layout), not {found}"
    ))
    .into()
}

/// A timestamp column: int64 milliseconds or an Arrow timestamp of any unit.
struct Timestamps(ArrayRef);

impl Timestamps {
    fn of(array: &ArrayRef) -> PyResult<Timestamps> {
        match array.data_type() {
            DataType::Int64 | DataType::Timestamp(_, _) => Ok(Timestamps(array.clone())),
            other => Err(FerroError::Type(format!(
                "column \"timestamp\" must be int64 (milliseconds) or a timestamp, not {other}"
            ))
            .into()),
        }
    }

    fn get(&self, i: usize) -> Option<i64> {
        if self.0.is_null(i) {
            return None;
        }
        Some(match self.0.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => {
                self.0.as_primitive::<arrow_array::types::TimestampSecondType>().value(i).saturating_mul(1000)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => self.0.as_primitive::<TimestampMillisecondType>().value(i),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                self.0.as_primitive::<arrow_array::types::TimestampMicrosecondType>().value(i) / 1000
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                self.0.as_primitive::<arrow_array::types::TimestampNanosecondType>().value(i) / 1_000_000
            }
            _ => self.0.as_primitive::<Int64Type>().value(i),
        })
    }
}

/// One Arrow record batch's columns.
pub(super) struct ArrowColumns {
    rows: usize,
    value: Bytes,
    key: Option<Bytes>,
    headers: Option<HeaderColumn>,
    timestamp: Option<Timestamps>,
    partition: Option<ArrayRef>,
}

/// The messages of one `produce_batch()` call, out of Python.
pub(super) enum BatchSource {
    List { buffer: Vec<u8>, items: Vec<Item> },
    Arrow(Vec<ArrowColumns>),
}

/// One message as the sending loop sees it.
struct Outgoing<'a> {
    value: Option<&'a [u8]>,
    key: Option<&'a [u8]>,
    timestamp: Option<i64>,
    partition: Option<i32>,
}

impl BatchSource {
    /// Reads `messages`: an object exporting Arrow data, or a list or tuple of messages.
    pub(super) fn read(messages: &Bound<'_, PyAny>) -> PyResult<BatchSource> {
        if crate::native::arrow_capsules::exports_arrow(messages)? {
            let (schema, batches) = crate::native::arrow_capsules::import(messages)?;
            let columns = batches.iter().map(|batch| arrow_columns(&schema, batch)).collect::<PyResult<Vec<_>>>()?;
            check_arrow_rows(messages.py(), &columns)?;
            return Ok(BatchSource::Arrow(columns));
        }
        let items = if let Ok(list) = messages.cast::<PyList>() {
            list.as_sequence().to_tuple()?
        } else if let Ok(tuple) = messages.cast::<PyTuple>() {
            tuple.clone()
        } else {
            let type_name = messages.get_type().name()?;
            return Err(FerroError::Type(format!(
                "messages must be a list or tuple, or an Arrow table or array, not {type_name}"
            ))
            .into());
        };
        let mut buffer = Vec::new();
        // Sized once: growing it by doubling copied and page-faulted it in again and again.
        let mut read = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            read.push(read_item(&item, &mut buffer).map_err(|err| at_index(item.py(), err, i))?);
        }
        Ok(BatchSource::List { buffer, items: read })
    }

    pub(super) fn len(&self) -> usize {
        match self {
            BatchSource::List { items, .. } => items.len(),
            BatchSource::Arrow(batches) => batches.iter().map(|b| b.rows).sum(),
        }
    }

    /// Whether message `i` has neither headers nor a timestamp (rd_kafka_produce_batch takes neither).
    fn is_plain(&self, i: usize) -> bool {
        match self {
            BatchSource::List { items, .. } => {
                items.get(i).is_some_and(|m| m.headers.is_none() && m.timestamp.is_none())
            }
            BatchSource::Arrow(batches) => locate(batches, i).is_some_and(|(batch, row)| {
                batch.timestamp.as_ref().is_none_or(|t| t.0.is_null(row))
                    && batch.headers.as_ref().is_none_or(|h| h.is_empty(row))
            }),
        }
    }

    /// Message `i`'s headers, taken (the first time).
    fn take_headers(&mut self, i: usize) -> Option<OwnedHeaders> {
        match self {
            BatchSource::List { items, .. } => items.get_mut(i).and_then(|item| item.headers.take()),
            BatchSource::Arrow(batches) => {
                let (batch, row) = locate(batches, i)?;
                batch.headers.as_ref().and_then(|h| h.get(row))
            }
        }
    }

    fn get(&self, i: usize) -> Option<Outgoing<'_>> {
        match self {
            BatchSource::List { buffer, items, .. } => {
                let item = items.get(i)?;
                fn bytes<'a>(buffer: &'a [u8], data: &'a Option<Data>) -> Option<&'a [u8]> {
                    match data.as_ref()? {
                        Data::Copied(range) => buffer.get(range.clone()),
                        Data::Held(held) => Some(held.as_bytes()),
                    }
                }
                Some(Outgoing {
                    value: bytes(buffer, &item.value),
                    key: bytes(buffer, &item.key),
                    timestamp: item.timestamp,
                    partition: item.partition,
                })
            }
            BatchSource::Arrow(batches) => {
                let (batch, row) = locate(batches, i)?;
                let partition = batch.partition.as_ref().filter(|p| !p.is_null(row));
                Some(Outgoing {
                    value: batch.value.get(row),
                    key: batch.key.as_ref().and_then(|k| k.get(row)),
                    timestamp: batch.timestamp.as_ref().and_then(|t| t.get(row)),
                    partition: partition.map(|p| p.as_primitive::<Int32Type>().value(row)),
                })
            }
        }
    }
}

/// The record batch holding message `i`, and its row there.
fn locate(batches: &[ArrowColumns], mut i: usize) -> Option<(&ArrowColumns, usize)> {
    for batch in batches {
        if i < batch.rows {
            return Some((batch, i));
        }
        i -= batch.rows;
    }
    None
}

fn arrow_columns(schema: &Schema, batch: &RecordBatch) -> PyResult<ArrowColumns> {
    let column = |name: &str| schema.index_of(name).ok().map(|i| batch.column(i).clone());
    let Some(value) = column("value") else {
        let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        return Err(FerroError::Value(format!("the Arrow data has no \"value\" column (columns: {names:?})")).into());
    };
    let partition = column("partition");
    if let Some(p) = &partition {
        if p.data_type() != &DataType::Int32 {
            return Err(FerroError::Type(format!("column \"partition\" must be int32, not {}", p.data_type())).into());
        }
    }
    Ok(ArrowColumns {
        rows: batch.num_rows(),
        value: Bytes::of(&value, "value")?,
        key: column("key").map(|k| Bytes::of(&k, "key")).transpose()?,
        headers: column("headers").map(|h| HeaderColumn::of(&h)).transpose()?,
        timestamp: column("timestamp").map(|t| Timestamps::of(&t)).transpose()?,
        partition,
    })
}

/// The partition and timestamp columns follow `produce()`'s rule (see [`check_partition`]): the
/// first row refused is named by its index in the whole table.
fn check_arrow_rows(py: Python<'_>, batches: &[ArrowColumns]) -> PyResult<()> {
    let mut first = 0;
    for batch in batches {
        if batch.partition.is_some() || batch.timestamp.is_some() {
            for row in 0..batch.rows {
                let partition = batch.partition.as_ref().filter(|p| !p.is_null(row));
                let partition = partition.map(|p| Int(i64::from(p.as_primitive::<Int32Type>().value(row))));
                let timestamp = batch.timestamp.as_ref().and_then(|t| t.get(row)).map(Int);
                check_partition(partition)
                    .and(check_timestamp(timestamp))
                    .map_err(|err| at_index(py, err, first + row))?;
            }
        }
        first += batch.rows;
    }
    Ok(())
}

/// Names the message an error is about.
fn at_index(py: Python<'_>, err: PyErr, i: usize) -> PyErr {
    let message = format!("messages[{i}]: {}", err.value(py));
    if err.is_instance_of::<pyo3::exceptions::PyTypeError>(py) {
        pyo3::exceptions::PyTypeError::new_err(message)
    } else if err.is_instance_of::<pyo3::exceptions::PyValueError>(py) {
        pyo3::exceptions::PyValueError::new_err(message)
    } else {
        err
    }
}

/// Where `data`'s bytes are: in the object itself for `bytes` and `str` (immutable), else copied to
/// the end of `buffer`.
fn locate_bytes(buffer: &mut Vec<u8>, data: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Data>> {
    let Some(data) = data.filter(|d| !d.is_none()) else { return Ok(None) };
    if let Some(held) = HeldBytes::of(data)? {
        return Ok(Some(Data::Held(held)));
    }
    with_opt_bytes(Some(data), what, |bytes| {
        bytes.map(|bytes| {
            let start = buffer.len();
            buffer.extend_from_slice(bytes);
            Data::Copied(start..buffer.len())
        })
    })
}

/// One message of a list: a value, a `(key, value[, headers[, timestamp[, partition]]])` tuple, or a
/// dict with those names (confluent-kafka's `produce_batch` form).
fn read_item<'py>(item: &Bound<'py, PyAny>, buffer: &mut Vec<u8>) -> PyResult<Item> {
    let mut parts: [Option<Bound<'py, PyAny>>; 5] = Default::default();
    const NAMES: [&str; 5] = ["key", "value", "headers", "timestamp", "partition"];
    if let Ok(tuple) = item.cast::<PyTuple>() {
        if !(2..=5).contains(&tuple.len()) {
            return Err(FerroError::Type(format!(
                "a message tuple is (key, value[, headers[, timestamp[, partition]]]), not {} items",
                tuple.len()
            ))
            .into());
        }
        for (slot, part) in parts.iter_mut().zip(tuple.iter()) {
            *slot = Some(part);
        }
    } else if let Ok(dict) = item.cast::<PyDict>() {
        for (name, part) in dict.iter() {
            let known = name.cast::<PyString>().ok().map(|n| n.to_string());
            let Some(slot) = known.as_deref().and_then(|n| NAMES.iter().position(|known| *known == n)) else {
                // Both as Python shows them (repr), not as Rust's debug text (`Some("bogus")`).
                let names: Vec<String> = NAMES.iter().map(|n| format!("'{n}'")).collect();
                let shown = name.repr().map(|r| r.to_string()).unwrap_or_else(|_| "another key".into());
                return Err(
                    FerroError::Type(format!("a message dict has keys {}, not {shown}", names.join(", "))).into()
                );
            };
            parts[slot] = Some(part);
        }
    } else {
        parts[1] = Some(item.clone());
    }
    let [key, value, headers, timestamp, partition] = parts;
    let present = |part: Option<Bound<'py, PyAny>>| part.filter(|p| !p.is_none());
    Ok(Item {
        value: locate_bytes(buffer, value.as_ref(), "value")?,
        key: locate_bytes(buffer, key.as_ref(), "key")?,
        headers: present(headers).map(|h| headers::from_python(&h)).transpose()?,
        timestamp: check_timestamp(present(timestamp).map(|t| t.extract::<Int<i64>>()).transpose()?)?,
        partition: check_partition(present(partition).map(|p| p.extract::<Int<i64>>()).transpose()?)?,
    })
}

/// The one rule for a message's partition, in `produce()` and `produce_batch()` alike (and in
/// Kafka's Java client): -1 (or None) lets the partitioner choose, else 0 to 2**31-1. Whether the
/// partition exists is librdkafka's answer (`_UNKNOWN_PARTITION`).
pub(super) fn check_partition(partition: Option<Int<i64>>) -> PyResult<Option<i32>> {
    match partition.map(|p| p.0) {
        None => Ok(None),
        Some(p) if p >= -1 && p <= i64::from(i32::MAX) => Ok(Some(p as i32)),
        Some(p) => {
            Err(FerroError::Value(format!("partition must be -1 (the partitioner) or 0 to {}, not {p}", i32::MAX))
                .into())
        }
    }
}

/// The one rule for a message's timestamp: milliseconds since the epoch, >= 0 (0 or None: now).
/// Kafka reads -1 as "no timestamp", and the Java client refuses negative ones too.
pub(super) fn check_timestamp(timestamp: Option<Int<i64>>) -> PyResult<Option<i64>> {
    match timestamp.map(|t| t.0) {
        Some(t) if t < 0 => {
            Err(FerroError::Value(format!("timestamp must be milliseconds since the epoch, >= 0 (0: now), not {t}"))
                .into())
        }
        other => Ok(other),
    }
}

/// A new batch of `count` messages whose future is `cell`: the issuer of its members.
pub(super) fn new_batch(count: usize, cell: Arc<DeliveryCell>) -> Issuer<BatchCell> {
    let outcomes = Arc::new(super::delivery::BatchSlots::new(count));
    // The members keep the batch alive; this call does not need it.
    crate::native::batch_opaque::new_batch(count, BatchCell { outcomes, cell }).1
}

/// At most this many messages go to librdkafka per `rd_kafka_produce_batch` call.
const RUN: usize = 1024;

/// How long the sending loop sleeps while librdkafka's queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(1);

/// Sends every message of `source` to `topic` (GIL released, Ctrl-C honoured; waits while the queue
/// is full). Each message ends in its batch — delivered, refused at once, or, if the producer closes
/// or the wait is interrupted, failed unsent — so the batch's future always resolves: `members`
/// hands out message i's member once, and takes back those librdkafka refused for a full queue.
pub(super) fn send_all(
    py: Python<'_>,
    core: &ProducerCore,
    producer: &ProducerHandle,
    topic: TopicRef<'_>,
    partition: Option<i32>,
    mut source: BatchSource,
    mut members: Issuer<BatchCell>,
) -> PyResult<()> {
    let count = source.len();
    core.unresolved.fetch_add(count, Ordering::AcqRel);
    let failed = |code: RDKafkaErrorCode, why: &str| Outcome::Failed(Box::new(KafkaErrorInfo::from_code(code, why)));
    // A message librdkafka refused for a full queue, with its headers, kept for the retry.
    let mut waiting: Option<(Option<OwnedHeaders>, BatchMember)> = None;
    let sent = wait_detached(py, None, |slice| {
        let until = Instant::now() + slice;
        loop {
            let next = members.next_index();
            if waiting.is_none() && next >= count {
                return Some(true);
            }
            if !core.is_open() {
                return Some(false);
            }
            let full = if waiting.is_none() && source.is_plain(next) {
                // A run of messages without headers or timestamps: one librdkafka call.
                let end = (next..count.min(next + RUN)).find(|&i| !source.is_plain(i)).unwrap_or(count.min(next + RUN));
                let mut run = Vec::with_capacity(end - next);
                for i in next..end {
                    let Some(member) = members.next() else { break };
                    let Some(m) = source.get(i) else {
                        core.context().finish_member(member, failed(RDKafkaErrorCode::Fail, "produce failed"));
                        continue;
                    };
                    run.push(PlainMessage {
                        value: m.value,
                        key: m.key,
                        partition: m.partition.or(partition),
                        opaque: Delivery::Member(member),
                    });
                }
                let mut full = false;
                // From the last: those refused for a full queue (the last ones of the run) go back
                // to the issuer, to be sent again after a pause.
                for (_, Refused { code, opaque }) in producer.send_run(topic, run).into_iter().rev() {
                    match opaque {
                        Delivery::Member(member) if code == RDKafkaErrorCode::QueueFull => {
                            match members.give_back(member) {
                                Ok(()) => full = true,
                                Err(member) => core.context().finish_member(member, failed(code, "produce failed")),
                            }
                        }
                        delivery => core.context().resolve_delivery(delivery, failed(code, "produce failed")),
                    }
                }
                full
            } else {
                let (mut headers, member) = match waiting.take() {
                    Some(waiting) => waiting,
                    None => {
                        let headers = source.take_headers(next);
                        let Some(member) = members.next() else { return Some(true) };
                        (headers, member)
                    }
                };
                let Some(message) = source.get(member.index()) else {
                    core.context().finish_member(member, failed(RDKafkaErrorCode::Fail, "produce failed"));
                    continue;
                };
                let partition = message.partition.or(partition);
                let delivery = Delivery::Member(member);
                match producer.send(
                    topic,
                    message.value,
                    message.key,
                    partition,
                    message.timestamp,
                    &mut headers,
                    delivery,
                ) {
                    Ok(()) => {}
                    Err(Refused { code: RDKafkaErrorCode::QueueFull, opaque: Delivery::Member(member) }) => {
                        waiting = Some((headers, member))
                    }
                    Err(Refused { code, opaque }) => {
                        core.context().resolve_delivery(opaque, failed(code, "produce failed"))
                    }
                }
                waiting.is_some()
            };
            if full {
                if Instant::now() >= until {
                    return None;
                }
                std::thread::sleep(QUEUE_FULL_PAUSE);
            }
        }
    });
    if matches!(sent, Ok(Some(true))) {
        return Ok(());
    }
    // Closed under us, or interrupted: what was not sent fails, so the batch still resolves.
    let code = RDKafkaErrorCode::from(rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__DESTROY);
    let why = if sent.is_err() { "not sent: produce_batch() was interrupted" } else { "not sent: the producer closed" };
    for member in waiting.take().map(|(_, member)| member).into_iter().chain(members) {
        core.context().finish_member(member, failed(code, why));
    }
    sent.map(drop)
}
