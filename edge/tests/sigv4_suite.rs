//! The signer against the published AWS SigV4 test suite (header signing),
//! carried in edge/fixtures/sigv4 (see its README for the source and licence).
//! Every case folder there runs; each checks the canonical request, the
//! string to sign and the signature.

use oncelink_edge::dynamodb::sigv4::{sign, Credentials, SignOptions, SignableRequest};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Context {
    credentials: ContextCredentials,
    region: String,
    service: String,
    timestamp: String,
    normalize: bool,
    sign_body: bool,
    #[serde(default)]
    omit_session_token: bool,
}

#[derive(Deserialize)]
struct ContextCredentials {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    token: Option<String>,
}

/// A request.txt: request line, headers (a line starting with whitespace
/// continues the previous header's value), blank line, body.
struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> RawRequest {
    let (head, body) = match text.split_once("\n\n") {
        Some((head, body)) => (head, body),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let target = rest.strip_suffix(" HTTP/1.1").expect("HTTP/1.1");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().expect("continuation after a header");
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` to Unix seconds (days from civil, H. Hinnant).
fn unix(timestamp: &str) -> i64 {
    let n = |range: std::ops::Range<usize>| timestamp[range].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sigv4");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures/sigv4")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("context.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn aws_sigv4_suite_header_signing() {
    let cases = cases();
    assert!(cases.len() >= 30, "expected the carried suite, found {} cases", cases.len());
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let context: Context = serde_json::from_str(&read(dir, "context.json")).expect("context.json");
        let request = parse_request(&read(dir, "request.txt"));
        let credentials = Credentials {
            access_key_id: context.credentials.access_key_id,
            secret_access_key: context.credentials.secret_access_key,
            session_token: context.credentials.token,
        };
        let signable = SignableRequest {
            method: &request.method,
            path: &request.path,
            query: &request.query,
            headers: &request.headers,
            body: &request.body,
        };
        let options = SignOptions {
            normalize_path: context.normalize,
            sign_body: context.sign_body,
            omit_session_token: context.omit_session_token,
        };
        let signed =
            sign(&signable, &credentials, &context.region, &context.service, unix(&context.timestamp), options);
        let expected = [
            ("canonical request", read(dir, "header-canonical-request.txt"), signed.canonical_request.clone()),
            ("string to sign", read(dir, "header-string-to-sign.txt"), signed.string_to_sign.clone()),
            ("signature", read(dir, "header-signature.txt"), signed.signature.clone()),
        ];
        for (what, want, got) in expected {
            if want.trim_end() != got {
                failures.push(format!("{name}: {what}\n--- want\n{}\n--- got\n{got}", want.trim_end()));
            }
        }
        let auth = signed.added_headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
        assert_eq!(auth, Some(signed.authorization.as_str()), "{name}: authorization header added");
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn timestamps_convert() {
    assert_eq!(unix("2015-08-30T12:36:00Z"), 1_440_938_160);
    assert_eq!(unix("1970-01-01T00:00:00Z"), 0);
}
