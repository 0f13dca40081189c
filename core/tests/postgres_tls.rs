//! TLS to PostgreSQL: `verify-full` connects and writes, an untrusted server certificate and
//! `require` against a server without TLS fail with typed errors, and the password shows in no
//! error message and no log line. Needs `TIDELOG_TEST_POSTGRES` (`tests/postgres.sh run`);
//! starts a TLS-only server of its own with `tests/postgres.sh start --tls`.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::postgres_uri;
use tidelog::{Error, Journal, NewEvent, Options};

/// A TLS-only server of this test's own, stopped on drop.
struct TlsServer {
    /// `postgresql://tidelog:PASSWORD@127.0.0.1:PORT/tidelog`
    uri: String,
    password: String,
    ca: String,
    other_ca: String,
    dir: String,
    ctl: PathBuf,
}

impl TlsServer {
    fn start() -> TlsServer {
        let ctl = std::env::var_os("TIDELOG_TEST_POSTGRES_CTL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/postgres.sh"));
        let out = Command::new("bash")
            .arg(&ctl)
            .args(["start", "--tls"])
            .output()
            .expect("run postgres.sh");
        assert!(
            out.status.success(),
            "postgres.sh start --tls: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exports = String::from_utf8(out.stdout).unwrap();
        let var = |name: &str| {
            exports
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("postgres.sh printed no {name}"))
                .to_owned()
        };
        let uri = var("TIDELOG_TEST_POSTGRES");
        let password = uri
            .strip_prefix("postgresql://tidelog:")
            .and_then(|rest| rest.split_once('@'))
            .map(|(p, _)| p.to_owned())
            .expect("the test URI carries a password");
        TlsServer {
            uri,
            password,
            ca: var("TIDELOG_TEST_POSTGRES_CA"),
            other_ca: var("TIDELOG_TEST_POSTGRES_OTHER_CA"),
            dir: var("TIDELOG_TEST_POSTGRES_DIR"),
            ctl,
        }
    }

    fn with(&self, params: &str) -> String {
        format!("{}?{params}", self.uri)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(&self.ctl).args(["stop", &self.dir]).status();
    }
}

/// Every log line (tracing event) of the process, as text.
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<String>>>);

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for LogCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = String::new();
        span.record(&mut FieldText(&mut line));
        self.0.lock().unwrap().push(line);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::new();
        values.record(&mut FieldText(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = String::new();
        event.record(&mut FieldText(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn open_err(uri: &str) -> Error {
    match Journal::open(uri, Options::new()) {
        Ok(_) => panic!("opened {}", tidelog::redact_uri(uri)),
        Err(e) => e,
    }
}

/// A TCP server that answers PostgreSQL's TLS request with "no" (as a server with `ssl = off`).
fn server_without_tls() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() && request[4..] == [0x04, 0xd2, 0x16, 0x2f] {
                let _ = stream.write_all(b"N");
            }
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        }
    });
    port
}

#[test]
fn tls_modes_connect_verify_and_never_reveal_the_password() {
    let Some(plain_uri) = postgres_uri() else { return };
    let logs = LogCapture::default();
    tracing::subscriber::set_global_default(logs.clone()).expect("first subscriber");
    let server = TlsServer::start();
    let mut errors: Vec<String> = Vec::new();

    // verify-full: the chain leads to the CA and the certificate names 127.0.0.1. The server
    // accepts TCP connections only over TLS, so writing proves TLS was used.
    let uri = server.with(&format!("sslmode=verify-full&sslrootcert={}&tidelog_schema=tls_full", server.ca));
    let journal = Journal::open(&uri, Options::new()).expect("verify-full connects");
    let receipt = journal
        .append(
            "tls-stream",
            vec![NewEvent::new(b"over TLS".to_vec()), NewEvent::new(b"again".to_vec())],
        )
        .expect("append over TLS");
    assert_eq!(receipt.last_sequence_nr, 2);
    let events = journal.read("tls-stream", 1, u64::MAX, 10).unwrap();
    assert_eq!(
        events.iter().map(|e| e.payload.as_slice()).collect::<Vec<_>>(),
        [&b"over TLS"[..], b"again"]
    );
    assert!(!journal.path().to_string_lossy().contains(&server.password));
    journal.close().unwrap();

    // verify-ca by name through the host name `localhost` (also in the certificate), and the
    // default `prefer` (TLS when offered) reaches the TLS-only server too.
    for params in [
        format!("sslmode=verify-ca&sslrootcert={}&tidelog_schema=tls_full", server.ca),
        "tidelog_schema=tls_full".to_owned(),
    ] {
        let journal = Journal::open(server.with(&params), Options::new()).expect("connects");
        assert_eq!(journal.highest_sequence_nr("tls-stream").unwrap(), 2);
        journal.close().unwrap();
    }

    // A certificate that does not lead to the given CA: a typed, non-retryable error.
    for mode in ["verify-full", "verify-ca"] {
        let err = open_err(&server.with(&format!("sslmode={mode}&sslrootcert={}", server.other_ca)));
        match &err {
            Error::Database { operation, retryable, .. } => {
                assert_eq!(*operation, "TLS handshake", "{err}");
                assert!(!retryable, "{err}");
            }
            other => panic!("expected a TLS error, got {other:?}"),
        }
        errors.push(err.to_string());
        errors.push(format!("{err:?}"));
    }

    // TLS disabled against a TLS-only server: refused by the server (no TLS, no entry).
    let err = open_err(&server.with("sslmode=disable"));
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    errors.push(format!("{err} {err:?}"));

    // A wrong password over TLS: refused, and the wrong password is not repeated either.
    let wrong = server.uri.replace(&server.password, "wrong-secret-0123");
    let err = open_err(&format!("{wrong}?sslmode=verify-full&sslrootcert={}", server.ca));
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wrong-secret-0123"), "{err:?}");
    errors.push(format!("{err} {err:?}"));

    // `require` against a server without TLS: a typed error, not a plain-text connection.
    let port = server_without_tls();
    let err = open_err(&format!(
        "postgresql://tidelog:{}@127.0.0.1:{port}/tidelog?sslmode=require",
        server.password
    ));
    match &err {
        Error::Database { operation, retryable, .. } => {
            assert_eq!(*operation, "TLS handshake", "{err}");
            assert!(!retryable);
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    errors.push(format!("{err} {err:?}"));
    // ... and against the real server of this test run, when that one has no TLS.
    if std::env::var_os("TIDELOG_TEST_POSTGRES_CA").is_none() {
        let sep = if plain_uri.contains('?') { '&' } else { '?' };
        let err = open_err(&format!("{plain_uri}{sep}sslmode=require"));
        assert!(
            matches!(
                err,
                Error::Database {
                    operation: "TLS handshake",
                    retryable: false,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    // A missing or unreadable root certificate, an unknown mode: typed argument errors.
    for params in ["sslmode=verify-full&sslrootcert=/nonexistent/root.crt", "sslmode=allow"] {
        let err = open_err(&server.with(params));
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        errors.push(format!("{err} {err:?}"));
    }

    for message in &errors {
        assert!(!message.contains(&server.password), "the password leaked into: {message}");
    }
    let lines = logs.0.lock().unwrap();
    for line in lines.iter() {
        assert!(!line.contains(&server.password), "the password leaked into a log line: {line}");
    }
}
