//! Sends (issue 16, docs/sends.md): the HTTP API that turns an uploaded
//! file into a counted link, and the sweeper that deletes it after its
//! link's last use (plus grace) or at expiry.
//!
//! - `POST /api/v1/sends` ([`upload`]): a multipart upload streamed to a
//!   temporary file in `--sends-dir`, its metadata stripped, moved into
//!   place and minted a link with the deployment's key.
//! - `GET` / `DELETE /api/v1/sends/ID` and `POST /api/v1/links` ([`links`]).
//! - [`sweeper`]: deletes due files, from the store's due list (it
//!   survives restarts), and partial uploads at start.
//!
//! - [`page`]: the send page at `/send`, signed in by a session cookie.
//!
//! Every request needs `Authorization: Bearer <API key>` (`--api-keys`,
//! read again on SIGHUP), or the send page's session cookie with its CSRF
//! proof. The sends directory lies inside `--root`: a sent
//! file is served by the same path as any other, through the core.

mod error;
mod links;
mod page;
mod sweeper;
mod upload;

pub use error::ApiError;

use crate::edge::EdgeState;
use crate::serve_files::Root;
use anyhow::{anyhow, bail, Context, Result};
use axum::extract::DefaultBodyLimit;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use oncelink_sends::api_keys::{self, ApiKeys};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// `--sends-dir` and its settings, checked at start.
pub struct Sends {
    /// The sends directory (canonical), inside the root.
    pub dir: PathBuf,
    /// Where uploads are written before they are moved into place.
    pub partial: PathBuf,
    /// The sends directory's URL path under the root, `/sends` say.
    pub url_prefix: String,
    /// The served root, for `/api/v1/links`.
    pub root: Root,
    /// The API key file and what it held when last read.
    keys_file: PathBuf,
    keys: RwLock<Arc<ApiKeys>>,
    /// The send page's signed-in sessions.
    sessions: page::Sessions,
    /// Largest upload, bytes.
    pub max_upload: u64,
    /// Uploads received at once (`--max-uploads`), and their slots.
    pub max_uploads: u32,
    pub upload_slots: tokio::sync::Semaphore,
    /// How often the sweeper looks for due files.
    pub sweep_every: Duration,
    /// The longest a client may pause while sending.
    pub idle_timeout: Duration,
    /// The links' base URL (`--public-url`); else the request's Host.
    pub public_url: Option<String>,
    /// The listener speaks TLS (for a base URL from the Host header).
    pub tls: bool,
    /// Bounds the strips running at once (a PDF is parsed in memory).
    pub strip_slots: tokio::sync::Semaphore,
}

/// What `Sends::new` needs from the command line.
pub struct SendsArgs<'a> {
    pub dir: &'a Path,
    pub root: Option<&'a Path>,
    pub api_keys: Option<&'a Path>,
    pub max_upload: u64,
    pub max_uploads: u32,
    pub sweep_every: u64,
    pub idle_timeout: Duration,
    pub public_url: Option<String>,
    pub tls: bool,
}

