//! Serving one file from the root: path resolution that cannot leave the
//! root, GET/HEAD, a single byte range (206/416), ETag and Last-Modified with
//! the conditional headers, Content-Type by extension, and a body streamed
//! from disk in fixed-size chunks whatever the file size.

use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Response, StatusCode};
use bytes::Bytes;
use oncelink_edge::path::DecodedPath;
use std::io::{Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// Bytes read from disk per body chunk. Each read is one trip to tokio's
/// blocking pool: 64 KiB chunks made 16,384 trips per GiB and held a 1 GiB
/// stream to about half of nginx's sendfile (issue 18); 512 KiB makes 2,048.
const CHUNK: usize = 512 * 1024;

/// The root directory, canonicalised once at start.
#[derive(Clone, Debug)]
pub struct Root(PathBuf);

impl Root {
    /// Canonicalises `dir`, which must be a directory.
    pub fn new(dir: &Path) -> std::io::Result<Root> {
        let canon = std::fs::canonicalize(dir)?;
        if !canon.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Ok(Root(canon))
    }

    /// Opens the regular file `path` names under the root. No symlink is
    /// followed anywhere below the root: a link inside a granted folder that
    /// points at another folder would serve a path the token does not grant.
    /// `None` for anything else (missing, a directory, a FIFO or device, a
    /// symlink, unreadable): the caller answers 404. The metadata is read
    /// from the opened file, so it describes what will be sent.
    ///
    /// This runs on the calling (async) thread, as nginx opens files on its
    /// event loop: path checks, the open and, for a file of at most
    /// [`SMALL_FILE`] bytes, its read, all normally answered from the
    /// kernel's caches in microseconds. A trip to tokio's blocking pool for
    /// them cost more than the work itself: under wrk's 32 connections, a
    /// quarter of the process's CPU went to waking pool threads and handing
    /// the result back, and the pool grew to 34 threads on 2 cores (issue 18,
    /// docs/performance.md). The price: a file on a slow disk, not in the
    /// page cache, holds one worker for that read (at most 64 KiB; larger
    /// files stream in chunks through the blocking pool).
    pub async fn resolve(&self, path: &DecodedPath) -> Option<OpenFile> {
        open_inside(&self.0, &self.join(path)?)
    }

    /// The root joined with the path's segments; `None` for a directory path.
    fn join(&self, path: &DecodedPath) -> Option<PathBuf> {
        if path.as_str().ends_with('/') {
            return None;
        }
        let mut joined = self.0.clone();
        // DecodedPath has no empty, `.` or `..` segment and no backslash or NUL.
        for segment in path.as_str().split('/').filter(|s| !s.is_empty()) {
            joined.push(segment);
        }
        Some(joined)
    }
}

/// A regular file opened under the root.
#[derive(Debug)]
pub struct OpenFile {
    /// Its path under the root, with no symlink in it (for the Content-Type).
    pub path: PathBuf,
    /// Metadata of the opened file.
    pub meta: std::fs::Metadata,
    file: std::fs::File,
    /// The whole content, for files of at most [`SMALL_FILE`] bytes.
    small: Option<Bytes>,
}

/// Files up to this size are read whole while opening (one blocking trip
/// instead of one per chunk); larger ones stream.
pub const SMALL_FILE: u64 = 64 * 1024;

/// Opens `joined` (the root joined with a [`DecodedPath`]'s segments) when
/// it is a regular file reached without any symlink below `root`, so that
/// what is served is exactly the path the core matched against the token's
/// grant.
///
/// Each directory between the root and the file is checked with `lstat`
/// (a symlink there is refused), and the file itself is opened with
/// `O_NOFOLLOW` (a symlink fails the open) and `O_NONBLOCK` (a FIFO opens at
/// once instead of waiting for a writer, which would pin the thread; it is
/// then refused as not a regular file). A file in the root itself costs one
/// open and one fstat. The root is canonical (see [`Root::new`]) and the
/// segments hold no `.`, `..`, empty segment, backslash or NUL, so no other
/// component can lead out. Before, `canonicalize` compared against the
/// joined path did the same check with one `readlink` per component of the
/// whole path, root included (4 of a small file's 12 syscalls, issue 18).
fn open_inside(root: &Path, joined: &Path) -> Option<OpenFile> {
    use std::os::unix::fs::OpenOptionsExt;
    if joined == root || !joined.starts_with(root) {
        return None;
    }
    // The directories below the root that hold the file, deepest first.
    for dir in joined.parent()?.ancestors().take_while(|dir| *dir != root) {
        if !std::fs::symlink_metadata(dir).ok()?.is_dir() {
            return None;
        }
    }
    let mut file =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(joined).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let small = if meta.len() <= SMALL_FILE {
        // Exactly the size fstat gave (the Content-Length), in one read for
        // a small file: no read to find the end. A file that shrank since
        // fstat streams instead, as a large one does.
        let mut buf = vec![0; meta.len() as usize];
        file.read_exact(&mut buf).ok().map(|()| Bytes::from(buf))
    } else {
        None
    };
    Some(OpenFile { path: joined.to_path_buf(), meta, file, small })
}

/// What the Range header asks for, once checked against the file size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeChoice {
    /// No usable Range (absent, not `bytes=`, malformed, several ranges, or
    /// an If-Range that does not match): the whole file, 200.
    Full,
    /// One satisfiable range, inclusive bounds: 206.
    Partial(u64, u64),
    /// A well-formed range that lies outside the file: 416.
    Unsatisfiable,
}

