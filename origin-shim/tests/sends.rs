//! Sends (issue 16) end to end: the real binary over HTTP, real files in a
//! real sends directory, the real SQLite store. Uploads are multipart
//! bodies written by hand (the raw client sends them byte for byte); waits
//! for the sweeper poll the disk with a deadline, never a fixed sleep.

mod support;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::http::{connect, request_from, send_raw};
use support::{Resp, Shim, Site};

const BOUNDARY: &str = "oncelink-test-boundary-7f3a";

/// A site whose root holds `public/report.txt`, a sends directory
/// `root/sends` and an API key file with one key.
struct Sends {
    site: Site,
    key: String,
    keys_file: PathBuf,
}

impl Sends {
    fn new() -> Sends {
        let site = Site::new(&[("public/report.txt", b"quarterly numbers")]);
        std::fs::create_dir(site.root.join("sends")).unwrap();
        let keys_file = site.dir.path().join("api-keys");
        let key = oncelink_sends::api_keys::create_key(&keys_file, "tests", 1_700_000_000).unwrap();
        Sends { key: key.expose().to_owned(), site, keys_file }
    }

    fn dir(&self) -> PathBuf {
        self.site.root.join("sends")
    }

    fn args(&self, extra: &[&str]) -> Vec<OsString> {
        let mut args = self.site.serve_args();
        args.extend(["--sends-dir".into(), self.dir().into(), "--api-keys".into(), self.keys_file.clone().into()]);
        args.extend(["--refusal-rate", "0"].map(OsString::from));
        if !extra.contains(&"--sweep-every") {
            args.extend(["--sweep-every", "1"].map(OsString::from));
        }
        args.extend(extra.iter().map(OsString::from));
        args.extend(["--listen", "127.0.0.1:0"].map(OsString::from));
        args
    }

    fn start(&self, extra: &[&str]) -> Shim {
        Shim::start(self.args(extra))
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.key)
    }

    /// What the sends directory holds (`.partial`'s entries prefixed), sorted.
    fn on_disk(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".partial")
            .collect();
        for e in std::fs::read_dir(self.dir().join(".partial")).unwrap() {
            names.push(format!(".partial/{}", e.unwrap().file_name().to_string_lossy()));
        }
        names.sort();
        names
    }
}

/// A multipart body: text fields, then `file` (named `filename`) if given.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    if let Some((filename, bytes)) = file {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

/// The bytes of a POST with `body` and the given Authorization.
fn post_bytes(addr: SocketAddr, path: &str, auth: Option<&str>, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\n");
    if let Some(auth) = auth {
        req.push_str(&format!("Authorization: {auth}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[track_caller]
fn upload_as(addr: SocketAddr, auth: Option<&str>, fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    send_raw(addr, &post_bytes(addr, "/api/v1/sends", auth, &ct, &multipart(fields, file)), false).expect("upload")
}

fn json(resp: &Resp) -> serde_json::Value {
    serde_json::from_slice(&resp.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", resp.body_text()))
}

/// The request target (path and query) of a link.
fn target_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("an http:// link");
    rest[rest.find('/').unwrap()..].to_owned()
}

/// Polls until `cond` holds, up to 20 s; false if it never did.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_sent_file_downloads_once_is_gone_for_the_next_client_and_leaves_the_disk_after_its_grace() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let content = b"the contract, signed\n".repeat(1000);
    let resp = upload_as(shim.addr, Some(&s.bearer()), &[("grace", "1")], Some(("contract.txt", &content)));
    assert_eq!(resp.status, 201, "{}", resp.body_text());
    let body = json(&resp);
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["max_uses"], 1);
    assert_eq!(body["size"], content.len());
    assert_eq!(body["sha256"], sha256_hex(&content));
    assert_eq!(body["metadata_stripped"], false, "text has no metadata to strip");
    assert!(body["expires_at"].as_i64().unwrap() > support::now() + 86_000);
    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("http://{}/sends/{id}/contract.txt?t=", shim.addr)), "{url}");
    assert_eq!(std::fs::read(s.dir().join(&id).join("contract.txt")).unwrap(), content);

    let first = support::get(shim.addr, &target_of(url));
    assert_eq!(first.status, 200, "{}", first.body_text());
    assert_eq!(first.body, content);
    let other = request_from("127.0.1.2".parse().unwrap(), shim.addr, "GET", &target_of(url), &[]).unwrap();
    assert_eq!(other.status, 410, "another client after the last use: {}", other.body_text());

    assert!(eventually(|| !s.dir().join(&id).exists()), "the file is still on disk: {:?}", s.on_disk());
    let status = send_raw(
        shim.addr,
        format!(
            "GET /api/v1/sends/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            s.bearer()
        )
        .as_bytes(),
        false,
    )
    .unwrap();
    let status = json(&status);
    assert_eq!((status["uses"].as_u64(), status["remaining"].as_u64()), (Some(1), Some(0)));
    assert_eq!(status["stored"], false);
    assert!(status["purged_at"].is_i64());
}

