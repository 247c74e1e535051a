//! ferrokafka's native module, `ferrokafka._native`. Each Python-visible concept lives in its own
//! module; this file only registers them.

mod admin;
mod args;
mod blocking;
mod bytes_like;
mod callbacks;
mod config;
mod consumer;
mod errors;
mod ffi;
mod fork;
mod message;
mod mock_cluster;
mod producer;
mod topic_partition;

use pyo3::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Native messages alive in this process, over all consumers. A test hook for leak checks.
#[pyfunction]
fn _live_native_messages() -> usize {
    consumer::registry::LIVE_NATIVE_MESSAGES.load(std::sync::atomic::Ordering::Relaxed)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fork::install();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("librdkafka_version", rdkafka::util::get_rdkafka_version().1)?;
    errors::register(m)?;
    topic_partition::register(m)?;
    message::register(m)?;
    consumer::register(m)?;
    producer::register(m)?;
    mock_cluster::register(m)?;
    admin::register(m)?;
    m.add_function(wrap_pyfunction!(_live_native_messages, m)?)?;
    Ok(())
}
