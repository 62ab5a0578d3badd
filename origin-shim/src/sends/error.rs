//! The one error enum of the sends API: each variant a stable code, an
//! HTTP status and a short message, answered as `{"error", "message"}`.
//! Messages never carry a key, a password or a file's content.

use axum::body::Body;
use axum::http::{header, Response, StatusCode};

/// Why a sends API request was refused.
#[non_exhaustive]
#[derive(Debug, PartialEq, Eq)]
pub enum ApiError {
    /// No `Authorization: Bearer` key, or one the key file does not hold
    /// (401 `unauthorized`). Nothing was read or stored.
    Unauthorized,
    /// The send page's session cookie without its CSRF proof (the
    /// `X-Oncelink-CSRF: 1` header), or from another site's page by its
    /// `Origin` or `Sec-Fetch-Site` (403 `csrf`). Nothing was read or stored.
    Csrf,
    /// A field is missing, unknown, repeated or out of range (400 `bad_field`).
    BadField(String),
    /// The body is not `multipart/form-data` (or JSON for `/links`), or
    /// broke off (400 `bad_request`).
    BadRequest(String),
    /// A `/links` path is not a path under `--root`, or names the sends
    /// directory (400 `bad_path`).
    BadPath,
    /// The upload is larger than `--max-upload` (413 `too_large`); answered
    /// as soon as it is known, the partial file removed.
    TooLarge(u64),
    /// The disk filled while storing the upload (507
    /// `insufficient_storage`); the partial file removed.
    InsufficientStorage,
    /// No such send, or no such file under `--root` (404 `not_found`).
    NotFound,
    /// The client stopped sending for longer than the idle timeout (408 `timeout`).
    Timeout,
    /// The store could not answer (503 `store_unavailable`, Retry-After).
    StoreUnavailable,
    /// `--max-uploads` uploads are being received already (503 `busy`,
    /// Retry-After); the body was not read.
    Busy(u32),
    /// A file-system failure other than a full disk (500 `internal`).
    Internal,
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Csrf => "csrf",
            ApiError::BadField(_) => "bad_field",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::BadPath => "bad_path",
            ApiError::TooLarge(_) => "too_large",
            ApiError::InsufficientStorage => "insufficient_storage",
            ApiError::NotFound => "not_found",
            ApiError::Timeout => "timeout",
            ApiError::StoreUnavailable => "store_unavailable",
            ApiError::Busy(_) => "busy",
            ApiError::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::BadField(_) | ApiError::BadRequest(_) | ApiError::BadPath => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::StoreUnavailable | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The short message.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized => "a valid API key is required: Authorization: Bearer olk_...".into(),
            ApiError::Csrf => "a session cookie needs the header X-Oncelink-CSRF: 1 and a same-origin request".into(),
            ApiError::BadField(m) | ApiError::BadRequest(m) => m.clone(),
            ApiError::BadPath => "path must name a file under the served root, outside the sends directory".into(),
            ApiError::TooLarge(max) => format!("the file is larger than this server accepts ({max} bytes)"),
            ApiError::InsufficientStorage => "the server's disk is full; nothing was stored".into(),
            ApiError::NotFound => "no such send or file".into(),
            ApiError::Timeout => "the client stopped sending".into(),
            ApiError::StoreUnavailable => "the store cannot answer; try again".into(),
            ApiError::Busy(n) => format!("{n} uploads are being received already; try again"),
            ApiError::Internal => "the server could not store the file; nothing was stored".into(),
        }
    }

    /// The JSON answer.
    pub fn response(&self) -> Response<Body> {
        let body = serde_json::json!({ "error": self.code(), "message": self.message() });
        let mut response = Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store");
        if *self == ApiError::Unauthorized {
            response = response.header(header::WWW_AUTHENTICATE, "Bearer");
        }
        if matches!(self, ApiError::StoreUnavailable | ApiError::Busy(_)) {
            response = response.header(header::RETRY_AFTER, "5");
        }
        if matches!(self, ApiError::TooLarge(_) | ApiError::Busy(_)) {
            // The rest of the body is not read: the connection cannot be reused.
            response = response.header(header::CONNECTION, "close");
        }
        response.body(Body::from(body.to_string())).unwrap_or_default()
    }

    /// A file-system error while storing: a full disk is 507, anything else 500.
    pub fn from_io(e: &std::io::Error) -> ApiError {
        match e.raw_os_error() {
            Some(28) /* ENOSPC */ | Some(122) /* EDQUOT */ => ApiError::InsufficientStorage,
            _ => ApiError::Internal,
        }
    }
}

impl From<oncelink_store::StoreError> for ApiError {
    fn from(e: oncelink_store::StoreError) -> ApiError {
        tracing::warn!(cause = %e.code(), detail = %e, "store unavailable (sends API)");
        ApiError::StoreUnavailable
    }
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        self.response()
    }
}
