//! Metadata stripping on real files: images built with real encoders,
//! metadata inserted with real writers (kamadak-exif, png, image-webp,
//! lopdf), and what comes back decoded with real decoders.

use exif::{Field, In, Rational, Tag, Value};
use lopdf::{dictionary, Document, Object, Stream};
use oncelink_sends::{strip, Error, Kind, Limits, Removed, Unchanged};
use std::io::Cursor;
use std::path::{Path, PathBuf};

const W: u16 = 32;
const H: u16 = 24;
const CAMERA: &str = "SecretCam 9000";
const XMP: &str = "<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:creator>Alice Author</dc:creator></x:xmpmeta>";

fn pixels() -> Vec<u8> {
    (0..usize::from(W) * usize::from(H)).flat_map(|i| [(i * 7) as u8, (i * 3) as u8, 255 - (i % 256) as u8]).collect()
}

/// EXIF (TIFF bytes) with a camera name, an orientation and a GPS position.
fn exif_with_gps(orientation: Option<u16>) -> Vec<u8> {
    let r = |num, denom| Rational { num, denom };
    let mut fields = vec![
        Field { tag: Tag::Make, ifd_num: In::PRIMARY, value: Value::Ascii(vec![CAMERA.as_bytes().to_vec()]) },
        Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(52, 1), r(31, 1), r(1234, 100)]),
        },
        Field { tag: Tag::GPSLongitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"E".to_vec()]) },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(13, 1), r(24, 1), r(5678, 100)]),
        },
    ];
    if let Some(o) = orientation {
        fields.push(Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![o]) });
    }
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).unwrap();
    out.into_inner()
}

fn jpeg(orientation: Option<u16>, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    encoder.set_progressive(progressive);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&exif_with_gps(orientation));
    encoder.add_app_segment(1, &app1).unwrap();
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(XMP.as_bytes());
    encoder.add_app_segment(1, &xmp).unwrap();
    encoder.add_app_segment(13, b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x10\x1c\x02\x50\0\x0cAlice Author").unwrap();
    encoder.encode(&pixels(), W, H, jpeg_encoder::ColorType::Rgb).unwrap();
    assert!(contains(&out, CAMERA.as_bytes()) && contains(&out, b"Alice Author"));
    out
}

fn decode_jpeg(bytes: &[u8]) -> Vec<u8> {
    jpeg_decoder::Decoder::new(bytes).decode().expect("the JPEG decodes")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

struct Ran {
    _dir: tempfile::TempDir,
    output: PathBuf,
}

/// Writes `bytes` to a file named `name` and strips it.
fn strip_file(name: &str, bytes: &[u8], limits: &Limits) -> (Ran, oncelink_sends::Stripped) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let output = dir.path().join("out");
    let result = strip(&input, &output, limits).expect("only I/O fails");
    (Ran { _dir: dir, output }, result)
}

fn read(run: &Ran) -> Vec<u8> {
    std::fs::read(&run.output).unwrap()
}

fn exif_fields(jpeg_or_png: &[u8]) -> Option<Vec<(Tag, String)>> {
    let exif = exif::Reader::new().read_from_container(&mut Cursor::new(jpeg_or_png)).ok()?;
    Some(exif.fields().map(|f| (f.tag, f.display_value().to_string())).collect())
}

#[test]
fn a_jpeg_with_gps_exif_comes_back_without_exif_or_gps_but_decodes_to_the_same_pixels() {
    let input = jpeg(None, false);
    assert!(exif_fields(&input).unwrap().iter().any(|(t, _)| *t == Tag::GPSLatitude));
    let (run, result) = strip_file("photo.jpg", &input, &Limits::default());
    assert_eq!(result.kind, Kind::Jpeg);
    assert!(result.stripped);
    assert_eq!(result.unchanged, None);
    for r in [Removed::Exif, Removed::Gps, Removed::Xmp, Removed::Iptc] {
        assert!(result.removed.contains(&r), "{r:?} not in {:?}", result.removed);
    }
    let out = read(&run);
    assert_eq!(exif_fields(&out), None, "no EXIF at all without an orientation");
    for secret in [CAMERA.as_bytes(), b"Alice Author", b"http://ns.adobe.com", b"Photoshop"] {
        assert!(!contains(&out, secret), "{} is still there", String::from_utf8_lossy(secret));
    }
    assert_eq!(decode_jpeg(&out), decode_jpeg(&input));
}

