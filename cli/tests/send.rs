//! `oncelink send --to` against the real origin-shim (the binary the
//! workspace's `cargo test` builds next to this one; `cargo build -p
//! origin-shim` first when running this test alone, or set ORIGIN_SHIM_BIN).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn shim_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("ORIGIN_SHIM_BIN") {
        return bin.into();
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_oncelink")).with_file_name("origin-shim");
    assert!(bin.is_file(), "no {} (run `cargo build -p origin-shim` first, or set ORIGIN_SHIM_BIN)", bin.display());
    bin
}

struct Shim(Child, SocketAddr);

impl Drop for Shim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A served root with a sends directory, a store, keys and one API key.
fn start(dir: &Path) -> (Shim, PathBuf) {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("sends")).unwrap();
    let keys = dir.join("keys.json");
    let out = Command::new(env!("CARGO_BIN_EXE_oncelink")).args(["keygen", "--out"]).arg(&keys).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let api_keys = dir.join("api-keys");
    let key = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(["apikey", "new", "--name", "cli-test", "--file"])
        .arg(&api_keys)
        .output()
        .unwrap();
    assert!(key.status.success());
    let key_file = dir.join("key");
    std::fs::write(&key_file, &key.stdout).unwrap();
    let mut child = Command::new(shim_bin())
        .args(["serve", "--keys"])
        .arg(&keys)
        .arg("--root")
        .arg(&root)
        .arg("--store")
        .arg(format!("sqlite:{}", dir.join("uses.db").display()))
        .args(["--create-store", "--listen", "127.0.0.1:0", "--sends-dir"])
        .arg(root.join("sends"))
        .arg("--api-keys")
        .arg(&api_keys)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").expect("listening line").parse().unwrap();
    (Shim(child, addr), key_file)
}

/// GET `url` (http://, as minted) as the client `ua` (a client is its
/// network and User-Agent) and return the status and body.
fn get(url: &str, ua: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nConnection: close\r\n\r\n").unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, all[split + 4..].to_vec())
}

fn send(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .arg("send")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn send_streams_a_file_to_origin_shim_and_prints_a_link_that_downloads_it_as_many_times_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (shim, key_file) = start(dir.path());
    let file = dir.path().join("data.bin");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    let to = format!("http://{}", shim.1);
    let out = send(
        &[file.to_str().unwrap(), "--to", &to, "--api-key-file", key_file.to_str().unwrap(), "--uses", "2", "--json"],
        b"",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((answer["size"].as_u64(), answer["max_uses"].as_u64()), (Some(3_000_000), Some(2)));
    let url = answer["url"].as_str().unwrap();
    assert!(url.contains("/sends/") && url.contains("/data.bin?t="), "{url}");
    assert_eq!(get(url, "first/1.0"), (200, content.clone()));
    assert_eq!(get(url, "second/1.0").0, 200, "the second of two uses");
    assert_eq!(get(url, "third/1.0").0, 410, "no third");

    // Without --json: the link alone on stdout; a password read from stdin.
    let out = send(
        &[file.to_str().unwrap(), "--to", &to, "--api-key-file", key_file.to_str().unwrap(), "--password-stdin"],
        b"correct horse\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link = String::from_utf8(out.stdout).unwrap();
    assert!(link.trim().starts_with(&format!("{to}/sends/")) && link.lines().count() == 1, "{link}");
    let (status, page) = get(link.trim(), "first/1.0");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("password"), "a password page");
}

#[test]
fn send_with_a_wrong_key_fails_with_the_servers_code_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (shim, _key) = start(dir.path());
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, format!("olk_{}\n", "A".repeat(43))).unwrap();
    let file = dir.path().join("x.txt");
    std::fs::write(&file, b"hello").unwrap();
    let to = format!("http://{}", shim.1);
    let out = send(&[file.to_str().unwrap(), "--to", &to, "--api-key-file", wrong.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unauthorized") && err.contains("401"), "{err}");
    let stored: Vec<_> = std::fs::read_dir(dir.path().join("root/sends")).unwrap().collect();
    assert_eq!(stored.len(), 1, "only .partial: {stored:?}");
}
