//! `oncelink send FILE --to https://host --api-key-file F`: uploads a file
//! to a self-hosted origin-shim's `POST /api/v1/sends` (docs/sends.md) and
//! prints the link it mints.
//!
//! The file is streamed from disk in 256 KiB reads (never whole in memory)
//! inside a multipart body whose length is known beforehand, with a
//! progress bar on stderr. The API key is read from a file, never from the
//! command line (where `ps` would show it).

use super::SendArgs;
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::process::ExitCode;
use tokio::io::AsyncReadExt;

/// Bytes read from the file per body frame.
const CHUNK: usize = 256 * 1024;
/// Largest answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// `--to`: `to` and `api_key_file` are given (clap requires them together).
pub fn run(args: SendArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(send(args))
}

/// The multipart framing around the file: (before, after).
fn framing(boundary: &str, fields: &[(&str, String)], filename: &str) -> (Vec<u8>, Vec<u8>) {
    let mut before = Vec::new();
    for (name, value) in fields {
        before.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    let quoted: String =
        filename.chars().map(|c| if c == '"' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    before.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{quoted}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .bytes(),
    );
    (before, format!("\r\n--{boundary}--\r\n").into_bytes())
}

async fn send(args: SendArgs) -> Result<ExitCode> {
    let to = args.to.clone().unwrap_or_default();
    let api_key_file = args.api_key_file.clone().context("--to needs --api-key-file")?;
    let base = to.trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        bail!("--to must be an https:// URL (the origin-shim serving sends), got {:?}", to);
    }
    let endpoint: hyper::Uri =
        format!("{base}/api/v1/sends").parse().map_err(|e| anyhow!("--to {:?} is not a URL: {e}", to))?;
    let key_text =
        std::fs::read_to_string(&api_key_file).with_context(|| format!("--api-key-file {}", api_key_file.display()))?;
    let key = key_text.lines().next().unwrap_or("").trim().to_owned();
    if !key.starts_with("olk_") {
        bail!("--api-key-file {}: the first line is not an API key (olk_...)", api_key_file.display());
    }
    let expires_in = oncelink_sdk::duration::parse(&args.ttl).map_err(|e| anyhow!("--ttl: {e}"))?;
    let password = crate::read_password(args.password_stdin, args.password_env.as_deref())?;
    let file =
        tokio::fs::File::open(&args.file).await.with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().await?.len();
    let name = args
        .filename
        .clone()
        .or_else(|| args.file.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "file".into());

    let mut fields: Vec<(&str, String)> =
        vec![("max_uses", args.uses.to_string()), ("expires_in", expires_in.to_string())];
    fields.push(("strip_metadata", (!args.keep_metadata).to_string()));
    if args.filename.is_some() {
        fields.push(("filename", name.clone()));
    }
    for (field, value) in
        [("password", password), ("mode", args.mode.map(|m| m.name().to_owned())), ("ref", args.reference.clone())]
    {
        if let Some(value) = value {
            fields.push((field, value));
        }
    }
    if let Some(grace) = args.grace {
        fields.push(("grace", grace.to_string()));
    }
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).map_err(|e| anyhow!("no system randomness: {e}"))?;
    let boundary = format!("oncelink-{}", oncelink_edge::base64url::encode(&random));
    let (before, after) = framing(&boundary, &fields, &name);
    let total = before.len() as u64 + size + after.len() as u64;

    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::with_draw_target(Some(size), indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    };
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(4);
    let progress = bar.clone();
    let pump = tokio::spawn(async move {
        let mut file = file;
        if tx.send_data(Bytes::from(before)).await.is_err() {
            return Ok(());
        }
        let mut sent = 0u64;
        loop {
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            sent += n as u64;
            if sent > size {
                return Err(anyhow!("the file grew while it was being sent"));
            }
            buf.truncate(n);
            if tx.send(Frame::data(Bytes::from(buf))).await.is_err() {
                // The server answered (and stopped reading) before the end.
                return Ok(());
            }
            progress.set_position(sent);
        }
        if sent != size {
            return Err(anyhow!("the file shrank while it was being sent"));
        }
        let _ = tx.send_data(Bytes::from(after)).await;
        Ok::<(), anyhow::Error>(())
    });

    let request = hyper::Request::post(endpoint)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .header("content-length", total.to_string())
        .header("user-agent", concat!("oncelink/", env!("CARGO_PKG_VERSION")))
        .body(body)?;
    let connector =
        hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
    let client: Client<_, _> = Client::builder(TokioExecutor::new()).build(connector);
    let response = client.request(request).await.map_err(|e| anyhow!("cannot send to {base}: {e}"))?;
    let status = response.status();
    let answer = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| anyhow!("the answer from {base} broke off: {e}"))?
        .to_bytes();
    bar.finish_and_clear();
    if status.is_success() {
        if let Ok(Err(e)) = pump.await {
            return Err(e);
        }
    } else {
        pump.abort();
    }
    let json: serde_json::Value = serde_json::from_slice(&answer)
        .map_err(|_| anyhow!("{base} answered {status} without the sends API's JSON (is --sends-dir on?)"))?;
    if status != hyper::StatusCode::CREATED {
        let code = json["error"].as_str().unwrap_or("error");
        let message = json["message"].as_str().unwrap_or("");
        bail!("{code}: {message} (HTTP {})", status.as_u16());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{}", json["url"].as_str().ok_or_else(|| anyhow!("the answer has no url"))?);
        if json["metadata_stripped"] == false && !args.keep_metadata {
            eprintln!("oncelink: note: no metadata was stripped (not a JPEG, PNG, WebP or PDF, or one that could not be cleaned)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
