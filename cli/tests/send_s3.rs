//! `oncelink send FILE --bucket B` against a real S3-compatible server (moto,
//! from the store harness), as a person runs it: the real binary, a real
//! multipart upload of several parts, a kill -9 in the middle and a resume.
//! What arrived is read back with boto3, an implementation independent of
//! the CLI's signer and XML reader.

use oncelink_store_testing::{Moto, ACCESS_KEY, REGION, SECRET};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

struct Setup {
    moto: Moto,
    dir: tempfile::TempDir,
    keys: PathBuf,
}

fn setup(bucket: &str) -> Setup {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = dir.path().join("keys.json");
    let out =
        Command::new(env!("CARGO_BIN_EXE_oncelink")).args(["keygen", "--out"]).arg(&keys).output().expect("run keygen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let setup = Setup { moto, dir, keys };
    setup.boto(&format!("s3.create_bucket(Bucket={bucket:?})"));
    setup
}

impl Setup {
    /// Runs a line of Python with `s3`, a boto3 client for the moto server.
    fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json, hashlib\n\
             s3 = boto3.client('s3', endpoint_url={:?}, region_name={REGION:?}, \
             aws_access_key_id={ACCESS_KEY:?}, aws_secret_access_key={SECRET:?})\n\
             {code}\n",
            self.moto.endpoint
        );
        let out = Command::new("python3").args(["-c", &script]).output().expect("run python3");
        assert!(out.status.success(), "boto3 failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
    }

    /// The SHA-256 (hex) of an object, read by boto3.
    fn object_sha256(&self, bucket: &str, key: &str) -> String {
        self.boto(&format!(
            "print(hashlib.sha256(s3.get_object(Bucket={bucket:?}, Key={key:?})['Body'].read()).hexdigest())"
        ))
    }

    fn send(&self, file: &Path, extra: &[&str]) -> Command {
        self.send_to("files", file, extra)
    }

    fn send_to(&self, bucket: &str, file: &Path, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oncelink"));
        cmd.arg("send")
            .arg(file)
            .args(["--bucket", bucket, "--region", REGION, "--endpoint", &self.moto.endpoint])
            .arg("--keys")
            .arg(&self.keys)
            .args(["--base-url", "https://d111.cloudfront.net", "--state-dir"])
            .arg(self.dir.path().join("state"))
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("AWS_SESSION_TOKEN");
        cmd
    }

    /// Starts a slow send (6 parts of 5 MiB at 5 MiB/s, one at a time) and
    /// kills it (SIGKILL) once S3 holds at least one part; the state's key.
    fn send_and_kill_midway(&self, file: &Path) -> String {
        let mut run = self
            .send(file, &["--part-size", "5", "--parallel", "1", "--limit-rate", "5M", "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let key = loop {
            assert!(run.try_wait().unwrap().is_none(), "the run ended before it could be killed");
            assert!(Instant::now() < deadline, "no part reached S3 within 60 s");
            if let Some(state) = self.state_files().first() {
                let state: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
                let (key, id) = (state["key"].as_str().unwrap().to_owned(), state["upload_id"].as_str().unwrap());
                let held = self.boto(&format!(
                    "print(len(s3.list_parts(Bucket='files', Key={key:?}, UploadId={id:?}).get('Parts', [])))"
                ));
                if held != "0" {
                    break key;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        run.kill().unwrap(); // SIGKILL
        run.wait().unwrap();
        key
    }

    fn state_files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.dir.path().join("state")) {
            Ok(entries) => entries
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// A file of `len` bytes that no two parts share a slice of.
fn file_of(dir: &Path, name: &str, len: usize) -> (PathBuf, String) {
    let mut bytes = Vec::with_capacity(len);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).expect("write file");
    (path, hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "oncelink send failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn a_file_of_several_parts_arrives_whole_and_the_link_grants_exactly_its_key() {
    let s = setup("files");
    let (file, sha) = file_of(s.dir.path(), "report q3.pdf", 17 * MIB + 123);
    let out = s
        .send(&file, &["--part-size", "5", "--parallel", "3", "--uses", "2", "--ttl", "2d", "--json"])
        .output()
        .unwrap();
    let sent = json(&out);
    assert_eq!(sent["parts"], 4, "17 MiB in 5 MiB parts: {sent}");
    assert_eq!(sent["resumed_parts"], 0);
    assert_eq!(sent["size"], 17 * MIB + 123);
    let key = sent["key"].as_str().unwrap();
    assert_eq!(key, format!("sends/{}/report q3.pdf", sent["id"].as_str().unwrap()));
    assert_eq!(s.object_sha256("files", key), sha, "the object is not the file");
    // The lifecycle backstop: a 2-day link is in the 7-day rule.
    let tags = s.boto(&format!("print(json.dumps(s3.get_object_tagging(Bucket='files', Key={key:?})['TagSet']))"));
    assert_eq!(tags, r#"[{"Key": "oncelink-expire", "Value": "7d"}]"#);
    assert_eq!(s.boto("print(len(s3.list_multipart_uploads(Bucket='files').get('Uploads', [])))"), "0");
    assert!(s.state_files().is_empty(), "the state of a finished upload stays behind");

    // The link: the object's path, 2 uses, signed with the key file.
    let url = sent["url"].as_str().unwrap();
    assert!(url.starts_with("https://d111.cloudfront.net/sends/"), "{url}");
    let claims = &sent["claims"];
    assert_eq!((claims["p"].as_str(), claims["n"].as_u64()), (Some(format!("/{key}").as_str()), Some(2)));
    let verify = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(["verify", "--keys"])
        .arg(&s.keys)
        .args(["--path", &format!("/{key}"), sent["token"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(verify.status.success(), "the link does not verify: {}", String::from_utf8_lossy(&verify.stdout));
}

#[test]
fn an_upload_killed_midway_resumes_with_the_parts_s3_already_holds() {
    let s = setup("files");
    let (file, sha) = file_of(s.dir.path(), "build.tar", 30 * MIB);
    let killed_key = s.send_and_kill_midway(&file);
    assert_eq!(s.state_files().len(), 1, "the killed run left no state to resume from");

    let second = json(&s.send(&file, &["--part-size", "5", "--json"]).output().unwrap());
    let resumed = second["resumed_parts"].as_u64().unwrap();
    assert!((1..6).contains(&resumed), "expected some but not all of 6 parts from the killed run: {second}");
    assert_eq!(second["parts"], 6);
    let key = second["key"].as_str().unwrap();
    assert_eq!(key, killed_key, "the second run did not continue the killed run's upload");
    assert_eq!(s.object_sha256("files", key), sha, "the resumed object is not the file");
    assert_eq!(s.boto("print(len(s3.list_objects_v2(Bucket='files').get('Contents', [])))"), "1");
    let uploads = s.boto("print(len(s3.list_multipart_uploads(Bucket='files').get('Uploads', [])))");
    assert_eq!(uploads, "0", "the upload was not completed");
}

#[test]
fn a_changed_file_is_not_resumed_but_sent_afresh() {
    let s = setup("files");
    let (file, _) = file_of(s.dir.path(), "a.bin", 30 * MIB);
    let killed_key = s.send_and_kill_midway(&file);
    // The file changes before the rerun: its held parts belong to the old one.
    std::thread::sleep(Duration::from_millis(20));
    let (_, sha) = file_of(s.dir.path(), "a.bin", 30 * MIB + 1);
    let second = json(&s.send(&file, &["--part-size", "5", "--json"]).output().unwrap());
    assert_eq!(second["resumed_parts"], 0, "parts of the old file were reused: {second}");
    assert_ne!(second["key"].as_str().unwrap(), killed_key, "a new send is a new object");
    assert_eq!(s.object_sha256("files", second["key"].as_str().unwrap()), sha);
    let uploads = s.boto("print(len(s3.list_multipart_uploads(Bucket='files').get('Uploads', [])))");
    assert_eq!(uploads, "0", "the old version's upload was left behind, not aborted");
}

#[test]
fn bad_input_is_refused_with_one_line_and_nothing_minted() {
    let s = setup("files");
    let (file, _) = file_of(s.dir.path(), "x.bin", 1000);
    let missing = s.send_to("nope", &file, &[]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(missing.stdout.is_empty(), "a link was printed for a failed upload");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the secret key is in an error: {stderr}");

    let slash = s.send(&file, &["--filename", "a/b"]).output().unwrap();
    assert_eq!(slash.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&slash.stderr).contains("without slashes"));
    assert_eq!(s.boto("print(len(s3.list_multipart_uploads(Bucket='files').get('Uploads', [])))"), "0");

    let small = s.send(&file, &["--part-size", "1"]).output().unwrap();
    assert_eq!(small.status.code(), Some(2), "a part under S3's 5 MiB minimum was accepted");
}
