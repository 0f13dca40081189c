//! TLS for the PostgreSQL backend, over rustls with the `ring` provider (no OpenSSL, so the
//! portable release builds keep working), with libpq's `sslmode` semantics:
//!
//! | `sslmode`     | TLS                              | server certificate checked against `sslrootcert` |
//! |---------------|----------------------------------|--------------------------------------------------|
//! | `disable`     | never                            | -                                                |
//! | `prefer`      | if the server offers it (default)| no                                               |
//! | `require`     | always                           | no (chain only, like libpq, if a root CA is given) |
//! | `verify-ca`   | always                           | chain                                            |
//! | `verify-full` | always                           | chain and host name                              |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, InvalidArgument, Result};

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    pub(crate) fn parse(value: &str) -> Result<TlsMode> {
        Ok(match value {
            "disable" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            // `allow` (plain first, TLS if refused) has no use with this client: say so.
            _ => {
                return Err(InvalidArgument::Option {
                    option: "sslmode",
                    reason: "use disable, prefer, require, verify-ca or verify-full",
                }
                .into())
            }
        })
    }

    /// What the driver is told: whether to ask for TLS and whether to insist.
    pub(crate) fn driver_mode(self) -> SslMode {
        match self {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn bad_root_cert(reason: &'static str) -> Error {
    InvalidArgument::Option {
        option: "sslrootcert",
        reason,
    }
    .into()
}

/// The root certificates in a PEM file.
fn load_roots(path: &Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|_| bad_root_cert("cannot read the root certificate file"))?;
    for cert in certs {
        let cert = cert.map_err(|_| bad_root_cert("the root certificate file is not PEM certificates"))?;
        roots
            .add(cert)
            .map_err(|_| bad_root_cert("the root certificate file holds an invalid certificate"))?;
    }
    if roots.is_empty() {
        return Err(bad_root_cert("the root certificate file holds no certificate"));
    }
    Ok(roots)
}

/// The connector for `mode`; `root_cert` is the CA file (`sslrootcert`), if any.
pub(crate) fn connector(mode: TlsMode, root_cert: Option<&Path>) -> Result<MakeRustlsConnect> {
    // libpq: `require` with a root CA file given behaves as `verify-ca`.
    let mode = match (mode, root_cert) {
        (TlsMode::Require, Some(_)) => TlsMode::VerifyCa,
        (mode, _) => mode,
    };
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => Arc::new(Unverified(provider.clone())),
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            let path = root_cert
                .ok_or_else(|| bad_root_cert("verify-ca and verify-full need a root certificate (sslrootcert or PGSSLROOTCERT)"))?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(load_roots(path)?), provider.clone())
                .build()
                .map_err(|_| bad_root_cert("the root certificate file holds no usable certificate"))?;
            if mode == TlsMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| bad_root_cert("no TLS protocol version available"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's default root certificate file, used when it exists and none is configured.
pub(crate) fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".postgresql").join("root.crt");
    path.is_file().then_some(path)
}

/// `prefer` and `require`: encryption without authentication of the server, as in libpq.
/// Handshake signatures are still checked (the server holds the key of what it presented).
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to the root CA; the host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            // webpki checks the chain before the name: a name mismatch means the chain is good.
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