/// A JPEG with EXIF holding a camera name and a GPS position.
fn jpeg_with_gps() -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let r = |num, denom| Rational { num, denom };
    let fields = [
        Field { tag: Tag::Make, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"SecretCam 9000".to_vec()]) },
        Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(52, 1), r(31, 1), r(1234, 100)]),
        },
    ];
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff.into_inner());
    let pixels: Vec<u8> =
        (0..32 * 24).flat_map(|i: usize| [(i * 7) as u8, (i * 3) as u8, 255 - (i % 256) as u8]).collect();
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    encoder.add_app_segment(1, &app1).unwrap();
    encoder.encode(&pixels, 32, 24, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_jpeg_with_gps_exif_comes_back_without_exif_and_still_decodes() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let jpeg = jpeg_with_gps();
    assert!(exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&jpeg)).is_ok());
    let resp = upload_as(shim.addr, Some(&s.bearer()), &[], Some(("holiday.jpg", &jpeg)));
    assert_eq!(resp.status, 201, "{}", resp.body_text());
    let body = json(&resp);
    assert_eq!(body["metadata_stripped"], true);
    let got = support::get(shim.addr, &target_of(body["url"].as_str().unwrap()));
    assert_eq!(got.status, 200);
    assert_eq!(body["sha256"], sha256_hex(&got.body), "the hash is of what is served");
    assert!(exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&got.body)).is_err(), "EXIF is left");
    assert!(!contains(&got.body, b"SecretCam") && !contains(&got.body, b"Exif\0\0"));
    let before = jpeg_decoder::Decoder::new(&jpeg[..]).decode().unwrap();
    let after = jpeg_decoder::Decoder::new(&got.body[..]).decode().expect("the JPEG still decodes");
    assert_eq!(before, after, "the same pixels");
}

