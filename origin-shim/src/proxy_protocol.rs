//! PROXY protocol version 2 (the binary header an AWS NLB or HAProxy's
//! `send-proxy-v2` puts before the first byte of a connection): read with
//! exact reads, so not one byte of what follows (TLS or HTTP) is consumed.
//! Version 1 (text) is not accepted. About 40 lines: a crate would add more
//! than it saves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The 12 bytes every v2 header starts with.
pub const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Largest address block accepted (addresses plus TLVs); real headers are
/// well under 1 KiB.
pub const MAX_BLOCK: usize = 4096;

/// Why a connection that had to start with a PROXY header is closed.
#[derive(Debug, PartialEq, Eq)]
pub enum ProxyHeaderError {
    /// The first bytes are not the v2 signature (plain HTTP, TLS, v1 text).
    NoHeader,
    /// A version other than 2, an unknown command, or a block too short for
    /// its address family or longer than [`MAX_BLOCK`].
    Malformed,
    /// The connection ended or failed before the header was complete.
    Io,
}

impl ProxyHeaderError {
    /// Stable code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyHeaderError::NoHeader => "proxy_header_missing",
            ProxyHeaderError::Malformed => "proxy_header_malformed",
            ProxyHeaderError::Io => "proxy_header_io",
        }
    }
}

/// Reads one v2 header. `Ok(Some(source))` for a PROXY command over TCP or
/// UDP on IPv4/IPv6; `Ok(None)` for LOCAL (the proxy's own connection, a
/// health check) and for the UNSPEC and UNIX families, where the peer's
/// address stands.
pub async fn read_header<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    let mut fixed = [0u8; 16];
    r.read_exact(&mut fixed[..12]).await.map_err(|_| ProxyHeaderError::Io)?;
    if fixed[..12] != SIGNATURE {
        return Err(ProxyHeaderError::NoHeader);
    }
    r.read_exact(&mut fixed[12..]).await.map_err(|_| ProxyHeaderError::Io)?;
    let (version, command) = (fixed[12] >> 4, fixed[12] & 0x0f);
    let family = fixed[13] >> 4;
    let len = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    if version != 2 || command > 1 || len > MAX_BLOCK {
        return Err(ProxyHeaderError::Malformed);
    }
    let mut block = vec![0u8; len];
    r.read_exact(&mut block).await.map_err(|_| ProxyHeaderError::Io)?;
    if command == 0 {
        return Ok(None);
    }
    let port = |at: usize| u16::from_be_bytes([block[at], block[at + 1]]);
    match family {
        1 if len >= 12 => {
            let ip = Ipv4Addr::new(block[0], block[1], block[2], block[3]);
            Ok(Some(SocketAddr::new(IpAddr::V4(ip), port(8))))
        }
        2 if len >= 36 => {
            let octets: [u8; 16] = block[..16].try_into().map_err(|_| ProxyHeaderError::Malformed)?;
            Ok(Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)).to_canonical(), port(32))))
        }
        1 | 2 => Err(ProxyHeaderError::Malformed),
        _ => Ok(None),
    }
}

/// A v2 PROXY header for a TCP connection from `source` to `dest` (both of
/// one family), for the tests.
#[cfg(test)]
pub fn encode(source: SocketAddr, dest: SocketAddr) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.push(0x21);
    let mut block = Vec::new();
    match (source, dest) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            out.push(0x11);
            block.extend_from_slice(&s.ip().octets());
            block.extend_from_slice(&d.ip().octets());
        }
        _ => {
            out.push(0x21);
            let v6 = |a: SocketAddr| match a.ip() {
                IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                IpAddr::V6(v6) => v6.octets(),
            };
            block.extend_from_slice(&v6(source));
            block.extend_from_slice(&v6(dest));
        }
    }
    block.extend_from_slice(&source.port().to_be_bytes());
    block.extend_from_slice(&dest.port().to_be_bytes());
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(&block);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8]) -> (Result<Option<SocketAddr>, ProxyHeaderError>, Vec<u8>) {
        let mut r = bytes;
        let got = read_header(&mut r).await;
        (got, r.to_vec())
    }

    #[tokio::test]
    async fn reads_ipv4_and_ipv6_headers_and_nothing_after_them() {
        let mut bytes = encode("198.51.100.7:40000".parse().unwrap(), "10.0.0.2:443".parse().unwrap());
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let (got, rest) = read(&bytes).await;
        assert_eq!(got, Ok(Some("198.51.100.7:40000".parse().unwrap())));
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");
        let v6 = encode("[2001:db8::7]:1".parse().unwrap(), "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(read(&v6).await.0, Ok(Some("[2001:db8::7]:1".parse().unwrap())));
    }

    #[tokio::test]
    async fn local_and_unspec_keep_the_peer() {
        let mut local = SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(read(&local).await.0, Ok(None));
        let mut unspec = SIGNATURE.to_vec();
        unspec.extend_from_slice(&[0x21, 0x00, 0, 3, 1, 2, 3]);
        assert_eq!(read(&unspec).await, (Ok(None), Vec::new()));
    }

    #[tokio::test]
    async fn refuses_what_is_not_a_v2_header() {
        assert_eq!(read(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.0, Err(ProxyHeaderError::NoHeader));
        assert_eq!(read(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n").await.0, Err(ProxyHeaderError::NoHeader));
        assert_eq!(read(&SIGNATURE[..8]).await.0, Err(ProxyHeaderError::Io));
        let good = encode("198.51.100.7:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
        let mut v1 = good.clone();
        v1[12] = 0x11;
        assert_eq!(read(&v1).await.0, Err(ProxyHeaderError::Malformed));
        let mut short = good.clone();
        short[15] = 4;
        assert_eq!(read(&short).await.0, Err(ProxyHeaderError::Malformed));
        let mut huge = good;
        huge[14] = 0xff;
        assert_eq!(read(&huge).await.0, Err(ProxyHeaderError::Malformed));
    }
}
