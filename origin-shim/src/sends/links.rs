//! `GET` and `DELETE /api/v1/sends/ID` (a send's status; revoke and delete
//! now) and `POST /api/v1/links` (a link to a file already under `--root`,
//! for apps that must not hold the signing key).

use super::{mint, new_id, sweeper, Api, ApiError, LinkFields};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Response, StatusCode};
use oncelink_edge::path::DecodedPath;
use oncelink_store::unix_now;
use serde_json::{json, Value};
use std::sync::Arc;

/// Largest `/links` body.
const MAX_LINK_BODY: usize = 16 * 1024;

fn ok(status: StatusCode, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

fn answer(result: Result<(StatusCode, Value), ApiError>, what: &str) -> Response<Body> {
    let status = result.as_ref().map(|(s, _)| *s).unwrap_or_else(|e| e.status());
    let code = result.as_ref().err().map(ApiError::code).unwrap_or("ok");
    tracing::info!(status = status.as_u16(), result = code, "{what}");
    match result {
        Ok((status, body)) => ok(status, body),
        Err(e) => e.response(),
    }
}

/// The status of a send that the key named `key` uploaded, or 404 (another
/// key's send is not found, not forbidden: its id is not confirmed).
async fn send_status(api: &Api, key: &str, id: &str) -> Result<Value, ApiError> {
    if oncelink_store::check_id(id).is_err() {
        return Err(ApiError::NotFound);
    }
    let s = api.edge.store.send_status(id).await?.filter(|s| s.send.owned_by(key)).ok_or(ApiError::NotFound)?;
    let stored = s.send.purged_at.is_none() && api.sends.dir.join(id).join(&s.send.name).is_file();
    Ok(json!({
        "id": s.send.id,
        "max_uses": s.send.max_uses,
        "uses": s.used,
        "remaining": s.send.max_uses.saturating_sub(s.used),
        "revoked": s.revoked,
        "expires_at": s.send.expires_at,
        "purge_at": s.send.due_at,
        "stored": stored,
        "purged_at": s.send.purged_at,
        "size": s.send.size,
        "sha256": s.send.sha256,
        "metadata_stripped": s.send.metadata_stripped,
        "created_at": s.send.created_at,
    }))
}

pub async fn status(State(api): State<Arc<Api>>, headers: HeaderMap, Path(id): Path<String>) -> Response<Body> {
    let result = async {
        let key = api.sends.authorize(&headers)?;
        Ok((StatusCode::OK, send_status(&api, &key, &id).await?))
    };
    answer(result.await, "GET /api/v1/sends/ID")
}

/// Revokes the link and deletes the file now.
pub async fn delete(State(api): State<Arc<Api>>, headers: HeaderMap, Path(id): Path<String>) -> Response<Body> {
    let result = async {
        let key = api.sends.authorize(&headers)?;
        send_status(&api, &key, &id).await?;
        // The revoke also makes the send due at once: should the delete
        // below fail, the sweeper's next round deletes it.
        api.edge.store.revoke(&id).await?;
        sweeper::purge(&api, &id, unix_now()).await?;
        Ok((StatusCode::OK, send_status(&api, &key, &id).await?))
    };
    answer(result.await, "DELETE /api/v1/sends/ID")
}

/// `POST /api/v1/links` with a JSON body: `path` (a file under `--root`,
/// not in the sends directory) and the link fields of `/sends`.
pub async fn link(State(api): State<Arc<Api>>, req: Request) -> Response<Body> {
    let result = async {
        api.sends.authorize(req.headers())?;
        let (parts, body) = req.into_parts();
        let body = to_bytes(body, MAX_LINK_BODY)
            .await
            .map_err(|_| ApiError::BadRequest(format!("the body must be JSON of at most {MAX_LINK_BODY} bytes")))?;
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&body) else {
            return Err(ApiError::BadRequest("the body must be a JSON object".into()));
        };
        let mut fields = LinkFields::defaults();
        let mut path = None;
        for (name, value) in &map {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Null => continue,
                _ => return Err(ApiError::BadField(format!("field {name:?} must be a string or a number"))),
            };
            if name == "path" {
                path = Some(text);
            } else if !fields.set(name, &text)? {
                return Err(ApiError::BadField(format!(
                    "unknown field {:?}; known: path, max_uses, expires_in, password, filename, mode, grace, ref",
                    name.chars().take(40).collect::<String>()
                )));
            }
        }
        let path = path.ok_or_else(|| ApiError::BadField("field path is required".into()))?;
        let decoded = DecodedPath::parse(&oncelink_sdk::link::encode_path(&path))
            .filter(|p| !p.as_str().ends_with('/'))
            .ok_or(ApiError::BadPath)?;
        let prefix = format!("{}/", api.sends.url_prefix);
        if decoded.as_str() == api.sends.url_prefix || decoded.as_str().starts_with(&prefix) {
            return Err(ApiError::BadPath);
        }
        let file = api.sends.root.resolve(&decoded).await.ok_or(ApiError::NotFound)?;
        let minted = mint(&api, &parts, &new_id()?, decoded.as_str(), &fields, unix_now())?;
        Ok((
            StatusCode::CREATED,
            json!({
                "url": minted.url,
                "id": minted.id,
                "max_uses": fields.max_uses,
                "expires_at": minted.expires_at,
                "size": file.meta.len(),
            }),
        ))
    };
    answer(result.await, "POST /api/v1/links")
}
