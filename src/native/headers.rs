//! Record headers in librdkafka (`rd_kafka_headers_t`, behind rdkafka's `BorrowedHeaders` and
//! `OwnedHeaders`): reading their pairs and adding to them (message/headers.rs makes the Python
//! values).

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use rdkafka::bindings as rdsys;
use rdkafka::message::{BorrowedHeaders, OwnedHeaders};

/// The native `rd_kafka_headers_t` behind rdkafka's `BorrowedHeaders`.
pub fn native_ptr(headers: &BorrowedHeaders) -> *mut rdsys::rd_kafka_headers_t {
    // rdkafka's BorrowedHeaders is a zero-sized type whose references are made by casting the native
    // headers pointer (BorrowedHeaders::from_native_ptr, OwnedHeaders::as_borrowed), so the
    // reference's address is that pointer.
    headers as *const BorrowedHeaders as *mut rdsys::rd_kafka_headers_t
}

/// rdkafka's `BorrowedHeaders` view of a native headers object (the inverse of [`native_ptr`]).
///
/// # Safety
/// `native` points to a live `rd_kafka_headers_t` that is neither freed nor modified while the
/// returned reference (tied to `owner`) is in use.
pub unsafe fn from_native<T>(_owner: &T, native: *const rdsys::rd_kafka_headers_t) -> &BorrowedHeaders {
    // SAFETY: the same cast rdkafka's own BorrowedHeaders::from_native_ptr makes: the zero-sized
    // BorrowedHeaders is only ever used through references whose address is the native pointer.
    // The caller guarantees that pointer outlives the borrow of `owner`.
    unsafe { &*(native as *const BorrowedHeaders) }
}

/// The raw `(key, value)` pairs of a headers object, borrowed from it.
pub fn raw_pairs(headers: Option<&BorrowedHeaders>) -> Vec<(&[u8], Option<&[u8]>)> {
    let Some(headers) = headers else { return Vec::new() };
    let native = native_ptr(headers);
    // SAFETY: `native` is a live rd_kafka_headers_t owned by the message behind `headers`, which
    // outlives the returned slices (same lifetime); reading the count has no side effects.
    let count = unsafe { rdsys::rd_kafka_header_cnt(native) };
    let mut pairs = Vec::with_capacity(count);
    for idx in 0..count {
        let mut name: *const c_char = ptr::null();
        let mut value: *const c_void = ptr::null();
        let mut size: usize = 0;
        // SAFETY: idx < count; on success librdkafka points `name` at a NUL-terminated string and
        // `value` at `size` bytes (or null for a null value), all owned by the headers object.
        // The code is read as the `int` it is (see ffi.rs).
        let err = unsafe { crate::ffi::rd_kafka_header_get_all(native, idx, &mut name, &mut value, &mut size) };
        if err != 0 || name.is_null() {
            continue;
        }
        // SAFETY: see above; both live as long as the headers object.
        let key = unsafe { CStr::from_ptr(name) }.to_bytes();
        let value = (!value.is_null()).then(|| {
            // SAFETY: a non-null value points to `size` initialised bytes.
            unsafe { std::slice::from_raw_parts(value as *const u8, size) }
        });
        pairs.push((key, value));
    }
    pairs
}

/// Adds one header to `headers` (ours, and not yet handed to librdkafka: `&mut`). librdkafka copies
/// the key and the value (None: a null value).
pub fn add(headers: &mut OwnedHeaders, key: &[u8], value: Option<&[u8]>) {
    let native = native_ptr(headers.as_borrowed());
    let (value_ptr, value_len) = value.map_or((ptr::null(), 0), |v| (v.as_ptr(), v.len() as isize));
    // SAFETY: `native` belongs to `headers`, which we hold exclusively; librdkafka copies name and
    // value, which are valid for the given lengths during the call. Adding to a writable headers
    // object cannot fail.
    unsafe {
        rdsys::rd_kafka_header_add(
            native,
            key.as_ptr() as *const c_char,
            key.len() as isize,
            value_ptr as *const c_void,
            value_len,
        );
    }
}
