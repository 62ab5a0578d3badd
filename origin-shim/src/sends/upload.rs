//! `POST /api/v1/sends`: a multipart upload streamed to a temporary file
//! (never whole in memory, `--max-upload` counted while it streams),
//! stripped of its metadata, hashed, kept in the store's due list, moved
//! into place and minted a link.
//!
//! Nothing half-written stays: the temporary files are removed on every
//! failure, including a client that goes away mid-upload (the handler is
//! dropped, and its [`Partial`] guard with it), and at the next start.

use super::{mint, new_id, Api, ApiError, LinkFields};
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, Response, StatusCode};
use oncelink_sends::{Kind, Limits};
use oncelink_store::sends::Send;
use oncelink_store::unix_now;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Largest text field (all but `file`).
const MAX_FIELD: usize = 4096;
/// Bytes buffered before a write to the temporary file.
const WRITE_BUFFER: usize = 1 << 20;
/// Room for the multipart framing and text fields over `--max-upload` in a
/// Content-Length checked before any byte is read.
const FRAMING: u64 = 64 * 1024;
/// An upload refused for its key has this much of its body read and
/// dropped before the answer, for at most [`DRAIN_FOR`]: see [`drain`].
const DRAIN_BYTES: usize = 64 * 1024;
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// A temporary file removed when dropped, unless kept.
struct Partial(Option<PathBuf>);

impl Partial {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What the `file` field left on disk.
struct Received {
    file: Partial,
    size: u64,
    sha256: String,
    kind: Kind,
    client_name: Option<String>,
}

pub async fn handle(State(api): State<Arc<Api>>, req: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    let result = match api.sends.authorize(req.headers()) {
        Ok(key) => receive(&api, key, req).await,
        Err(refused) => {
            drain(req.into_body()).await;
            Err(refused)
        }
    };
    let (status, code) = match &result {
        Ok(_) => (StatusCode::CREATED, "created"),
        Err(e) => (e.status(), e.code()),
    };
    tracing::info!(
        status = status.as_u16(),
        result = code,
        ms = started.elapsed().as_millis() as u64,
        "POST /api/v1/sends"
    );
    match result {
        Ok(body) => Response::builder()
            .status(StatusCode::CREATED)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::from(body.to_string()))
            .unwrap_or_default(),
        Err(e) => e.response(),
    }
}

/// Reads and drops up to [`DRAIN_BYTES`] of a body whose key was refused,
/// for at most [`DRAIN_FOR`], before the 401 is sent. Answered on its
/// headers alone, a client still sending a small body can write into a
/// connection the server has answered and closed, and report the write's
/// error instead of the 401: the likely cause (not reproduced) of one CI
/// failure where `oncelink send` with a wrong key said `client error
/// (SendRequest)`. A larger body is cut off as before; a
/// too-large or busy refusal is not drained: its body is large or its
/// client is told to come back (`Connection: close`).
async fn drain(body: Body) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0;
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        while read <= DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    })
    .await;
}