impl Sends {
    /// Checks the flags: a root, the sends directory inside it (not the root
    /// itself), a readable API key file, a base URL that is one.
    pub fn new(a: SendsArgs<'_>) -> Result<Sends> {
        let Some(root) = a.root else {
            bail!("--sends-dir needs --root (sent files are served from inside the root)");
        };
        let keys_file = a.api_keys.ok_or_else(|| anyhow!("--sends-dir needs --api-keys FILE (oncelink apikey new)"))?;
        let keys =
            api_keys::read(keys_file).map_err(|e| anyhow!("--api-keys {}: {}: {e}", keys_file.display(), e.code()))?;
        let root_canon = std::fs::canonicalize(root).with_context(|| format!("--root {}", root.display()))?;
        let dir = std::fs::canonicalize(a.dir).with_context(|| format!("--sends-dir {}", a.dir.display()))?;
        let rel = dir.strip_prefix(&root_canon).map_err(|_| {
            anyhow!("--sends-dir {} must be a directory inside --root {}", a.dir.display(), root.display())
        })?;
        let segments: Vec<&str> = rel.iter().map(|s| s.to_str().unwrap_or("")).collect();
        if segments.is_empty() || segments.iter().any(|s| !is_plain_segment(s)) {
            bail!("--sends-dir must be a subdirectory of --root whose path is plain ASCII (A-Z a-z 0-9 . _ -)");
        }
        if !(1..=u64::MAX / 2).contains(&a.max_upload) || a.sweep_every == 0 || a.sweep_every > 60 {
            bail!("--max-upload must be at least 1 and --sweep-every 1 to 60 seconds");
        }
        if !(1..=1024).contains(&a.max_uploads) {
            bail!("--max-uploads must be 1 to 1024");
        }
        if let Some(url) = &a.public_url {
            oncelink_sdk::link::url(url, "/x", "t", "x").map_err(|e| anyhow!("--public-url: {e}"))?;
        }
        let partial = dir.join(".partial");
        std::fs::create_dir_all(&partial)
            .with_context(|| format!("--sends-dir: cannot create {}", partial.display()))?;
        Ok(Sends {
            partial,
            url_prefix: format!("/{}", segments.join("/")),
            root: Root::new(root)?,
            dir,
            keys_file: keys_file.to_owned(),
            keys: RwLock::new(Arc::new(keys)),
            sessions: page::Sessions::default(),
            max_upload: a.max_upload,
            max_uploads: a.max_uploads,
            upload_slots: tokio::sync::Semaphore::new(a.max_uploads as usize),
            sweep_every: Duration::from_secs(a.sweep_every),
            idle_timeout: a.idle_timeout,
            public_url: a.public_url,
            tls: a.tls,
            strip_slots: tokio::sync::Semaphore::new(2),
        })
    }

    /// The name of the key the request presents, or 401. Without an
    /// `Authorization` header, the send page's session cookie with its CSRF
    /// proof ([`page`]) stands in for the key.
    pub fn authorize(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        let Some(authorization) = headers.get(axum::http::header::AUTHORIZATION) else {
            return self.authorize_session(headers);
        };
        let presented =
            authorization.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or(ApiError::Unauthorized)?;
        let keys = self.keys.read().map(|k| Arc::clone(&k)).map_err(|_| ApiError::Unauthorized)?;
        keys.verify(presented.trim()).map(str::to_owned).ok_or(ApiError::Unauthorized)
    }

    /// Reads the API key file again; on an error the keys read before stay.
    fn reload_keys(&self) {
        match api_keys::read(&self.keys_file) {
            Ok(keys) => {
                let count = keys.keys().count();
                if let Ok(mut held) = self.keys.write() {
                    *held = Arc::new(keys);
                }
                tracing::info!(keys = count, "API keys reloaded");
            }
            Err(e) => tracing::error!(cause = e.code(), detail = %e, "API keys NOT reloaded: the previous ones stay"),
        }
    }

    /// The base of the links this request gets: `--public-url`, else the
    /// scheme and the request's Host.
    pub fn base_url(&self, parts: &Parts) -> Result<String, ApiError> {
        if let Some(url) = &self.public_url {
            return Ok(url.clone());
        }
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
            .ok_or_else(|| {
                ApiError::BadRequest("no Host header to build the link from (or start with --public-url)".into())
            })?;
        Ok(format!("{}://{host}", if self.tls { "https" } else { "http" }))
    }
}

/// A path segment the sends directory's URL may hold as it is.
fn is_plain_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Both halves a sends request needs.
pub struct Api {
    pub edge: Arc<EdgeState>,
    pub sends: Sends,
}

