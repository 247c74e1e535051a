//! The Arrow PyCapsule interface, both ways: exporting a `RecordBatch` as `arrow_schema`,
//! `arrow_array` and `arrow_array_stream` capsules (what pyarrow, polars and duckdb import without
//! a copy), and importing whatever a Python object exports through `__arrow_c_stream__` or
//! `__arrow_c_array__`. The C structs are arrow-rs's (`arrow-schema`/`arrow-data` FFI); a capsule
//! owns its struct, and a consumer that imports it moves the struct out (leaving `release` NULL),
//! so dropping the capsule afterwards releases nothing twice.
//!
//! <https://arrow.apache.org/docs/format/CDataInterface/PyCapsuleInterface.html>

use std::ffi::CStr;
use std::sync::Arc;

use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchIterator, StructArray};
use arrow_schema::{ArrowError, Field, Schema};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyTuple};

use crate::errors::FerroError;

const SCHEMA: &CStr = c"arrow_schema";
const ARRAY: &CStr = c"arrow_array";
const STREAM: &CStr = c"arrow_array_stream";

fn arrow_error(err: ArrowError) -> PyErr {
    FerroError::Value(format!("Arrow data: {err}")).into()
}

/// `__arrow_c_schema__`: the batch's schema as a struct type.
pub fn schema_capsule<'py>(py: Python<'py>, schema: &Schema) -> PyResult<Bound<'py, PyCapsule>> {
    let ffi = FFI_ArrowSchema::try_from(schema).map_err(arrow_error)?;
    PyCapsule::new_with_value(py, ffi, SCHEMA)
}

/// `__arrow_c_array__`: the batch as one struct array, with its schema.
pub fn array_capsules<'py>(py: Python<'py>, batch: &RecordBatch) -> PyResult<Bound<'py, PyTuple>> {
    let data = StructArray::from(batch.clone()).into_data();
    let (array, schema) = to_ffi(&data).map_err(arrow_error)?;
    let schema = PyCapsule::new_with_value(py, schema, SCHEMA)?;
    let array = PyCapsule::new_with_value(py, array, ARRAY)?;
    PyTuple::new(py, [schema, array])
}

/// `__arrow_c_stream__`: a stream of this one batch.
pub fn stream_capsule<'py>(py: Python<'py>, batch: &RecordBatch) -> PyResult<Bound<'py, PyCapsule>> {
    let reader = RecordBatchIterator::new([Ok(batch.clone())], batch.schema());
    PyCapsule::new_with_value(py, FFI_ArrowArrayStream::new(Box::new(reader)), STREAM)
}

/// Whether `obj` exports Arrow data (a pyarrow Table or RecordBatch, a polars DataFrame, ...).
pub fn exports_arrow(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = obj.py();
    Ok(obj.hasattr(intern!(py, "__arrow_c_stream__"))? || obj.hasattr(intern!(py, "__arrow_c_array__"))?)
}

/// Imports what `obj` exports, as record batches with their schema (a plain array becomes a
/// batch of one column named `value`). With the GIL: the exporter's callbacks may need it.
pub fn import(obj: &Bound<'_, PyAny>) -> PyResult<(Arc<Schema>, Vec<RecordBatch>)> {
    let py = obj.py();
    if obj.hasattr(intern!(py, "__arrow_c_stream__"))? {
        let capsule = obj.call_method0(intern!(py, "__arrow_c_stream__"))?;
        let capsule = capsule.cast::<PyCapsule>()?;
        let pointer = capsule.pointer_checked(Some(STREAM))?;
        let raw = pointer.as_ptr().cast::<FFI_ArrowArrayStream>();
        // SAFETY: a capsule named "arrow_array_stream" holds an ArrowArrayStream (the protocol's
        // contract), alive while we hold the capsule; from_raw moves it out and leaves a released
        // (empty) struct behind, so the capsule's destructor releases nothing.
        let stream = unsafe { FFI_ArrowArrayStream::from_raw(raw) };
        if stream.release.is_none() || stream.get_schema.is_none() || stream.get_next.is_none() {
            // arrow-rs unwraps these callbacks: refuse a stream without them rather than panic.
            return Err(FerroError::Value("the Arrow stream is released or incomplete".into()).into());
        }
        // arrow-rs's reader unwraps an error message a failing exporter may not give: a broken
        // exporter is a ValueError, not a panic.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let reader = ArrowArrayStreamReader::try_new(stream)?;
            let schema = arrow_array::RecordBatchReader::schema(&reader);
            Ok((schema, reader.collect::<Result<Vec<_>, _>>()?))
        }));
        return match read {
            Ok(read) => read.map_err(arrow_error),
            Err(_) => Err(FerroError::Value("the Arrow stream failed without saying why".into()).into()),
        };
    }
    if !obj.hasattr(intern!(py, "__arrow_c_array__"))? {
        return Err(FerroError::Type("expected an object exporting Arrow data".into()).into());
    }
    let pair = obj.call_method0(intern!(py, "__arrow_c_array__"))?;
    let (schema_capsule, array_capsule): (Bound<'_, PyCapsule>, Bound<'_, PyCapsule>) = pair.extract()?;
    let schema_ptr = schema_capsule.pointer_checked(Some(SCHEMA))?.as_ptr().cast::<FFI_ArrowSchema>();
    let array_ptr = array_capsule.pointer_checked(Some(ARRAY))?.as_ptr().cast::<FFI_ArrowArray>();
    // SAFETY: capsules named "arrow_schema"/"arrow_array" hold those structs (the protocol's
    // contract), alive while we hold the capsules. The schema is only read (the capsule keeps
    // owning it); the array is moved out, leaving a released one behind for the capsule.
    let data = unsafe {
        let array = FFI_ArrowArray::from_raw(array_ptr);
        if array.is_released() {
            return Err(FerroError::Value("the Arrow array is released".into()).into());
        }
        from_ffi(array, &*schema_ptr)
    }
    .map_err(arrow_error)?;
    let array: ArrayRef = arrow_array::make_array(data);
    if let Some(table) = array.as_any().downcast_ref::<StructArray>() {
        // A struct array is a table, its fields the columns (nulls at the top level: none taken).
        if table.null_count() > 0 {
            return Err(FerroError::Value("a struct array with null rows is not a table of messages".into()).into());
        }
        let (fields, columns, _) = table.clone().into_parts();
        let schema = Arc::new(Schema::new(fields));
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(table.len()));
        let batch = RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(arrow_error)?;
        return Ok((schema, vec![batch]));
    }
    let field = Field::new("value", array.data_type().clone(), true);
    let schema = Arc::new(Schema::new(vec![field]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).map_err(arrow_error)?;
    Ok((schema, vec![batch]))
}