/// Chooses the response shape for `range` on a file of `size` bytes.
pub fn choose_range(range: Option<&str>, size: u64) -> RangeChoice {
    // An empty file has no byte to range over: always the whole (empty) file.
    let Some(range) = range.filter(|_| size > 0) else {
        return RangeChoice::Full;
    };
    let Ok(parsed) = http_range_header::parse_range_header(range) else {
        return RangeChoice::Full;
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => RangeChoice::Partial(*ranges[0].start(), *ranges[0].end()),
        Ok(_) => RangeChoice::Full,
        Err(_) => RangeChoice::Unsatisfiable,
    }
}

/// The file's validators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validators {
    /// Strong ETag (quoted) from size and modification time.
    pub etag: String,
    /// Modification time, whole seconds.
    pub modified: Option<SystemTime>,
}

impl Validators {
    /// From file metadata.
    pub fn of(meta: &std::fs::Metadata) -> Validators {
        let modified = meta.modified().ok();
        let nanos = modified.and_then(|m| m.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        Validators {
            etag: format!("\"{:x}-{:x}\"", meta.len(), nanos),
            modified: modified
                .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                .map(|d| UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs())),
        }
    }

    /// The status the conditional headers call for instead of the content
    /// (304 or 412), if any (RFC 9110 section 13.2.2 order).
    pub fn precondition(&self, headers: &HeaderMap) -> Option<StatusCode> {
        if let Some(im) = header_str(headers, header::IF_MATCH) {
            if !etag_list_matches(im, &self.etag, false) {
                return Some(StatusCode::PRECONDITION_FAILED);
            }
        } else if let Some(ius) =
            header_str(headers, header::IF_UNMODIFIED_SINCE).and_then(|v| httpdate::parse_http_date(v).ok())
        {
            if self.modified.is_some_and(|m| m > ius) {
                return Some(StatusCode::PRECONDITION_FAILED);
            }
        }
        if let Some(inm) = header_str(headers, header::IF_NONE_MATCH) {
            if etag_list_matches(inm, &self.etag, true) {
                return Some(StatusCode::NOT_MODIFIED);
            }
        } else if let Some(ims) =
            header_str(headers, header::IF_MODIFIED_SINCE).and_then(|v| httpdate::parse_http_date(v).ok())
        {
            if self.modified.is_some_and(|m| m <= ims) {
                return Some(StatusCode::NOT_MODIFIED);
            }
        }
        None
    }

