//! `MessageBatch`: what `Consumer.consume_batch()` returns — messages copied once, in Rust, into
//! Arrow columns, and exported through the Arrow PyCapsule interface (see native/arrow_capsules.rs), so
//! that pyarrow, polars and duckdb take them without a copy and without a Python object per
//! message. It owns its memory: unlike a `BorrowedMessage` it outlives the consumer and may go to
//! any thread.
//!
//! The columns follow Spark's Kafka source (`key`, `value`, `topic`, `partition`, `offset`,
//! `timestamp`, `timestampType`, `headers`), in Python's naming and ferrokafka's types:
//!
//! | column           | Arrow type                                                     |
//! |------------------|----------------------------------------------------------------|
//! | `topic`          | utf8, not null                                                 |
//! | `partition`      | int32, not null                                                |
//! | `offset`         | int64, not null                                                |
//! | `timestamp`      | timestamp[ms, tz=UTC], null when not available                 |
//! | `timestamp_type` | int8, not null: `TimestampType`'s values (0 none, 1 create, 2 log append) |
//! | `key`            | large_binary, null when none                                   |
//! | `value`          | large_binary, null when none                                   |
//! | `headers`        | list<struct<key: utf8 not null, value: large_binary>>, not null (empty when none) |
//!
//! Binary columns are `large_binary` (64-bit offsets): a batch of large messages cannot overflow.

#![forbid(unsafe_code)]

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Int32Builder, Int64Builder, Int8Builder, LargeBinaryBuilder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{Array, ArrayRef, Int32Array, Int64Array, Int8Array, LargeBinaryArray, ListArray, RecordBatch};
use arrow_array::{StringArray, StructArray, TimestampMillisecondArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyTuple};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage as RdOwnedMessage};

use crate::message::borrowed::NativeMessage;
use crate::message::Handed;
use crate::message::{headers, MessageParts, OwnedMessage, TimestampType};
use crate::sequence_iter::SequenceIterator;
use crate::topic_partition::TopicPartition;

/// The fields of one header: `struct<key: utf8, value: large_binary>`.
fn header_fields() -> Fields {
    Fields::from(vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::LargeBinary, true)])
}

/// The schema of every `MessageBatch` (see the module docs).
pub fn batch_schema() -> SchemaRef {
    static SCHEMA: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let header = Field::new("item", DataType::Struct(header_fields()), false);
            Arc::new(Schema::new(vec![
                Field::new("topic", DataType::Utf8, false),
                Field::new("partition", DataType::Int32, false),
                Field::new("offset", DataType::Int64, false),
                Field::new("timestamp", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
                Field::new("timestamp_type", DataType::Int8, false),
                Field::new("key", DataType::LargeBinary, true),
                Field::new("value", DataType::LargeBinary, true),
                Field::new("headers", DataType::List(Arc::new(header)), false),
            ]))
        })
        .clone()
}

/// The `headers` column from its keys, values and per-row offsets.
fn header_list(mut keys: StringBuilder, mut values: LargeBinaryBuilder, offsets: Vec<i32>) -> ListArray {
    let structs =
        StructArray::new(header_fields(), vec![Arc::new(keys.finish()) as ArrayRef, Arc::new(values.finish())], None);
    let item = Arc::new(Field::new("item", DataType::Struct(header_fields()), false));
    ListArray::new(item, OffsetBuffer::new(offsets.into()), Arc::new(structs), None)
}

/// One message as `MessageBatch` pickles it: topic, partition, offset, timestamp (ms or None),
/// timestamp type, key, value, headers.
type PickledRow<'py> = (
    String,
    i32,
    i64,
    Option<i64>,
    i8,
    Option<Bound<'py, PyBytes>>,
    Option<Bound<'py, PyBytes>>,
    Vec<(String, Option<Bound<'py, PyBytes>>)>,
);

/// The columns, typed, for row access.
struct Columns {
    topic: StringArray,
    partition: Int32Array,
    offset: Int64Array,
    timestamp: TimestampMillisecondArray,
    timestamp_type: Int8Array,
    key: LargeBinaryArray,
    value: LargeBinaryArray,
    headers: ListArray,
}

