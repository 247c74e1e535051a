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
    /// Counts `n` messages in at once (a [`NativeBatch`]).
    fn natives_created(&self, n: usize) {
        (0..n).for_each(|_| self.native_created());
    }
    /// Counts `n` messages out at once.
    fn natives_dropped(&self, n: usize) {
        (0..n).for_each(|_| self.native_dropped());
    }
    /// The handle was inherited across fork(): librdkafka's state must not be touched (fork.rs).
    fn inherited(&self) -> bool;
    /// A consumed message's headers are those of its record on the wire: no plugin
    /// (`plugin.library.paths`) was loaded whose interceptors could set others (see
    /// [`headerless_record`]).
    fn headers_from_wire(&self) -> bool;
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

    /// The message read as a batch's messages are, for the accessors both share (headers apart:
    /// they depend on the handle, see [`view`](Self::view)).
    fn fields(&self) -> MessageView<'_> {
        MessageView { message: self.message, owner: std::marker::PhantomData, wire_headers: false }
    }

    /// The key: bytes inside librdkafka's fetch buffer, alive as long as the message.
    pub fn key(&self) -> Option<&[u8]> {
        self.fields().key()
    }

    /// The payload: bytes inside librdkafka's fetch buffer, alive as long as the message.
    pub fn payload(&self) -> Option<&[u8]> {
        self.fields().payload()
    }

    /// The topic's name as librdkafka has it (not necessarily UTF-8).
    pub fn topic_bytes(&self) -> &[u8] {
        self.fields().topic_bytes()
    }

    pub fn partition(&self) -> i32 {
        self.raw().partition
    }

    pub fn offset(&self) -> i64 {
        self.raw().offset
    }

    pub fn timestamp(&self) -> Timestamp {
        self.fields().timestamp()
    }

    /// The message's headers, parsed by librdkafka on first use; None if it has none.
    pub fn raw_headers(&self) -> Option<&BorrowedHeaders> {
        if self.handle.headers_from_wire() && headerless_record(self.raw()) {
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

    /// librdkafka's topic handle of the message, as an identity: equal handles, equal topics
    /// (cheaper to compare than names, which librdkafka hands out as C strings). Never dereferenced.
    pub fn topic_handle(&self) -> *const rdsys::rd_kafka_topic_t {
        self.raw().rkt
    }

    /// The message read through a [`MessageView`], as the messages of a [`NativeBatch`] are.
    pub fn view(&self) -> MessageView<'_> {
        MessageView {
            message: self.message,
            owner: std::marker::PhantomData,
            wire_headers: self.handle.headers_from_wire(),
        }
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

/// One message of a [`NativeBatch`] (or a [`NativeMessage`]), borrowed from its owner: the same
/// accessors as `NativeMessage`, without an `Arc` of the handle per message.
#[derive(Clone, Copy)]
pub struct MessageView<'a> {
    message: NonNull<rdsys::rd_kafka_message_t>,
    owner: std::marker::PhantomData<&'a rdsys::rd_kafka_message_t>,
    /// The message's headers are those of its record on the wire (no interceptor can have set
    /// others): a record whose header count is 0 has none (see `raw_headers`).
    wire_headers: bool,
}

impl<'a> MessageView<'a> {
    fn raw(&self) -> &'a rdsys::rd_kafka_message_t {
        // SAFETY: the owner (a NativeBatch or NativeMessage, borrowed for 'a) holds the live message
        // and librdkafka does not write these fields after handing it out.
        unsafe { self.message.as_ref() }
    }

    pub fn key(&self) -> Option<&'a [u8]> {
        let m = self.raw();
        // SAFETY: as for NativeMessage::key: bytes in the fetch buffer the message pins for 'a.
        unsafe { bytes_at(m.key, m.key_len) }
    }

    pub fn payload(&self) -> Option<&'a [u8]> {
        let m = self.raw();
        // SAFETY: as for the key.
        unsafe { bytes_at(m.payload, m.len) }
    }

    pub fn topic_bytes(&self) -> &'a [u8] {
        // SAFETY: as for NativeMessage::topic_bytes: the topic handle lives as long as the message.
        unsafe { CStr::from_ptr(rdsys::rd_kafka_topic_name(self.raw().rkt)) }.to_bytes()
    }

    pub fn topic_handle(&self) -> *const rdsys::rd_kafka_topic_t {
        self.raw().rkt
    }

    pub fn partition(&self) -> i32 {
        self.raw().partition
    }

    pub fn offset(&self) -> i64 {
        self.raw().offset
    }

    pub fn timestamp(&self) -> Timestamp {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: the message is live for 'a; librdkafka writes one of the three types into `kind`.
        let ms = unsafe { rdsys::rd_kafka_message_timestamp(self.message.as_ptr(), &mut kind) };
        match kind {
            _ if ms < 0 => Timestamp::NotAvailable,
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => Timestamp::CreateTime(ms),
            rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => Timestamp::LogAppendTime(ms),
            _ => Timestamp::NotAvailable,
        }
    }

    /// The headers, parsed by librdkafka on first use; None if it has none.
    ///
    /// librdkafka keeps a v2 record's header bytes unparsed, and those bytes start with the
    /// header count, so a record without headers has one byte (the count, 0): for it
    /// `rd_kafka_message_headers` still allocates a parse buffer (calloc), reads the 0 and frees
    /// it, per message. With `wire_headers`, a record proven v2 whose count byte is 0 is answered
    /// here without that call (see [`headerless_record`]).
    pub fn raw_headers(&self) -> Option<&'a BorrowedHeaders> {
        if self.wire_headers && headerless_record(self.raw()) {
            return None;
        }
        let mut native = std::ptr::null_mut();
        // SAFETY: the message is live for 'a and read by one thread at a time (see NativeBatch's and
        // NativeMessage's Send impls for the lazy parse it may write); the code is read as an `int`.
        let err = unsafe { crate::ffi::rd_kafka_message_headers(self.message.as_ptr(), &mut native) };
        (err == 0 && !native.is_null())
            // SAFETY: the headers live inside the message, unchanged, for 'a.
            .then(|| unsafe { super::headers::from_native(self.raw(), native) })
    }
}