#[test]
fn a_pdf_comes_back_without_its_info_author_and_title() {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(dictionary! {}, b"BT /F1 12 Tf 72 712 Td (Hello) Tj ET".to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let info_id = doc.add_object(dictionary! {
        "Author" => Object::string_literal("Alice Author"), "Title" => Object::string_literal("Secret Plans"),
    });
    doc.trailer.set("Info", info_id);
    let mut pdf = Vec::new();
    doc.save_to(&mut pdf).unwrap();

    let s = Sends::new();
    let shim = s.start(&[]);
    let resp = upload_as(shim.addr, Some(&s.bearer()), &[("max_uses", "2")], Some(("plans.pdf", &pdf)));
    assert_eq!(resp.status, 201, "{}", resp.body_text());
    let body = json(&resp);
    assert_eq!((body["metadata_stripped"].as_bool(), body["max_uses"].as_u64()), (Some(true), Some(2)));
    let got = support::get(shim.addr, &target_of(body["url"].as_str().unwrap()));
    assert_eq!(got.status, 200);
    assert!(!contains(&got.body, b"Alice Author") && !contains(&got.body, b"Secret Plans"));
    let back = Document::load_mem(&got.body).expect("the PDF parses");
    assert!(back.trailer.get(b"Info").is_err(), "an Info dictionary is left");
    assert_eq!(back.get_pages().len(), 1);

    // With strip_metadata=false the file is kept as sent.
    let resp = upload_as(shim.addr, Some(&s.bearer()), &[("strip_metadata", "false")], Some(("plans.pdf", &pdf)));
    let body = json(&resp);
    assert_eq!((body["metadata_stripped"].as_bool(), body["sha256"].as_str()), (Some(false), Some(&*sha256_hex(&pdf))));
}

#[test]
fn twenty_parallel_uploads_each_get_their_own_link_and_file() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let addr = shim.addr;
    let bearer = s.bearer();
    let uploads: Vec<_> = (0..20)
        .map(|i| {
            let bearer = bearer.clone();
            std::thread::spawn(move || {
                let content = format!("file number {i}\n").repeat(5000 + i * 100).into_bytes();
                (content.clone(), upload_as(addr, Some(&bearer), &[("max_uses", "3")], Some(("n.txt", &content))))
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for upload in uploads {
        let (content, resp) = upload.join().unwrap();
        assert_eq!(resp.status, 201, "{}", resp.body_text());
        let body = json(&resp);
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(std::fs::read(s.dir().join(&id).join("n.txt")).unwrap(), content);
        assert_eq!(body["sha256"], sha256_hex(&content));
        assert!(ids.insert(id));
    }
    assert_eq!(ids.len(), 20);
    assert!(!s.on_disk().iter().any(|n| n.starts_with(".partial/")), "{:?}", s.on_disk());
}

#[test]
fn an_upload_cut_off_midway_leaves_nothing_behind() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let head = format!(
        "POST /api/v1/sends HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 10000000\r\n\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n",
        shim.addr,
        s.bearer()
    );
    let mut stream = connect(shim.addr).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&vec![b'x'; 3_000_000]).unwrap();
    assert!(
        eventually(|| s.on_disk().iter().any(|n| n.starts_with(".partial/"))),
        "the upload never reached the disk: {:?}",
        s.on_disk()
    );
    drop(stream);
    assert!(eventually(|| s.on_disk().is_empty()), "left behind: {:?}", s.on_disk());
}

#[test]
fn a_purge_due_when_the_server_is_killed_still_happens_after_a_restart() {
    let s = Sends::new();
    // A sweeper that looks once at start and then not for a minute.
    let mut shim = Shim::start(s.args(&["--sweep-every", "60"]));
    let resp = upload_as(shim.addr, Some(&s.bearer()), &[("grace", "0")], Some(("once.txt", b"read me once")));
    assert_eq!(resp.status, 201, "{}", resp.body_text());
    let body = json(&resp);
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(support::get(shim.addr, &target_of(body["url"].as_str().unwrap())).status, 200);
    shim.kill9();
    assert!(s.dir().join(&id).join("once.txt").is_file(), "deleted before the sweeper's round");
    // A partial upload a crash left is removed at start too.
    std::fs::write(s.dir().join(".partial").join("AAAAAAAAAAAAAAAAAAAAAA.upload"), b"half").unwrap();
    let _again = Shim::start(s.args(&[]));
    assert!(eventually(|| !s.dir().join(&id).exists()), "still on disk after the restart: {:?}", s.on_disk());
    assert!(s.on_disk().is_empty(), "{:?}", s.on_disk());
}

#[test]
fn a_missing_or_wrong_key_is_401_and_stores_nothing() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let wrong = format!("Bearer olk_{}", "A".repeat(43));
    for auth in [None, Some("Bearer nope"), Some(wrong.as_str()), Some(&*s.key)] {
        let resp = upload_as(shim.addr, auth, &[], Some(("x.txt", b"hello")));
        assert_eq!(resp.status, 401, "{auth:?}: {}", resp.body_text());
        assert_eq!(json(&resp)["error"], "unauthorized");
        assert_eq!(resp.header("www-authenticate"), Some("Bearer"));
    }
    assert!(s.on_disk().is_empty(), "{:?}", s.on_disk());
}

#[test]
fn fields_out_of_range_are_400_and_store_nothing() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let file = Some(("x.txt", &b"hello"[..]));
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<(&'a str, &'a [u8])>, &'a str);
    let cases: [Case; 9] = [
        (&[("max_uses", "0")], file, "max_uses"),
        (&[("max_uses", "many")], file, "max_uses"),
        (&[("expires_in", "0")], file, "expires_in"),
        (&[("expires_in", "99999999999")], file, "expires_in"),
        (&[("grace", "-1")], file, "grace"),
        (&[("mode", "sideways")], file, "mode"),
        (&[("colour", "blue")], file, "unknown field"),
        (&[("password", "hunter22"), ("mode", "direct")], file, "page"),
        (&[("max_uses", "2")], None, "file is required"),
    ];
    for (fields, file, says) in cases {
        let resp = upload_as(shim.addr, Some(&s.bearer()), fields, file);
        assert_eq!(resp.status, 400, "{fields:?}: {}", resp.body_text());
        let body = json(&resp);
        assert_eq!(body["error"], "bad_field", "{fields:?}");
        assert!(body["message"].as_str().unwrap().contains(says), "{fields:?}: {body}");
    }
    assert!(s.on_disk().is_empty(), "{:?}", s.on_disk());
}

