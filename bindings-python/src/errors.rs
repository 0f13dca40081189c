//! The one place where core errors become Python exceptions.
//!
//! The exception classes live in `tidelog/_errors.py` (so they can have
//! docstrings, several bases and attributes); this module picks the class for
//! each [`ErrorKind`] and fills in the attributes the error carries.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;
use tidelog::{Error, ErrorKind};

/// The Python class name for each error kind: the binding's one mapping table.
/// A new kind in the core fails to compile here (the match is exhaustive).
pub fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Closed => "ClosedError",
        ErrorKind::Locked => "LockedError",
        ErrorKind::SequenceConflict => "SequenceConflictError",
        ErrorKind::InvalidArgument => "InvalidArgumentError",
        ErrorKind::Corrupt => "CorruptError",
        ErrorKind::UnsupportedFormat => "UnsupportedFormatError",
        ErrorKind::StorageFull => "StorageFullError",
        ErrorKind::Io => "StorageIOError",
        ErrorKind::Failed => "JournalFailedError",
    }
}

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS_MODULE
        .get_or_try_init(py, || Ok(PyModule::import(py, "tidelog._errors")?.unbind()))
        .map(|m| m.bind(py))
}

/// The exception class for a kind.
pub fn class_for(py: Python<'_>, kind: ErrorKind) -> PyResult<Bound<'_, PyAny>> {
    errors_module(py)?.getattr(class_name(kind))
}

/// Builds the exception instance for a core error (not raised).
pub fn exception<'py>(py: Python<'py>, err: &Error) -> Bound<'py, PyAny> {
    match build(py, err) {
        Ok(value) => value,
        // Only reachable if the package is broken (missing `_errors` module).
        Err(e) => PyRuntimeError::new_err(format!("{err} (and the exception could not be built: {e})"))
            .into_value(py)
            .into_bound(py)
            .into_any(),
    }
}

fn build<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let kind = err.kind();
    let class = match err {
        // A subclass of the kind's class (`StorageIOError`), so `except StorageIOError` still catches it.
        Error::Database { .. } => errors_module(py)?.getattr("DatabaseError")?,
        _ => class_for(py, kind)?,
    };
    let value = class.call1((err.to_string(),))?;
    if err.is_retryable() {
        value.setattr("retryable", true)?;
    }
    match err {
        Error::SequenceConflict {
            persistence_id,
            expected,
            actual,
        } => {
            value.setattr("persistence_id", persistence_id)?;
            value.setattr("expected", *expected)?;
            value.setattr("actual", *actual)?;
        }
        Error::Locked { path } | Error::StorageFull { path } => value.setattr("path", path.display().to_string())?,
        Error::Corrupt { path, offset, .. } => {
            value.setattr("path", path.display().to_string())?;
            value.setattr("offset", *offset)?;
        }
        Error::UnsupportedFormat { path, found, supported } => {
            value.setattr("path", path.display().to_string())?;
            value.setattr("found", *found)?;
            value.setattr("supported", *supported)?;
        }
        _ => {}
    }
    Ok(value)
}

/// The `PyErr` to raise for a core error.
pub fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    PyErr::from_value(exception(py, err))
}

/// `[(code, class name)]` for every kind the core defines, for the exhaustiveness test.
#[pyfunction]
pub fn _error_kinds() -> Vec<(&'static str, &'static str)> {
    ErrorKind::ALL.iter().map(|k| (k.code(), class_name(*k))).collect()
}
