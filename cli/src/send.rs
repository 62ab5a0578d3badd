//! `oncelink send`: upload a file, get a counted link to it.
//!
//! With `--bucket`, the file goes to the deployment's private bucket under
//! `sends/<id>/<name>` (S3 multipart, [`crate::s3`]) and the link is minted
//! here, offline, for the path `/sends/<id>/<name>` that CloudFront serves
//! from that bucket. The object is tagged for the bucket's lifecycle rules
//! (`oncelink-expire=<days>d`), which delete it after the link's expiry
//! whatever else happens.

use crate::s3::{self, calls::Bucket, upload};
use crate::{minted, MintArgs, ModeArg};
use anyhow::{bail, Context, Result};
use clap::Args;
use oncelink_edge::new_id;
use oncelink_sdk::duration;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct SendArgs {
    /// The file to send.
    file: PathBuf,
    /// The deployment's private bucket (the CloudFront origin).
    #[arg(long, value_name = "BUCKET")]
    bucket: String,
    /// The bucket's region [default: $AWS_REGION, then $AWS_DEFAULT_REGION].
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// An S3-compatible endpoint instead of AWS (path-style requests), e.g.
    /// http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Key file (JSON); the active key signs the link.
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// The deployment's URL, e.g. https://d111.cloudfront.net.
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// Use limit (1 to 1000000).
    #[arg(long, value_name = "N", default_value_t = 1)]
    uses: u32,
    /// Lifetime from now, e.g. 90s, 15m, 1h, 7d.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    ttl: String,
    /// Download file name [default: the file's name].
    #[arg(long, value_name = "NAME")]
    filename: Option<String>,
    /// Resume grace window in seconds (0 to 86400; default 600).
    #[arg(long, value_name = "SECONDS")]
    grace: Option<u32>,
    /// How the link opens (page or direct; default: the deployment's).
    #[arg(long, value_enum, value_name = "MODE")]
    mode: Option<ModeArg>,
    /// Bind the link to its first downloader (see `oncelink mint --help`).
    #[arg(long)]
    bind: bool,
    /// Protect the link with a password read from stdin's first line.
    #[arg(long, conflicts_with = "password_env")]
    password_stdin: bool,
    /// Protect the link with the password in this environment variable.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Your own reference for the link (1 to 64 characters; no secrets).
    #[arg(long = "ref", value_name = "TEXT")]
    reference: Option<String>,
    /// Region of the link's store record [default: the deployment's home region].
    #[arg(long, value_name = "REGION")]
    link_region: Option<String>,
    /// Key prefix of sent objects in the bucket.
    #[arg(long, value_name = "PREFIX", default_value = "sends/")]
    prefix: String,
    /// Parts uploaded at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,
    /// Bytes per part, in MiB (at least 5, S3's minimum; raised for files
    /// over 10,000 parts).
    #[arg(long, value_name = "MIB", default_value_t = 8, value_parser = clap::value_parser!(u64).range(5..=5120))]
    part_size: u64,
    /// Upload at most this many bytes per second, e.g. 500K, 20M.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    limit_rate: Option<u64>,
    /// Where a run keeps what the next needs to resume [default:
    /// $XDG_STATE_HOME/oncelink/sends, then ~/.local/state/oncelink/sends].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Print JSON: url, token, bucket, key, size, parts, claims.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: SendArgs) -> Result<ExitCode> {
    let region = match args.region.clone() {
        Some(region) => region,
        None => std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .context("the bucket's region: pass --region or set AWS_REGION")?,
    };
    let name = match &args.filename {
        Some(name) => name.clone(),
        None => args
            .file
            .file_name()
            .and_then(|n| n.to_str())
            .context("the file's name is not UTF-8: pass --filename")?
            .to_owned(),
    };
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) || name.chars().any(char::is_control)
    {
        bail!("--filename {name:?}: a file name, without slashes or control characters");
    }
    let prefix = args.prefix.trim_start_matches('/').to_owned();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        bail!("--prefix {:?} must end with /", args.prefix);
    }
    let ttl = duration::parse(&args.ttl).map_err(anyhow::Error::msg)?;
    let password = crate::read_password(args.password_stdin, args.password_env.as_deref())?;
    let mint_args = |path: String| MintArgs {
        keys: args.keys.clone(),
        path,
        uses: Some(args.uses),
        ttl: Some(args.ttl.clone()),
        exp: None,
        nbf: None,
        ip: None,
        filename: Some(name.clone()),
        region: args.link_region.clone(),
        grace: args.grace,
        mode: args.mode,
        bind: args.bind,
        password_stdin: false,
        lock_after: None,
        password_env: None,
        reference: args.reference.clone(),
        base_url: Some(args.base_url.clone()),
        param: "t".into(),
        json: false,
        now: None,
    };
    // Every check minting makes, before a byte is sent.
    let new_folder = new_id(crate::random::<16>()?);
    minted(mint_args(format!("/{prefix}{new_folder}/{name}")), password.clone())?;

    let bucket = Bucket { name: args.bucket.clone(), region, endpoint: args.endpoint.clone() };
    let folder = s3::state::folder(args.state_dir.as_deref())?;
    let file = std::fs::canonicalize(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let state_file = s3::state::path(&folder, &file, &bucket.name, bucket.endpoint.as_deref());
    upload::check_state_folder(&state_file)?;
    let tag = s3::expiry_tag(ttl);
    if tag.is_none() {
        eprintln!(
            "oncelink: warning: the link lives longer than the bucket's longest lifecycle rule (365 days): \
             nothing deletes the object when the link expires"
        );
    }
    let key_prefix = prefix.clone();
    let key_name = name.clone();
    let plan = upload::Plan {
        file,
        bucket: bucket.clone(),
        key_for: Box::new(move |id| format!("{key_prefix}{id}/{key_name}")),
        new_id: new_folder,
        tagging: tag.unwrap_or_default(),
        part_size: args.part_size << 20,
        parallel: usize::from(args.parallel),
        limit_rate: args.limit_rate,
        state_file,
        progress: !args.quiet && !args.json,
    };
    let credentials = oncelink_store::credentials::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let sent = runtime.block_on(upload::run(plan, credentials))?;

    // The link is minted now, so its lifetime starts when the file is there.
    let link = minted(mint_args(format!("/{}", sent.key)), password)?;
    let url = link.url.clone().unwrap_or_default();
    if args.json {
        let out = serde_json::json!({
            "url": url,
            "token": link.token,
            "kid": link.kid,
            "bucket": bucket.name,
            "id": sent.id,
            "key": sent.key,
            "size": sent.size,
            "parts": sent.parts,
            "resumed_parts": sent.resumed_parts,
            "claims": link.claims,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        eprintln!(
            "oncelink: sent {} bytes in {} parts to s3://{}/{}{}",
            sent.size,
            sent.parts,
            bucket.name,
            sent.key,
            if sent.resumed_parts > 0 { format!(" ({} parts from an earlier run)", sent.resumed_parts) } else { String::new() }
        );
        println!("{url}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `500K`, `20M`, `1G` or plain bytes, per second.
fn parse_rate(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let value: u64 = digits.parse().map_err(|_| format!("{text:?}: a number of bytes per second, e.g. 500K or 20M"))?;
    let scale = match unit {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return Err(format!("{text:?}: the unit is K, M or G")),
    };
    value.checked_mul(scale).filter(|v| *v > 0).ok_or_else(|| format!("{text:?}: out of range"))
}