#[test]
fn an_upload_over_the_limit_is_413_at_once_whether_its_length_is_declared_or_not() {
    let s = Sends::new();
    let shim = s.start(&["--max-upload", "100K"]);
    let big = vec![b'z'; 300 * 1024];
    // Declared: answered from the Content-Length, before the body is read.
    let resp = upload_as(shim.addr, Some(&s.bearer()), &[], Some(("big.bin", &big)));
    assert_eq!((resp.status, json(&resp)["error"].as_str()), (413, Some("too_large")), "{}", resp.body_text());
    // Chunked: counted while it streams, answered while the client still sends.
    let mut stream = connect(shim.addr).unwrap();
    let head = format!(
        "POST /api/v1/sends HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n",
        s.bearer()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let part = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n");
    stream.write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes()).unwrap();
    let chunk = vec![b'z'; 32 * 1024];
    let mut answer = Vec::new();
    // Never the end of the body: the answer must come while it streams.
    for _ in 0..1000 {
        if stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("too_large"), "{text}");
    assert!(eventually(|| s.on_disk().is_empty()), "{:?}", s.on_disk());
}

fn post_link(shim: &Shim, s: &Sends, body: &str) -> Resp {
    send_raw(
        shim.addr,
        &post_bytes(shim.addr, "/api/v1/links", Some(&s.bearer()), "application/json", body.as_bytes()),
        false,
    )
    .unwrap()
}

