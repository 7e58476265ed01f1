//! A rectangle of a JPEG, decoded from a stream in memory that depends on the rectangle, not
//! on the image: IIIF tiles (issue 19) of baseline photos of hundreds of megapixels.
//!
//! [`jpeg_region`] drives libjpeg-turbo (mozjpeg) through a source manager over any
//! [`BufRead`], so the source arrives in whatever chunks the caller has (S3 body frames) and
//! is never held whole. It decodes at a DCT scale (`numerator`/8), skips the rows above the
//! region (`jpeg_skip_scanlines`: a baseline scan without restart markers must still be
//! entropy-decoded, but those rows are neither transformed nor colour-converted), crops each
//! row to the iMCU columns the region covers (`jpeg_crop_scanline`), and stops after the
//! region's last row: the rest of the source is never read, so a source cut short after
//! that row goes unnoticed (before it, it is an error).
//!
//! # Memory
//! For a single-scan baseline JPEG: the output, one cropped row, and libjpeg's state, whose
//! largest part is a few iMCU rows of every component at the full scaled width
//! (`tests/iiif_jpeg_memory.rs`: a 512 x 512 tile of a 20,000 px wide 4:2:0 photo at full
//! size adds 1.2 MiB to the process's peak, 0.75 MiB of it the output). A progressive or
//! multi-scan JPEG decodes correctly, but libjpeg first reads the whole source into
//! coefficient buffers for the whole image: memory is then bounded only by the limit on those
//! buffers that [`decode::jpeg_header`] also applies (96 MiB), checked before they are made.
//!
//! # Pixels
//! The same as [`decode::jpeg`] at the same scale, cropped (`region_tests.rs` checks that
//! they are identical). libjpeg's fancy upsampling interpolates chroma between neighbouring
//! samples and treats the crop's edges as the image's; `CROP_MARGIN` keeps those edges
//! outside the region.

use super::decode::{self, Pixels, MAX_COEFFICIENT_BYTES};
use super::probe;
use super::TransformError;
use crate::iiif::Rect;
use mozjpeg_sys::{boolean, jpeg_decompress_struct, jpeg_source_mgr, JDIMENSION};
use std::io::{BufRead, ErrorKind};
use std::os::raw::{c_int, c_long};
use std::panic::AssertUnwindSafe;
use std::ptr::{addr_of_mut, NonNull};

/// Columns decoded beyond each side of the region and then dropped. With fancy upsampling
/// (libjpeg's default, as in [`decode::jpeg`]) an output pixel of 4:2:0 or 4:2:2 mixes its
/// chroma sample with the nearer neighbour, which at the crop's edges libjpeg replaces by the
/// edge sample: without a margin, region edges differed from the whole decode by up to 55
/// (`region_tests.rs`, at 2/8 to 8/8), with one by nothing. Two leaves room.
const CROP_MARGIN: u32 = 2;

/// APP1, where EXIF lives.
const APP1: c_int = 0xE1;

/// Decodes `region` of a JPEG read from `reader`, at `numerator`/8 of its size (1, 2, 4 or
/// 8): exactly `region.width` x `region.height` RGB8 pixels (greyscale sources too), in the
/// stored orientation. `region` is in the scaled image's pixels (libjpeg's output size,
/// each side rounded up). The pixels' `orientation` is the source's EXIF orientation (1-8),
/// still to apply.
///
/// Reads `reader` up to the region's last row and no further; the reader is consumed.
///
/// # Errors
/// - [`TransformError::TooManyPixels`]: the source is over `max_pixels` (its stored size).
/// - [`TransformError::Unsupported`]: a CMYK JPEG, or a numerator other than 1, 2, 4, 8.
/// - [`TransformError::TooComplex`]: a progressive or multi-scan JPEG whose coefficient
///   buffers would pass the limit [`decode::jpeg_header`] applies (96 MiB).
/// - [`TransformError::Malformed`]: corrupt or truncated data, an error from `reader` (the
///   message says which; a caller that must tell them apart can record its reader's own
///   errors), or a region that is empty or not inside the scaled image.
///
/// Nothing panics on any input.
pub fn jpeg_region<R: BufRead>(
    reader: R,
    numerator: u8,
    region: Rect<u32>,
    max_pixels: u64,
) -> Result<Pixels, TransformError> {
    decode_region(reader, numerator, region, max_pixels, MAX_COEFFICIENT_BYTES)
}

