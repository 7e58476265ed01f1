//! EXIF orientation and `fit=contain` padding, applied to the small, resized image.

use super::decode::Pixels;

/// Turns the pixels upright per their EXIF orientation (then marks them as upright).
pub fn apply(px: &mut Pixels) {
    let o = px.orientation;
    px.orientation = 1;
    if !(2..=8).contains(&o) {
        return;
    }
    let (w, h) = (px.width as usize, px.height as usize);
    let c = usize::from(px.channels);
    let (dw, dh) = if o >= 5 { (h, w) } else { (w, h) };
    let mut out = vec![0u8; px.data.len()];
    for y in 0..dh {
        for x in 0..dw {
            // Where the shown pixel (x, y) is stored.
            let (sx, sy) = match o {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x), // 8
            };
            let (d, s) = ((y * dw + x) * c, (sy * w + sx) * c);
            out[d..d + c].copy_from_slice(&px.data[s..s + c]);
        }
    }
    px.data = out;
    px.width = u32::try_from(dw).unwrap_or(px.width);
    px.height = u32::try_from(dh).unwrap_or(px.height);
}

/// Centres the image on a `canvas`: transparent when the output keeps alpha, else white.
pub fn pad(px: &mut Pixels, canvas: (u32, u32), alpha: bool) {
    let (cw, ch) = (canvas.0 as usize, canvas.1 as usize);
    let (w, h) = (px.width as usize, px.height as usize);
    if (cw, ch) == (w, h) || cw < w || ch < h {
        return;
    }
    let c_in = usize::from(px.channels);
    let c = if alpha { 4 } else { 3 };
    let fill: &[u8] = if alpha {
        &[0, 0, 0, 0]
    } else {
        &[255, 255, 255]
    };
    let mut out = fill.repeat(cw * ch);
    let (ox, oy) = ((cw - w) / 2, (ch - h) / 2);
    for y in 0..h {
        for x in 0..w {
            let s = (y * w + x) * c_in;
            let d = ((y + oy) * cw + x + ox) * c;
            out[d..d + 3].copy_from_slice(&px.data[s..s + 3]);
            if c == 4 {
                out[d + 3] = if c_in == 4 { px.data[s + 3] } else { 255 };
            }
        }
    }
    px.data = out;
    px.channels = u8::try_from(c).unwrap_or(3);
    px.width = canvas.0;
    px.height = canvas.1;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 x 2 image whose pixels are numbered 0..6 in reading order (one channel repeated).
    fn numbered(orientation: u8) -> Pixels {
        Pixels {
            data: (0..6u8).flat_map(|v| [v, v, v]).collect(),
            width: 3,
            height: 2,
            channels: 3,
            orientation,
        }
    }

    #[test]
    fn every_orientation_comes_out_upright() {
        // Stored:  0 1 2      The stored image is what a camera held as `orientation`
        //          3 4 5      records; shown is what a viewer displays.
        let shown: [(u8, (u32, u32), [u8; 6]); 8] = [
            (1, (3, 2), [0, 1, 2, 3, 4, 5]),
            (2, (3, 2), [2, 1, 0, 5, 4, 3]),
            (3, (3, 2), [5, 4, 3, 2, 1, 0]),
            (4, (3, 2), [3, 4, 5, 0, 1, 2]),
            (5, (2, 3), [0, 3, 1, 4, 2, 5]),
            (6, (2, 3), [3, 0, 4, 1, 5, 2]),
            (7, (2, 3), [5, 2, 4, 1, 3, 0]),
            (8, (2, 3), [2, 5, 1, 4, 0, 3]),
        ];
        for (o, size, expect) in shown {
            let mut px = numbered(o);
            apply(&mut px);
            let got: Vec<u8> = px.data.chunks(3).map(|p| p[0]).collect();
            assert_eq!((px.width, px.height), size, "orientation {o}");
            assert_eq!(got, expect, "orientation {o}");
            assert_eq!(px.orientation, 1);
        }
    }

    #[test]
    fn pads_centred() {
        let mut px = numbered(1);
        pad(&mut px, (5, 4), true);
        assert_eq!((px.width, px.height, px.channels), (5, 4, 4));
        // Row 1, columns 1..4 hold the first stored row, opaque; corners are transparent.
        assert_eq!(&px.data[(5 + 1) * 4..(5 + 1) * 4 + 4], &[0, 0, 0, 255]);
        assert_eq!(&px.data[0..4], &[0, 0, 0, 0]);
        let mut px = numbered(1);
        pad(&mut px, (3, 4), false);
        assert_eq!(&px.data[0..3], &[255, 255, 255]);
        assert_eq!(&px.data[9..12], &[0, 0, 0]);
    }
}
