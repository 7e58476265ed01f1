//! Pixels to WebP (libwebp), JPEG (mozjpeg's libjpeg-turbo path) or PNG, with the settings
//! sharp uses by default so the comparison is like for like; AVIF with ravif (rav1e).

use super::format::Format;
use super::TransformError;

/// Encodes RGB8 or RGBA8 `data` of `width` x `height`.
///
/// # Errors
/// An encoder failure (out of memory, a size the format cannot hold).
pub fn encode(
    data: &[u8],
    width: u32,
    height: u32,
    channels: u8,
    format: Format,
    quality: u8,
) -> Result<Vec<u8>, TransformError> {
    match format {
        Format::Webp => webp(data, width, height, channels, quality),
        Format::Jpeg => jpeg(data, width, height, channels, quality),
        Format::Png => png(data, width, height, channels),
        Format::Avif => avif(data, width, height, channels, quality),
        Format::Gif => Err(TransformError::Unsupported("gif output".into())),
    }
}

fn webp(data: &[u8], w: u32, h: u32, channels: u8, quality: u8) -> Result<Vec<u8>, TransformError> {
    use libwebp_sys as webp;
    let failed = |what: &str| TransformError::Encode(format!("WebP: {what}"));
    if w > 16383 || h > 16383 {
        return Err(failed("larger than 16383 pixels"));
    }
    let mut config = webp::WebPConfig::new_with_preset(
        webp::WebPPreset::WEBP_PRESET_DEFAULT,
        f32::from(quality),
    )
    .map_err(|()| failed("config"))?;
    config.method = 4; // sharp's default effort
    let mut picture = webp::WebPPicture::new().map_err(|()| failed("picture"))?;
    picture.use_argb = 0;
    picture.width = i32::try_from(w).map_err(|_| failed("width"))?;
    picture.height = i32::try_from(h).map_err(|_| failed("height"))?;
    let stride = i32::try_from(w * u32::from(channels)).map_err(|_| failed("stride"))?;
    // SAFETY: `data` holds h rows of `stride` bytes (checked by the caller's resize); the
    // writer and picture are freed on every path below.
    unsafe {
        let mut writer: webp::WebPMemoryWriter = std::mem::zeroed();
        webp::WebPMemoryWriterInit(&mut writer);
        let imported = match channels {
            4 => webp::WebPPictureImportRGBA(&mut picture, data.as_ptr(), stride),
            _ => webp::WebPPictureImportRGB(&mut picture, data.as_ptr(), stride),
        };
        picture.writer = Some(webp::WebPMemoryWrite);
        picture.custom_ptr = std::ptr::from_mut(&mut writer).cast();
        let ok = imported != 0 && webp::WebPEncode(&config, &mut picture) != 0;
        let out = match ok && !writer.mem.is_null() {
            true => Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec()),
            false => Err(failed(&format!(
                "encoder error {}",
                picture.error_code as i32
            ))),
        };
        webp::WebPPictureFree(&mut picture);
        webp::WebPMemoryWriterClear(&mut writer);
        out
    }
}

fn jpeg(data: &[u8], w: u32, h: u32, channels: u8, quality: u8) -> Result<Vec<u8>, TransformError> {
    // JPEG has no alpha: flatten on white, as sharp does.
    let rgb;
    let data = match channels {
        4 => {
            rgb = flatten(data);
            &rgb[..]
        }
        _ => data,
    };
    let run = std::panic::catch_unwind(|| -> std::io::Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        // First: mozjpeg's own defaults (progressive, trellis) are several times slower and
        // not what sharp does.
        c.set_fastest_defaults();
        c.set_size(w as usize, h as usize);
        c.set_quality(f32::from(quality));
        c.set_optimize_coding(true);
        let mut started = c.start_compress(Vec::with_capacity(data.len() / 8))?;
        started.write_scanlines(data)?;
        started.finish()
    });
    match run {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(TransformError::Encode(format!("JPEG: {e}"))),
        Err(_) => Err(TransformError::Encode("JPEG encoder failed".into())),
    }
}

/// RGBA over white to RGB.
fn flatten(rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        let a = u16::from(px[3]);
        for &c in &px[..3] {
            let v = (u16::from(c) * a + 255 * (255 - a) + 127) / 255;
            out.push(u8::try_from(v).unwrap_or(u8::MAX));
        }
    }
    out
}

fn png(data: &[u8], w: u32, h: u32, channels: u8) -> Result<Vec<u8>, TransformError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let color = match channels {
        4 => image::ExtendedColorType::Rgba8,
        _ => image::ExtendedColorType::Rgb8,
    };
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(data, w, h, color)
    .map_err(|e| TransformError::Encode(format!("PNG: {e}")))?;
    Ok(out)
}

/// rav1e's speed preset, 1 (slowest) to 10. Measured on the 24 MP photo
/// (docs/transforms.md): the fastest setting whose files stay close to the slower ones in size
/// at the same quality.
const AVIF_SPEED: u8 = 8;

fn avif(data: &[u8], w: u32, h: u32, channels: u8, quality: u8) -> Result<Vec<u8>, TransformError> {
    use rgb::FromSlice;
    let (w, h) = (w as usize, h as usize);
    let q = f32::from(quality.clamp(1, 100));
    let encoder = ravif::Encoder::new()
        .with_quality(q)
        // Alpha edges show artefacts sooner than colour: cavif's rule, above the colour's.
        .with_alpha_quality(((q + 100.0) / 2.0).min(q + q / 4.0 + 2.0))
        .with_speed(AVIF_SPEED)
        // ravif's default, 10 bits, took twice the time for +0.0008 SSIM.
        .with_bit_depth(ravif::BitDepth::Eight)
        // The transform slots already bound how many encodes run at once, and tiles that
        // follow the core count would make the bytes depend on the machine.
        .with_num_threads(Some(1));
    // ravif asserts on its inputs and rav1e has internal asserts: a panic is an encoder
    // failure, not a crash of the worker.
    let run = std::panic::catch_unwind(|| match channels {
        4 => encoder.encode_rgba(ravif::Img::new(data.as_rgba(), w, h)),
        _ => encoder.encode_rgb(ravif::Img::new(data.as_rgb(), w, h)),
    });
    match run {
        Ok(Ok(image)) => Ok(image.avif_file),
        Ok(Err(e)) => Err(TransformError::Encode(format!("AVIF: {e}"))),
        Err(_) => Err(TransformError::Encode("AVIF encoder failed".into())),
    }
}
