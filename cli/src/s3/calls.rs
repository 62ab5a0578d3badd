//! The S3 multipart-upload calls `oncelink send --bucket` makes, built and
//! signed here (SigV4 by the core's signer, the one the DynamoDB path uses)
//! and their XML answers read; no I/O, the time is a parameter.
//!
//! Every request signs its body's SHA-256 (`x-amz-content-sha256`), so S3
//! rejects a part that changed on the way: a part S3 lists is exactly the
//! bytes that were sent, which is what makes resuming by `ListParts` safe.

use oncelink_edge::dynamodb::sigv4::{self, Credentials, SignOptions, SignableRequest};
use quick_xml::events::Event;
use quick_xml::Reader;

/// Where objects go: a bucket in a region, on AWS (virtual-hosted style) or
/// on an S3-compatible endpoint (path style, e.g. `http://127.0.0.1:5000`).
#[derive(Clone, Debug)]
pub struct Bucket {
    /// Bucket name.
    pub name: String,
    /// The bucket's region (signing scope).
    pub region: String,
    /// An S3-compatible endpoint instead of AWS's.
    pub endpoint: Option<String>,
}

/// One request, ready to send.
#[derive(Debug)]
pub struct Call {
    /// `POST`, `PUT`, `GET`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Every header, `host` and the signature's included.
    pub headers: Vec<(String, String)>,
}

/// A part S3 holds: its number, its ETag (quotes included, as Complete wants
/// it back) and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// 1 to 10,000.
    pub number: u32,
    /// As S3 gave it, e.g. `"5d41402abc4b2a76b9719d911017c592"`.
    pub etag: String,
    /// Bytes.
    pub size: u64,
}

/// S3's limits on multipart uploads.
pub const MIN_PART: u64 = 5 << 20;
/// Most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;
/// Largest part.
pub const MAX_PART: u64 = 5 << 30;

impl Bucket {
    /// `(url without query, host, path)` for an object key.
    fn target(&self, key: &str) -> (String, String, String) {
        match &self.endpoint {
            Some(endpoint) => {
                let endpoint = endpoint.trim_end_matches('/');
                let host = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
                let host = host.split('/').next().unwrap_or(host).to_owned();
                let path = format!("/{}/{}", self.name, key);
                (format!("{endpoint}{}", encode(&path, true)), host, path)
            }
            None => {
                let host = format!("{}.s3.{}.amazonaws.com", self.name, self.region);
                let path = format!("/{key}");
                (format!("https://{host}{}", encode(&path, true)), host, path)
            }
        }
    }

    /// Builds and signs one call. `query` is the decoded pairs.
    fn call(
        &self,
        method: &'static str,
        key: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
        body: &[u8],
        credentials: &Credentials,
        now: i64,
    ) -> Call {
        let (base, host, path) = self.target(key);
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() && *k == "uploads" {
                    (*k).to_owned()
                } else {
                    format!("{}={}", encode(k, false), encode(v, false))
                }
            })
            .collect();
        let query = query.join("&");
        let mut headers: Vec<(String, String)> = vec![("host".into(), host)];
        headers.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        // S3 signs the path as sent: encoded once, never normalised.
        let options = SignOptions { normalize_path: false, sign_body: true, omit_session_token: false };
        let request = SignableRequest { method, path: &path, query: &query, headers: &headers, body };
        let signed = sigv4::sign(&request, credentials, &self.region, "s3", now, options);
        headers.extend(signed.added_headers);
        let url = if query.is_empty() { base } else { format!("{base}?{query}") };
        Call { method, url, headers }
    }

    /// `CreateMultipartUpload`, the object tagged with `tagging` (URL-encoded
    /// `k=v` pairs; empty for none).
    pub fn create(&self, key: &str, tagging: &str, credentials: &Credentials, now: i64) -> Call {
        let mut extra = vec![("content-type", "application/octet-stream")];
        if !tagging.is_empty() {
            extra.push(("x-amz-tagging", tagging));
        }
        self.call("POST", key, &[("uploads", "")], &extra, b"", credentials, now)
    }

    /// `UploadPart` of `body` as part `number`.
    pub fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        body: &[u8],
        credentials: &Credentials,
        now: i64,
    ) -> Call {
        let number = number.to_string();
        let length = body.len().to_string();
        let query = [("partNumber", number.as_str()), ("uploadId", upload_id)];
        self.call("PUT", key, &query, &[("content-length", &length)], body, credentials, now)
    }

    /// `ListParts` from after part `marker` (0 for the first page).
    pub fn list_parts(&self, key: &str, upload_id: &str, marker: u32, credentials: &Credentials, now: i64) -> Call {
        let marker = marker.to_string();
        let mut query = vec![("uploadId", upload_id)];
        if marker != "0" {
            query.push(("part-number-marker", &marker));
        }
        self.call("GET", key, &query, &[], b"", credentials, now)
    }

    /// `AbortMultipartUpload`: S3 drops the parts it holds.
    pub fn abort(&self, key: &str, upload_id: &str, credentials: &Credentials, now: i64) -> Call {
        self.call("DELETE", key, &[("uploadId", upload_id)], &[], b"", credentials, now)
    }

    /// `CompleteMultipartUpload` with `parts` (in number order); returns the
    /// call and its body.
    pub fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[Part],
        credentials: &Credentials,
        now: i64,
    ) -> (Call, Vec<u8>) {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for part in parts {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                part.number,
                quick_xml::escape::escape(part.etag.as_str())
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let body = xml.into_bytes();
        let length = body.len().to_string();
        let extra = [("content-type", "application/xml"), ("content-length", length.as_str())];
        (self.call("POST", key, &[("uploadId", upload_id)], &extra, &body, credentials, now), body)
    }
}

