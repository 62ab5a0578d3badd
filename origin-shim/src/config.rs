//! From command-line arguments to the server's state: key files read and
//! checked, the core's configuration, the store opened, the root checked.

use crate::args::{OriginArgs, ServeArgs};
use crate::edge::{EdgeState, Target};
use crate::metrics::Metrics;
use crate::origin::OriginState;
use crate::proxy::Proxy;
use crate::rate_limit::RefusalLimit;
use crate::serve_files::Root;
use crate::webhooks::{Delivery, Events};
use anyhow::{anyhow, bail, Context, Result};
use oncelink_edge::throttle::Limits;
use oncelink_edge::webhook::Secret;
use oncelink_edge::{Config, ConfigFile, KeyFile, KeySet, OriginKind};
use oncelink_store::sqlite::{CheckpointPacing, FileChange, OnFileChange};
use oncelink_store::{OpenOptions, Store, StoreError, StoreSpec};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Home region when neither --home-region nor a DynamoDB store names one.
pub const DEFAULT_HOME_REGION: &str = "us-east-1";

/// Reads and checks a key file; a warn line when group or others can read it.
fn read_key_file(path: &Path, what: &str) -> Result<KeyFile> {
    oncelink_keyfile::read(path, |exposed| tracing::warn!(file = %path.display(), "{exposed}"))
        .map_err(|e| anyhow!("{what}: {e}"))
}

/// The throttle settings given on the command line over the core's
/// defaults, or `None` when none was given.
fn password_throttle(args: &ServeArgs) -> Option<Limits> {
    let given = [
        args.password_free_guesses,
        args.password_backoff,
        args.password_backoff_cap,
        args.password_link_ceiling,
        args.password_window,
    ];
    if given.iter().all(Option::is_none) {
        return None;
    }
    let d = Limits::default();
    Some(Limits {
        free: args.password_free_guesses.unwrap_or(d.free),
        backoff: args.password_backoff.unwrap_or(d.backoff),
        backoff_cap: args.password_backoff_cap.unwrap_or(d.backoff_cap.max(args.password_backoff.unwrap_or(0))),
        link_ceiling: args.password_link_ceiling.unwrap_or(d.link_ceiling),
        window: args.password_window.unwrap_or(d.window),
    })
}

/// The `serve` state.
pub async fn serve_state(args: &ServeArgs, metrics: Arc<Metrics>) -> Result<(EdgeState, Option<Delivery>)> {
    let keys = read_key_file(&args.keys, "--keys")?;
    let grant_keys = match &args.grant_keys {
        Some(path) if args.upstream.is_none() => {
            bail!("--grant-keys {} only applies with --upstream (files from --root need no grant)", path.display())
        }
        Some(path) => Some(read_key_file(path, "--grant-keys")?),
        None => None,
    };
    let file = ConfigFile {
        keys,
        skew: args.skew,
        grace: args.grace,
        token_param: args.token_param.clone(),
        home_region: home_region(args)?,
        origin: Some(OriginKind::Header),
        grant_keys,
        default_mode: args.default_mode.map(Into::into),
        max_password_failures: args.max_password_failures,
        password_throttle: password_throttle(args),
        pass_param: args.pass_param.clone(),
        cors_origins: (!args.cors_origins.is_empty()).then(|| args.cors_origins.clone()),
        // Serving files itself, the shim answers the core's need_file_size.
        ask_file_size: Some(args.root.is_some()),
    };
    let config = Config::from_file(file).map_err(|e| anyhow!("{e}"))?;
    let target = match (&args.root, &args.upstream) {
        (Some(root), None) => Target::Root(Root::new(root).with_context(|| format!("--root {}", root.display()))?),
        (None, Some(url)) => {
            let proxy = Proxy::new(url).map_err(|e| anyhow!(e))?;
            if args.grant_keys.is_some() && proxy.has_base_path() {
                // The grant covers the viewer's path; a guarded origin would
                // see /base/... and refuse every request.
                bail!("--grant-keys needs an --upstream without a path (http://host:port), got {url:?}");
            }
            Target::Upstream(proxy)
        }
        _ => bail!("give exactly one of --root DIR and --upstream URL"),
    };
    let delivery = webhook_delivery(args)?;
    let options = OpenOptions {
        table: args.table.clone(),
        password_file: args.store_password_file.clone(),
        create: args.create_store,
        sqlite_wal: args.sqlite_wal_mib.map(CheckpointPacing::wal_mib),
        on_file_change: Some(log_file_changes()),
        delivery_lease: delivery.as_ref().map(Delivery::lease),
        ..Default::default()
    };
    let store = match StoreSpec::parse(&args.store)? {
        StoreSpec::Sqlite(path) => open_sqlite(&path, &options).await?,
        spec => Store::open(&spec, &options).await?,
    };
    let body_timeout = std::time::Duration::from_millis(args.body_timeout_ms);
    let refusal_limit = RefusalLimit::new(args.refusal_rate, args.refusal_burst).map(std::sync::Arc::new);
    if delivery.is_some() && !store.keeps_events() {
        bail!(
            "--webhook needs a store that keeps link events: sqlite: or postgres: (docs/events.md); {} does not",
            store.engine_name()
        );
    }
    if !(0..=36_500).contains(&args.event_retention_days) {
        bail!("--event-retention-days must be 0 to 36500");
    }
    let events = store.keeps_events().then(|| Events {
        retention: args.event_retention_days * 86_400,
        wake: delivery.as_ref().map(|_| Arc::new(tokio::sync::Notify::new())),
    });
    let admin_token = match &args.admin_token_file {
        Some(path) => Some(read_admin_token(path)?),
        None => None,
    };
    Ok((EdgeState { config, store, target, metrics, body_timeout, refusal_limit, events, admin_token }, delivery))
}

