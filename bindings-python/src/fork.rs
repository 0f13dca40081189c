//! Fork safety. After `fork()` the child has a copy of every journal but not
//! their writer threads, and LMDB must not be used across a fork. An
//! `os.register_at_fork` hook bumps a process generation in the child; a
//! journal opened in an earlier generation then fails every call with
//! `ClosedError` instead of hanging, and the child never closes (or drops)
//! the parent's journal: it leaks its copy. Journals opened in the child
//! itself work normally.

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use tidelog::ErrorKind;

use crate::errors;

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// `os.register_at_fork(after_in_child=...)` hook.
#[pyfunction]
pub fn _after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// A journal handle that knows which process opened it.
pub struct Core {
    journal: ManuallyDrop<tidelog::Journal>,
    generation: u64,
}

impl Core {
    pub fn new(journal: tidelog::Journal) -> Core {
        Core {
            journal: ManuallyDrop::new(journal),
            generation: generation(),
        }
    }

    /// True when this process opened the journal (no fork since).
    pub fn owned_here(&self) -> bool {
        self.generation == generation()
    }

    /// Fails with `ClosedError` in a process forked after the journal was opened.
    pub fn check(&self, py: Python<'_>) -> PyResult<()> {
        if self.owned_here() {
            return Ok(());
        }
        let message = "this journal was opened before os.fork(); a forked child cannot use it (open the journal in the child instead)";
        let value = errors::class_for(py, ErrorKind::Closed)?.call1((message,))?;
        Err(PyErr::from_value(value))
    }
}

impl Clone for Core {
    fn clone(&self) -> Core {
        Core {
            journal: ManuallyDrop::new((*self.journal).clone()),
            generation: self.generation,
        }
    }
}

impl Deref for Core {
    type Target = tidelog::Journal;
    fn deref(&self) -> &tidelog::Journal {
        &self.journal
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        if self.owned_here() {
            // SAFETY: dropped exactly once, here; never used afterwards.
            unsafe { ManuallyDrop::drop(&mut self.journal) }
        }
    }
}