/// Messages taken from librdkafka, as Arrow columns. Built without the GIL.
pub struct BatchData {
    columns: Columns,
    /// Per partition, the offset after its last message: what `commit(batch)` commits.
    next: Vec<Handed>,
}

impl BatchData {
    /// A batch of no messages.
    pub fn empty() -> BatchData {
        BatchData::build(std::iter::empty::<&NativeMessage>(), Vec::new())
    }

    /// Copies `messages` into columns (one copy per batch: the builders are sized up front, in
    /// one pass that reads the topic's name once per run of messages of one topic handle);
    /// `next` is, per partition, the offset after its last message.
    pub fn build<M: MessageParts>(messages: impl ExactSizeIterator<Item = M> + Clone, next: Vec<Handed>) -> BatchData {
        let n = messages.len();
        let (mut key_bytes, mut value_bytes, mut topic_bytes) = (0, 0, 0);
        let mut run: (*const rdkafka::bindings::rd_kafka_topic_t, usize) = (std::ptr::null(), 0);
        for message in messages.clone() {
            key_bytes += message.key().map_or(0, <[u8]>::len);
            value_bytes += message.payload().map_or(0, <[u8]>::len);
            let handle = message.topic_handle();
            if handle != run.0 || handle.is_null() {
                run = (handle, message.topic_bytes().len());
            }
            topic_bytes += run.1;
        }
        let mut topic = StringBuilder::with_capacity(n, topic_bytes);
        let mut partition = Int32Builder::with_capacity(n);
        let mut offset = Int64Builder::with_capacity(n);
        let mut timestamp = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut timestamp_type = Int8Builder::with_capacity(n);
        let mut key = LargeBinaryBuilder::with_capacity(n, key_bytes);
        let mut value = LargeBinaryBuilder::with_capacity(n, value_bytes);
        let mut header_offsets = Vec::with_capacity(n + 1);
        header_offsets.push(0i32);
        let mut header_key = StringBuilder::new();
        let mut header_value = LargeBinaryBuilder::new();
        // Consecutive messages mostly share a topic: its name is looked up once per change.
        let mut last_topic: (*const rdkafka::bindings::rd_kafka_topic_t, String) = (std::ptr::null(), String::new());
        for message in messages {
            if message.topic_handle() != last_topic.0 || last_topic.0.is_null() {
                last_topic = (message.topic_handle(), String::from_utf8_lossy(message.topic_bytes()).into_owned());
            }
            topic.append_value(&last_topic.1);
            partition.append_value(message.partition());
            offset.append_value(message.offset());
            let (ms, kind) = TimestampType::of(message.timestamp());
            timestamp.append_option(ms);
            timestamp_type.append_value(kind as i8);
            key.append_option(message.key());
            value.append_option(message.payload());
            for (name, data) in headers::raw_pairs(message.raw_headers()) {
                header_key.append_value(String::from_utf8_lossy(name));
                header_value.append_option(data);
            }
            header_offsets.push(i32::try_from(header_key.len()).unwrap_or(i32::MAX));
        }
        let headers = header_list(header_key, header_value, header_offsets);
        BatchData {
            columns: Columns {
                topic: topic.finish(),
                partition: partition.finish(),
                offset: offset.finish(),
                timestamp: timestamp.finish(),
                timestamp_type: timestamp_type.finish(),
                key: key.finish(),
                value: value.finish(),
                headers,
            },
            next,
        }
    }

    pub fn len(&self) -> usize {
        self.columns.offset.len()
    }

