//! The server's certificate: loaded from the files the admin gives, or made self-signed
//! on first start in the data directory, and its SHA-256 fingerprint (what pollers and
//! browsers pin: `sha256:<hex of the DER certificate's digest>`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// A loaded certificate, ready to serve.
pub struct Identity {
    /// The rustls configuration (HTTP/1.1 only).
    pub config: Arc<rustls::ServerConfig>,
    /// `sha256:<64 hex>` of the leaf certificate.
    pub fingerprint: String,
}

/// `sha256:<hex>` of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Load a PEM certificate chain and its PEM private key.
pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Identity> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate file", cert.display()))?;
    let Some(leaf) = chain.first() else {
        bail!("{} holds no certificate", cert.display());
    };
    let fingerprint = fingerprint(leaf);
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a PEM private key from {}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .with_context(|| {
        format!(
            "the key does not match the certificate {} (or is of a kind rustls does not take)",
            cert.display()
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        config: Arc::new(config),
        fingerprint,
    })
}

/// The self-signed certificate in `dir` (`tls/cert.pem`, `tls/key.pem`), made on first
/// use for `names` (host names and addresses); returns the two paths and whether it was
/// made now.
pub fn self_signed(dir: &Path, names: &[String]) -> anyhow::Result<(PathBuf, PathBuf, bool)> {
    let dir = dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key, false));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .context("cannot make a self-signed certificate")?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem())
        .with_context(|| format!("cannot write {}", cert.display()))?;
    Ok((cert, key, true))
}

/// Write a file only its owner may read.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The names a self-signed certificate for `listen` carries: this machine's host name,
/// `localhost`, the loopback addresses and the listen address when it is a specific one.
pub fn names_for(listen: std::net::SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.insert(0, host.to_owned());
        }
    }
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let names = names_for("10.1.2.3:8443".parse().unwrap());
        assert!(names.contains(&"10.1.2.3".to_owned()), "{names:?}");
        let (cert, key, made) = self_signed(dir.path(), &names).unwrap();
        assert!(made);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let first = load(&cert, &key).unwrap();
        assert!(first.fingerprint.starts_with("sha256:"));
        assert_eq!(first.fingerprint.len(), 7 + 64);
        let (_, _, made_again) = self_signed(dir.path(), &names).unwrap();
        assert!(!made_again);
        assert_eq!(load(&cert, &key).unwrap().fingerprint, first.fingerprint);
    }

    #[test]
    fn files_that_are_not_a_certificate_and_key_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, _) = self_signed(dir.path(), &["localhost".into()]).unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not pem").unwrap();
        assert!(load(&junk, &key).is_err());
        assert!(load(&cert, &junk).is_err());
        // A key that is not the certificate's.
        let other = tempfile::tempdir().unwrap();
        let (_, other_key, _) = self_signed(other.path(), &["localhost".into()]).unwrap();
        let refused = load(&cert, &other_key).err().unwrap().to_string();
        assert!(refused.contains("does not match"), "{refused}");
    }
}
