//! TLS configuration with rustls (ring), for servers and clients, with
//! optional client certificates (mTLS).
//!
//! Servers advertise HTTP/2 and HTTP/1.1 through ALPN, so one TLS port
//! serves gRPC and HTTP alike.

use std::io::Cursor;
use std::sync::Arc;

use kit_endpoint::Error;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = rustls_pemfile::certs(&mut Cursor::new(pem))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid_argument(format!("bad certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid_argument("no certificate in PEM"));
    }
    Ok(certs)
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Error> {
    rustls_pemfile::private_key(&mut Cursor::new(pem))
        .map_err(|e| Error::invalid_argument(format!("bad private key PEM: {e}")))?
        .ok_or_else(|| Error::invalid_argument("no private key in PEM"))
}

fn roots(ca_pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certs(ca_pem)? {
        roots
            .add(cert)
            .map_err(|e| Error::invalid_argument(format!("bad CA certificate: {e}")))?;
    }
    Ok(roots)
}

fn tls_err(e: rustls::Error) -> Error {
    Error::invalid_argument(format!("TLS configuration: {e}"))
}

/// A server configuration from a PEM certificate chain and private key.
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(certs(cert_chain_pem)?, key(key_pem)?)
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server configuration that also requires a client certificate signed by
/// one of the CAs in `client_ca_pem`; clients without one are refused during
/// the handshake.
pub fn server_config_mtls(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
) -> Result<Arc<ServerConfig>, Error> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(client_ca_pem)?), provider())
            .build()
            .map_err(|e| Error::invalid_argument(format!("client verifier: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(cert_chain_pem)?, key(key_pem)?)
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration trusting the CAs in `ca_pem`, presenting
/// `identity` (certificate chain PEM, key PEM) when given.
pub fn client_config(
    ca_pem: &[u8],
    identity: Option<(&[u8], &[u8])>,
) -> Result<Arc<ClientConfig>, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_root_certificates(roots(ca_pem)?);
    let mut config = match identity {
        Some((chain, key_pem)) => builder
            .with_client_auth_cert(certs(chain)?, key(key_pem)?)
            .map_err(tls_err)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_pem_is_a_clear_error() {
        for pem in [
            &b""[..],
            b"not pem",
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ] {
            let err = server_config(pem, pem).unwrap_err();
            assert_eq!(err.code(), kit_endpoint::Code::InvalidArgument, "{err}");
            let err = client_config(pem, None).unwrap_err();
            assert_eq!(err.code(), kit_endpoint::Code::InvalidArgument, "{err}");
        }
    }
}
