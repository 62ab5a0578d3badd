//! moto, serialised, on a free port, with the token table.

use crate::{free_port, http, on_path};
use oncelink_edge::dynamodb::{self, sigv4, Credentials};
use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Region the tests use.
pub const REGION: &str = "us-east-1";
/// Table the tests create.
pub const TABLE: &str = "oncelink-tokens";
/// Dummy credentials: moto checks the signature's scope, not the secret.
pub const ACCESS_KEY: &str = "AKIDTESTTEST";
/// Dummy secret.
pub const SECRET: &str = "test-secret-key";
/// How long moto may take to answer its first request (python imports).
const START: Duration = Duration::from_secs(60);

/// A moto server; killed on drop.
pub struct Moto {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    dir: tempfile::TempDir,
}

impl Moto {
    /// moto through `edge/js/dev/moto_serialized.py` (one request at a
    /// time, as DynamoDB applies conditional writes to one item), with the
    /// token table created.
    pub fn start() -> Moto {
        assert!(
            on_path("moto_server"),
            "moto_server is not on PATH: these tests need a real DynamoDB-compatible server; \
             install it with `pip install -r scripts/requirements-test.txt`"
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../edge/js/dev/moto_serialized.py");
        let dir = tempfile::Builder::new().prefix("oncelink-moto-").tempdir().expect("temp dir");
        let log = File::create(dir.path().join("moto.log")).expect("create moto log");
        let port = free_port();
        let child = Command::new("python3")
            .arg(&script)
            .args(["127.0.0.1", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut moto = Moto { child, addr, endpoint: format!("http://{addr}"), dir };
        let deadline = Instant::now() + START;
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_serialized.py exited ({status}) before answering:\n{}", moto.log());
            }
            if http(addr, "GET", "/moto-api/", &[], "").is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "moto did not answer on {addr} within {START:?}:\n{}", moto.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.create_table();
        moto
    }

    /// The dummy credentials, as the core takes them.
    pub fn credentials() -> Credentials {
        Credentials { access_key_id: ACCESS_KEY.into(), secret_access_key: SECRET.into(), session_token: None }
    }

    /// Sets the dummy credentials in this process's environment (servers
    /// and CLIs spawned later inherit them). Call before spawning anything.
    pub fn credentials_in_env() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
            std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
            std::env::remove_var("AWS_SESSION_TOKEN");
        });
    }

    /// `dynamodb:us-east-1@http://127.0.0.1:PORT`.
    pub fn spec(&self) -> String {
        format!("dynamodb:{REGION}@{}", self.endpoint)
    }

    /// The tail of moto's stderr.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default();
        text[text.len().saturating_sub(4000)..].to_owned()
    }

    /// Sends a signed DynamoDB call (`target` such as `CreateTable`); status and body.
    pub fn call(&self, target: &str, body: &str) -> (u16, String) {
        let mut headers = vec![
            ("content-type".to_owned(), dynamodb::CONTENT_TYPE.to_owned()),
            ("host".to_owned(), self.addr.to_string()),
            ("x-amz-target".to_owned(), format!("DynamoDB_20120810.{target}")),
        ];
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let signable =
            sigv4::SignableRequest { method: "POST", path: "/", query: "", headers: &headers, body: body.as_bytes() };
        let signed =
            sigv4::sign(&signable, &Self::credentials(), REGION, "dynamodb", now, sigv4::SignOptions::default());
        headers.extend(signed.added_headers);
        http(self.addr, "POST", "/", &headers, body)
            .unwrap_or_else(|e| panic!("request to moto failed: {e}\n{}", self.log()))
    }

    /// CreateTable as docs/dynamodb.md describes the table (key `id`, S).
    fn create_table(&self) {
        let body = format!(
            concat!(
                r#"{{"TableName":"{}","AttributeDefinitions":[{{"AttributeName":"id","AttributeType":"S"}}],"#,
                r#""KeySchema":[{{"AttributeName":"id","KeyType":"HASH"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
            ),
            TABLE
        );
        let (status, answer) = self.call("CreateTable", &body);
        assert_eq!(status, 200, "CreateTable: {answer}");
    }

    /// The raw item of `id` (`GetItem` body), for tests that look at attributes.
    pub fn raw_item(&self, id: &str) -> String {
        let body = format!(r#"{{"TableName":"{TABLE}","Key":{{"id":{{"S":"{id}"}}}},"ConsistentRead":true}}"#);
        let (status, answer) = self.call("GetItem", &body);
        assert_eq!(status, 200, "GetItem: {answer}");
        answer
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