/// [`jpeg_region`] with the limit on libjpeg's whole-image buffers as a parameter (tests).
fn decode_region<R: BufRead>(
    reader: R,
    numerator: u8,
    region: Rect<u32>,
    max_pixels: u64,
    max_buffered: u64,
) -> Result<Pixels, TransformError> {
    if !matches!(numerator, 1 | 2 | 4 | 8) {
        return Err(TransformError::Unsupported(format!(
            "JPEG scale {numerator}/8"
        )));
    }
    // libjpeg reports errors by calling back; the error manager (and the source manager, on a
    // read error or the end of data) turn them into unwinding panics, which end here. The
    // closure owns the reader and the decoder, which are dropped (libjpeg's state destroyed)
    // on the way out: nothing a half-run decode leaves is looked at again.
    let run = std::panic::catch_unwind(AssertUnwindSafe(move || {
        let mut d = Decoder::new(reader);
        d.read_header(numerator, max_pixels, max_buffered)?;
        d.region(region)
    }));
    run.unwrap_or_else(|panic| Err(TransformError::Malformed(decode::panic_text(&*panic))))
}

/// Our `jpeg_source_mgr`: libjpeg reads `iface`'s window onto the reader's buffer, and calls
/// back for more.
#[repr(C)]
struct Source<R> {
    /// First: libjpeg's `cinfo.src` points at the whole struct.
    iface: jpeg_source_mgr,
    reader: R,
    /// Bytes of the reader's buffer handed to libjpeg, consumed at the next refill (libjpeg
    /// may still read them until then).
    handed: usize,
    /// From the EXIF APP1 segment, read as it streams by ([`read_app1`]).
    orientation: u8,
}

/// libjpeg's decompressor with its error and source managers, in one heap block that
/// libjpeg's pointers into it (`cinfo.err`, `cinfo.src`) stay valid in; touched only through
/// the raw pointer, as libjpeg also writes to it.
struct State<R> {
    cinfo: jpeg_decompress_struct,
    err: mozjpeg_sys::jpeg_error_mgr,
    src: Source<R>,
}

/// Owns [`State`]; dropping it destroys libjpeg's decompressor, in whatever state an error
/// left it. There is no `jpeg_finish_decompress`, which would read the source to its end.
struct Decoder<R: BufRead> {
    state: NonNull<State<R>>,
}

impl<R: BufRead> Decoder<R> {
    fn new(reader: R) -> Self {
        let state = Box::new(State {
            // SAFETY: jpeg_decompress_struct is plain C data (integers, pointers, optional
            // function pointers, enums whose 0 is a variant): all zeroes is a valid value,
            // and the one jpeg_CreateDecompress expects.
            cinfo: unsafe { std::mem::zeroed() },
            err: decode::strict_errors(),
            src: Source {
                iface: jpeg_source_mgr {
                    next_input_byte: std::ptr::null(),
                    bytes_in_buffer: 0,
                    init_source: Some(nothing),
                    fill_input_buffer: Some(fill_input_buffer::<R>),
                    skip_input_data: Some(skip_input_data::<R>),
                    resync_to_restart: Some(mozjpeg_sys::jpeg_resync_to_restart),
                    term_source: Some(nothing),
                },
                reader,
                handed: 0,
                orientation: 1,
            },
        });
        let d = Decoder {
            state: NonNull::from(Box::leak(state)),
        };
        let s = d.state.as_ptr();
        // SAFETY: `s` is the live, exclusively owned block just leaked; the pointers stored
        // into it point into the same block, which does not move until Drop. If
        // jpeg_CreateDecompress fails (it unwinds), Drop destroys a zeroed struct, which
        // libjpeg treats as never created.
        unsafe {
            (*s).cinfo.common.err = addr_of_mut!((*s).err);
            mozjpeg_sys::jpeg_create_decompress(addr_of_mut!((*s).cinfo));
            (*s).cinfo.src = addr_of_mut!((*s).src).cast();
            mozjpeg_sys::jpeg_set_marker_processor(&mut (*s).cinfo, APP1, Some(read_app1::<R>));
        }
        d
    }