    /// The columns again from `MessageBatch.__reduce__`'s rows (see there).
    fn from_rows(rows: &[PickledRow<'_>], next: Vec<Handed>) -> PyResult<BatchData> {
        let n = rows.len();
        let mut topic = StringBuilder::new();
        let mut partition = Int32Builder::with_capacity(n);
        let mut offset = Int64Builder::with_capacity(n);
        let mut timestamp = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut timestamp_type = Int8Builder::with_capacity(n);
        let mut key = LargeBinaryBuilder::new();
        let mut value = LargeBinaryBuilder::new();
        let mut header_offsets = Vec::with_capacity(n + 1);
        header_offsets.push(0i32);
        let mut header_key = StringBuilder::new();
        let mut header_value = LargeBinaryBuilder::new();
        for (t, p, o, ms, kind, k, v, headers) in rows {
            if !(0..=2).contains(kind) {
                return Err(crate::errors::FerroError::Value(format!(
                    "not a pickled MessageBatch: timestamp type {kind}"
                ))
                .into());
            }
            topic.append_value(t);
            partition.append_value(*p);
            offset.append_value(*o);
            timestamp.append_option(*ms);
            timestamp_type.append_value(*kind);
            key.append_option(k.as_ref().map(|b| b.as_bytes()));
            value.append_option(v.as_ref().map(|b| b.as_bytes()));
            for (name, data) in headers {
                header_key.append_value(name);
                header_value.append_option(data.as_ref().map(|b| b.as_bytes()));
            }
            header_offsets.push(i32::try_from(header_key.len()).unwrap_or(i32::MAX));
        }
        Ok(BatchData {
            columns: Columns {
                topic: topic.finish(),
                partition: partition.finish(),
                offset: offset.finish(),
                timestamp: timestamp.finish(),
                timestamp_type: timestamp_type.finish(),
                key: key.finish(),
                value: value.finish(),
                headers: header_list(header_key, header_value, header_offsets),
            },
            next,
        })
    }

    fn record_batch(&self) -> PyResult<RecordBatch> {
        let c = &self.columns;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(c.topic.clone()),
            Arc::new(c.partition.clone()),
            Arc::new(c.offset.clone()),
            Arc::new(c.timestamp.clone()),
            Arc::new(c.timestamp_type.clone()),
            Arc::new(c.key.clone()),
            Arc::new(c.value.clone()),
            Arc::new(c.headers.clone()),
        ];
        RecordBatch::try_new(batch_schema(), columns)
            .map_err(|err| crate::errors::FerroError::Value(format!("Arrow data: {err}")).into())
    }

    /// Row `i` as an rdkafka message (a copy).
    fn row(&self, i: usize) -> RdOwnedMessage {
        let c = &self.columns;
        let bytes = |array: &LargeBinaryArray| (!array.is_null(i)).then(|| array.value(i).to_vec());
        let ms = (!c.timestamp.is_null(i)).then(|| c.timestamp.value(i));
        let kind = match c.timestamp_type.value(i) {
            1 => TimestampType::CreateTime,
            2 => TimestampType::LogAppendTime,
            _ => TimestampType::NotAvailable,
        };
        let header_rows = c.headers.value(i);
        let headers = header_rows.as_any().downcast_ref::<StructArray>().and_then(|pairs| {
            let names = pairs.column(0).as_any().downcast_ref::<StringArray>()?;
            let values = pairs.column(1).as_any().downcast_ref::<LargeBinaryArray>()?;
            let headers = (0..pairs.len()).fold(OwnedHeaders::new_with_capacity(pairs.len()), |headers, j| {
                let value = (!values.is_null(j)).then(|| values.value(j));
                headers.insert(Header { key: names.value(j), value })
            });
            (pairs.len() > 0).then_some(headers)
        });
        RdOwnedMessage::new(
            bytes(&c.value),
            bytes(&c.key),
            c.topic.value(i).to_owned(),
            kind.with(ms),
            c.partition.value(i),
            c.offset.value(i),
            headers,
        )
    }
}

/// Messages from `Consumer.consume_batch()` as Arrow columns: `len()`, `batch[i]` (an
/// `OwnedMessage`), iteration, and the Arrow PyCapsule interface (`pyarrow.table(batch)`,
/// `polars.DataFrame(batch)`, duckdb). Owned: valid after the consumer closed, on any thread.
#[pyclass(frozen, module = "ferrokafka")]
pub struct MessageBatch {
    data: BatchData,
}

impl From<BatchData> for MessageBatch {
    fn from(data: BatchData) -> Self {
        MessageBatch { data }
    }
}

impl MessageBatch {
    /// Per partition, (topic, partition, offset after its last message).
    pub fn next_offsets(&self) -> Vec<TopicPartition> {
        self.data.next.iter().map(|h| TopicPartition::new(h.topic.clone(), h.partition, h.next)).collect()
    }
}

#[pymethods]
impl MessageBatch {
    fn __len__(&self) -> usize {
        self.data.len()
    }

