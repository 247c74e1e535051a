//! A consumed message as librdkafka handed it out (`rd_kafka_message_t`), owned together with the
//! consumer handle it came from, and read through safe accessors: key and payload as slices into
//! the fetch buffer, the topic's name, timestamp, leader epoch and headers. `message::borrowed`
//! builds the Python `BorrowedMessage` on it without `unsafe`.
//!
//! It plays the part of rdkafka's `BorrowedMessage`, whose lifetime parameter a `#[pyclass]` could
//! not carry: the lifetime is replaced by an `Arc` of the handle ([`MessageSource`]), so the handle
//! outlives the message, as librdkafka requires.

use std::ffi::CStr;
use std::ptr::NonNull;
use std::sync::Arc;

use rdkafka::bindings as rdsys;
use rdkafka::message::{BorrowedHeaders, OwnedMessage as RdOwnedMessage};
use rdkafka::Timestamp;

use crate::ffi::bytes_at;

/// The consumer handle a native message came from, as the message sees it (implemented by
/// consumer/core.rs's `ConsumerHandle`; a trait, so that messages do not depend on the consumer).
/// Each message holds its handle, which librdkafka requires to outlive it.
pub trait MessageSource: Send + Sync {
    /// Counts a native message in, at its creation.
    fn native_created(&self);
    /// Counts it out, at its drop.
    fn native_dropped(&self);
    /// The handle was inherited across fork(): librdkafka's state must not be touched (fork.rs).
    fn inherited(&self) -> bool;
}

/// A message as librdkafka handed it out, plus the consumer handle it came from. Dropping it
/// destroys the message, from any thread.
pub struct NativeMessage {
    message: NonNull<rdsys::rd_kafka_message_t>,
    handle: Arc<dyn MessageSource>,
}

// SAFETY: librdkafka allows destroying a message from any thread, and a consumed message is not
// written after it was handed out, except that rd_kafka_message_headers parses headers lazily into
// it: `raw_headers` is only reached through BorrowedMessage accessors and detach(), which run on the
// one thread that received the message (checked), and by the drop-in's copy of a small message on
// the thread that polled it, before any other thread can see it; other threads only read key and
// payload bytes, which header parsing does not touch.
unsafe impl Send for NativeMessage {}
// SAFETY: see Send.
unsafe impl Sync for NativeMessage {}

impl NativeMessage {
    /// Takes ownership of a consumed message.
    ///
    /// # Safety
    /// `message` was handed out by `handle` (rd_kafka_consume_batch_queue), without error, and is
    /// handed over here: nobody else destroys it.
    pub unsafe fn from_consumed(handle: Arc<dyn MessageSource>, message: NonNull<rdsys::rd_kafka_message_t>) -> Self {
        handle.native_created();
        NativeMessage { message, handle }
    }

    fn raw(&self) -> &rdsys::rd_kafka_message_t {
        // SAFETY: we own the message until drop (from_consumed's contract), and librdkafka does not
        // write its fields after handing it out; the reference lives no longer than `self`.
        unsafe { self.message.as_ref() }
    }

    /// The partition leader's epoch when the message was fetched (KIP-320), if the broker said.
    pub fn leader_epoch(&self) -> Option<i32> {
        // SAFETY: we own the live message until drop; librdkafka only reads it.
        let epoch = unsafe { rdsys::rd_kafka_message_leader_epoch(self.message.as_ptr()) };
        (epoch >= 0).then_some(epoch)
    }

    /// The key: bytes inside librdkafka's fetch buffer, alive as long as the message.
    pub fn key(&self) -> Option<&[u8]> {
        let m = self.raw();
        // SAFETY: librdkafka's key pointer and length describe bytes inside the fetch buffer, which
        // the message pins for as long as we hold it (the slice borrows `self`).
        unsafe { bytes_at(m.key, m.key_len) }
    }