    /// Whether an If-Range header (absent: yes) lets the Range apply: a
    /// strong ETag equal to ours, or a date equal to our Last-Modified.
    pub fn if_range_allows(&self, headers: &HeaderMap) -> bool {
        let Some(value) = header_str(headers, header::IF_RANGE) else {
            return true;
        };
        let value = value.trim();
        if value.starts_with('"') {
            return value == self.etag;
        }
        if value.starts_with("W/") {
            return false;
        }
        httpdate::parse_http_date(value).ok().is_some_and(|d| Some(d) == self.modified)
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a comma-separated ETag list (or `*`) matches `ours`; `weak`
/// comparison ignores `W/`.
fn etag_list_matches(list: &str, ours: &str, weak: bool) -> bool {
    list.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        match tag.strip_prefix("W/") {
            Some(t) => weak && t == ours,
            None => tag == ours,
        }
    })
}

/// The response for `file` (already resolved) to a GET or HEAD.
/// `disposition` is the Content-Disposition the edge decided, if any.
pub async fn respond(file: OpenFile, head: bool, headers: &HeaderMap, disposition: Option<&str>) -> Response<Body> {
    let size = file.meta.len();
    let validators = Validators::of(&file.meta);
    let mut builder = Response::builder()
        .header(header::ETAG, &validators.etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private");
    if let Some(m) = validators.modified {
        builder = builder.header(header::LAST_MODIFIED, httpdate::fmt_http_date(m));
    }
    if let Some(status) = validators.precondition(headers) {
        return builder.status(status).body(Body::empty()).unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR));
    }
    let mime = mime_guess::from_path(&file.path).first_or_octet_stream();
    builder = builder.header(header::CONTENT_TYPE, mime.as_ref()).header("x-content-type-options", "nosniff");
    if let Some(d) = disposition.and_then(|d| HeaderValue::from_str(d).ok()) {
        builder = builder.header(header::CONTENT_DISPOSITION, d);
    }
    let range = if validators.if_range_allows(headers) {
        choose_range(header_str(headers, header::RANGE), size)
    } else {
        RangeChoice::Full
    };
    let (status, start, len) = match range {
        RangeChoice::Full => (StatusCode::OK, 0, size),
        RangeChoice::Partial(a, b) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{size}"));
            (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
        }
        RangeChoice::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty())
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR));
        }
    };
    builder = builder.status(status).header(header::CONTENT_LENGTH, len);
    if head {
        return builder.body(Body::empty()).unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR));
    }
    let body = match file.small {
        Some(bytes) => match bytes.get(start as usize..(start + len) as usize) {
            Some(part) => Body::from(bytes.slice_ref(part)),
            None => return plain(StatusCode::INTERNAL_SERVER_ERROR),
        },
        None => {
            let mut f = tokio::fs::File::from_std(file.file);
            // Always: a small file that shrank since fstat was read partway.
            if f.seek(SeekFrom::Start(start)).await.is_err() {
                return plain(StatusCode::INTERNAL_SERVER_ERROR);
            }
            Body::from_stream(ReaderStream::with_capacity(f.take(len), CHUNK))
        }
    };
    builder.body(body).unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR))
}