    fn cinfo(&mut self) -> &mut jpeg_decompress_struct {
        // SAFETY: the block is live until Drop and only reached through `self`; libjpeg
        // touches it only inside calls made with this reference.
        unsafe { &mut (*self.state.as_ptr()).cinfo }
    }

    /// Reads the header and sets the output: RGB at `numerator`/8, after the limits.
    fn read_header(
        &mut self,
        numerator: u8,
        max_pixels: u64,
        max_buffered: u64,
    ) -> Result<(), TransformError> {
        let c = self.cinfo();
        // SAFETY: a created decompressor with its source set; errors unwind.
        unsafe { mozjpeg_sys::jpeg_read_header(c, 1) };
        let pixels = u64::from(c.image_width) * u64::from(c.image_height);
        if pixels > max_pixels {
            return Err(TransformError::TooManyPixels { pixels, max_pixels });
        }
        if c.num_components == 4 {
            return Err(TransformError::Unsupported("CMYK JPEG".into()));
        }
        check_buffered(c, max_buffered)?;
        // Backstop for the check above: libjpeg refuses whole-image buffers past this
        // instead of allocating them (it has no backing store to fall back on).
        let limit = max_buffered.saturating_add(8 << 20);
        // SAFETY: `mem` is set by jpeg_create_decompress and lives until destroy.
        if let Some(mem) = unsafe { c.common.mem.as_mut() } {
            mem.max_memory_to_use = c_long::try_from(limit).unwrap_or(c_long::MAX);
        }
        c.scale_num = u32::from(numerator);
        c.scale_denom = 8;
        c.out_color_space = mozjpeg_sys::J_COLOR_SPACE::JCS_RGB;
        // SAFETY: after jpeg_read_header, as libjpeg requires; errors unwind.
        unsafe { mozjpeg_sys::jpeg_calc_output_dimensions(c) };
        Ok(())
    }

    /// Decodes `region` of the output set up by [`Decoder::read_header`].
    fn region(&mut self, region: Rect<u32>) -> Result<Pixels, TransformError> {
        let c = self.cinfo();
        let (width, height) = (c.output_width, c.output_height);
        let inside = |start: u32, len: u32, size: u32| {
            len > 0 && start.checked_add(len).is_some_and(|end| end <= size)
        };
        if !inside(region.x, region.width, width) || !inside(region.y, region.height, height) {
            return Err(TransformError::Malformed(format!(
                "region {region} is not inside the {width} x {height} image"
            )));
        }
        // SAFETY: header read, output set; for a multi-scan JPEG this reads the whole
        // source. Errors unwind.
        unsafe { mozjpeg_sys::jpeg_start_decompress(c) };
        let columns = crop(c, region.x, region.width)?;
        // SAFETY: started, no row read yet; errors unwind.
        let skipped = unsafe { mozjpeg_sys::jpeg_skip_scanlines(c, region.y) };
        if skipped != region.y {
            return Err(TransformError::Malformed("JPEG ended early".into()));
        }
        let row_bytes = usize::try_from(c.output_width).unwrap_or(0) * 3;
        let mut row = vec![0u8; row_bytes];
        let mut data = Vec::with_capacity(columns.len() * region.height as usize);
        for _ in 0..region.height {
            let mut rows = [row.as_mut_ptr()];
            // SAFETY: `row` holds one row of the cropped output width of RGB (3 components,
            // checked by crop); errors unwind.
            let got = unsafe { mozjpeg_sys::jpeg_read_scanlines(c, rows.as_mut_ptr(), 1) };
            let wanted = row.get(columns.clone());
            match (got, wanted) {
                (1, Some(wanted)) => data.extend_from_slice(wanted),
                _ => return Err(TransformError::Malformed("JPEG decoded short".into())),
            }
        }
        // SAFETY: a started decompressor; abandons it without reading further.
        unsafe { mozjpeg_sys::jpeg_abort_decompress(c) };
        // SAFETY: the source lives in the block owned by `self`; libjpeg is not running.
        let orientation = unsafe { (*self.state.as_ptr()).src.orientation };
        Ok(Pixels {
            data,
            width: region.width,
            height: region.height,
            channels: 3,
            orientation,
        })
    }
}

