//! JPEG: a streaming walk over the markers.
//!
//! Every segment with a length is read (at most 64 KiB) and kept or dropped;
//! entropy-coded data after each SOS is copied through unchanged up to the
//! next marker, so progressive files (segments between scans) are cleaned
//! too. The walk ends at EOI: anything after it (appended images of a
//! Multi-Picture file, vendor trailers) is dropped.
//!
//! Kept: SOFn, DHT, DAC, DQT, DRI, DNL, the other non-APP markers
//! (JPEG-LS, JPEG extensions), SOS with its scan data, APP0 JFIF (its
//! thumbnail removed), APP2 ICC_PROFILE, APP14 Adobe (colour transform), and
//! an orientation-only EXIF in place of the first EXIF (see `exif.rs`).
//! Dropped: every other APPn (EXIF, XMP, MPF, FlashPix, Photoshop/IPTC,
//! JFXX thumbnails, vendor data) and COM.

use super::exif;
use super::stream::{self, byte, read_vec, write, Fault};
use super::{note, Removed};
use std::io::{BufRead, Write};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

const EXIF_ID: &[u8] = b"Exif\0\0";
const XMP_IDS: [&[u8]; 2] = [b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0"];

/// Cleans the JPEG at the start of `r` into `w`.
pub(crate) fn strip(r: &mut impl BufRead, w: &mut impl Write) -> Result<Vec<Removed>, Fault> {
    let mut removed = Vec::new();
    if byte(r)? != 0xFF || byte(r)? != SOI {
        return Err(Fault::Corrupt);
    }
    write(w, &[0xFF, SOI])?;
    let mut exif_written = false;
    let mut next = None;
    loop {
        let marker = match next.take() {
            Some(m) => m,
            None => read_marker(r)?,
        };
        match marker {
            EOI => {
                write(w, &[0xFF, EOI])?;
                if !stream::at_end(r)? {
                    note(&mut removed, Removed::TrailingData);
                }
                return Ok(removed);
            }
            // A second start of image before the first ended.
            SOI => return Err(Fault::Corrupt),
            // Markers without a length: TEM and the restart markers.
            0x01 | 0xD0..=0xD7 => write(w, &[0xFF, marker])?,
            _ => {
                let mut len = [0u8; 2];
                stream::read_exact(r, &mut len)?;
                let len = u16::from_be_bytes(len);
                if len < 2 {
                    return Err(Fault::Corrupt);
                }
                let payload = read_vec(r, usize::from(len) - 2)?;
                match keep(marker, &payload, &mut removed) {
                    Keep::Segment => write_segment(w, marker, &payload)?,
                    Keep::Jfif(without_thumbnail) => write_segment(w, APP0, &without_thumbnail)?,
                    Keep::Nothing => {}
                    Keep::Exif(orientation) => {
                        if let (Some(o), false) = (orientation, exif_written) {
                            let mut block = EXIF_ID.to_vec();
                            block.extend_from_slice(&exif::orientation_only(o));
                            write_segment(w, APP1, &block)?;
                            exif_written = true;
                        }
                    }
                }
                if marker == SOS {
                    next = Some(copy_scan(r, w)?);
                }
            }
        }
    }
}

enum Keep {
    Segment,
    Nothing,
    /// An APP0 JFIF segment, rewritten without its thumbnail.
    Jfif(Vec<u8>),
    /// An EXIF segment: nothing of it but its orientation, if any.
    Exif(Option<u16>),
}

fn keep(marker: u8, payload: &[u8], removed: &mut Vec<Removed>) -> Keep {
    match marker {
        APP0 if payload.starts_with(b"JFIF\0") && payload.len() >= 14 => {
            if payload.len() > 14 || payload[12] != 0 || payload[13] != 0 {
                note(removed, Removed::Thumbnail);
            }
            let mut jfif = payload[..14].to_vec();
            jfif[12] = 0; // thumbnail width
            jfif[13] = 0; // and height
            Keep::Jfif(jfif)
        }
        APP0 if payload.starts_with(b"JFXX\0") => {
            note(removed, Removed::Thumbnail);
            Keep::Nothing
        }
        APP1 if payload.starts_with(EXIF_ID) => {
            let seen = exif::read(&payload[EXIF_ID.len()..]);
            note(removed, Removed::Exif);
            if seen.gps {
                note(removed, Removed::Gps);
            }
            Keep::Exif(seen.orientation)
        }
        APP1 if XMP_IDS.iter().any(|id| payload.starts_with(id)) => {
            note(removed, Removed::Xmp);
            Keep::Nothing
        }
        APP2 if payload.starts_with(b"ICC_PROFILE\0") => Keep::Segment,
        APP13 => {
            note(removed, Removed::Iptc);
            Keep::Nothing
        }
        APP14 if payload.starts_with(b"Adobe") => Keep::Segment,
        COM => {
            note(removed, Removed::Comment);
            Keep::Nothing
        }
        0xE0..=0xEF => {
            note(removed, Removed::Other(app_name(marker, payload)));
            Keep::Nothing
        }
        _ => Keep::Segment,
    }
}

/// `APPn` and the segment's identifier (its leading printable bytes), e.g.
/// `APP2 MPF`.
fn app_name(marker: u8, payload: &[u8]) -> String {
    let id: String =
        payload.iter().take(16).take_while(|b| b.is_ascii_graphic() || **b == b' ').map(|&b| b as char).collect();
    let n = marker - 0xE0;
    if id.is_empty() {
        format!("APP{n}")
    } else {
        format!("APP{n} {id}")
    }
}

fn write_segment(w: &mut impl Write, marker: u8, payload: &[u8]) -> Result<(), Fault> {
    let len = u16::try_from(payload.len() + 2).map_err(|_| Fault::Corrupt)?;
    write(w, &[0xFF, marker])?;
    write(w, &len.to_be_bytes())?;
    write(w, payload)
}

/// The next marker: fill bytes (`FF FF`) are skipped, and so are stray
/// bytes between segments, as libjpeg does.
fn read_marker(r: &mut impl BufRead) -> Result<u8, Fault> {
    let mut b = byte(r)?;
    while b != 0xFF {
        b = byte(r)?;
    }
    while b == 0xFF {
        b = byte(r)?;
    }
    if b == 0 {
        // `FF 00` outside scan data is no marker.
        return Err(Fault::Corrupt);
    }
    Ok(b)
}

/// Copies entropy-coded data (with its stuffed `FF 00` bytes and restart
/// markers) to `w`, and returns the marker that ends it.
fn copy_scan(r: &mut impl BufRead, w: &mut impl Write) -> Result<u8, Fault> {
    loop {
        let buf = r.fill_buf().map_err(Fault::Read)?;
        if buf.is_empty() {
            return Err(Fault::Corrupt);
        }
        // Whole runs of scan data are written at once: only an FF that may
        // start a marker (or ends the buffer) stops the run.
        let Some(ff) = next_marker_candidate(buf) else {
            let n = buf.len();
            write(w, buf)?;
            r.consume(n);
            continue;
        };
        write(w, &buf[..ff])?;
        r.consume(ff + 1);
        let mut b = byte(r)?;
        while b == 0xFF {
            b = byte(r)?;
        }
        match b {
            0x00 | 0xD0..=0xD7 => write(w, &[0xFF, b])?,
            marker => return Ok(marker),
        }
    }
}

/// The position of the first FF in `buf` that is not followed (in `buf`)
/// by a stuffing 00 or a restart marker.
fn next_marker_candidate(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = memchr::memchr(0xFF, &buf[from..]) {
        let at = from + p;
        match buf.get(at + 1) {
            Some(0x00 | 0xD0..=0xD7) => from = at + 2,
            _ => return Some(at),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn scan_data_is_copied_the_same_whatever_the_buffer_boundaries() {
        let scan = [1, 2, 0xFF, 0x00, 3, 0xFF, 0xD3, 4, 0xFF, 0x00, 0xFF, 0xFF, 0xC4, 9, 9];
        let copied = &scan[..10];
        for capacity in 1..=scan.len() + 1 {
            let mut r = BufReader::with_capacity(capacity, &scan[..]);
            let mut w = Vec::new();
            assert_eq!(copy_scan(&mut r, &mut w).unwrap(), 0xC4, "capacity {capacity}");
            assert_eq!(w, copied, "capacity {capacity}");
            let mut rest = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut rest).unwrap();
            assert_eq!(rest, [9, 9], "capacity {capacity}");
        }
    }

    #[test]
    fn scan_data_that_ends_without_a_marker_is_corrupt() {
        for scan in [&[1, 2, 3][..], &[1, 0xFF], &[0xFF, 0x00, 0xFF, 0xFF]] {
            let mut r = BufReader::with_capacity(2, scan);
            assert!(matches!(copy_scan(&mut r, &mut Vec::new()), Err(Fault::Corrupt)));
        }
    }
}
