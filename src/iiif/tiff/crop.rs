//! An edge tile cut from its stored JPEG without decoding pixels.
//!
//! A TIFF stores the tiles at a level's right and bottom edges padded to the full tile size,
//! so the viewer's request for such a tile (its part inside the image) cannot be answered
//! with the stored bytes. Decoding, cropping and encoding again cost several milliseconds
//! per tile, and over half of a zoom viewer's tiles are edge tiles at the small levels.
//! This is `jpegtran -crop WxH+0+0` instead: the quantized DCT coefficients are read and
//! written back under a smaller frame size (libjpeg reads only the blocks the new size
//! covers), so the pixels are the stored ones, with no second quantization, at the cost of
//! Huffman decoding and encoding. The cut starts at the tile's origin, which is always on a
//! block boundary; a partial last block keeps its stored padding, which decoders discard.

use crate::transform::decode::{panic_text, strict_errors};
use mozjpeg_sys::{
    boolean, jpeg_compress_struct, jpeg_decompress_struct, jpeg_destination_mgr, jpeg_error_mgr,
};
use std::ptr::{addr_of_mut, NonNull};

/// The top-left `width` x `height` of the JPEG `stream`, as a baseline JPEG with the same
/// coefficients, quantization and colour space (and the standard Huffman tables).
///
/// # Errors
/// A message when the stream does not parse or is smaller than the cut; libjpeg's errors
/// unwind and are caught here.
pub fn crop_jpeg(stream: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    if width == 0 || height == 0 {
        return Err("empty crop".into());
    }
    std::panic::catch_unwind(|| Coder::new().crop(stream, width, height))
        .unwrap_or_else(|panic| Err(panic_text(&*panic)))
}

/// The output's first buffer: about a stored 512 px tile.
const FIRST_BUFFER: usize = 64 * 1024;

/// libjpeg's decompressor and compressor with their error managers and our destination,
/// in one heap block that libjpeg's pointers into it stay valid in.
struct State {
    d: jpeg_decompress_struct,
    c: jpeg_compress_struct,
    derr: jpeg_error_mgr,
    cerr: jpeg_error_mgr,
    dest: Dest,
}

/// Our `jpeg_destination_mgr`: libjpeg writes into the spare part of `buf` (its length is
/// the window; `term_destination` cuts it to what was written).
#[repr(C)]
struct Dest {
    /// First: libjpeg's `cinfo.dest` points at the whole struct.
    iface: jpeg_destination_mgr,
    buf: Vec<u8>,
}

/// # Safety
/// `cinfo.dest` must point at a live [`Dest`] (set in [`Coder::new`]).
unsafe fn dest(cinfo: &mut jpeg_compress_struct) -> &mut Dest {
    // SAFETY: the caller's guarantee; Dest is repr(C) with the interface first.
    unsafe { &mut *cinfo.dest.cast::<Dest>() }
}

unsafe extern "C-unwind" fn init_destination(cinfo: &mut jpeg_compress_struct) {
    let d = unsafe { dest(cinfo) };
    d.buf.clear();
    d.buf.resize(FIRST_BUFFER, 0);
    d.iface.next_output_byte = d.buf.as_mut_ptr();
    d.iface.free_in_buffer = d.buf.len();
}

/// Called when the window is full (libjpeg ignores `free_in_buffer` then): doubles it.
unsafe extern "C-unwind" fn empty_output_buffer(cinfo: &mut jpeg_compress_struct) -> boolean {
    let d = unsafe { dest(cinfo) };
    let written = d.buf.len();
    d.buf.resize(written * 2, 0);
    // SAFETY: `written` is within the buffer just grown.
    d.iface.next_output_byte = unsafe { d.buf.as_mut_ptr().add(written) };
    d.iface.free_in_buffer = d.buf.len() - written;
    1
}

unsafe extern "C-unwind" fn term_destination(cinfo: &mut jpeg_compress_struct) {
    let d = unsafe { dest(cinfo) };
    let written = d.buf.len() - d.iface.free_in_buffer;
    d.buf.truncate(written);
}

