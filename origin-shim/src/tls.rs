//! HTTPS: `--tls-cert` and `--tls-key` read and checked (a PEM chain, a key
//! that matches its leaf), HTTP/2 and HTTP/1.1 offered by ALPN, and the
//! pair read again on SIGHUP. A reload swaps the key that new handshakes
//! use; open connections keep theirs. A reload that fails (a file half
//! written, a key that does not match) keeps the old pair and says why.

use rustls::crypto::ring as provider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;

/// The certificate and key files, and the pair in use.
#[derive(Debug)]
pub struct Certs {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certs {
    /// Reads the pair; an error is one line naming the file and the problem.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Certs>, String> {
        let pair = read_pair(cert, key)?;
        Ok(Arc::new(Certs { cert: cert.to_owned(), key: key.to_owned(), current: RwLock::new(pair) }))
    }

    /// Reads the files again; on success new handshakes use the new pair.
    pub fn reload(&self) -> Result<(), String> {
        let pair = read_pair(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = pair;
        Ok(())
    }

    /// The acceptor for the listener: TLS 1.2 and 1.3 (rustls' safe
    /// defaults, ring), `h2` preferred over `http/1.1`.
    pub fn acceptor(self: &Arc<Certs>) -> Result<TlsAcceptor, String> {
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner())))
    }
}

fn read_pair(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, String> {
    let cert_name = cert.display();
    let key_name = key.display();
    let cert_pem = std::fs::read(cert).map_err(|e| format!("--tls-cert {cert_name}: cannot read: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--tls-cert {cert_name}: not a PEM certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err(format!("--tls-cert {cert_name}: no PEM CERTIFICATE block in the file"));
    }
    let key_pem = std::fs::read(key).map_err(|e| format!("--tls-key {key_name}: cannot read: {e}"))?;
    let der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("--tls-key {key_name}: no PEM private key in the file: {e}"))?;
    let signer = provider::default_provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| format!("--tls-key {key_name}: unusable private key: {e}"))?;
    let pair = CertifiedKey::new(chain, signer);
    pair.keys_match().map_err(|e| {
        format!("--tls-key {key_name} does not belong to the first certificate of --tls-cert {cert_name}: {e}")
    })?;
    Ok(Arc::new(pair))
}