/// Whether a consumed message is a v2 record (KIP-98) whose header count is 0, read from the
/// record's bytes around the value, where librdkafka's reader points `payload` and `key`
/// (`rd_kafka_msgset_reader_msg_v2` reads them in place: `... keyLength varint, key, valueLength
/// varint, value, headerCount varint, headers`; v0/v1 messages: `... key, valueLength int32
/// big-endian, value`). Why: librdkafka keeps a v2 record's header bytes unparsed, starting with
/// the count, so for a record without headers `rd_kafka_message_headers` still allocates a parse
/// buffer (a calloc and a free under the fetcher's malloc arena lock), reads the 0 and frees it,
/// per message (~9 % of the drop-in's `poll()`, ~8 % of `consume_batch` at 100 B). False when
/// unsure (no or an empty value, another layout, bytes on another page): librdkafka is asked.
///
/// The record is proven v2 by the `k` (1 to 5) bytes just before the value: the varint of the
/// value's zigzag-encoded length, directly after the key if there is one. A v0/v1 message has
/// its 4-byte big-endian length there, which never matches for a non-empty value: for `k` = 1 the
/// byte would be `len`, not `2 len`; for `k` = 2..4 the varint's first byte has its high bit set
/// where v0/v1 has a high-order length byte, below 0x80 for these lengths; for `k` = 5 the same
/// holds of the varint's second byte. Only then is the byte after the value read: the header
/// count, 0 for none.
fn headerless_record(m: &rdsys::rd_kafka_message_t) -> bool {
    /// Memory is mapped in pages of at least this size: a byte on the page of a readable byte is
    /// readable.
    const PAGE: usize = 4096;
    let len = m.len;
    if m.payload.is_null() || len == 0 || len > i32::MAX as usize {
        return false;
    }
    let mut varint = [0u8; 5];
    let (mut k, mut rest) = (0, (len as u64) << 1);
    loop {
        let byte = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            varint[k] = byte;
            k += 1;
            break;
        }
        varint[k] = byte | 0x80;
        k += 1;
    }
    let value = m.payload as *const u8;
    let at = value as usize;
    // Every byte read is on the page of the value's first or last byte (a guard against reading
    // into unmapped memory should the layout ever differ; see the SAFETY notes below).
    if at % PAGE < k || (at + len) % PAGE == 0 {
        return false;
    }
    if !m.key.is_null() && (m.key as usize).wrapping_add(m.key_len) != at - k {
        return false; // the key does not end where the value's length begins: not this layout
    }
    // SAFETY: the `k` <= 5 bytes before the value are inside the same message in every format
    // librdkafka decodes (from the fetch buffer, or the decompressed one, which holds the message
    // whole): v2 has its length, attributes, timestamp and offset deltas, key length (five
    // varints) and the value's length varint before the value, v0/v1 at least the key's and the
    // value's 4-byte lengths. The caller's message pins that buffer; nothing writes these bytes.
    let before = unsafe { std::slice::from_raw_parts(value.sub(k), k) };
    // Byte by byte: at most five, where a slice comparison would call memcmp per message.
    if !before.iter().zip(&varint[..k]).all(|(a, b)| a == b) {
        return false;
    }
    // SAFETY: a v2 record (proven above) has its header count right after the value, inside the
    // record, whose declared length librdkafka checked against the buffer before handing the
    // message out (`rd_kafka_buf_check_len`). A malformed record that ends at its value (librdkafka
    // keeps its headers as "possibly truncated", zero bytes) puts the next record's first byte
    // there, or the end of the buffer: on the value's last page (checked above), so the read
    // cannot fault; 0 or not, librdkafka would report no headers for it either.
    unsafe { *value.add(len) == 0 }
}

