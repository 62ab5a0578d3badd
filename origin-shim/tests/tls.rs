//! HTTPS (`--tls-cert`, `--tls-key`) over real TLS: certificates made here
//! (rcgen), curl as the HTTP/1.1 and HTTP/2 client, a rustls client to hold
//! one connection open across a SIGHUP reload.

mod support;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::ffi::OsString;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use support::http::{read_body, read_head};
use support::{claims, claims_n, Site};

/// A self-signed certificate for `localhost` and 127.0.0.1: (cert file, key file).
fn make_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("rcgen makes a certificate");
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

fn tls_args(cert: &Path, key: &Path) -> Vec<String> {
    vec!["--tls-cert".into(), cert.display().to_string(), "--tls-key".into(), key.display().to_string()]
}

fn serve_tls(site: &Site, cert: &Path, key: &Path) -> support::Shim {
    let extra = tls_args(cert, key);
    let shim = site.serve(&extra.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        shim.stdout.text().is_empty() || !shim.stdout.text().contains("http://"),
        "stdout after the listening line: {}",
        shim.stdout.text()
    );
    shim
}

/// curl through TLS: (HTTP version, status, body).
/// Each call is its own client (a user agent of its own), so the core's
/// resume rule does not serve a repeat as the same download.
fn curl(shim: &support::Shim, ca: &Path, version_flag: &str, target: &str) -> (String, u16, String) {
    let port = shim.addr.port();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-A", &format!("curl-{}", support::fresh_id()), version_flag, "--cacert"])
        .arg(ca)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-H", "Accept: application/json", "-w", "\n%{http_version} %{http_code}"])
        .arg(format!("https://localhost:{port}{target}"))
        .output()
        .expect("run curl (apt-get install curl)");
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, last) = text.rsplit_once('\n').expect("curl's -w line");
    let (version, status) = last.split_once(' ').expect("version and status");
    (version.to_owned(), status.parse().expect("status"), body.to_owned())
}

#[test]
fn https_serves_http2_and_http1_by_alpn() {
    let site = Site::new(&[("a.txt", b"hello over tls\n")]);
    let (cert, key) = make_cert(site.dir.path(), "a");
    let shim = serve_tls(&site, &cert, &key);
    let url = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 2)));
    let (version, status, body) = curl(&shim, &cert, "--http2", &url);
    assert_eq!((version.as_str(), status, body.as_str()), ("2", 200, "hello over tls\n"));
    let (version, status, body) = curl(&shim, &cert, "--http1.1", &url);
    assert_eq!((version.as_str(), status, body.as_str()), ("1.1", 200, "hello over tls\n"));
    let (version, status, body) = curl(&shim, &cert, "--http2", &url);
    assert_eq!((version.as_str(), status), ("2", 410), "the third use of a two-use link: {body}");
    assert!(body.contains("used_up"), "{body}");
}

/// A rustls client that trusts only `ca`, speaking HTTP/1.1.
fn tls_connect(
    shim: &support::Shim,
    ca: &Path,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read ca") {
        roots.add(cert.expect("ca pem")).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let conn = rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").expect("name"))
        .expect("client connection");
    let tcp = support::http::connect(shim.addr).map_err(|e| e.to_string())?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    // Drive the handshake now, so a certificate the client refuses shows here.
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).map_err(|e| e.to_string())?;
    }
    Ok(stream)
}

/// One keep-alive GET on an open TLS stream: (status, body).
fn get_on(stream: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>, target: &str) -> (u16, Vec<u8>) {
    write!(stream, "GET {target} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n").expect("write");
    stream.flush().expect("flush");
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).expect("response head");
    let mut body = Vec::new();
    read_body(&mut reader, &head, false, |c| body.extend_from_slice(c)).expect("body");
    assert!(reader.buffer().is_empty(), "bytes after the response");
    (head.status, body)
}

fn sighup(shim: &support::Shim) {
    let ok = Command::new("kill").args(["-HUP", &shim.pid().to_string()]).status().expect("run kill");
    assert!(ok.success());
}

#[test]
fn sighup_reloads_the_certificate_and_open_connections_survive() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let (cert, key) = make_cert(site.dir.path(), "live");
    let old_ca = site.dir.path().join("old-ca.crt");
    std::fs::copy(&cert, &old_ca).expect("keep the old certificate");
    let shim = serve_tls(&site, &cert, &key);
    let url = format!("/a.txt?t={}", site.token(claims("/a.txt")));

    let mut open = tls_connect(&shim, &old_ca).expect("handshake with the first certificate");
    assert_eq!(get_on(&mut open, &url), (200, b"a\n".to_vec()));

    // A new pair in place of the old, then SIGHUP.
    let (new_cert, new_key) = make_cert(site.dir.path(), "next");
    std::fs::copy(&new_cert, &cert).expect("replace cert");
    std::fs::copy(&new_key, &key).expect("replace key");
    sighup(&shim);
    let log = shim.stderr.wait_for(&["TLS certificate reloaded"]);
    assert!(log.contains("TLS certificate reloaded"), "{log}");

    // New connections get the new certificate, and only it.
    let mut fresh = tls_connect(&shim, &new_cert).expect("handshake with the new certificate");
    assert_eq!(get_on(&mut fresh, &url).0, 200);
    let refused = tls_connect(&shim, &old_ca).err().unwrap_or_default();
    assert!(!refused.is_empty(), "a client that trusts only the old certificate still connected");
    // The connection opened before the reload still serves.
    assert_eq!(get_on(&mut open, &url), (200, b"a\n".to_vec()));

    // A broken file on reload: the pair in use stays, and the log says so.
    std::fs::write(&key, "not a key").expect("break the key");
    sighup(&shim);
    let log = shim.stderr.wait_for(&["NOT reloaded"]);
    assert!(log.contains("NOT reloaded"), "{log}");
    let mut after = tls_connect(&shim, &new_cert).expect("still the new certificate");
    assert_eq!(get_on(&mut after, &url).0, 200);
    let (version, status, body) = curl(&shim, &new_cert, "--http2", "/a.txt");
    assert_eq!((version.as_str(), status), ("2", 403), "{body}");
    assert!(body.contains("missing_token"), "{body}");
}

#[test]
fn a_bad_certificate_or_key_exits_2_with_one_line() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let dir = site.dir.path();
    let (cert, key) = make_cert(dir, "one");
    let (_, other_key) = make_cert(dir, "two");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let missing = dir.join("missing.key");
    let cases: [(&Path, &Path, &str); 4] = [
        (&cert, &other_key, "does not belong to the first certificate"),
        (&cert, &missing, "--tls-key"),
        (&not_pem, &key, "no PEM CERTIFICATE"),
        (&cert, &not_pem, "no PEM private key"),
    ];
    for (c, k, expect) in cases {
        let mut args = site.serve_args();
        args.extend(tls_args(c, k).into_iter().map(OsString::from));
        let (code, _, stderr) = support::run_to_exit(&args);
        assert_eq!(code, Some(2), "{c:?} {k:?}: {stderr}");
        assert!(stderr.contains(expect), "{c:?} {k:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    }
    let mut half = site.serve_args();
    half.extend(["--tls-cert".into(), cert.clone().into_os_string()]);
    let (code, _, stderr) = support::run_to_exit(&half);
    assert_eq!(code, Some(2), "--tls-cert without --tls-key: {stderr}");
}