    /// The payload: bytes inside librdkafka's fetch buffer, alive as long as the message.
    pub fn payload(&self) -> Option<&[u8]> {
        let m = self.raw();
        // SAFETY: as for the key.
        unsafe { bytes_at(m.payload, m.len) }
    }

    /// The topic's name as librdkafka has it (not necessarily UTF-8).
    pub fn topic_bytes(&self) -> &[u8] {
        // SAFETY: a consumed message always has a topic handle (`rkt`) that lives as long as the
        // message; rd_kafka_topic_name returns its NUL-terminated name, owned by that handle.
        unsafe { CStr::from_ptr(rdsys::rd_kafka_topic_name(self.raw().rkt)) }.to_bytes()
    }

    pub fn partition(&self) -> i32 {
        self.raw().partition
    }

    pub fn offset(&self) -> i64 {
        self.raw().offset
    }

    pub fn timestamp(&self) -> Timestamp {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: the message is live; librdkafka writes one of the three timestamp types into `kind`.
        let ms = unsafe { rdsys::rd_kafka_message_timestamp(self.message.as_ptr(), &mut kind) };
        match kind {
            _ if ms < 0 => Timestamp::NotAvailable,
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => Timestamp::CreateTime(ms),
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => Timestamp::LogAppendTime(ms),
            _ => Timestamp::NotAvailable,
        }
    }

    /// The message's headers, parsed by librdkafka on first use; None if it has none.
    pub fn raw_headers(&self) -> Option<&BorrowedHeaders> {
        if self.surely_headerless() {
            return None;
        }
        let mut native = std::ptr::null_mut();
        // SAFETY: the message is live; on success librdkafka points `native` at headers owned by the
        // message (parsed on first use, see the Send impl for why that write is not a race).
        // The code is read as the `int` it is (see ffi.rs).
        let err = unsafe { crate::ffi::rd_kafka_message_headers(self.message.as_ptr(), &mut native) };
        (err == 0 && !native.is_null())
            // SAFETY: the headers live inside the message, unchanged, as long as `self`, to which
            // the returned reference is tied.
            .then(|| unsafe { super::headers::from_native(self, native) })
    }

    /// Whether the message surely has no headers, told from its record's bytes without asking
    /// librdkafka: `rd_kafka_message_headers` on a consumed message without headers still makes
    /// and frees a shadow buffer to read the header count 0 (a calloc and a free per message,
    /// ~9 % of the drop-in's `poll()` at 100 B; confluent-kafka pays it too). In Kafka's v2 record
    /// format (the only one Kafka 4 brokers serve) a value is preceded by its length (a zigzag
    /// varint) and followed by the header count (a zigzag varint: 0 without headers), and
    /// librdkafka's reader hands the key and value out as pointers into the record
    /// (`rd_kafka_msgset_reader_msg_v2` reads key, value and headers in place). So: a value of 1 to
    /// 8191 bytes, directly preceded by its length's varint (the v0/v1 formats put a big-endian
    /// int32 there, which for these lengths never reads as that varint) and by the key if there is
    /// one, and followed by a 0 byte. Anything else is not known here (false): librdkafka is asked.
    /// A v2 record whose headers are truncated (librdkafka keeps them "possibly truncated") ends at
    /// the value: the byte after it is the next record's, or past the buffer (on the value's page,
    /// so readable); 0 or not, librdkafka would report no headers for it either.
    fn surely_headerless(&self) -> bool {
        /// Memory is mapped in pages of at least this size: a byte on the page of a readable byte
        /// is readable.
        const PAGE: usize = 4096;
        let m = self.raw();
        let len = m.len;
        if m.payload.is_null() || !(1..8192).contains(&len) {
            return false;
        }
        let zigzag = len * 2; // below 16384: one or two varint bytes
        let (varint, count) = if zigzag < 0x80 {
            ([zigzag as u8, 0], 1)
        } else {
            ([(zigzag as u8 & 0x7f) | 0x80, (zigzag >> 7) as u8], 2)
        };
        let value = m.payload as *const u8;
        let at = value as usize;
        // Only bytes on the pages of the value's first and last bytes are read.
        if at % PAGE < count || (at + len) % PAGE == 0 {
            return false;
        }
        if !m.key.is_null() && (m.key as usize).wrapping_add(m.key_len) != at - count {
            return false; // the key does not end where the value's length begins: not this layout
        }
        // SAFETY: the value's `len` bytes are readable (librdkafka's pointer and length into the
        // fetch buffer, pinned by the message we hold); the `count` bytes before it are on the page
        // of its first byte and the byte after it on the page of its last (checked above), so
        // reading them cannot fault, and in every v2 record they are inside it (its value length
        // and header count). Nothing writes them while the message lives; read as plain bytes.
        unsafe {
            let before = std::slice::from_raw_parts(value.sub(count), count);
            before == &varint[..count] && value.add(len).read() == 0
        }
    }

