//! `oncelink send FILE --bucket B`: the file goes straight from this machine
//! to the deployment's private bucket (S3 multipart upload, signed with the
//! project's own SigV4 signer), then the link is minted offline. No server
//! of ours is in the upload or the download path.
//!
//! - [`calls`]: the requests and their answers (pure).
//! - [`upload`]: parallel parts, retries, progress, resume.
//! - [`state`]: what a run keeps so the next one can resume.

pub mod calls;
pub mod state;
pub mod upload;

/// The tag values the infrastructure's lifecycle rules expire (docs/sends.md,
/// "On AWS"): a sent object carries the smallest that outlives its link, so
/// S3 deletes it even if nothing else does.
pub const EXPIRY_TAGS: [u32; 5] = [1, 7, 30, 90, 365];

/// The object tag for a link that expires `ttl` seconds from now, or `None`
/// when the link outlives every lifecycle rule.
pub fn expiry_tag(ttl: i64) -> Option<String> {
    let days = (ttl.max(1) as u64).div_ceil(86_400);
    EXPIRY_TAGS.iter().find(|&&d| u64::from(d) >= days).map(|d| format!("oncelink-expire={d}d"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_expiry_tag_is_the_smallest_lifecycle_bucket_that_outlives_the_link() {
        assert_eq!(super::expiry_tag(60).as_deref(), Some("oncelink-expire=1d"));
        assert_eq!(super::expiry_tag(86_400).as_deref(), Some("oncelink-expire=1d"));
        assert_eq!(super::expiry_tag(86_401).as_deref(), Some("oncelink-expire=7d"));
        assert_eq!(super::expiry_tag(400 * 86_400), None);
    }
}
