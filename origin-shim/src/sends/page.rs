//! The send page (`GET /send`, docs/sends.md): an API key in a login form
//! becomes a session cookie; the page uploads with the existing
//! `POST /api/v1/sends`, which takes that cookie only with the CSRF proof
//! checked here ([`Sessions::authorize`]).
//!
//! - The cookie holds a random 32-byte session id, never the key; the
//!   server keeps only the id's SHA-256 and the key's name, in memory (a
//!   restart signs everyone out). A key revoked (SIGHUP) ends its sessions.
//! - Flags: `HttpOnly; SameSite=Strict; Path=/`, and `Secure` unless the
//!   listener is plain HTTP and the request's Host is a loopback name
//!   (127.x, `localhost`, `[::1]`) with no `https` `--public-url`.
//! - CSRF: a request authorized by the cookie must carry
//!   `X-Oncelink-CSRF: 1` (a cross-site form cannot set a header, and a
//!   cross-site fetch with it needs a CORS preflight nobody answers), and
//!   its `Origin` and `Sec-Fetch-Site`, when present, must say same origin.
//!   The login and logout forms are checked by `Origin`/`Sec-Fetch-Site`.
//! - The pages carry `Content-Security-Policy: default-src 'self'` (no
//!   inline script or style; the JS and CSS are served from `/send/`).

use super::{Api, ApiError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Response, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use oncelink_edge::form;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LOGIN_HTML: &str = include_str!("page/login.html");
const FORM_HTML: &str = include_str!("page/form.html");
const APP_JS: &str = include_str!("page/app.js");
const APP_CSS: &str = include_str!("page/app.css");

/// The session cookie's name.
pub const COOKIE: &str = "oncelink_session";
/// The header a cookie-authorized API request must carry.
pub const CSRF_HEADER: &str = "x-oncelink-csrf";
/// How long a session lasts after sign-in.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions held at once; the oldest go first beyond it.
const MAX_SESSIONS: usize = 10_000;
/// Largest login form body.
const MAX_LOGIN_BODY: usize = 4096;
const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct Session {
    key_name: String,
    expires: Instant,
}

/// The signed-in sessions, by the SHA-256 of their id.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<[u8; 32], Session>>);

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// A new session for key `key_name`; returns its id (for the cookie).
    fn create(&self, key_name: &str) -> Result<String, ApiError> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|_| ApiError::Internal)?;
        let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut map = self.0.lock().map_err(|_| ApiError::Internal)?;
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        map.insert(hash(&id), Session { key_name: key_name.to_owned(), expires: now + SESSION_TTL });
        Ok(id)
    }

    fn end(&self, id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&hash(id));
        }
    }

    /// The key name of the session the cookie names, if it is live and its
    /// key is still in the key file (`still_valid`).
    fn key_name(&self, id: &str, still_valid: impl Fn(&str) -> bool) -> Option<String> {
        let mut map = self.0.lock().ok()?;
        let h = hash(id);
        let session = map.get(&h)?;
        if session.expires > Instant::now() && still_valid(&session.key_name) {
            return Some(session.key_name.clone());
        }
        map.remove(&h);
        None
    }
}

/// The session id the request's cookie carries.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Sec-Fetch-Site` and `Origin`, when present, say the request comes from
/// this site's own pages.
fn same_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").map(|v| v.to_str().unwrap_or(""));
    if fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, a)| a);
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

impl super::Sends {
    /// The key name of a request authorized by the session cookie with its
    /// CSRF proof: a cookie without the proof is 403 `csrf`, a session
    /// unknown, expired or of a revoked key is 401.
    pub fn authorize_session(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        let id = session_cookie(headers).ok_or(ApiError::Unauthorized)?;
        if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") || !same_origin(headers) {
            return Err(ApiError::Csrf);
        }
        self.session_key(id).ok_or(ApiError::Unauthorized)
    }

    fn session_key(&self, id: &str) -> Option<String> {
        let keys = self.keys.read().ok().map(|k| Arc::clone(&k))?;
        self.sessions.key_name(id, |name| keys.keys().any(|k| k.name == name))
    }

    /// The cookie's `Secure` flag: off only for plain HTTP to a loopback Host.
    fn secure_cookie(&self, headers: &HeaderMap) -> bool {
        if self.tls || self.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        !(name == "localhost" || name == "[::1]" || name.starts_with("127."))
    }
}