/// A bodyless response with just a status.
pub fn plain(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_ranges() {
        assert_eq!(choose_range(None, 100), RangeChoice::Full);
        assert_eq!(choose_range(Some("bytes=0-9"), 100), RangeChoice::Partial(0, 9));
        assert_eq!(choose_range(Some("bytes=90-"), 100), RangeChoice::Partial(90, 99));
        assert_eq!(choose_range(Some("bytes=-10"), 100), RangeChoice::Partial(90, 99));
        assert_eq!(choose_range(Some("bytes=50-500"), 100), RangeChoice::Partial(50, 99));
        assert_eq!(choose_range(Some("bytes=100-"), 100), RangeChoice::Unsatisfiable);
        assert_eq!(choose_range(Some("bytes=0-1,5-6"), 100), RangeChoice::Full);
        assert_eq!(choose_range(Some("items=0-1"), 100), RangeChoice::Full);
        assert_eq!(choose_range(Some("bytes=abc"), 100), RangeChoice::Full);
        assert_eq!(choose_range(Some("bytes=99999999999999999999999-"), 100), RangeChoice::Full);
        assert_eq!(choose_range(Some("bytes=0-"), 0), RangeChoice::Full, "an empty file has no byte 0");
        assert_eq!(choose_range(Some("bytes=-5"), 0), RangeChoice::Full);
    }

    fn validators() -> Validators {
        Validators {
            etag: "\"a-1\"".into(),
            modified: Some(UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000)),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn conditional_requests() {
        let v = validators();
        let date = httpdate::fmt_http_date(v.modified.unwrap());
        let earlier = httpdate::fmt_http_date(v.modified.unwrap() - std::time::Duration::from_secs(1));
        assert_eq!(v.precondition(&headers(&[])), None);
        assert_eq!(v.precondition(&headers(&[("if-none-match", "\"a-1\"")])), Some(StatusCode::NOT_MODIFIED));
        assert_eq!(v.precondition(&headers(&[("if-none-match", "\"x\", W/\"a-1\"")])), Some(StatusCode::NOT_MODIFIED));
        assert_eq!(v.precondition(&headers(&[("if-none-match", "\"b\"")])), None);
        // If-None-Match wins over If-Modified-Since.
        assert_eq!(v.precondition(&headers(&[("if-none-match", "\"b\""), ("if-modified-since", &date)])), None);
        assert_eq!(v.precondition(&headers(&[("if-modified-since", &date)])), Some(StatusCode::NOT_MODIFIED));
        assert_eq!(v.precondition(&headers(&[("if-modified-since", &earlier)])), None);
        assert_eq!(v.precondition(&headers(&[("if-match", "\"b\"")])), Some(StatusCode::PRECONDITION_FAILED));
        assert_eq!(v.precondition(&headers(&[("if-match", "W/\"a-1\"")])), Some(StatusCode::PRECONDITION_FAILED));
        assert_eq!(
            v.precondition(&headers(&[("if-unmodified-since", &earlier)])),
            Some(StatusCode::PRECONDITION_FAILED)
        );
        assert_eq!(v.precondition(&headers(&[("if-modified-since", "garbage")])), None);
    }

    #[test]
    fn if_range() {
        let v = validators();
        let date = httpdate::fmt_http_date(v.modified.unwrap());
        assert!(v.if_range_allows(&headers(&[])));
        assert!(v.if_range_allows(&headers(&[("if-range", "\"a-1\"")])));
        assert!(!v.if_range_allows(&headers(&[("if-range", "\"b\"")])));
        assert!(!v.if_range_allows(&headers(&[("if-range", "W/\"a-1\"")])));
        assert!(v.if_range_allows(&headers(&[("if-range", &date)])));
        assert!(!v.if_range_allows(&headers(&[("if-range", "Sat, 01 Jan 2000 00:00:00 GMT")])));
    }

    #[tokio::test]
    async fn resolve_stays_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root_dir = dir.path().join("root");
        std::fs::create_dir_all(root_dir.join("sub")).unwrap();
        std::fs::write(root_dir.join("sub/a.txt"), b"hi").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"no").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root_dir.join("out.txt")).unwrap();
        std::os::unix::fs::symlink(root_dir.join("sub/a.txt"), root_dir.join("in.txt")).unwrap();
        let root = Root::new(&root_dir).unwrap();
        let p = |s: &str| DecodedPath::parse(s).unwrap();
        assert!(root.resolve(&p("/sub/a.txt")).await.is_some());
        assert!(root.resolve(&p("/in.txt")).await.is_none(), "no symlink is followed, even one that stays inside");
        assert!(root.resolve(&p("/out.txt")).await.is_none(), "symlink out of the root");
        // A symlinked directory anywhere between the root and the file.
        std::os::unix::fs::symlink(root_dir.join("sub"), root_dir.join("linked")).unwrap();
        std::fs::create_dir_all(root_dir.join("sub/deep")).unwrap();
        std::fs::write(root_dir.join("sub/deep/b.txt"), b"b").unwrap();
        std::os::unix::fs::symlink(root_dir.join("sub/deep"), root_dir.join("sub/also")).unwrap();
        assert!(root.resolve(&p("/sub/deep/b.txt")).await.is_some());
        assert!(root.resolve(&p("/linked/a.txt")).await.is_none(), "symlinked directory below the root");
        assert!(root.resolve(&p("/sub/also/b.txt")).await.is_none(), "symlinked directory deeper down");
        assert!(root.resolve(&p("/sub/a.txt/x")).await.is_none(), "a file used as a directory");
        assert!(root.resolve(&p("/sub")).await.is_none(), "directory");
        assert!(root.resolve(&p("/sub/")).await.is_none(), "directory");
        assert!(root.resolve(&p("/missing")).await.is_none());
        assert!(root.resolve(&p("/sub/a.txt/")).await.is_none());
        // The size the download page shows is the opened file's.
        assert_eq!(root.resolve(&p("/sub/a.txt")).await.map(|f| f.meta.len()), Some(2));
    }

    /// Opening a file must not wait for tokio's blocking pool: with its only
    /// thread held by a stuck task, a small file is still opened and read.
    #[test]
    fn a_file_is_opened_without_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), b"hello").unwrap();
        let root = Root::new(dir.path()).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        runtime.spawn_blocking(move || {
            started.send(()).unwrap();
            let _ = stuck.recv();
        });
        running.recv().unwrap();
        let opened = runtime.block_on(async move {
            let path = DecodedPath::parse("/a.bin").unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(5), root.resolve(&path)).await
        });
        release.send(()).unwrap();
        let small = opened.ok().flatten().and_then(|f| f.small);
        assert_eq!(small.as_deref(), Some(&b"hello"[..]), "the open waited for the blocking pool");
    }

    async fn body_of(root: &Root, path: &str, range: Option<&str>) -> (StatusCode, Vec<u8>) {
        let file = root.resolve(&DecodedPath::parse(path).unwrap()).await.unwrap();
        let mut h = HeaderMap::new();
        if let Some(r) = range {
            h.insert(header::RANGE, HeaderValue::from_str(r).unwrap());
        }
        let resp = respond(file, false, &h, None).await;
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, body.to_vec())
    }

    #[tokio::test]
    async fn small_and_streamed_files_give_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let small = &content[..SMALL_FILE as usize];
        std::fs::write(dir.path().join("small.bin"), small).unwrap();
        std::fs::write(dir.path().join("big.bin"), &content).unwrap();
        let root = Root::new(dir.path()).unwrap();
        assert_eq!(body_of(&root, "/small.bin", None).await, (StatusCode::OK, small.to_vec()));
        assert_eq!(body_of(&root, "/big.bin", None).await, (StatusCode::OK, content.clone()));
        assert_eq!(
            body_of(&root, "/small.bin", Some("bytes=100-199")).await,
            (StatusCode::PARTIAL_CONTENT, small[100..200].to_vec())
        );
        assert_eq!(
            body_of(&root, "/small.bin", Some("bytes=-5")).await,
            (StatusCode::PARTIAL_CONTENT, small[small.len() - 5..].to_vec())
        );
        assert_eq!(
            body_of(&root, "/big.bin", Some("bytes=150000-")).await,
            (StatusCode::PARTIAL_CONTENT, content[150_000..].to_vec())
        );
    }
}
