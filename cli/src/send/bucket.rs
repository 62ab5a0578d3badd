//! `oncelink send FILE --bucket B`: the file goes to the deployment's private bucket under
//! `sends/<id>/<name>` (S3 multipart, [`crate::s3`]) and the link is minted
//! here, offline, for the path `/sends/<id>/<name>` that CloudFront serves
//! from that bucket. The object is tagged for the bucket's lifecycle rules
//! (`oncelink-expire=<days>d`), which delete it after the link's expiry
//! whatever else happens.

use super::SendArgs;
use crate::s3::{self, calls::Bucket, upload};
use crate::{minted, MintArgs};
use anyhow::{bail, Context, Result};
use oncelink_edge::new_id;
use oncelink_sdk::duration;
use std::process::ExitCode;

/// `--bucket`: `bucket`, `keys` and `base_url` are given (clap requires them together).
pub fn run(args: SendArgs) -> Result<ExitCode> {
    let bucket_name = args.bucket.clone().unwrap_or_default();
    let keys = args.keys.clone().context("--bucket needs --keys")?;
    let base_url = args.base_url.clone().context("--bucket needs --base-url")?;
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
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
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
        keys: keys.clone(),
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
        base_url: Some(base_url.clone()),
        param: "t".into(),
        json: false,
        now: None,
    };
    // Every check minting makes, before a byte is sent.
    let new_folder = new_id(crate::random::<16>()?);
    minted(mint_args(format!("/{prefix}{new_folder}/{name}")), password.clone())?;

    let bucket = Bucket { name: bucket_name, region, endpoint: args.endpoint.clone() };
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
            if sent.resumed_parts > 0 {
                format!(" ({} parts from an earlier run)", sent.resumed_parts)
            } else {
                String::new()
            }
        );
        println!("{url}");
    }
    Ok(ExitCode::SUCCESS)
}