/// The messages of one batch call (`rd_kafka_consume_batch_queue`), error-free and in order, owned
/// together with one reference to the consumer handle they came from (not one per message, as
/// [`NativeMessage`]s hold): what `consume_batch()` copies into Arrow columns. Dropping it destroys
/// the messages. Filled by `NativeConsumer::consume_into`.
pub struct NativeBatch {
    messages: Vec<*mut rdsys::rd_kafka_message_t>,
    handle: Arc<dyn MessageSource>,
    /// The handle's [`MessageSource::headers_from_wire`], read once per batch.
    wire_headers: bool,
}

// SAFETY: as for NativeMessage: librdkafka allows destroying messages from any thread; the lazy
// header parse (`raw_headers`) writes into a message, and a batch's messages are only read through
// `&self` by the one thread that holds the batch while it copies them (consume_batch's build).
unsafe impl Send for NativeBatch {}
// SAFETY: see Send.
unsafe impl Sync for NativeBatch {}

impl NativeBatch {
    /// An empty batch of `handle`'s messages, with room for `capacity`.
    pub fn new(handle: Arc<dyn MessageSource>, capacity: usize) -> Self {
        let wire_headers = handle.headers_from_wire();
        NativeBatch { messages: Vec::with_capacity(capacity), handle, wire_headers }
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Whether the batch holds `handle` (its messages must come from there).
    pub fn is_of(&self, handle: &dyn MessageSource) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.handle), handle as *const dyn MessageSource)
    }

    /// The messages, in order.
    pub fn views(&self) -> impl ExactSizeIterator<Item = MessageView<'_>> + Clone + '_ {
        let wire_headers = self.wire_headers;
        self.messages.iter().map(move |&message| MessageView {
            // SAFETY: only non-null pointers are committed (commit's contract).
            message: unsafe { NonNull::new_unchecked(message) },
            owner: std::marker::PhantomData,
            wire_headers,
        })
    }

    /// Room for `room` more pointers, for librdkafka to write into; `commit` then takes them over.
    pub(crate) fn spare(&mut self, room: usize) -> &mut [std::mem::MaybeUninit<*mut rdsys::rd_kafka_message_t>] {
        self.messages.reserve(room);
        &mut self.messages.spare_capacity_mut()[..room]
    }

    /// Takes over the first `n` pointers written into [`spare`](Self::spare).
    ///
    /// # Safety
    /// They were written, are non-null, error-free messages of this batch's handle, handed over.
    pub(crate) unsafe fn commit(&mut self, n: usize) {
        self.handle.natives_created(n);
        // SAFETY: the caller's guarantee: the first n spare elements were initialised.
        unsafe { self.messages.set_len(self.messages.len() + n) };
    }
}

impl Drop for NativeBatch {
    fn drop(&mut self) {
        self.handle.natives_dropped(self.messages.len());
        if self.handle.inherited() {
            return; // see fork.rs: librdkafka's state in a forked child cannot be touched
        }
        for &message in &self.messages {
            // SAFETY: each message is ours (commit's contract), destroyed exactly once, while the
            // handle is alive (`self.handle`); nothing borrows the batch any more.
            unsafe { rdsys::rd_kafka_message_destroy(message) };
        }
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