/// `--webhook`, `--webhook-secret-file` and the delivery settings, checked.
fn webhook_delivery(args: &ServeArgs) -> Result<Option<Delivery>> {
    if args.webhooks.is_empty() {
        if args.webhook_secret_file.is_some() {
            bail!("--webhook-secret-file needs at least one --webhook URL");
        }
        return Ok(None);
    }
    for url in &args.webhooks {
        let uri: axum::http::Uri = url.parse().map_err(|e| anyhow!("--webhook {url:?} is not a URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            bail!("--webhook must be an http:// or https:// URL, got {url:?}");
        }
    }
    let path = args.webhook_secret_file.as_ref().ok_or_else(|| anyhow!("--webhook needs --webhook-secret-file"))?;
    let text = std::fs::read_to_string(path).with_context(|| format!("--webhook-secret-file {}", path.display()))?;
    let secret = Secret::parse(text.lines().next().unwrap_or(""))
        .map_err(|e| anyhow!("--webhook-secret-file {}: {e}", path.display()))?;
    if args.webhook_timeout_ms == 0 || args.webhook_retry_first_ms == 0 {
        bail!("--webhook-timeout-ms and --webhook-retry-first-ms must be at least 1");
    }
    Ok(Some(Delivery {
        targets: args.webhooks.clone(),
        secret,
        timeout: Duration::from_millis(args.webhook_timeout_ms),
        retry_first: Duration::from_millis(args.webhook_retry_first_ms),
        retry_max: Duration::from_millis(args.webhook_retry_max_ms.max(args.webhook_retry_first_ms)),
        give_up_after: args.webhook_give_up_after,
    }))
}

/// The admin token: the file's first line, at least 32 characters.
fn read_admin_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--admin-token-file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.len() < 32 {
        bail!("--admin-token-file {}: the token (first line) must be at least 32 characters", path.display());
    }
    Ok(token)
}

/// Opens the SQLite store at `path`, made absolute once here (the working
/// directory never chooses the store later), creating the file only with
/// `--create-store`, and logs which file it is.
async fn open_sqlite(path: &Path, options: &OpenOptions) -> Result<Store> {
    let path = std::path::absolute(path).with_context(|| format!("--store sqlite:{}", path.display()))?;
    let existed = path.exists();
    let store = Store::open(&StoreSpec::Sqlite(path.clone()), options).await.map_err(|e| match e {
        StoreError::Missing(_) => anyhow!(
            "no store file at {}: pass --create-store to create it (only for a new deployment: a store that went away \
             must not come back empty, with every use count reset)",
            path.display()
        ),
        other => anyhow!("{other}"),
    })?;
    let opened = if existed { "opened" } else { "created" };
    tracing::info!(store = %format!("sqlite:{}", path.display()), "store {opened}");
    Ok(store)
}

/// One loud error line when the SQLite store file is lost while serving,
/// one warn line when it is back (the store's thread tells each change once).
fn log_file_changes() -> OnFileChange {
    OnFileChange(Arc::new(move |change: &FileChange| match change {
        FileChange::Lost { path, cause } => tracing::error!(
            path = %path.display(),
            cause = %cause.code(),
            detail = %cause,
            "STORE FILE LOST: every request that needs the store is refused with 503 until the original file \
             is back at its path; the server will not reopen or recreate it (restart with the right file)"
        ),
        FileChange::Back { path } => tracing::warn!(path = %path.display(), "store file is back: counting again"),
    }))
}

/// `--home-region`, else the region of `--store dynamodb:REGION`, else us-east-1.
fn home_region(args: &ServeArgs) -> Result<String> {
    if let Some(r) = &args.home_region {
        return Ok(r.clone());
    }
    Ok(match StoreSpec::parse(&args.store)? {
        StoreSpec::Dynamodb { region, .. } => region,
        StoreSpec::Sqlite(_) | StoreSpec::Postgres(_) => DEFAULT_HOME_REGION.to_owned(),
    })
}

/// The `origin` state.
pub fn origin_state(args: &OriginArgs, metrics: Arc<Metrics>) -> Result<OriginState> {
    let grant_keys =
        KeySet::from_file(&read_key_file(&args.grant_keys, "--grant-keys")?).map_err(|e| anyhow!("{e}"))?;
    let root = Root::new(&args.root).with_context(|| format!("--root {}", args.root.display()))?;
    Ok(OriginState { root, grant_keys, metrics })
}