async fn receive(api: &Api, key: String, req: Request) -> Result<serde_json::Value, ApiError> {
    let sends = &api.sends;
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > sends.max_upload.saturating_add(FRAMING)) {
        return Err(ApiError::TooLarge(sends.max_upload));
    }
    // Held until this upload is stored or refused (or its client goes away).
    let _slot = sends.upload_slots.try_acquire().map_err(|_| ApiError::Busy(sends.max_uploads))?;
    let (parts, body) = req.into_parts();
    let for_multipart = Request::from_parts(parts.clone(), body);
    let mut multipart = Multipart::from_request(for_multipart, &())
        .await
        .map_err(|_| ApiError::BadRequest("the body must be multipart/form-data with a boundary".into()))?;
    let id = new_id()?;
    let mut fields = LinkFields::defaults();
    let mut strip_metadata = true;
    let mut received: Option<Received> = None;
    let mut seen: Vec<String> = Vec::new();
    loop {
        let field = tokio::time::timeout(sends.idle_timeout, multipart.next_field()).await;
        let mut field = match field {
            Err(_) => return Err(ApiError::Timeout),
            Ok(Err(e)) => {
                return Err(ApiError::BadRequest(format!("the multipart body is malformed: {}", e.body_text())))
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(field))) => field,
        };
        let name = field.name().unwrap_or("").to_owned();
        if seen.contains(&name) {
            return Err(ApiError::BadField(format!("field {name:?} is given twice")));
        }
        seen.push(name.clone());
        if name == "file" {
            let client_name = field.file_name().map(str::to_owned);
            received = Some(receive_file(api, &id, &mut field, client_name).await?);
            continue;
        }
        let value = read_text(sends.idle_timeout, &mut field, &name).await?;
        if name == "strip_metadata" {
            strip_metadata = match value.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(ApiError::BadField("strip_metadata must be true or false".into())),
            };
        } else if !fields.set(&name, &value)? {
            return Err(ApiError::BadField(format!(
                "unknown field {:?}; known: file, max_uses, expires_in, password, filename, mode, grace, ref, strip_metadata",
                name.chars().take(40).collect::<String>()
            )));
        }
    }
    let received = received.ok_or_else(|| ApiError::BadField("field file is required".into()))?;
    let name = disk_name(fields.filename.as_deref().or(received.client_name.as_deref()));
    let path = format!("{}/{id}/{name}", sends.url_prefix);
    let now = unix_now();
    // Minted before anything is kept: a rule the fields break is a 400 with nothing stored.
    let minted = mint(api, &parts, &id, &path, &fields, now)?;
    let (file, size, sha256, stripped) = if strip_metadata && received.kind != Kind::Unknown {
        clean(api, &id, received.file).await?
    } else {
        (received.file, received.size, received.sha256, false)
    };
    let grace = i64::from(fields.grace.unwrap_or(api.edge.config.grace));
    let send = Send {
        id: id.clone(),
        name: name.clone(),
        max_uses: fields.max_uses,
        grace,
        expires_at: minted.expires_at,
        due_at: minted.expires_at,
        size,
        sha256: sha256.clone(),
        metadata_stripped: stripped,
        created_at: now,
        purged_at: None,
        owner: Some(key.clone()),
    };
    // Kept in the due list before the file is in place: a crash in between
    // leaves a send the sweeper deletes at expiry, never a file nobody deletes.
    api.edge.store.send_insert(send).await?;
    if let Err(e) = place(&sends.dir, &id, &name, file).await {
        let _ = api.edge.store.send_purged(&id, now).await;
        return Err(e);
    }
    tracing::info!(id = %id, key = %key, size, stripped, "send stored");
    Ok(serde_json::json!({
        "url": minted.url,
        "id": id,
        "max_uses": fields.max_uses,
        "expires_at": minted.expires_at,
        "metadata_stripped": stripped,
        "size": size,
        "sha256": sha256,
    }))
}

/// A text field, at most [`MAX_FIELD`] bytes of UTF-8.
async fn read_text(
    idle: std::time::Duration,
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, ApiError> {
    let mut value = Vec::new();
    loop {
        match tokio::time::timeout(idle, field.chunk()).await {
            Err(_) => return Err(ApiError::Timeout),
            Ok(Err(e)) => return Err(ApiError::BadRequest(format!("the multipart body broke off: {}", e.body_text()))),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                if value.len() + chunk.len() > MAX_FIELD {
                    return Err(ApiError::BadField(format!(
                        "field {:?} is longer than {MAX_FIELD} bytes",
                        name.chars().take(40).collect::<String>()
                    )));
                }
                value.extend_from_slice(&chunk);
            }
        }
    }
    String::from_utf8(value).map_err(|_| ApiError::BadField(format!("field {name:?} is not UTF-8")))
}

