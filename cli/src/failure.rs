//! Exit codes and the one place that turns errors into operator messages.

use std::fmt;

use tidelog::{Error, ErrorKind, InvalidArgument};

/// Exit code: an error that is none of the more specific cases below.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: problems were found (`verify`, a damaged backup, corrupt data).
pub const EXIT_PROBLEMS: u8 = 3;
/// Exit code: another process holds the journal's writer lock.
pub const EXIT_LOCKED: u8 = 4;
/// Exit code: the path does not exist or holds no Tidelog journal.
pub const EXIT_NOT_FOUND: u8 = 5;

/// A failure with the exit code it maps to and the message shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// One-line (or few-line) explanation, naming paths and locations.
    pub message: String,
}

impl Failure {
    /// A failure with an explicit code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// Builds the operator-facing failure for any error the commands return:
    /// a [`Failure`] as is, a [`tidelog::Error`] through [`exit_code`], and
    /// anything else as a general error. Context added with `anyhow` is kept.
    pub fn from_error(err: &anyhow::Error) -> Failure {
        if let Some(failure) = err.downcast_ref::<Failure>() {
            return failure.clone();
        }
        let message = format!("{err:#}");
        match err.chain().find_map(|e| e.downcast_ref::<Error>()) {
            Some(journal_error) => Failure {
                code: exit_code(journal_error),
                message: explain(journal_error, message),
            },
            None => Failure { code: EXIT_ERROR, message },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit code for a journal error: every [`ErrorKind`] is mapped here and only here.
pub fn exit_code(error: &Error) -> u8 {
    match error.kind() {
        ErrorKind::Locked => EXIT_LOCKED,
        ErrorKind::Corrupt => EXIT_PROBLEMS,
        ErrorKind::InvalidArgument if matches!(error, Error::InvalidArgument(InvalidArgument::NotAJournal(_))) => EXIT_NOT_FOUND,
        ErrorKind::Closed
        | ErrorKind::SequenceConflict
        | ErrorKind::InvalidArgument
        | ErrorKind::UnsupportedFormat
        | ErrorKind::StorageFull
        | ErrorKind::Io
        | ErrorKind::Failed => EXIT_ERROR,
    }
}

/// Adds what an operator can do about the error to its message.
fn explain(error: &Error, message: String) -> String {
    match error.kind() {
        ErrorKind::Locked => format!(
            "{message}\nthe journal is locked by another process (a live writer holds its LOCK file); \
             stop that process first, or use a read-only command (stats, ls, cat, tail, verify, export, backup)"
        ),
        ErrorKind::Corrupt => format!("{message}\nrun `tidelog verify` on the journal for a full report"),
        ErrorKind::UnsupportedFormat => format!("{message}\nuse a newer tidelog to open this journal"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: ErrorKind) -> Error {
        use std::path::PathBuf;
        match kind {
            ErrorKind::Closed => Error::Closed,
            ErrorKind::Locked => Error::Locked {
                path: PathBuf::from("/j/LOCK"),
            },
            ErrorKind::SequenceConflict => Error::SequenceConflict {
                persistence_id: "p".into(),
                expected: 2,
                actual: 5,
            },
            ErrorKind::InvalidArgument => Error::InvalidArgument(InvalidArgument::EmptyWrite),
            ErrorKind::Corrupt => Error::Corrupt {
                path: PathBuf::from("/j/seg"),
                offset: 7,
                reason: tidelog::CorruptReason::Truncated,
            },
            ErrorKind::UnsupportedFormat => Error::UnsupportedFormat {
                path: PathBuf::from("/j"),
                found: 9,
                supported: 1,
            },
            ErrorKind::StorageFull => Error::StorageFull {
                path: PathBuf::from("/j/seg"),
            },
            ErrorKind::Io => Error::Lmdb {
                operation: "open",
                message: "boom".into(),
            },
            ErrorKind::Failed => Error::Failed(std::sync::Arc::new(Error::Closed)),
        }
    }

    #[test]
    fn every_error_kind_has_an_exit_code_and_a_message() {
        for kind in ErrorKind::ALL {
            let error = sample(kind);
            assert_eq!(error.kind(), kind);
            let code = exit_code(&error);
            assert!(code != 0 && code != 2, "{kind}: exit code {code} collides with success or usage");
            let failure = Failure::from_error(&anyhow::Error::new(error.clone()));
            assert_eq!(failure.code, code);
            assert!(failure.message.contains(&error.to_string()), "{kind}: {}", failure.message);
        }
    }

    #[test]
    fn specific_kinds_get_specific_codes() {
        assert_eq!(exit_code(&sample(ErrorKind::Locked)), EXIT_LOCKED);
        assert_eq!(exit_code(&sample(ErrorKind::Corrupt)), EXIT_PROBLEMS);
        assert_eq!(exit_code(&InvalidArgument::NotAJournal("/x".into()).into()), EXIT_NOT_FOUND);
        assert_eq!(exit_code(&sample(ErrorKind::InvalidArgument)), EXIT_ERROR);
    }

    #[test]
    fn context_is_kept_and_failures_pass_through() {
        let err = anyhow::Error::new(sample(ErrorKind::Locked)).context("opening /j");
        let failure = Failure::from_error(&err);
        assert_eq!(failure.code, EXIT_LOCKED);
        assert!(failure.message.starts_with("opening /j: "), "{}", failure.message);
        let direct = Failure::from_error(&anyhow::Error::new(Failure::new(EXIT_NOT_FOUND, "gone")));
        assert_eq!(direct, Failure::new(EXIT_NOT_FOUND, "gone"));
    }
}