#[test]
fn a_turned_jpeg_keeps_only_its_orientation() {
    let input = jpeg(Some(6), false);
    let (run, result) = strip_file("photo.jpg", &input, &Limits::default());
    assert!(result.stripped && result.removed.contains(&Removed::Gps));
    let out = read(&run);
    assert_eq!(exif_fields(&out), Some(vec![(Tag::Orientation, "row 0 at right and column 0 at top".into())]));
    assert!(!contains(&out, CAMERA.as_bytes()));
    assert_eq!(decode_jpeg(&out), decode_jpeg(&input));
}

#[test]
fn a_progressive_jpeg_keeps_every_scan_and_loses_segments_between_them_and_after_its_end() {
    let mut input = jpeg(None, true);
    // A comment between two scans (after the first SOS's data) and a
    // second image with its own EXIF after the end, as Multi-Picture
    // files and vendor trailers have.
    let second_sos = input.windows(2).enumerate().filter(|(_, w)| w == &[0xFF, 0xDA]).nth(1).unwrap().0;
    input.splice(second_sos..second_sos, [&[0xFF, 0xFE, 0x00, 0x0E][..], b"Alice Author"].concat());
    let clean_scans = decode_jpeg(&input);
    input.extend_from_slice(&jpeg(None, false));
    let (run, result) = strip_file("photo.jpg", &input, &Limits::default());
    assert!(result.stripped);
    assert!(result.removed.contains(&Removed::Comment) && result.removed.contains(&Removed::TrailingData));
    let out = read(&run);
    assert!(!contains(&out, b"Alice Author") && !contains(&out, CAMERA.as_bytes()));
    assert_eq!(decode_jpeg(&out), clean_scans);
    assert_eq!(&out[out.len() - 2..], [0xFF, 0xD9]);
}

#[test]
fn a_truncated_jpeg_is_copied_unchanged_and_says_so() {
    let input = jpeg(None, false);
    let cut = &input[..input.len() / 2];
    let (run, result) = strip_file("photo.jpg", cut, &Limits::default());
    assert_eq!((result.kind, result.stripped, result.unchanged), (Kind::Jpeg, false, Some(Unchanged::Corrupt)));
    assert!(result.removed.is_empty());
    assert_eq!(read(&run), cut);
}

fn png_with_metadata() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, u32::from(W), u32::from(H));
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.add_text_chunk("Author".into(), "Alice Author".into()).unwrap();
        encoder.add_itxt_chunk("XML:com.adobe.xmp".into(), XMP.into()).unwrap();
        let mut writer = encoder.write_header().unwrap();
        writer.write_chunk(png::chunk::ChunkType(*b"eXIf"), &exif_with_gps(Some(3))).unwrap();
        writer.write_chunk(png::chunk::ChunkType(*b"tIME"), &[0x07, 0xEA, 12, 2, 4, 30, 0]).unwrap();
        writer.write_chunk(png::chunk::ChunkType(*b"prVt"), b"private vendor data").unwrap();
        writer.write_image_data(&pixels()).unwrap();
        writer.finish().unwrap();
    }
    out
}

fn png_chunks(bytes: &[u8]) -> Vec<String> {
    let mut at = 8;
    let mut names = Vec::new();
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        names.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        at += 12 + len;
    }
    names
}

fn decode_png(bytes: &[u8]) -> Vec<u8> {
    let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info().expect("the PNG decodes");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).expect("the PNG decodes");
    buf
}

#[test]
fn a_png_loses_its_text_exif_time_and_private_chunks_but_keeps_its_orientation_and_pixels() {
    let input = png_with_metadata();
    assert!(png_chunks(&input).iter().any(|c| c == "tEXt"));
    let (run, result) = strip_file("picture.png", &input, &Limits::default());
    assert_eq!((result.kind, result.stripped), (Kind::Png, true));
    for r in [Removed::Text, Removed::Exif, Removed::Gps, Removed::Time, Removed::Other("prVt".into())] {
        assert!(result.removed.contains(&r), "{r:?} not in {:?}", result.removed);
    }
    let out = read(&run);
    assert_eq!(png_chunks(&out), ["IHDR", "eXIf", "IDAT", "IEND"]);
    assert!(!contains(&out, b"Alice Author") && !contains(&out, CAMERA.as_bytes()));
    let reader = png::Decoder::new(Cursor::new(&out[..])).read_info().unwrap();
    let orientation = exif::Reader::new().read_raw(reader.info().exif_metadata.as_ref().unwrap().to_vec()).unwrap();
    assert_eq!(orientation.fields().map(|f| f.tag).collect::<Vec<_>>(), [Tag::Orientation]);
    assert_eq!(decode_png(&out), decode_png(&input));
}