/// The page routes: `GET /send`, `POST /send/login`, `POST /send/logout`,
/// and the page's script and style.
pub fn routes() -> Router<Arc<Api>> {
    Router::new()
        .route("/send", get(show))
        .route("/send/login", post(login))
        .route("/send/logout", post(logout))
        .route("/send/app.js", get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }))
        .route("/send/app.css", get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }))
}

fn asset(body: &'static str, content_type: &'static str) -> Response<Body> {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn html(status: StatusCode, html: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_SECURITY_POLICY, CSP)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::X_FRAME_OPTIONS, "DENY")
        // Not no-referrer: under it Chromium sends `Origin: null` with the
        // page's own POSTs, which the same-origin check must refuse.
        .header(header::REFERRER_POLICY, "same-origin")
        .header("x-robots-tag", "noindex")
        .body(Body::from(html))
        .unwrap_or_default()
}

fn login_page(status: StatusCode, error: &str) -> Response<Body> {
    let error = if error.is_empty() { String::new() } else { format!("<p class=\"error\" role=\"alert\">{error}</p>") };
    html(status, LOGIN_HTML.replace("<!--error-->", &error))
}

fn see_other(cookie: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, "/send")
        .header(header::SET_COOKIE, cookie)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::empty())
        .unwrap_or_default()
}

fn cookie(value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

async fn show(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response<Body> {
    match session_cookie(&headers).and_then(|id| api.sends.session_key(id)) {
        Some(_) => html(StatusCode::OK, FORM_HTML.to_owned()),
        None => login_page(StatusCode::OK, ""),
    }
}

async fn login(State(api): State<Arc<Api>>, req: Request) -> Response<Body> {
    let headers = req.headers().clone();
    if !same_origin(&headers) {
        tracing::info!(status = 403, result = "csrf", "POST /send/login");
        return login_page(StatusCode::FORBIDDEN, "This form must be sent from this site's own page.");
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_LOGIN_BODY).await else {
        return login_page(StatusCode::BAD_REQUEST, "The form was too large.");
    };
    // The core's form reader: one decoder for every form, and a bad `%`
    // escape or a repeated field is a 400, not an empty key.
    let field = std::str::from_utf8(&body).map_err(|_| ()).and_then(|b| form::field(b, "key").map_err(|_| ()));
    let Ok(key) = field else {
        return login_page(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let key = key.unwrap_or_default();
    let name = {
        let keys = api.sends.keys.read().ok().map(|k| Arc::clone(&k));
        keys.and_then(|k| k.verify(key.trim()).map(str::to_owned))
    };
    let Some(name) = name else {
        tracing::info!(status = 401, result = "unauthorized", "POST /send/login");
        return login_page(StatusCode::UNAUTHORIZED, "That API key is not valid.");
    };
    match api.sends.sessions.create(&name) {
        Ok(id) => {
            tracing::info!(status = 303, result = "signed_in", key = %name, "POST /send/login");
            see_other(&cookie(&id, SESSION_TTL.as_secs(), api.sends.secure_cookie(&headers)))
        }
        Err(e) => e.response(),
    }
}

async fn logout(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response<Body> {
    if !same_origin(&headers) {
        return login_page(StatusCode::FORBIDDEN, "This form must be sent from this site's own page.");
    }
    if let Some(id) = session_cookie(&headers) {
        api.sends.sessions.end(id);
    }
    see_other(&cookie("", 0, api.sends.secure_cookie(&headers)))
}
