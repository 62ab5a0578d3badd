//! The wasm boundary's readers (`oncelink_edge::json`): the request, the
//! pending of `need_body`/`need_file_size`, the body and the file size are
//! read by the core's own JSON reader, which must accept exactly the
//! documents serde_json reads into the same types, and read them the same.
//! The first byte picks the shape; the rest is the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oncelink_edge::decide::file_size_from_json;
use oncelink_edge::{Awaiting, Body, Request};

fuzz_target!(|data: &[u8]| {
    let Some((&shape, doc)) = data.split_first() else { return };
    match shape % 4 {
        0 => assert_eq!(Request::from_json(doc).ok(), serde_json::from_slice::<Request>(doc).ok()),
        1 => assert_eq!(Awaiting::from_json(doc).ok(), serde_json::from_slice::<Awaiting>(doc).ok()),
        2 => assert_eq!(Body::from_json(doc).ok(), serde_json::from_slice::<Body>(doc).ok()),
        _ => assert_eq!(file_size_from_json(doc).ok(), serde_json::from_slice::<Option<u64>>(doc).ok()),
    }
});