impl<R: BufRead> Drop for Decoder<R> {
    fn drop(&mut self) {
        let s = self.state.as_ptr();
        // SAFETY: the block is live and ours; jpeg_destroy_decompress frees libjpeg's memory
        // in any state (and nothing when creation failed), without calling back into the
        // source. Then the block, and the reader in it, is freed once.
        unsafe {
            mozjpeg_sys::jpeg_destroy_decompress(&mut (*s).cinfo);
            drop(Box::from_raw(s));
        }
    }
}

/// Refuses a progressive or multi-scan JPEG whose whole-image coefficient buffers (a 64 x
/// i16 block per 8 x 8 of each component, rounded up to whole MCUs, as jdcoefct.c makes
/// them) would pass `max_buffered`; a single-scan baseline one has none.
fn check_buffered(c: &mut jpeg_decompress_struct, max_buffered: u64) -> Result<(), TransformError> {
    // SAFETY: after jpeg_read_header, as libjpeg requires.
    if unsafe { mozjpeg_sys::jpeg_has_multiple_scans(c) } == 0 {
        return Ok(());
    }
    let count = usize::try_from(c.num_components).unwrap_or(0);
    if c.comp_info.is_null() {
        return Err(TransformError::Malformed("JPEG without components".into()));
    }
    // SAFETY: jpeg_read_header set comp_info to `num_components` entries.
    let comps = unsafe { std::slice::from_raw_parts(c.comp_info, count) };
    let round = |n: JDIMENSION, to: c_int| u64::from(n).next_multiple_of(to.max(1) as u64);
    let bytes: u64 = comps
        .iter()
        .map(|k| {
            let w = round(k.width_in_blocks, k.h_samp_factor);
            w * round(k.height_in_blocks, k.v_samp_factor) * 128
        })
        .sum();
    if bytes > max_buffered {
        return Err(TransformError::TooComplex(format!(
            "progressive or multi-scan JPEG of {} x {} needs {} MiB to decode (limit {} MiB); \
             save it as baseline",
            c.image_width,
            c.image_height,
            bytes >> 20,
            max_buffered >> 20
        )));
    }
    Ok(())
}

/// Narrows libjpeg's output to the columns of `[x, x + width)` plus [`CROP_MARGIN`] (it
/// moves the left edge further, to an iMCU boundary) and returns where the wanted columns
/// lie in each cropped row, in bytes.
fn crop(
    c: &mut jpeg_decompress_struct,
    x: u32,
    width: u32,
) -> Result<std::ops::Range<usize>, TransformError> {
    let end = x.saturating_add(width);
    let mut offset = x.saturating_sub(CROP_MARGIN);
    let mut len = end.saturating_add(CROP_MARGIN).min(c.output_width) - offset;
    // SAFETY: started, no row read yet, and [offset, offset + len) is inside the output
    // width (the region was checked against it); errors unwind.
    unsafe { mozjpeg_sys::jpeg_crop_scanline(c, &mut offset, &mut len) };
    // The row buffer's size assumes RGB, and the cropped columns to cover the region.
    let covered = offset <= x && offset.saturating_add(len) >= end && len == c.output_width;
    if !covered || c.output_components != 3 {
        return Err(TransformError::Malformed("JPEG crop out of range".into()));
    }
    let skip = (x - offset) as usize * 3;
    Ok(skip..skip + width as usize * 3)
}

