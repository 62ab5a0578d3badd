//! File serving behind a valid link: Range and resume semantics, HEAD,
//! conditional requests, Content-Disposition, directories and symlinks.

mod support;

use oncelink_edge::Claims;
use support::{assert_denied, claims, claims_n, content, get_as, request, Site};

const LEN: usize = 10_000;

fn site() -> Site {
    let site = Site::new(&[
        ("data.bin", &content(LEN)),
        ("docs/readme.txt", b"read me\n"),
        ("docs/q3 report.txt", b"spaced\n"),
        ("docs/caf\u{e9}.txt", b"accent\n"),
    ]);
    // Outside the served root: must never be reachable.
    std::fs::write(site.dir.path().join("secret.txt"), b"TOP SECRET outside the root\n").expect("write secret");
    site
}

#[test]
fn resume_by_the_same_client_inside_grace_counts_nothing() {
    let site = site();
    let shim = site.serve(&[]);
    let c = claims_n("/data.bin", 2);
    let id = c.id.clone();
    let t = site.token(c);
    let url = format!("/data.bin?t={t}");
    let body = content(LEN);

    let first = get_as(shim.addr, "client-A", &url, &[]);
    assert_eq!(first.status, 200);
    assert_eq!(first.body, body);
    assert_eq!(support::used_in_db(&site.db, &id), 1);

    // The same client resumes twice and re-downloads from 0: none of it counts.
    for range in ["bytes=5000-", "bytes=9000-9999"] {
        let part = get_as(shim.addr, "client-A", &url, &[("Range", range)]);
        assert_eq!(part.status, 206, "{range}");
        let start: usize = range[6..].split('-').next().unwrap().parse().unwrap();
        assert_eq!(part.body, body[start..], "{range}");
        assert_eq!(part.header("content-range"), Some(format!("bytes {start}-{}/{LEN}", LEN - 1).as_str()));
    }
    assert_eq!(get_as(shim.addr, "client-A", &url, &[]).status, 200);
    assert_eq!(support::used_in_db(&site.db, &id), 1, "resumes counted a use");

    // So the second use is still there for another client, and then it is gone.
    assert_eq!(get_as(shim.addr, "client-B", &url, &[]).status, 200);
    assert_denied(&get_as(shim.addr, "client-C", &url, &[]), 410, "used_up");
    // A resume by a client that never downloaded is refused: a Range past 0
    // is only ever a resume, spent link or not.
    assert_denied(&get_as(shim.addr, "client-D", &url, &[("Range", "bytes=100-")]), 403, "resume_denied");
}

#[test]
fn range_past_zero_without_prior_use_is_denied_and_consumes_nothing() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims_n("/data.bin", 1));
    let url = format!("/data.bin?t={t}");
    assert_denied(&get_as(shim.addr, "client-A", &url, &[("Range", "bytes=1-")]), 403, "resume_denied");
    // A range starting at 0 is a full download: a new use, answered 206.
    let part = get_as(shim.addr, "client-A", &url, &[("Range", "bytes=0-99")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, content(LEN)[..100]);
    assert_denied(&get_as(shim.addr, "client-B", &url, &[]), 410, "used_up");
}

#[test]
fn a_folder_link_use_is_one_file_and_resumes_only_that_file() {
    let site = Site::new(&[("dir/b.txt", &content(LEN)), ("dir/sub/c.txt", &content(LEN))]);
    let shim = site.serve(&[]);
    let c = claims_n("/dir/*", 1);
    let id = c.id.clone();
    let t = site.token(c);
    let (b, sub_c) = (format!("/dir/b.txt?t={t}"), format!("/dir/sub/c.txt?t={t}"));

    assert_eq!(get_as(shim.addr, "client-A", &b, &[]).status, 200);
    assert_eq!(support::used_in_db(&site.db, &id), 1);
    // The same client, inside grace, on another file of the folder: that is
    // another use, and there is none left; its Range past 0 is no resume.
    assert_denied(&get_as(shim.addr, "client-A", &sub_c, &[]), 410, "used_up");
    assert_denied(&get_as(shim.addr, "client-A", &sub_c, &[("Range", "bytes=5-")]), 403, "resume_denied");
    // The file it counted still resumes and downloads again, uncounted.
    let part = get_as(shim.addr, "client-A", &b, &[("Range", "bytes=5-")]);
    assert_eq!((part.status, part.body == content(LEN)[5..]), (206, true));
    assert_eq!(get_as(shim.addr, "client-A", &b, &[]).status, 200);
    assert_eq!(support::used_in_db(&site.db, &id), 1);

    // With a use left, a Range of a file this client never counted is still
    // no resume, and a full GET of it is a use of its own.
    let c2 = claims_n("/dir/*", 2);
    let id2 = c2.id.clone();
    let t2 = site.token(c2);
    assert_eq!(get_as(shim.addr, "client-A", &format!("/dir/b.txt?t={t2}"), &[]).status, 200);
    let range_c = get_as(shim.addr, "client-A", &format!("/dir/sub/c.txt?t={t2}"), &[("Range", "bytes=5-")]);
    assert_denied(&range_c, 403, "resume_denied");
    assert_eq!(get_as(shim.addr, "client-A", &format!("/dir/sub/c.txt?t={t2}"), &[]).status, 200);
    assert_eq!(support::used_in_db(&site.db, &id2), 2);
}