/// The `/api/v1` routes, the sweeper, and the key reload on SIGHUP. The
/// routes carry no overall request timeout (an upload of gigabytes takes
/// minutes); the upload has an idle timeout per read instead.
pub fn start(edge: Arc<EdgeState>, sends: Sends) -> Result<Router> {
    if !edge.store.keeps_sends() {
        bail!(
            "--sends-dir needs a store that keeps the sends' due list: sqlite: (docs/sends.md); {} does not yet",
            edge.store.engine_name()
        );
    }
    let api = Arc::new(Api { edge, sends });
    sweeper::remove_partials(&api.sends)?;
    sweeper::spawn(Arc::clone(&api));
    reload_on_sighup(Arc::clone(&api));
    Ok(Router::new()
        .route("/api/v1/sends", post(upload::handle))
        .route("/api/v1/sends/{id}", get(links::status).delete(links::delete))
        .route("/api/v1/links", post(links::link))
        .merge(page::routes())
        // The upload enforces --max-upload itself, while streaming.
        .layer(DefaultBodyLimit::disable())
        .with_state(api))
}

fn reload_on_sighup(api: Arc<Api>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP: the API keys will not be reloaded");
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            api.sends.reload_keys();
        }
    });
}

/// The link fields both `/sends` and `/links` take, checked.
#[derive(Debug, Default)]
pub struct LinkFields {
    pub max_uses: u32,
    pub expires_in: i64,
    pub password: Option<String>,
    pub filename: Option<String>,
    pub mode: Option<String>,
    pub grace: Option<u32>,
    pub reference: Option<String>,
}

/// Longest `expires_in`: a year.
pub const MAX_EXPIRES_IN: i64 = 366 * 86_400;

impl LinkFields {
    /// Defaults: one use, a day.
    pub fn defaults() -> LinkFields {
        LinkFields { max_uses: 1, expires_in: 86_400, ..Default::default() }
    }

    /// Sets field `name` from its text; `Ok(false)` for a name it does not know.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, ApiError> {
        fn number(name: &str, value: &str, min: i64, max: i64) -> Result<i64, ApiError> {
            value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| ApiError::BadField(format!("{name} must be a whole number from {min} to {max}")))
        }
        match name {
            "max_uses" => self.max_uses = number(name, value, 1, i64::from(oncelink_edge::claims::MAX_USES))? as u32,
            "expires_in" => self.expires_in = number(name, value, 1, MAX_EXPIRES_IN)?,
            "grace" => self.grace = Some(number(name, value, 0, i64::from(oncelink_edge::claims::MAX_GRACE))? as u32),
            "mode" => match value {
                "page" | "direct" => self.mode = Some(value.to_owned()),
                _ => return Err(ApiError::BadField("mode must be page or direct".into())),
            },
            "password" => self.password = Some(value.to_owned()),
            "filename" => self.filename = Some(value.to_owned()),
            "ref" => self.reference = Some(value.to_owned()),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A minted link.
pub struct Minted {
    pub id: String,
    pub url: String,
    pub expires_at: i64,
}

/// Mints a link to `path` with the deployment's active key (the SDK's
/// option rules: a password needs page mode...). A rule broken is 400.
pub fn mint(api: &Api, parts: &Parts, id: &str, path: &str, f: &LinkFields, now: i64) -> Result<Minted, ApiError> {
    let expires_at = now + f.expires_in;
    let options = serde_json::json!({
        "id": id, "path": path, "uses": f.max_uses, "exp": expires_at, "now": now,
        "grace": f.grace, "mode": f.mode, "password": f.password, "filename": f.filename, "ref": f.reference,
    });
    let token = oncelink_sdk::mint::mint(&api.edge.config.keys, &options.to_string(), now as f64, [0; 16])
        .map_err(|e| ApiError::BadField(field_names(&e.to_string())))?;
    let base = api.sends.base_url(parts)?;
    let url = oncelink_sdk::link::url(&base, path, &api.edge.config.token_param, &token)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Minted { id: id.to_owned(), url, expires_at })
}

/// The SDK's messages name its options as the CLI's flags; the API's fields
/// are named otherwise.
fn field_names(message: &str) -> String {
    message.replace("option uses", "max_uses").replace("needs uses", "needs max_uses").replace("option ", "")
}

/// A new link id: 16 random bytes.
pub fn new_id() -> Result<String, ApiError> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|_| ApiError::Internal)?;
    Ok(oncelink_edge::new_id(random))
}
