//! PNG: a streaming walk over the chunks.
//!
//! Kept (an allow-list of what rendering needs): IHDR, PLTE, IDAT, IEND,
//! tRNS, cHRM, gAMA, iCCP, sBIT, sRGB, cICP, mDCv, cLLi, bKGD, hIST, pHYs,
//! sPLT and the APNG chunks acTL, fcTL, fdAT; their bytes (CRC included) are
//! copied as they are. An eXIf chunk is replaced by an orientation-only one
//! when it turned the picture. Dropped: tEXt, zTXt, iTXt (this is where XMP
//! lives in a PNG), eXIf, tIME, every other chunk, anything after IEND.

use super::exif;
use super::stream::{self, read_vec, write, Fault};
use super::{note, Removed};
use std::io::{BufRead, Write};

/// The eight bytes every PNG starts with.
pub(crate) const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

const KEPT: [&[u8; 4]; 20] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCv",
    b"cLLi", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];

/// eXIf chunks larger than this are dropped without looking for an
/// orientation (EXIF in a JPEG is at most 64 KiB too).
const MAX_EXIF_READ: u32 = 64 << 10;

/// Cleans the PNG at the start of `r` into `w`.
pub(crate) fn strip(r: &mut impl BufRead, w: &mut impl Write) -> Result<Vec<Removed>, Fault> {
    let mut removed = Vec::new();
    let mut signature = [0u8; 8];
    stream::read_exact(r, &mut signature)?;
    if signature != SIGNATURE {
        return Err(Fault::Corrupt);
    }
    write(w, SIGNATURE)?;
    let mut first = true;
    loop {
        let mut header = [0u8; 8];
        stream::read_exact(r, &mut header)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        if len > 0x7FFF_FFFF || !kind.iter().all(u8::is_ascii_alphabetic) || (first && &kind != b"IHDR") {
            return Err(Fault::Corrupt);
        }
        first = false;
        // The chunk's data and its CRC.
        let body = u64::from(len) + 4;
        if KEPT.contains(&&kind) {
            write(w, &header)?;
            stream::copy_n(r, w, body)?;
            if &kind == b"IEND" {
                if !stream::at_end(r)? {
                    note(&mut removed, Removed::TrailingData);
                }
                return Ok(removed);
            }
            continue;
        }
        match &kind {
            b"tEXt" | b"zTXt" | b"iTXt" => note(&mut removed, Removed::Text),
            b"tIME" => note(&mut removed, Removed::Time),
            b"eXIf" => note(&mut removed, Removed::Exif),
            _ => note(&mut removed, Removed::Other(String::from_utf8_lossy(&kind).into_owned())),
        }
        if &kind == b"eXIf" && len <= MAX_EXIF_READ {
            let data = read_vec(r, len as usize)?;
            stream::skip_n(r, 4)?;
            let seen = exif::read(&data);
            if seen.gps {
                note(&mut removed, Removed::Gps);
            }
            if let Some(o) = seen.orientation {
                write_chunk(w, b"eXIf", &exif::orientation_only(o))?;
            }
        } else {
            stream::skip_n(r, body)?;
        }
    }
}

fn write_chunk(w: &mut impl Write, kind: &[u8; 4], data: &[u8]) -> Result<(), Fault> {
    let len = u32::try_from(data.len()).map_err(|_| Fault::Corrupt)?;
    write(w, &len.to_be_bytes())?;
    write(w, kind)?;
    write(w, data)?;
    write(w, &crc32(&[kind, data]).to_be_bytes())
}

/// The CRC-32 (ISO 3309, as PNG uses it) of the concatenated `parts`.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in parts.iter().flat_map(|p| p.iter()) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_of_an_empty_iend_is_the_one_every_png_ends_with() {
        assert_eq!(crc32(&[b"IEND", b""]), 0xAE42_6082);
    }
}