#[test]
fn grace_zero_means_no_resume() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(Claims { g: Some(0), ..claims_n("/data.bin", 1) });
    let url = format!("/data.bin?t={t}");
    assert_eq!(get_as(shim.addr, "client-A", &url, &[]).status, 200);
    // With no grace window, only the same second counts as the same
    // download: once the clock has moved on, a resume is refused.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_denied(&get_as(shim.addr, "client-A", &url, &[("Range", "bytes=10-")]), 403, "resume_denied");
}

#[test]
fn head_never_consumes() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims_n("/data.bin", 1));
    let url = format!("/data.bin?t={t}");
    for i in 0..3 {
        let head = request(shim.addr, "HEAD", &url, &[("User-Agent", &format!("head-{i}"))]);
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some(LEN.to_string().as_str()));
        assert!(head.body.is_empty());
    }
    let get = get_as(shim.addr, "client-A", &url, &[]);
    assert_eq!(get.status, 200);
    assert_eq!(get.body, content(LEN));
    assert_denied(&get_as(shim.addr, "client-B", &url, &[]), 410, "used_up");
    // HEAD on a used-up link still answers without consuming anything.
    assert_eq!(request(shim.addr, "HEAD", &url, &[("User-Agent", "head-late")]).status, 200);
}

#[test]
fn etag_and_if_none_match() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims("/data.bin"));
    let url = format!("/data.bin?t={t}");
    let first = get_as(shim.addr, "c", &url, &[]);
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("an ETag").to_owned();
    assert!(first.header("last-modified").is_some(), "Last-Modified");
    assert_eq!(first.header("content-type"), Some("application/octet-stream"));
    assert_eq!(first.header("accept-ranges"), Some("bytes"));

    let cached = get_as(shim.addr, "c", &url, &[("If-None-Match", &etag)]);
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    let changed = get_as(shim.addr, "c", &url, &[("If-None-Match", "\"not-this-one\"")]);
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body, content(LEN));

    let lm = first.header("last-modified").unwrap().to_owned();
    assert_eq!(get_as(shim.addr, "c", &url, &[("If-Modified-Since", &lm)]).status, 304);

    // The ETag changes with the file.
    std::fs::write(site.root.join("data.bin"), b"new content").unwrap();
    let fresh = get_as(shim.addr, "c", &url, &[("If-None-Match", &etag)]);
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body, b"new content");
}

#[test]
fn if_range() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims("/data.bin"));
    let url = format!("/data.bin?t={t}");
    let etag = get_as(shim.addr, "c", &url, &[]).header("etag").expect("an ETag").to_owned();
    let body = content(LEN);

    let matching = get_as(shim.addr, "c", &url, &[("Range", "bytes=100-199"), ("If-Range", &etag)]);
    assert_eq!(matching.status, 206);
    assert_eq!(matching.body, body[100..200]);
    assert_eq!(matching.header("content-range"), Some(format!("bytes 100-199/{LEN}").as_str()));

    let stale = get_as(shim.addr, "c", &url, &[("Range", "bytes=100-199"), ("If-Range", "\"stale\"")]);
    assert_eq!(stale.status, 200, "a stale If-Range gets the whole file");
    assert_eq!(stale.body, body);
}

#[test]
fn unsatisfiable_range_is_416() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims("/data.bin"));
    let url = format!("/data.bin?t={t}");
    for range in [format!("bytes={LEN}-"), "bytes=99999999-".to_owned()] {
        let resp = get_as(shim.addr, "c", &url, &[("Range", &range)]);
        assert_eq!(resp.status, 416, "{range}");
        assert_eq!(resp.header("content-range"), Some(format!("bytes */{LEN}").as_str()), "{range}");
    }
}