#[test]
fn links_are_minted_only_for_files_under_the_root_outside_the_sends_directory() {
    let s = Sends::new();
    let shim = s.start(&[]);
    std::fs::write(s.site.dir.path().join("secret.txt"), b"outside the root").unwrap();
    let resp = post_link(&shim, &s, r#"{"path": "/public/report.txt", "max_uses": 1}"#);
    assert_eq!(resp.status, 201, "{}", resp.body_text());
    let body = json(&resp);
    assert_eq!(body["size"], 17);
    let got = support::get(shim.addr, &target_of(body["url"].as_str().unwrap()));
    assert_eq!((got.status, got.body.as_slice()), (200, &b"quarterly numbers"[..]));
    for (path, status, code) in [
        ("/../secret.txt", 400, "bad_path"),
        ("/public/../../secret.txt", 400, "bad_path"),
        ("public/report.txt", 400, "bad_path"),
        ("/public/", 400, "bad_path"),
        ("/sends/.partial/x", 400, "bad_path"),
        ("/public/missing.txt", 404, "not_found"),
        ("/public", 404, "not_found"),
    ] {
        let resp = post_link(&shim, &s, &serde_json::json!({ "path": path }).to_string());
        assert_eq!((resp.status, json(&resp)["error"].as_str()), (status, Some(code)), "{path}: {}", resp.body_text());
    }
    let unauth =
        send_raw(shim.addr, &post_bytes(shim.addr, "/api/v1/links", None, "application/json", b"{}"), false).unwrap();
    assert_eq!(unauth.status, 401);
}

#[test]
fn a_deleted_send_is_revoked_and_gone_at_once_and_a_new_key_works_after_sighup() {
    let s = Sends::new();
    let shim = s.start(&["--sweep-every", "60"]);
    let resp = upload_as(shim.addr, Some(&s.bearer()), &[("max_uses", "5")], Some(("a.txt", b"abc")));
    let body = json(&resp);
    let id = body["id"].as_str().unwrap().to_owned();
    let delete = format!(
        "DELETE /api/v1/sends/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        s.bearer()
    );
    let deleted = send_raw(shim.addr, delete.as_bytes(), false).unwrap();
    assert_eq!(deleted.status, 200, "{}", deleted.body_text());
    assert_eq!((json(&deleted)["stored"].as_bool(), json(&deleted)["revoked"].as_bool()), (Some(false), Some(true)));
    assert!(!s.dir().join(&id).exists());
    let got = support::get(shim.addr, &target_of(body["url"].as_str().unwrap()));
    assert_eq!(got.status, 410, "{}", got.body_text());
    let missing = format!(
        "GET /api/v1/sends/{} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        "B".repeat(22),
        s.bearer()
    );
    assert_eq!(send_raw(shim.addr, missing.as_bytes(), false).unwrap().status, 404);

    let second = oncelink_sends::api_keys::create_key(&s.keys_file, "second", 1_700_000_001).unwrap();
    let bearer2 = format!("Bearer {}", second.expose());
    assert_eq!(upload_as(shim.addr, Some(&bearer2), &[], Some(("b.txt", b"b"))).status, 401, "not read yet");
    let status = std::process::Command::new("kill").args(["-HUP", &shim.pid().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(eventually(|| upload_as(shim.addr, Some(&bearer2), &[], Some(("b.txt", b"b"))).status == 201));
}

fn api_call(addr: SocketAddr, method: &str, id: &str, bearer: &str) -> Resp {
    let req = format!(
        "{method} /api/v1/sends/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer}\r\nConnection: close\r\n\r\n"
    );
    send_raw(addr, req.as_bytes(), false).expect(method)
}

#[test]
fn a_send_is_seen_and_deleted_only_by_the_key_that_uploaded_it() {
    let s = Sends::new();
    let other = oncelink_sends::api_keys::create_key(&s.keys_file, "other", 1_700_000_001).unwrap();
    let other = format!("Bearer {}", other.expose());
    let shim = s.start(&[]);
    let body = json(&upload_as(shim.addr, Some(&s.bearer()), &[("max_uses", "2")], Some(("a.txt", b"abc"))));
    let id = body["id"].as_str().unwrap().to_owned();

    // Another valid key: the same answer as for an id that does not exist.
    for method in ["GET", "DELETE"] {
        let resp = api_call(shim.addr, method, &id, &other);
        assert_eq!(resp.status, 404, "{method} with another key: {}", resp.body_text());
        assert_eq!(resp.body_text(), api_call(shim.addr, method, &"B".repeat(22), &other).body_text());
    }
    assert!(s.dir().join(&id).join("a.txt").is_file(), "another key's DELETE deleted nothing");
    assert_eq!(support::get(shim.addr, &target_of(body["url"].as_str().unwrap())).status, 200, "nor revoked the link");

    assert_eq!(api_call(shim.addr, "GET", &id, &s.bearer()).status, 200);
    assert_eq!(api_call(shim.addr, "DELETE", &id, &s.bearer()).status, 200);
    assert!(!s.dir().join(&id).exists());
}

#[test]
fn a_small_upload_with_a_wrong_key_is_answered_after_its_body_not_before() {
    // `oncelink send` with a wrong key once said "client error (SendRequest)"
    // instead of 401: the server answered on the headers and closed while
    // the client was still writing its body, and the client reported the
    // write's error. Read to its end first, the body cannot meet a closed
    // connection.
    use std::io::{Read, Write};
    let s = Sends::new();
    let shim = s.start(&[]);
    let body = multipart(&[], Some(("x.txt", b"hello")));
    let head = format!(
        "POST /api/v1/sends HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer olk_{}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        "A".repeat(43),
        body.len()
    );
    let mut client = std::net::TcpStream::connect(shim.addr).unwrap();
    client.write_all(head.as_bytes()).unwrap();
    client.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut early = [0u8; 64];
    let before_body = client.read(&mut early);
    assert!(
        before_body.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "answered before the body was sent: {before_body:?} {:?}",
        String::from_utf8_lossy(&early)
    );
    client.write_all(&body).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(text.contains("\"unauthorized\""), "{text}");
}

#[test]
fn an_upload_over_max_uploads_is_503_busy_before_its_body_is_read_and_the_slot_comes_back() {
    use std::io::Write;
    let s = Sends::new();
    let shim = s.start(&["--max-uploads", "1"]);
    // One upload in progress: its headers and half its body, then a pause.
    let body = multipart(&[], Some(("big.bin", &vec![7u8; 64 * 1024])));
    let head = format!(
        "POST /api/v1/sends HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        s.bearer(),
        body.len()
    );
    let mut slow = std::net::TcpStream::connect(shim.addr).unwrap();
    slow.write_all(head.as_bytes()).unwrap();
    slow.write_all(&body[..body.len() / 2]).unwrap();
    assert!(
        eventually(|| s.on_disk().iter().any(|f| f.starts_with(".partial/"))),
        "the first upload is being received"
    );

    let busy = upload_as(shim.addr, Some(&s.bearer()), &[], Some(("b.txt", b"b")));
    assert_eq!(busy.status, 503, "{}", busy.body_text());
    assert_eq!(json(&busy)["error"], "busy");
    assert_eq!(busy.header("retry-after"), Some("5"));
    // A bad key is still a 401, not a 503: the slot is taken after the key is checked.
    assert_eq!(upload_as(shim.addr, Some("Bearer olk_wrong"), &[], Some(("b.txt", b"b"))).status, 401);

    // The first client goes away: its slot comes back.
    drop(slow);
    assert!(eventually(|| upload_as(shim.addr, Some(&s.bearer()), &[], Some(("c.txt", b"c"))).status == 201));
}

#[test]
fn sends_need_a_sends_directory_inside_the_root() {
    let s = Sends::new();
    let outside = s.site.dir.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    let mut args = s.site.serve_args();
    args.extend(["--sends-dir".into(), outside.into(), "--api-keys".into(), s.keys_file.clone().into()]);
    args.extend(["--listen", "127.0.0.1:0"].map(OsString::from));
    let err = Shim::try_start(&args).err().expect("refused");
    assert!(err.contains("must be a directory inside --root"), "{err}");
}

// ---- The send page (/send): its login, session cookie and CSRF defence ----

/// A POST of `body` to `path` with extra header lines (`Name: value`).
fn post_with(addr: SocketAddr, path: &str, headers: &[&str], content_type: &str, body: &[u8]) -> Resp {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|h| h.to_ascii_lowercase().starts_with("host:")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for h in headers {
        req.push_str(&format!("{h}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    send_raw(addr, &bytes, false).expect("POST")
}

fn login(addr: SocketAddr, key: &str, headers: &[&str]) -> Resp {
    let body = format!("key={key}");
    post_with(addr, "/send/login", headers, "application/x-www-form-urlencoded", body.as_bytes())
}

/// The `name=value` of a Set-Cookie answer.
fn cookie_pair(resp: &Resp) -> String {
    resp.header("set-cookie").expect("a Set-Cookie").split(';').next().unwrap().to_owned()
}

fn upload_with_cookie(addr: SocketAddr, headers: &[&str]) -> Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    post_with(addr, "/api/v1/sends", headers, &ct, &multipart(&[], Some(("page.txt", b"from the page"))))
}

#[test]
fn the_send_page_signs_in_with_the_key_and_a_wrong_key_gets_401_and_no_cookie() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let page = support::http::request(shim.addr, "GET", "/send", &[]);
    assert_eq!(page.status, 200);
    assert!(page.body_text().contains("action=\"/send/login\""), "not signed in: the login form");
    assert_eq!(
        page.header("content-security-policy"),
        Some("default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));

    let wrong = login(shim.addr, "olk_wrongwrongwrongwrongwrongwrongwrongwrongwr", &[]);
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none(), "a wrong key gets no cookie");
    assert!(wrong.body_text().contains("not valid"));

    // A form the core's form reader refuses (a bad escape, the key given
    // twice) is a 400 with no cookie, not a sign-in with an empty key.
    for bad in ["%zz", &format!("{}&key={}", s.key, s.key)] {
        let resp = login(shim.addr, bad, &[]);
        assert_eq!(resp.status, 400, "key={bad}");
        assert!(resp.header("set-cookie").is_none());
        assert!(resp.body_text().contains("could not be read"));
    }

    let right = login(shim.addr, &s.key, &[]);
    assert_eq!(right.status, 303, "{}", right.body_text());
    assert_eq!(right.header("location"), Some("/send"));
    let set = right.header("set-cookie").unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.split("; ").any(|f| f == flag), "cookie flag {flag} in {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP to 127.0.0.1: no Secure flag ({set})");
    assert!(!set.contains(&s.key), "the cookie never holds the key");
    let pair = cookie_pair(&right);
    let value = pair.strip_prefix("oncelink_session=").unwrap();
    assert!(value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()), "a random id: {value}");

    let form = support::http::request(shim.addr, "GET", "/send", &[("cookie", &pair)]);
    assert!(form.body_text().contains("id=\"send\""), "signed in: the send form");
    assert!(!form.body_text().contains("<script>"), "no inline script");

    // Any Host but a loopback one gets the Secure flag.
    let public = login(shim.addr, &s.key, &["Host: files.example.com"]);
    assert_eq!(public.status, 303);
    assert!(public.header("set-cookie").unwrap().ends_with("; Secure"));

    // A login form posted from another site is refused.
    let cross = login(shim.addr, &s.key, &["Origin: https://evil.example", "Sec-Fetch-Site: cross-site"]);
    assert_eq!(cross.status, 403);
    assert!(cross.header("set-cookie").is_none());
}

#[test]
fn the_api_takes_the_session_cookie_only_with_its_csrf_proof() {
    let s = Sends::new();
    let shim = s.start(&[]);
    let pair = cookie_pair(&login(shim.addr, &s.key, &[]));
    let cookie = format!("Cookie: {pair}");
    let origin = format!("Origin: http://{}", shim.addr);

    for (headers, why) in [
        (vec![cookie.as_str()], "no CSRF header"),
        (vec![cookie.as_str(), "X-Oncelink-CSRF: 0"], "a wrong CSRF header"),
        (vec![cookie.as_str(), "X-Oncelink-CSRF: 1", "Origin: https://evil.example"], "another Origin"),
        (vec![cookie.as_str(), "X-Oncelink-CSRF: 1", "Sec-Fetch-Site: cross-site"], "a cross-site fetch"),
    ] {
        let refused = upload_with_cookie(shim.addr, &headers);
        assert_eq!(refused.status, 403, "{why}: {}", refused.body_text());
        assert_eq!(json(&refused)["error"], "csrf", "{why}");
    }
    assert_eq!(s.on_disk(), Vec::<String>::new(), "nothing stored for a refused request");
    let status =
        post_with(shim.addr, "/api/v1/links", &[&cookie], "application/json", b"{\"path\":\"/public/report.txt\"}");
    assert_eq!(status.status, 403, "every API route wants the proof");

    let ok = upload_with_cookie(shim.addr, &[&cookie, "X-Oncelink-CSRF: 1", &origin, "Sec-Fetch-Site: same-origin"]);
    assert_eq!(ok.status, 201, "{}", ok.body_text());
    assert!(json(&ok)["url"].as_str().unwrap().contains("/sends/"));

    let out = post_with(shim.addr, "/send/logout", &[&cookie], "application/x-www-form-urlencoded", b"");
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = upload_with_cookie(shim.addr, &[&cookie, "X-Oncelink-CSRF: 1"]);
    assert_eq!(after.status, 401, "a signed-out session is no key");
}