    /// librdkafka's topic handle of the message, as an identity: equal handles, equal topics
    /// (cheaper to compare than names, which librdkafka hands out as C strings). Never dereferenced.
    pub fn topic_handle(&self) -> *const rdsys::rd_kafka_topic_t {
        self.raw().rkt
    }

    /// Copies the message into rdkafka's `OwnedMessage`, as rdkafka's `BorrowedMessage::detach`
    /// does (the topic decoded lossily, headers copied raw: keys need not be UTF-8).
    pub fn detach(&self) -> RdOwnedMessage {
        RdOwnedMessage::new(
            self.payload().map(<[u8]>::to_vec),
            self.key().map(<[u8]>::to_vec),
            String::from_utf8_lossy(self.topic_bytes()).into_owned(),
            self.timestamp(),
            self.partition(),
            self.offset(),
            self.raw_headers().map(BorrowedHeaders::detach),
        )
    }
}

impl Drop for NativeMessage {
    fn drop(&mut self) {
        self.handle.native_dropped();
        if self.handle.inherited() {
            return; // see fork.rs: librdkafka's state in a forked child cannot be touched
        }
        // SAFETY: we own the message (from_consumed's contract) and destroy it exactly once; the
        // handle is still alive because `self.handle` is. Nothing borrows the message any more.
        unsafe { rdsys::rd_kafka_message_destroy(self.message.as_ptr()) };
    }
}

/// rdkafka's own message interface, so that Rust code reads a ferrokafka message as it reads
/// rdkafka's `BorrowedMessage` (`key_view`, `payload_view`, `headers` included).
impl rdkafka::message::Message for NativeMessage {
    type Headers = BorrowedHeaders;

    fn key(&self) -> Option<&[u8]> {
        NativeMessage::key(self)
    }

    fn payload(&self) -> Option<&[u8]> {
        NativeMessage::payload(self)
    }

    unsafe fn payload_mut(&mut self) -> Option<&mut [u8]> {
        let m = self.raw();
        // SAFETY: `&mut self` is the only access to the message (an `Arc<NativeMessage>` hands out
        // `&mut` only when unique), and librdkafka's payload bytes live as long as the message;
        // the caller upholds the trait's contract for writing them.
        (!m.payload.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(m.payload as *mut u8, m.len) })
    }

    /// The topic name; Kafka's names are ASCII, and one that were not UTF-8 reads as "" here (use
    /// `topic_bytes` for the raw bytes) rather than panicking as rdkafka's would.
    fn topic(&self) -> &str {
        std::str::from_utf8(self.topic_bytes()).unwrap_or("")
    }

    fn partition(&self) -> i32 {
        NativeMessage::partition(self)
    }

    fn offset(&self) -> i64 {
        NativeMessage::offset(self)
    }

    fn timestamp(&self) -> Timestamp {
        NativeMessage::timestamp(self)
    }

    fn headers(&self) -> Option<&BorrowedHeaders> {
        self.raw_headers()
    }
}