/// Owns [`State`]; dropping it destroys both libjpeg objects in whatever state an error left
/// them.
struct Coder {
    state: NonNull<State>,
}

impl Coder {
    fn new() -> Self {
        let state = Box::new(State {
            // SAFETY: both structs are plain C data (integers, pointers, optional function
            // pointers, enums whose 0 is a variant): all zeroes is a valid value, and the one
            // jpeg_Create* expect; a zeroed struct is one libjpeg treats as never created.
            d: unsafe { std::mem::zeroed() },
            c: unsafe { std::mem::zeroed() },
            derr: strict_errors(),
            cerr: strict_errors(),
            dest: Dest {
                iface: jpeg_destination_mgr {
                    next_output_byte: std::ptr::null_mut(),
                    free_in_buffer: 0,
                    init_destination: Some(init_destination),
                    empty_output_buffer: Some(empty_output_buffer),
                    term_destination: Some(term_destination),
                },
                buf: Vec::new(),
            },
        });
        let coder = Coder {
            state: NonNull::from(Box::leak(state)),
        };
        let s = coder.state.as_ptr();
        // SAFETY: `s` is the live, exclusively owned block just leaked; the error managers
        // and the destination stored into it are in the same block, which does not move
        // until Drop.
        unsafe {
            (*s).d.common.err = addr_of_mut!((*s).derr);
            mozjpeg_sys::jpeg_create_decompress(addr_of_mut!((*s).d));
            (*s).c.common.err = addr_of_mut!((*s).cerr);
            mozjpeg_sys::jpeg_create_compress(addr_of_mut!((*s).c));
            (*s).c.dest = addr_of_mut!((*s).dest).cast();
        }
        coder
    }

    fn crop(self, stream: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
        let s = self.state.as_ptr();
        let len = std::os::raw::c_ulong::try_from(stream.len()).map_err(|_| "stream too long")?;
        // SAFETY: `s` is live until Drop and reached only through `self`. `stream` outlives
        // every libjpeg call below (the decompressor is aborted before returning). The
        // coefficient arrays belong to the decompressor's memory pool, which lives until
        // Drop, after the compressor has written them.
        unsafe {
            let (d, c) = (&mut (*s).d, &mut (*s).c);
            mozjpeg_sys::jpeg_mem_src(d, stream.as_ptr(), len);
            mozjpeg_sys::jpeg_read_header(d, 1);
            if width > d.image_width || height > d.image_height {
                return Err(format!(
                    "crop {width} x {height} of a {} x {} JPEG",
                    d.image_width, d.image_height
                ));
            }
            let coefficients = mozjpeg_sys::jpeg_read_coefficients(d);
            if coefficients.is_null() {
                return Err("no coefficients".into());
            }
            // Baseline, as the stored tile is (mozjpeg's default profile is progressive).
            mozjpeg_sys::jpeg_c_set_int_param(
                c,
                mozjpeg_sys::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                mozjpeg_sys::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as std::os::raw::c_int,
            );
            mozjpeg_sys::jpeg_copy_critical_parameters(d, c);
            c.image_width = width;
            c.image_height = height;
            // The standard Huffman tables: optimizing them took a third of the cut's time
            // (a statistics pass over every block) for a few per cent of bytes.
            c.optimize_coding = 0;
            mozjpeg_sys::jpeg_write_coefficients(c, coefficients);
            mozjpeg_sys::jpeg_finish_compress(c);
            mozjpeg_sys::jpeg_abort_decompress(d);
            Ok(std::mem::take(&mut (*s).dest.buf))
        }
    }
}

impl Drop for Coder {
    fn drop(&mut self) {
        let s = self.state.as_ptr();
        // SAFETY: the block came from Box::leak in `new` and is dropped once, here. libjpeg's
        // destroy calls accept objects in any state, zeroed ones included.
        unsafe {
            mozjpeg_sys::jpeg_destroy_compress(&mut (*s).c);
            mozjpeg_sys::jpeg_destroy_decompress(&mut (*s).d);
            drop(Box::from_raw(s));
        }
    }
}

#[cfg(test)]
#[path = "crop_tests.rs"]
mod tests;