/// The `UploadId` of a `CreateMultipartUpload` answer.
pub fn upload_id(xml: &str) -> Result<String, String> {
    texts(xml, &["UploadId"])?
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| "the answer to CreateMultipartUpload has no UploadId".to_owned())
}

/// One page of `ListParts`: the parts, and the marker of the next page when
/// the answer was truncated.
pub fn listed_parts(xml: &str) -> Result<(Vec<Part>, Option<u32>), String> {
    let fields = texts(xml, &["PartNumber", "ETag", "Size", "IsTruncated", "NextPartNumberMarker"])?;
    let (mut parts, mut truncated, mut next) = (Vec::new(), false, None);
    let mut current: (Option<u32>, Option<String>, Option<u64>) = (None, None, None);
    for (name, value) in fields {
        match name.as_str() {
            "PartNumber" => {
                current.0 = Some(value.parse().map_err(|_| format!("ListParts: bad PartNumber {value:?}"))?)
            }
            "ETag" => current.1 = Some(value),
            "Size" => current.2 = Some(value.parse().map_err(|_| format!("ListParts: bad Size {value:?}"))?),
            "IsTruncated" => truncated = value == "true",
            "NextPartNumberMarker" => next = value.parse().ok(),
            _ => {}
        }
        if let (Some(number), Some(etag), Some(size)) = &current {
            parts.push(Part { number: *number, etag: etag.clone(), size: *size });
            current = (None, None, None);
        }
    }
    Ok((parts, if truncated { next } else { None }))
}

/// The `Code` and `Message` of an S3 error answer, as one line.
pub fn error_line(status: u16, xml: &str) -> String {
    let fields = texts(xml, &["Code", "Message"]).unwrap_or_default();
    let code = fields.iter().find(|(n, _)| n == "Code").map(|(_, v)| v.as_str());
    let message = fields.iter().find(|(n, _)| n == "Message").map(|(_, v)| v.as_str());
    match (code, message) {
        (Some(code), Some(message)) => format!("S3 answered {status} {code}: {message}"),
        (Some(code), None) => format!("S3 answered {status} {code}"),
        _ => format!("S3 answered {status}"),
    }
}