#[test]
fn suffix_and_open_ranges() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims("/data.bin"));
    let url = format!("/data.bin?t={t}");
    let body = content(LEN);
    let suffix = get_as(shim.addr, "c", &url, &[("Range", "bytes=-10")]);
    assert_eq!(suffix.status, 206);
    assert_eq!(suffix.body, body[LEN - 10..]);
    let past_end = get_as(shim.addr, "c", &url, &[("Range", "bytes=9990-20000")]);
    assert_eq!(past_end.status, 206);
    assert_eq!(past_end.body, body[9990..]);
}

#[test]
fn content_disposition_from_filename() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(Claims { filename: Some("Report Q3 – final.bin".into()), ..claims_n("/data.bin", 1) });
    let resp = get_as(shim.addr, "c", &format!("/data.bin?t={t}"), &[]);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-disposition"),
        Some("attachment; filename=\"Report Q3 _ final.bin\"; filename*=UTF-8''Report%20Q3%20%E2%80%93%20final.bin")
    );
    // Without fn, no attachment header.
    let plain = site.token(claims("/data.bin"));
    let resp = get_as(shim.addr, "c", &format!("/data.bin?t={plain}"), &[]);
    assert_eq!(resp.header("content-disposition"), None);
}

#[test]
fn a_viewer_cannot_set_the_disposition_header() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims("/data.bin"));
    let resp = get_as(
        shim.addr,
        "c",
        &format!("/data.bin?t={t}"),
        &[("X-Oncelink-Disposition", "attachment; filename=\"evil.exe\"")],
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-disposition"), None);
}

#[test]
fn content_type_by_extension() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims("/*"));
    let resp = get_as(shim.addr, "c", &format!("/docs/readme.txt?t={t}"), &[]);
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type").is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        resp.header("content-type")
    );
}

#[test]
fn directories_are_404() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims("/*"));
    for path in ["/docs", "/docs/", "/"] {
        let resp = get_as(shim.addr, "c", &format!("{path}?t={t}"), &[]);
        assert_eq!(resp.status, 404, "{path}: {}", resp.body_text());
    }
    let missing = get_as(shim.addr, "c", &format!("/nope.bin?t={t}"), &[]);
    assert_eq!(missing.status, 404);
}

#[test]
fn a_use_limited_link_to_a_missing_file_is_404() {
    let site = site();
    let shim = site.serve(&[]);
    let t = site.token(claims_n("/nope.bin", 1));
    assert_eq!(get_as(shim.addr, "c", &format!("/nope.bin?t={t}"), &[]).status, 404);
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let site = site();
    let outside = site.dir.path().join("secret.txt");
    std::os::unix::fs::symlink(&outside, site.root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(site.dir.path(), site.root.join("up")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", site.root.join("rel.txt")).unwrap();
    let shim = site.serve(&[]);
    let t = site.token(claims("/*"));
    for path in ["/link.txt", "/up/secret.txt", "/rel.txt"] {
        let resp = get_as(shim.addr, "c", &format!("{path}?t={t}"), &[]);
        assert!(matches!(resp.status, 403 | 404), "{path}: {}", resp.status);
        assert!(!resp.body_text().contains("TOP SECRET"), "{path} leaked the secret");
    }
    // No symlink is followed below the root, not even one that stays inside.
    std::os::unix::fs::symlink(site.root.join("data.bin"), site.root.join("inside.bin")).unwrap();
    let inside = get_as(shim.addr, "c", &format!("/inside.bin?t={t}"), &[]);
    assert_eq!(inside.status, 404, "{}", inside.body_text());
}

#[test]
fn a_symlink_cannot_widen_a_prefix_grant() {
    let site = Site::new(&[("pub/a.txt", b"public\n"), ("private/s.txt", b"PRIVATE\n")]);
    std::os::unix::fs::symlink("../private/s.txt", site.root.join("pub/link.txt")).unwrap();
    std::os::unix::fs::symlink("../private", site.root.join("pub/dir")).unwrap();
    let shim = site.serve(&[]);
    let t = site.token(claims("/pub/*"));
    for path in ["/pub/link.txt", "/pub/dir/s.txt"] {
        let resp = get_as(shim.addr, "c", &format!("{path}?t={t}"), &[]);
        assert_eq!(resp.status, 404, "{path}: {}", resp.body_text());
        assert!(!resp.body_text().contains("PRIVATE"), "{path} served a path the token does not grant");
    }
    assert_eq!(get_as(shim.addr, "c", &format!("/pub/a.txt?t={t}"), &[]).status, 200);
}

#[test]
fn an_empty_file_with_a_range_is_served_whole_and_counted_once() {
    let site = Site::new(&[("empty.txt", b"")]);
    let shim = site.serve(&[]);
    let claims = claims_n("/empty.txt", 1);
    let id = claims.id.clone();
    let t = site.token(claims);
    let resp = get_as(shim.addr, "c", &format!("/empty.txt?t={t}"), &[("Range", "bytes=0-")]);
    assert_eq!((resp.status, resp.body.len()), (200, 0), "{:?}", resp.headers);
    assert_eq!(resp.header("content-length"), Some("0"));
    assert_eq!(support::used_in_db(&site.db, &id), 1);
    let head = request(shim.addr, "HEAD", &format!("/empty.txt?t={t}"), &[("User-Agent", "c"), ("Range", "bytes=0-")]);
    assert_eq!((head.status, head.header("content-length")), (200, Some("0")));
}

#[test]
fn fifos_and_missing_files_do_not_spend_a_use() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let fifo = site.root.join("pipe");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let shim = site.serve(&[]);
    for path in ["/pipe", "/missing.txt"] {
        let claims = claims_n(path, 1);
        let id = claims.id.clone();
        let t = site.token(claims);
        let resp = get_as(shim.addr, "c", &format!("{path}?t={t}"), &[]);
        assert_eq!(resp.status, 404, "{path}: {}", resp.body_text());
        assert_eq!(support::used_in_db(&site.db, &id), 0, "{path}: a 404 must not spend the link");
    }
    // The server still answers (no blocking thread is stuck on the FIFO).
    assert_eq!(get_as(shim.addr, "c", &format!("/a.txt?t={}", site.token(claims("/a.txt"))), &[]).status, 200);
}

#[test]
fn encoded_names_match_the_decoded_grant() {
    let site = site();
    let shim = site.serve(&[]);
    let spaced = site.token(claims("/docs/q3 report.txt"));
    let resp = get_as(shim.addr, "c", &format!("/docs/q3%20report.txt?t={spaced}"), &[]);
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"spaced\n"[..]));
    let accent = site.token(claims("/docs/caf\u{e9}.txt"));
    let resp = get_as(shim.addr, "c", &format!("/docs/caf%C3%A9.txt?t={accent}"), &[]);
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"accent\n"[..]));
    // A token for one name is no good for another that decodes differently.
    assert_denied(&get_as(shim.addr, "c", &format!("/docs/q3+report.txt?t={spaced}"), &[]), 403, "wrong_path");
}