/// Streams the `file` field to `.partial/ID.upload`, counting, hashing and
/// keeping its first bytes (for the type); 413 as soon as it passes the limit.
async fn receive_file(
    api: &Api,
    id: &str,
    field: &mut axum::extract::multipart::Field<'_>,
    client_name: Option<String>,
) -> Result<Received, ApiError> {
    let sends = &api.sends;
    let partial = Partial(Some(sends.partial.join(format!("{id}.upload"))));
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial.path())
        .await
        .map_err(|e| io_failed(&e, "create"))?;
    let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut hasher = Sha256::new();
    let (mut size, mut head) = (0u64, Vec::with_capacity(16));
    loop {
        let chunk = match tokio::time::timeout(sends.idle_timeout, field.chunk()).await {
            Err(_) => return Err(ApiError::Timeout),
            Ok(Err(e)) => return Err(ApiError::BadRequest(format!("the upload broke off: {}", e.body_text()))),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
        size += chunk.len() as u64;
        if size > sends.max_upload {
            return Err(ApiError::TooLarge(sends.max_upload));
        }
        if head.len() < 16 {
            head.extend_from_slice(&chunk[..chunk.len().min(16 - head.len())]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(|e| io_failed(&e, "write"))?;
    }
    out.flush().await.map_err(|e| io_failed(&e, "write"))?;
    out.get_ref().sync_all().await.map_err(|e| io_failed(&e, "sync"))?;
    Ok(Received { file: partial, size, sha256: hex(&hasher.finalize()), kind: Kind::sniff(&head), client_name })
}

fn io_failed(e: &std::io::Error, what: &str) -> ApiError {
    tracing::error!(detail = %e, "sends: cannot {what} an upload");
    ApiError::from_io(e)
}

/// Strips the upload into `.partial/ID.clean` (in the blocking pool, a
/// bounded number at once) and hashes what will be stored.
async fn clean(api: &Api, id: &str, upload: Partial) -> Result<(Partial, u64, String, bool), ApiError> {
    let _slot = api.sends.strip_slots.acquire().await.map_err(|_| ApiError::Internal)?;
    let cleaned = Partial(Some(api.sends.partial.join(format!("{id}.clean"))));
    let (input, output) = (upload.path().to_owned(), cleaned.path().to_owned());
    let result = tokio::task::spawn_blocking(move || {
        let stripped = oncelink_sends::strip(&input, &output, &Limits::default())?;
        let (size, sha256) = hash_file(&output).map_err(|e| oncelink_sends::Error::ReadInput(output.clone(), e))?;
        Ok::<_, oncelink_sends::Error>((stripped, size, sha256))
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    drop(upload);
    match result {
        Ok((stripped, size, sha256)) => Ok((cleaned, size, sha256, stripped.stripped)),
        Err(oncelink_sends::Error::WriteOutput(_, e) | oncelink_sends::Error::ReadInput(_, e)) => {
            Err(io_failed(&e, "strip"))
        }
        Err(e) => {
            tracing::error!(cause = e.code(), detail = %e, "sends: strip failed");
            Err(ApiError::Internal)
        }
    }
}

/// Size and SHA-256 of a file, read in 1 MiB blocks.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let (mut hasher, mut size, mut buf) = (Sha256::new(), 0u64, vec![0u8; 1 << 20]);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((size, hex(&hasher.finalize())));
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Moves the finished file to `DIR/ID/NAME` (a rename on one file system).
async fn place(dir: &Path, id: &str, name: &str, file: Partial) -> Result<(), ApiError> {
    let folder = dir.join(id);
    tokio::fs::create_dir(&folder).await.map_err(|e| io_failed(&e, "create the directory of"))?;
    if let Err(e) = tokio::fs::rename(file.path(), folder.join(name)).await {
        let _ = tokio::fs::remove_dir(&folder).await;
        return Err(io_failed(&e, "move into place"));
    }
    file.keep();
    Ok(())
}

/// The stored file's name: the given name's last part, with anything but
/// `A-Z a-z 0-9 . _ -` made `_`, no leading dot, at most 100 characters;
/// `file` when nothing is left. The link's path ends with it.
pub fn disk_name(given: Option<&str>) -> String {
    let last = given.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String =
        last.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    let trimmed: String = cleaned.trim_start_matches('.').chars().take(100).collect();
    if trimmed.is_empty() {
        "file".into()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::disk_name;

    #[test]
    fn a_stored_name_is_plain_and_never_climbs_or_hides() {
        assert_eq!(disk_name(Some("report Q3.pdf")), "report_Q3.pdf");
        assert_eq!(disk_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(disk_name(Some("..\\x\\..")), "file");
        assert_eq!(disk_name(Some(".env")), "env");
        assert_eq!(disk_name(Some("été.jpg")), "_t_.jpg");
        assert_eq!(disk_name(None), "file");
        assert_eq!(disk_name(Some(&"a".repeat(300))).len(), 100);
    }
}