    /// The message at `index` (negative counts from the end), copied into an `OwnedMessage`.
    fn __getitem__(&self, index: &Bound<'_, PyAny>) -> PyResult<OwnedMessage> {
        let len = self.data.len() as isize;
        // Like a list: an int too large for an index is out of range, not an OverflowError.
        let index = match index.extract::<isize>() {
            Ok(index) => index,
            Err(err) if err.is_instance_of::<pyo3::exceptions::PyOverflowError>(index.py()) => isize::MAX,
            Err(err) => return Err(err),
        };
        let i = if index < 0 { index + len } else { index };
        if !(0..len).contains(&i) {
            return Err(PyIndexError::new_err("MessageBatch index out of range"));
        }
        Ok(OwnedMessage::from(self.data.row(i as usize)))
    }

    /// Per partition in the batch, a `TopicPartition` whose offset follows the batch's last
    /// message there: what `consumer.commit(batch)` commits.
    #[getter(next_offsets)]
    fn py_next_offsets(&self) -> Vec<TopicPartition> {
        self.next_offsets()
    }

    /// The Arrow schema, as an `arrow_schema` PyCapsule.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        crate::native::arrow_capsules::schema_capsule(py, &batch_schema())
    }

    /// The batch as one Arrow struct array: `(arrow_schema, arrow_array)` PyCapsules.
    /// `requested_schema` is accepted and ignored, as the protocol allows.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        drop(requested_schema);
        crate::native::arrow_capsules::array_capsules(py, &self.data.record_batch()?)
    }

    /// The batch as an Arrow stream (of one record batch): an `arrow_array_stream` PyCapsule.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        drop(requested_schema);
        crate::native::arrow_capsules::stream_capsule(py, &self.data.record_batch()?)
    }

    /// The messages in order, each copied into an `OwnedMessage` as it is reached.
    fn __iter__(slf: &Bound<'_, Self>) -> SequenceIterator {
        SequenceIterator::new(slf.clone().into_any().unbind(), slf.get().data.len())
    }

    fn __repr__(&self) -> String {
        format!("<MessageBatch of {} messages>", self.data.len())
    }

    /// Pickles as plain Python data (one tuple per message, and the offsets `commit(batch)`
    /// commits), rebuilt into the same columns: a batch owns its memory, so it may go to another
    /// process or a cache.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let data = &slf.get().data;
        let c = &data.columns;
        let bytes = |array: &LargeBinaryArray, i: usize| (!array.is_null(i)).then(|| PyBytes::new(py, array.value(i)));
        let mut rows: Vec<PickledRow<'py>> = Vec::with_capacity(data.len());
        for i in 0..data.len() {
            let header_rows = c.headers.value(i);
            let headers = header_rows
                .as_any()
                .downcast_ref::<StructArray>()
                .and_then(|pairs| {
                    let names = pairs.column(0).as_any().downcast_ref::<StringArray>()?;
                    let values = pairs.column(1).as_any().downcast_ref::<LargeBinaryArray>()?;
                    Some((0..pairs.len()).map(|j| (names.value(j).to_owned(), bytes(values, j))).collect())
                })
                .unwrap_or_default();
            let ms = (!c.timestamp.is_null(i)).then(|| c.timestamp.value(i));
            rows.push((
                c.topic.value(i).to_owned(),
                c.partition.value(i),
                c.offset.value(i),
                ms,
                c.timestamp_type.value(i),
                bytes(&c.key, i),
                bytes(&c.value, i),
                headers,
            ));
        }
        let next: Vec<(&str, i32, i64, i64)> =
            data.next.iter().map(|h| (h.topic.as_str(), h.partition, h.first, h.next)).collect();
        let restore = slf.get_type().getattr("_from_pickle")?;
        Ok((restore, (rows, next).into_pyobject(py)?))
    }

    /// The other half of `__reduce__`.
    #[staticmethod]
    fn _from_pickle(rows: &Bound<'_, PyAny>, next: Vec<(String, i32, i64, i64)>) -> PyResult<MessageBatch> {
        let rows: Vec<PickledRow<'_>> = rows.extract()?;
        let next =
            next.into_iter().map(|(topic, partition, first, next)| Handed { topic, partition, first, next }).collect();
        Ok(MessageBatch { data: BatchData::from_rows(&rows, next)? })
    }
}