/// The source struct behind `cinfo.src`.
///
/// # Safety
/// `cinfo` must be a decompressor made by [`Decoder::new`] with the same `R`.
unsafe fn source<R>(cinfo: &mut jpeg_decompress_struct) -> &mut Source<R> {
    // SAFETY: per the contract, `src` points at the `iface` field, first in a repr(C)
    // Source<R> in the decoder's block, apart from `cinfo`.
    unsafe { &mut *cinfo.src.cast::<Source<R>>() }
}

impl<R: BufRead> Source<R> {
    /// Hands libjpeg the reader's next buffer; unwinds at the end of data (a JPEG's end is
    /// its EOI marker, so libjpeg asking for more means it was cut short) and on a read error.
    fn refill(&mut self) {
        self.reader.consume(std::mem::take(&mut self.handed));
        let buf = loop {
            match self.reader.fill_buf() {
                Ok([]) => std::panic::resume_unwind(Box::new("truncated JPEG".to_owned())),
                Ok(buf) => break buf,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => std::panic::resume_unwind(Box::new(format!("reading the JPEG: {e}"))),
            }
        };
        self.iface.next_input_byte = buf.as_ptr();
        self.iface.bytes_in_buffer = buf.len();
        self.handed = buf.len();
    }

    /// Takes up to `want` bytes from the window, refilling it when empty.
    fn take(&mut self, want: usize) -> &[u8] {
        if self.iface.bytes_in_buffer == 0 {
            self.refill();
        }
        let n = want.min(self.iface.bytes_in_buffer);
        // SAFETY: the window [next_input_byte, + bytes_in_buffer) lies in the reader's
        // buffer, untouched until the next refill.
        let bytes = unsafe { std::slice::from_raw_parts(self.iface.next_input_byte, n) };
        // SAFETY: n is within the window.
        self.iface.next_input_byte = unsafe { self.iface.next_input_byte.add(n) };
        self.iface.bytes_in_buffer -= n;
        bytes
    }
}

/// `init_source` and `term_source`: the reader needs no setup, and libjpeg calls
/// `term_source` only from `jpeg_finish_decompress`, which this module never calls.
unsafe extern "C-unwind" fn nothing(_: &mut jpeg_decompress_struct) {}

unsafe extern "C-unwind" fn fill_input_buffer<R: BufRead>(
    cinfo: &mut jpeg_decompress_struct,
) -> boolean {
    // SAFETY: libjpeg calls back with the decompressor Decoder::new made for this R.
    unsafe { source::<R>(cinfo) }.refill();
    1
}

unsafe extern "C-unwind" fn skip_input_data<R: BufRead>(
    cinfo: &mut jpeg_decompress_struct,
    num_bytes: c_long,
) {
    // SAFETY: as in fill_input_buffer.
    let src = unsafe { source::<R>(cinfo) };
    let mut left = usize::try_from(num_bytes).unwrap_or(0);
    while left > 0 {
        left -= src.take(left).len();
    }
}

/// APP1 marker processor: reads the segment as it streams by, keeping only the EXIF
/// orientation (as [`probe::jpeg`] reads it: the last EXIF segment's), so that no segment is
/// held (libjpeg's `jpeg_save_markers` would keep every APP1 segment of the file).
unsafe extern "C-unwind" fn read_app1<R: BufRead>(cinfo: &mut jpeg_decompress_struct) -> boolean {
    // SAFETY: as in fill_input_buffer; libjpeg syncs its window before calling a processor.
    let src = unsafe { source::<R>(cinfo) };
    let length = [0, 1].map(|_| src.take(1).first().copied().unwrap_or(0));
    let mut left = usize::from(u16::from_be_bytes(length)).saturating_sub(2);
    let mut segment = Vec::with_capacity(left);
    while left > 0 {
        let bytes = src.take(left);
        segment.extend_from_slice(bytes);
        left -= bytes.len();
    }
    if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
        src.orientation = probe::exif_orientation(tiff).unwrap_or(1);
    }
    1
}

#[cfg(test)]
#[path = "region_tests.rs"]
mod tests;