fn webp_with_metadata() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = image_webp::WebPEncoder::new(&mut out);
    encoder.set_exif_metadata(exif_with_gps(None));
    encoder.set_xmp_metadata(XMP.as_bytes().to_vec());
    encoder.encode(&pixels(), u32::from(W), u32::from(H), image_webp::ColorType::Rgb8).unwrap();
    out
}

fn decode_webp(bytes: &[u8]) -> (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(bytes)).expect("the WebP decodes");
    let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
    decoder.read_image(&mut buf).expect("the WebP decodes");
    (buf, decoder.exif_metadata().unwrap(), decoder.xmp_metadata().unwrap())
}

#[test]
fn a_webp_loses_its_exif_and_xmp_and_decodes_to_the_same_pixels() {
    let input = webp_with_metadata();
    let (pixels_in, exif_in, xmp_in) = decode_webp(&input);
    assert!(exif_in.is_some() && xmp_in.is_some());
    let (run, result) = strip_file("picture.webp", &input, &Limits::default());
    assert_eq!((result.kind, result.stripped), (Kind::Webp, true));
    assert!([Removed::Exif, Removed::Gps, Removed::Xmp].iter().all(|r| result.removed.contains(r)));
    let out = read(&run);
    assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize, out.len() - 8, "the RIFF size");
    assert_eq!(out[20] & 0x0C, 0, "the VP8X flags still announce EXIF or XMP");
    assert_eq!(decode_webp(&out), (pixels_in, None, None));
    assert!(!contains(&out, b"Alice Author") && !contains(&out, CAMERA.as_bytes()));
}

/// A one-page PDF with Info Author/Title, a catalog XMP stream and an
/// unreferenced object that still names the author.
fn pdf_with_metadata() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(dictionary! {}, b"BT /F1 12 Tf 72 712 Td (Hello) Tj ET".to_vec()));
    let page_xmp_id = doc.add_object(Stream::new(
        dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
        b"<page>PageXMP</page>".to_vec(),
    ));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Metadata" => page_xmp_id,
        "PieceInfo" => dictionary! { "Editor" => dictionary! { "Private" => Object::string_literal("Alice Author's notes") } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
    );
    let xmp_id =
        doc.add_object(Stream::new(dictionary! { "Type" => "Metadata", "Subtype" => "XML" }, XMP.as_bytes().to_vec()));
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id, "Metadata" => xmp_id });
    doc.trailer.set("Root", catalog_id);
    let info_id = doc.add_object(dictionary! {
        "Author" => Object::string_literal("Alice Author"),
        "Title" => Object::string_literal("Secret Plans"),
    });
    doc.trailer.set("Info", info_id);
    doc.add_object(dictionary! { "Author" => Object::string_literal("Alice Author, an older revision") });
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    assert!(contains(&out, b"Secret Plans"));
    out
}

#[test]
fn a_pdf_comes_back_without_its_info_author_and_title_or_xmp_and_still_parses() {
    let input = pdf_with_metadata();
    let (run, result) = strip_file("report.pdf", &input, &Limits::default());
    assert_eq!((result.kind, result.stripped), (Kind::Pdf, true));
    assert_eq!(result.removed, [Removed::DocumentInfo, Removed::Xmp, Removed::PieceInfo]);
    let out = read(&run);
    for secret in [&b"Alice Author"[..], b"Secret Plans", b"xmpmeta", b"PageXMP", b"PieceInfo"] {
        assert!(!contains(&out, secret), "{} is still there", String::from_utf8_lossy(secret));
    }
    let doc = Document::load_mem(&out).expect("the PDF parses");
    assert!(doc.trailer.get(b"Info").is_err());
    assert!(doc.catalog().unwrap().get(b"Metadata").is_err());
    assert_eq!(doc.get_pages().len(), 1);
    let page = *doc.get_pages().values().next().unwrap();
    // get_page_content ends every content stream with a newline.
    assert_eq!(doc.get_page_content(page).unwrap(), b"BT /F1 12 Tf 72 712 Td (Hello) Tj ET\n");
}