/// The text of every element named in `wanted`, in document order.
fn texts(xml: &str, wanted: &[&str]) -> Result<Vec<(String, String)>, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    loop {
        match reader.read_event().map_err(|e| format!("S3 answered with XML that does not parse: {e}"))? {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                open = wanted.contains(&name.as_str()).then_some(name);
            }
            Event::Text(text) => {
                if let Some(name) = open.take() {
                    let value = text.unescape().map_err(|e| format!("S3 answered with bad XML text: {e}"))?;
                    out.push((name, value.trim().to_owned()));
                }
            }
            Event::End(_) => open = None,
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// RFC 3986 unreserved bytes stay, `/` too when `keep_slash`; every other
/// byte is `%XX`: what S3 expects on the wire and what SigV4 signs.
pub fn encode(input: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The part size for a file of `size` bytes: `wanted` (at least S3's 5 MiB),
/// raised until the file fits in 10,000 parts.
pub fn part_size(size: u64, wanted: u64) -> Result<u64, String> {
    let mut part = wanted.max(MIN_PART);
    while size.div_ceil(part) > MAX_PARTS {
        part *= 2;
    }
    if part > MAX_PART {
        return Err(format!("{size} bytes do not fit S3's multipart limits (10,000 parts of at most 5 GiB)"));
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials { access_key_id: "AKIDEXAMPLE".into(), secret_access_key: "secret".into(), session_token: None }
    }

    #[test]
    fn an_aws_bucket_is_addressed_virtual_hosted_and_a_local_one_path_style() {
        let aws = Bucket { name: "files".into(), region: "eu-west-1".into(), endpoint: None };
        let call = aws.upload_part("sends/ab/a b.pdf", "u+1", 3, b"x", &creds(), 0);
        assert_eq!(call.url, "https://files.s3.eu-west-1.amazonaws.com/sends/ab/a%20b.pdf?partNumber=3&uploadId=u%2B1");
        let local = Bucket { endpoint: Some("http://127.0.0.1:5000/".into()), ..aws };
        let call = local.create("sends/ab/c.txt", "", &creds(), 0);
        assert_eq!(call.url, "http://127.0.0.1:5000/files/sends/ab/c.txt?uploads");
        assert!(call.headers.iter().any(|(k, v)| k == "host" && v == "127.0.0.1:5000"));
    }

    #[test]
    fn every_call_signs_its_body_hash_for_the_s3_scope() {
        let bucket = Bucket { name: "files".into(), region: "us-east-1".into(), endpoint: None };
        let call = bucket.upload_part("k", "u", 1, b"hello", &creds(), 1_700_000_000);
        let get = |name: &str| call.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("x-amz-content-sha256"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert!(get("authorization").contains("/us-east-1/s3/aws4_request"), "{}", get("authorization"));
    }

    #[test]
    fn list_parts_pages_and_quoted_etags_are_read() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key>
<UploadId>u</UploadId><NextPartNumberMarker>2</NextPartNumberMarker><IsTruncated>true</IsTruncated>
<Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag><Size>5242880</Size></Part>
<Part><PartNumber>2</PartNumber><ETag>"bb"</ETag><Size>7</Size></Part></ListPartsResult>"#;
        let (parts, next) = listed_parts(xml).unwrap();
        assert_eq!(
            parts,
            vec![
                Part { number: 1, etag: "\"aa\"".into(), size: 5_242_880 },
                Part { number: 2, etag: "\"bb\"".into(), size: 7 }
            ]
        );
        assert_eq!(next, Some(2));
        assert!(listed_parts("<a><b>").is_ok_and(|(p, _)| p.is_empty()) || listed_parts("<a><b>").is_err());
    }

    #[test]
    fn an_upload_id_and_an_error_are_read_from_their_answers() {
        let xml = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>abc-123</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(upload_id(xml).unwrap(), "abc-123");
        assert!(upload_id("<x/>").is_err());
        let error = "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        assert_eq!(error_line(404, error), "S3 answered 404 NoSuchBucket: The specified bucket does not exist");
    }

    #[test]
    fn the_complete_body_lists_parts_with_escaped_etags() {
        let bucket = Bucket { name: "b".into(), region: "us-east-1".into(), endpoint: None };
        let parts = [Part { number: 1, etag: "\"aa\"".into(), size: 1 }];
        let (_, body) = bucket.complete("k", "u", &parts, &creds(), 0);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part></CompleteMultipartUpload>"
        );
    }

    #[test]
    fn parts_grow_until_the_file_fits_ten_thousand_of_them() {
        assert_eq!(part_size(1, 1).unwrap(), MIN_PART);
        assert_eq!(part_size(100 << 30, 8 << 20).unwrap(), 16 << 20);
        assert!(part_size(60 << 40, 8 << 20).is_err());
    }
}
