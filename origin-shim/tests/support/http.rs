//! A minimal HTTP/1.1 client over `TcpStream` for the tests: one request per
//! connection (`Connection: close`), the request target sent byte for byte,
//! bodies read by Content-Length, chunked encoding or to EOF.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// Read and write timeout on every test connection.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response head the client accepts.
const MAX_HEAD: usize = 64 * 1024;

/// A response as received.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (empty for HEAD, 1xx, 204, 304).
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as lossy text, for messages.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A response head: status and headers.
#[derive(Debug, Clone)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Connects with the test timeouts set.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// The bytes of a request: `METHOD TARGET HTTP/1.1`, Host, the headers, and
/// `Connection: close`.
pub fn request_bytes(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Sends one request and reads the whole response.
pub fn try_request(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> io::Result<Resp> {
    let bytes = request_bytes(addr, method, target, headers);
    send_raw(addr, &bytes, method == "HEAD")
}

/// Sends one request and reads the whole response; panics on I/O errors.
#[track_caller]
pub fn request(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Resp {
    try_request(addr, method, target, headers).unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

/// GET `target` with JSON preferred and a fixed User-Agent.
#[track_caller]
pub fn get(addr: SocketAddr, target: &str) -> Resp {
    request(addr, "GET", target, &[("User-Agent", "oncelink-test/1"), ("Accept", "application/json")])
}

/// GET `target` as the client `ua` with extra headers.
#[track_caller]
pub fn get_as(addr: SocketAddr, ua: &str, target: &str, headers: &[(&str, &str)]) -> Resp {
    let mut all = vec![("User-Agent", ua), ("Accept", "application/json")];
    all.extend_from_slice(headers);
    request(addr, "GET", target, &all)
}

/// Connects from the local address `from` (another loopback address such
/// as 127.0.1.2: a client on another network), with the test timeouts set.
pub fn connect_from(from: IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(from, 0).into())?;
    socket.connect_timeout(&addr.into(), Duration::from_secs(10))?;
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Sends one request from the local address `from` and reads the whole response.
pub fn request_from(
    from: IpAddr,
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> io::Result<Resp> {
    let stream = connect_from(from, addr)?;
    exchange(stream, &request_bytes(addr, method, target, headers), method == "HEAD")
}

/// Writes raw `bytes` and reads one response to completion.
pub fn send_raw(addr: SocketAddr, bytes: &[u8], head_request: bool) -> io::Result<Resp> {
    exchange(connect(addr)?, bytes, head_request)
}

/// Like [`send_raw`], from the loopback address `from` (say 127.0.1.2:
/// another /24 than 127.0.0.1, so another client network to the server).
pub fn send_raw_from(from: std::net::IpAddr, addr: SocketAddr, bytes: &[u8], head_request: bool) -> io::Result<Resp> {
    exchange(connect_from(from, addr)?, bytes, head_request)
}

/// Writes `bytes` on `stream` and reads one response to completion.
fn exchange(mut stream: TcpStream, bytes: &[u8], head_request: bool) -> io::Result<Resp> {
    stream.write_all(bytes)?;
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader)?;
    let mut body = Vec::new();
    read_body(&mut reader, &head, head_request, |chunk| body.extend_from_slice(chunk))?;
    Ok(Resp { status: head.status, headers: head.headers, body })
}

/// Reads a response head (skipping `100 Continue` heads).
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Head> {
    loop {
        let head = read_one_head(reader)?;
        if head.status != 100 {
            return Ok(head);
        }
    }
}

fn read_one_head(reader: &mut impl BufRead) -> io::Result<Head> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let k = reader.by_ref().take((MAX_HEAD - total + 1) as u64).read_until(b'\n', &mut line)?;
        if k == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a full response head"));
        }
        total += k;
        if total > MAX_HEAD {
            return Err(bad("response head too large"));
        }
        let text = String::from_utf8(line).map_err(|_| bad("response head is not UTF-8"))?;
        let text = text.trim_end_matches(['\r', '\n']).to_owned();
        if text.is_empty() {
            break;
        }
        lines.push(text);
    }
    let status_line = lines.first().ok_or_else(|| bad("empty response head"))?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(bad(&format!("bad status line {status_line:?}")));
    }
    let status =
        parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad(&format!("bad status line {status_line:?}")))?;
    let headers = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Head { status, headers })
}

/// Reads the body that follows `head`, handing it to `sink` piece by piece.
/// Returns the number of body bytes.
pub fn read_body(
    reader: &mut impl BufRead,
    head: &Head,
    head_request: bool,
    mut sink: impl FnMut(&[u8]),
) -> io::Result<u64> {
    if head_request || head.status == 204 || head.status == 304 || (100..200).contains(&head.status) {
        return Ok(0);
    }
    let chunked = head.header("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader, sink);
    }
    if let Some(len) = head.header("content-length") {
        let len: u64 = len.parse().map_err(|_| bad("bad content-length"))?;
        let got = copy_to(reader.take(len), &mut sink)?;
        if got != len {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("body ended after {got} of {len} bytes")));
        }
        return Ok(got);
    }
    copy_to(reader, &mut sink)
}

fn copy_to(mut reader: impl Read, sink: &mut impl FnMut(&[u8])) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let k = reader.read(&mut buf)?;
        if k == 0 {
            return Ok(total);
        }
        sink(&buf[..k]);
        total += k as u64;
    }
}

fn read_chunked(reader: &mut impl BufRead, mut sink: impl FnMut(&[u8])) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let mut line = String::new();
        reader.by_ref().take(1024).read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size_text, 16).map_err(|_| bad(&format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut trailer = String::new();
                let k = reader.by_ref().take(8192).read_line(&mut trailer)?;
                if k == 0 || trailer.trim().is_empty() {
                    return Ok(total);
                }
            }
        }
        let got = copy_to(reader.by_ref().take(size), &mut sink)?;
        if got != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunk cut short"));
        }
        total += size;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}
