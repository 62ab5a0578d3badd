//! Drives the DynamoDB encoding from the command line, for
//! scripts/sigv4_crosscheck.py and manual runs against a local server.
//!
//! Reads one JSON object on stdin and prints one JSON object:
//! - `{"sign":{"op":StoreOp,"store":{..},"creds":{..},"now":secs}}` → the `HttpCall`;
//! - `{"interpret":{"op":StoreOp,"status":u16,"body":".."}}` → the `Interpreted`;
//! - `{"revoke":{"id":..,"region":..,"store":{..},"creds":{..},"now":secs}}` and
//!   `{"status":{..same..}}` → the `HttpCall` the CLI sends.

use oncelink_edge::dynamodb::{self, Credentials, StoreConfig};
use oncelink_edge::StoreOp;
use serde::Deserialize;
use std::io::Read;
use std::process::ExitCode;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Input {
    Sign { op: StoreOp, store: StoreConfig, creds: Credentials, now: i64 },
    Interpret { op: StoreOp, status: u16, body: String },
    Revoke(RecordInput),
    Status(RecordInput),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordInput {
    id: String,
    region: String,
    store: StoreConfig,
    creds: Credentials,
    now: i64,
}

fn main() -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("dynamodb_call: cannot read stdin: {e}");
        return ExitCode::from(2);
    }
    let input: Input = match serde_json::from_str(&text) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("dynamodb_call: bad input: {e}");
            return ExitCode::from(2);
        }
    };
    let call = match input {
        Input::Sign { op, store, creds, now } => dynamodb::request(&op, &store, &creds, now),
        Input::Revoke(r) => dynamodb::revoke_request(&r.id, &r.region, &r.store, &r.creds, r.now),
        Input::Status(r) => dynamodb::status_request(&r.id, &r.region, &r.store, &r.creds, r.now),
        Input::Interpret { op, status, body } => {
            return print(serde_json::to_string(&dynamodb::interpret(&op, status, &body)));
        }
    };
    match call {
        Ok(call) => print(serde_json::to_string(&call)),
        Err(e) => {
            eprintln!("dynamodb_call: {e}");
            ExitCode::from(1)
        }
    }
}

fn print(out: serde_json::Result<String>) -> ExitCode {
    match out {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dynamodb_call: {e}");
            ExitCode::from(1)
        }
    }
}