fn encrypted_pdf(user_password: &str) -> Vec<u8> {
    let mut doc = Document::load_mem(&pdf_with_metadata()).unwrap();
    doc.trailer.set("ID", vec![Object::string_literal("0123456789abcdef"), Object::string_literal("0123456789abcdef")]);
    let state = lopdf::EncryptionState::try_from(lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password,
        key_length: 128,
        permissions: lopdf::Permissions::default(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    assert!(contains(&out, b"/Encrypt") && !contains(&out, b"Secret Plans"));
    out
}

#[test]
fn an_encrypted_pdf_is_copied_unchanged_not_written_out_decrypted() {
    for user_password in ["", "user"] {
        let input = encrypted_pdf(user_password);
        let (run, result) = strip_file("report.pdf", &input, &Limits::default());
        assert_eq!((result.stripped, result.unchanged), (false, Some(Unchanged::Encrypted)), "{user_password:?}");
        assert_eq!(read(&run), input);
    }
}

#[test]
fn an_incremental_update_leaves_neither_the_old_nor_the_new_info_behind() {
    let original = pdf_with_metadata();
    let doc = Document::load_mem(&original).unwrap();
    let next_id = doc.max_id + 1;
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let prev = original.windows(9).rposition(|w| w == b"startxref").unwrap();
    let prev_xref: usize =
        String::from_utf8_lossy(&original[prev + 9..]).split_whitespace().next().unwrap().parse().unwrap();
    // An update section as an editor appends it: a new Info object, an
    // xref for it, a trailer pointing back to the first revision.
    let mut updated = original.clone();
    let object_at = updated.len();
    updated.extend_from_slice(format!("{next_id} 0 obj\n<< /Author (Bob Editor) >>\nendobj\n").as_bytes());
    let xref_at = updated.len();
    updated.extend_from_slice(
        format!(
            "xref\n{next_id} 1\n{object_at:010} 00000 n \ntrailer\n<< /Size {} /Root {} {} R /Info {next_id} 0 R /Prev {prev_xref} >>\nstartxref\n{xref_at}\n%%EOF\n",
            next_id + 1,
            root.0,
            root.1
        )
        .as_bytes(),
    );
    let check = Document::load_mem(&updated).expect("the updated PDF parses");
    assert_eq!(check.trailer.get(b"Info").unwrap().as_reference().unwrap(), (next_id, 0));

    let (run, result) = strip_file("report.pdf", &updated, &Limits::default());
    assert_eq!((result.stripped, result.removed.contains(&Removed::DocumentInfo)), (true, true));
    let out = read(&run);
    for secret in [&b"Alice Author"[..], b"Secret Plans", b"Bob Editor"] {
        assert!(!contains(&out, secret), "{} is still there", String::from_utf8_lossy(secret));
    }
    assert_eq!(Document::load_mem(&out).expect("the PDF parses").get_pages().len(), 1);
}

#[test]
fn a_corrupt_pdf_is_copied_unchanged_and_says_so() {
    let mut input = pdf_with_metadata();
    let keep = input.len() / 3;
    input.truncate(keep);
    let (run, result) = strip_file("report.pdf", &input, &Limits::default());
    assert_eq!((result.kind, result.stripped, result.unchanged), (Kind::Pdf, false, Some(Unchanged::Corrupt)));
    assert_eq!(read(&run), input);
}

#[test]
fn a_pdf_over_the_cap_is_copied_unchanged_without_being_parsed() {
    let input = pdf_with_metadata();
    let limits = Limits { max_pdf_bytes: input.len() as u64 - 1 };
    let (run, result) = strip_file("report.pdf", &input, &limits);
    assert_eq!((result.stripped, result.unchanged), (false, Some(Unchanged::TooLarge)));
    assert_eq!(read(&run), input);
}

#[test]
fn a_zip_is_an_unknown_type_and_is_copied_unchanged() {
    let zip = b"PK\x03\x04\x14\0\0\0\0\0docProps/core.xml<dc:creator>Alice Author</dc:creator>".to_vec();
    let (run, result) = strip_file("report.docx", &zip, &Limits::default());
    assert_eq!((result.kind, result.stripped, result.unchanged), (Kind::Unknown, false, Some(Unchanged::UnknownType)));
    assert_eq!(read(&run), zip);
    let (run, result) = strip_file("empty", b"", &Limits::default());
    assert_eq!((result.kind, result.stripped), (Kind::Unknown, false));
    assert_eq!(read(&run), b"");
}

#[test]
fn the_type_comes_from_the_bytes_not_the_name() {
    let (_, result) = strip_file("innocent.txt", &jpeg(None, false), &Limits::default());
    assert_eq!((result.kind, result.stripped), (Kind::Jpeg, true));
    let (run, result) = strip_file("photo.jpg", &pdf_with_metadata(), &Limits::default());
    assert_eq!((result.kind, result.stripped), (Kind::Pdf, true));
    assert!(!contains(&read(&run), b"Secret Plans"));
}

#[test]
fn an_existing_output_is_an_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    std::fs::write(&input, jpeg(None, false)).unwrap();
    std::fs::write(&output, b"someone else's").unwrap();
    let err = strip(&input, &output, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::WriteOutput(..)));
    assert_eq!(err.code(), "output_unwritable");
    assert_eq!(std::fs::read(&output).unwrap(), b"someone else's");
}