#[test]
fn a_spent_or_revoked_folder_link_answers_410_whether_or_not_the_file_exists() {
    use oncelink_edge::Mode;
    let site = Site::new(&[("dir/a.txt", b"a\n"), ("dir/b.txt", b"b\n")]);
    let shim = site.serve(&[]);
    let spent = claims_n("/dir/*", 1);
    let spent_id = spent.id.clone();
    let t = site.token(spent);
    assert_eq!(get_as(shim.addr, "first", &format!("/dir/a.txt?t={t}"), &[]).status, 200);
    // Another client, a file that exists and one that does not: the same
    // 410; a ranged request of either: the same 403 (a Range past 0 is only
    // ever a resume, docs/token-v1.md); nothing more is counted.
    for (path, range, status, reason) in [
        ("/dir/b.txt", None, 410, "used_up"),
        ("/dir/nope.txt", None, 410, "used_up"),
        ("/dir/b.txt", Some("bytes=1-"), 403, "resume_denied"),
        ("/dir/nope.txt", Some("bytes=1-"), 403, "resume_denied"),
    ] {
        let headers: Vec<(&str, &str)> = range.map(|r| ("Range", r)).into_iter().collect();
        assert_denied(&get_as(shim.addr, "second", &format!("{path}?t={t}"), &headers), status, reason);
    }
    assert_eq!(support::used_in_db(&site.db, &spent_id), 1);

    for mode in [None, Some(Mode::Page)] {
        let revoked = Claims { m: mode, ..claims_n("/dir/*", 5) };
        let revoked_id = revoked.id.clone();
        let t = site.token(revoked);
        support::revoke(&site, &revoked_id);
        for path in ["/dir/a.txt", "/dir/nope.txt"] {
            assert_denied(&get_as(shim.addr, "c", &format!("{path}?t={t}"), &[]), 410, "revoked");
        }
        assert_eq!(support::used_in_db(&site.db, &revoked_id), 0, "{mode:?}");
    }

    // A live link still tells a missing file (404), and spends nothing on it.
    for mode in [None, Some(Mode::Page)] {
        let live = Claims { m: mode, ..claims_n("/dir/*", 2) };
        let live_id = live.id.clone();
        let t = site.token(live);
        let resp = get_as(shim.addr, "c", &format!("/dir/nope.txt?t={t}"), &[]);
        support::assert_refused(&resp, 404, "not_found");
        assert_eq!(support::used_in_db(&site.db, &live_id), 0, "{mode:?}: a missing file spent a use");
    }
}
