//! WebP: a streaming walk over the RIFF chunks.
//!
//! Kept: VP8, VP8L, VP8X (with its EXIF and XMP flags cleared), ALPH, ANIM,
//! ANMF, ICCP. Dropped: EXIF, XMP, every other chunk, anything after the
//! RIFF container. An EXIF chunk that turned the picture is replaced by an
//! orientation-only one (as for JPEG and PNG), with the VP8X flag set again.
//! The RIFF size and the VP8X flags are rewritten at the end (the output is
//! seekable).

use super::exif;
use super::stream::{self, write, Fault};
use super::{note, Removed};
use std::io::{BufRead, Seek, SeekFrom, Write};

const KEPT: [&[u8; 4]; 7] = [b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"];

/// VP8X flag bits: EXIF and XMP present.
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

/// EXIF chunks larger than this are dropped without looking inside.
const MAX_EXIF_READ: u64 = 64 << 10;

/// Cleans the WebP at the start of `r` into `w`.
pub(crate) fn strip<W: Write + Seek>(r: &mut impl BufRead, w: &mut W) -> Result<Vec<Removed>, Fault> {
    let mut removed = Vec::new();
    let mut header = [0u8; 12];
    stream::read_exact(r, &mut header)?;
    if &header[..4] != b"RIFF" || &header[8..] != b"WEBP" {
        return Err(Fault::Corrupt);
    }
    let riff_len = u64::from(u32::from_le_bytes([header[4], header[5], header[6], header[7]]));
    if riff_len < 4 {
        return Err(Fault::Corrupt);
    }
    write(w, &header)?;
    // Bytes of the RIFF body after "WEBP" still to read, and written.
    let mut left = riff_len - 4;
    let mut written: u64 = 4;
    // Where the VP8X flags byte is in the output, and its value.
    let mut vp8x: Option<(u64, u8)> = None;
    let mut exif_written = false;
    while left > 0 {
        if left < 8 {
            return Err(Fault::Corrupt);
        }
        let mut chunk = [0u8; 8];
        stream::read_exact(r, &mut chunk)?;
        let kind: [u8; 4] = [chunk[0], chunk[1], chunk[2], chunk[3]];
        let len = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        let padded = len + (len & 1);
        if 8 + padded > left {
            return Err(Fault::Corrupt);
        }
        left -= 8 + padded;
        if &kind == b"VP8X" {
            if len < 10 {
                return Err(Fault::Corrupt);
            }
            let mut flags = stream::byte(r)?;
            flags &= !(VP8X_EXIF | VP8X_XMP);
            vp8x = Some((8 + written + 8, flags)); // RIFF header, chunk header
            write(w, &chunk)?;
            write(w, &[flags])?;
            stream::copy_n(r, w, padded - 1)?;
            written += 8 + padded;
        } else if KEPT.contains(&&kind) {
            write(w, &chunk)?;
            stream::copy_n(r, w, padded)?;
            written += 8 + padded;
        } else {
            match &kind {
                b"EXIF" => note(&mut removed, Removed::Exif),
                b"XMP " => note(&mut removed, Removed::Xmp),
                _ => note(&mut removed, Removed::Other(String::from_utf8_lossy(&kind).trim_end().to_owned())),
            }
            if &kind == b"EXIF" && padded <= MAX_EXIF_READ {
                let data = stream::read_vec(r, padded as usize)?;
                let tiff = &data[..len as usize];
                // Some writers keep JPEG's "Exif\0\0" prefix.
                let seen = exif::read(tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff));
                if seen.gps {
                    note(&mut removed, Removed::Gps);
                }
                // Only the extended format (VP8X) may carry an EXIF chunk.
                if let (Some(o), false, true) = (seen.orientation, exif_written, vp8x.is_some()) {
                    let block = exif::orientation_only(o);
                    write(w, b"EXIF")?;
                    write(w, &(block.len() as u32).to_le_bytes())?;
                    write(w, &block)?; // 26 bytes: even, no padding
                    written += 8 + block.len() as u64;
                    exif_written = true;
                }
            } else {
                stream::skip_n(r, padded)?;
            }
        }
    }
    if !stream::at_end(r)? {
        note(&mut removed, Removed::TrailingData);
    }
    let riff_len = u32::try_from(written).map_err(|_| Fault::Corrupt)?;
    w.seek(SeekFrom::Start(4)).map_err(Fault::Write)?;
    write(w, &riff_len.to_le_bytes())?;
    if let (Some((at, flags)), true) = (vp8x, exif_written) {
        w.seek(SeekFrom::Start(at)).map_err(Fault::Write)?;
        write(w, &[flags | VP8X_EXIF])?;
    }
    w.seek(SeekFrom::End(0)).map_err(Fault::Write)?;
    Ok(removed)
}