#[test]
fn a_missing_input_is_an_error_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let err = strip(&dir.path().join("nothing"), &output, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "input_unreadable");
    assert!(!Path::new(&output).exists());
}

#[test]
fn the_output_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (run, _) = strip_file("photo.jpg", &jpeg(None, false), &Limits::default());
    assert_eq!(std::fs::metadata(&run.output).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_turned_webp_keeps_only_its_orientation_and_says_so_in_its_flags() {
    let mut input = Vec::new();
    let mut encoder = image_webp::WebPEncoder::new(&mut input);
    encoder.set_exif_metadata(exif_with_gps(Some(8)));
    encoder.encode(&pixels(), u32::from(W), u32::from(H), image_webp::ColorType::Rgb8).unwrap();
    let (pixels_in, _, _) = decode_webp(&input);
    let (run, result) = strip_file("picture.webp", &input, &Limits::default());
    assert!(result.stripped && result.removed.contains(&Removed::Gps));
    let out = read(&run);
    assert_eq!(out[20] & 0x08, 0x08, "the VP8X EXIF flag");
    let (pixels_out, exif_out, _) = decode_webp(&out);
    assert_eq!(pixels_out, pixels_in);
    let exif = exif::Reader::new().read_raw(exif_out.expect("an EXIF chunk")).unwrap();
    assert_eq!(exif.fields().map(|f| (f.tag, f.value.get_uint(0))).collect::<Vec<_>>(), [(Tag::Orientation, Some(8))]);
    assert!(!contains(&out, CAMERA.as_bytes()));
}

#[test]
fn a_jfif_thumbnail_is_removed_and_the_jfif_header_kept() {
    let input = jpeg(None, false);
    // jpeg-encoder writes a JFIF APP0 without a thumbnail: give it a 1x1 one.
    assert_eq!(&input[2..4], [0xFF, 0xE0]);
    let len = usize::from(u16::from_be_bytes([input[4], input[5]]));
    let mut app0 = input[6..4 + len].to_vec();
    app0[12] = 1;
    app0[13] = 1;
    app0.extend_from_slice(b"\xAA\xBB\xCC");
    let with_thumbnail = [&input[..4], &((app0.len() + 2) as u16).to_be_bytes()[..], &app0, &input[4 + len..]].concat();
    let (run, result) = strip_file("photo.jpg", &with_thumbnail, &Limits::default());
    assert!(result.stripped && result.removed.contains(&Removed::Thumbnail));
    let out = read(&run);
    assert_eq!(&out[2..6], [0xFF, 0xE0, 0, 16]);
    assert_eq!(&out[6..11], b"JFIF\0");
    assert_eq!(&out[18..20], [0, 0], "the thumbnail's width and height");
    assert!(!contains(&out, b"\xAA\xBB\xCC"));
    assert_eq!(decode_jpeg(&out), decode_jpeg(&input));
}

#[test]
fn every_truncation_and_flipped_byte_of_each_sample_is_cleaned_or_copied_unchanged_never_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let mut outcomes = [0usize; 2];
    for sample in [jpeg(Some(6), true), png_with_metadata(), webp_with_metadata(), pdf_with_metadata()] {
        let step = (sample.len() / 100).max(1);
        for at in (0..sample.len()).step_by(step) {
            let mut flipped = sample.clone();
            flipped[at] ^= 0xA5;
            for bytes in [&sample[..at], &flipped[..]] {
                std::fs::write(&input, bytes).unwrap();
                let output = dir.path().join(format!("out-{at}"));
                let result = strip(&input, &output, &Limits::default()).expect("only I/O fails");
                let out = std::fs::read(&output).unwrap();
                if result.stripped {
                    outcomes[0] += 1;
                } else {
                    assert_eq!(out, bytes, "an unchanged copy that changed ({:?})", result.unchanged);
                    outcomes[1] += 1;
                }
                std::fs::remove_file(&output).unwrap();
            }
        }
    }
    // Both outcomes happen: the walkers neither accept everything nor refuse everything.
    eprintln!("cleaned, unchanged: {outcomes:?}");
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}
