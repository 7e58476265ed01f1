use super::*;
use proptest::prelude::*;

/// A minimal JPEG header: SOI, optional APP1, SOF (`sof` marker) with `hv` sampling per
/// component, SOS.
fn header(sof_marker: u8, w: u16, h: u16, hv: &[u8], app1: Option<&[u8]>) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    if let Some(app) = app1 {
        v.extend([0xFF, 0xE1]);
        v.extend(u16::try_from(app.len() + 2).unwrap().to_be_bytes());
        v.extend(app);
    }
    let n = u8::try_from(hv.len()).unwrap();
    v.extend([0xFF, sof_marker]);
    v.extend((8 + 3 * u16::from(n)).to_be_bytes());
    v.push(8);
    v.extend(h.to_be_bytes());
    v.extend(w.to_be_bytes());
    v.push(n);
    for (i, s) in hv.iter().enumerate() {
        v.extend([u8::try_from(i).unwrap() + 1, *s, 0]);
    }
    v.extend([0xFF, 0xDA, 0x00, 0x02]);
    v
}

type Encoders = (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]);

fn exif(orientation: u16, big_endian: bool) -> Vec<u8> {
    let mut t = b"Exif\0\0".to_vec();
    let (u16b, u32b): Encoders = if big_endian {
        t.extend(b"MM\0*");
        (u16::to_be_bytes, u32::to_be_bytes)
    } else {
        t.extend(b"II*\0");
        (u16::to_le_bytes, u32::to_le_bytes)
    };
    t.extend(u32b(8));
    t.extend(u16b(1));
    t.extend(u16b(0x0112));
    t.extend(u16b(3));
    t.extend(u32b(1));
    t.extend(u16b(orientation));
    t.extend([0, 0]);
    t.extend(u32b(0));
    t
}

#[test]
fn reads_headers() {
    let info = jpeg(&header(0xC0, 6000, 4000, &[0x22, 0x11, 0x11], None)).unwrap();
    assert_eq!(
        (info.width, info.height, info.progressive, info.components),
        (6000, 4000, false, 3)
    );
    assert_eq!((info.orientation, info.scans), (1, 1));
    // 4:2:0 coefficients: luma 750x500 blocks, chroma 375x250 each, 128 bytes per block.
    assert_eq!(info.coefficient_bytes, (750 * 500 + 2 * 375 * 250) * 128);
    let info = jpeg(&header(0xC2, 10, 10, &[0x11], Some(&exif(6, true)))).unwrap();
    assert!(info.progressive);
    assert_eq!(info.orientation, 6);
    let info = jpeg(&header(0xC0, 10, 10, &[0x11], Some(&exif(8, false)))).unwrap();
    assert_eq!(info.orientation, 8);
    // An out-of-range orientation is ignored.
    let info = jpeg(&header(0xC0, 10, 10, &[0x11], Some(&exif(9, false)))).unwrap();
    assert_eq!(info.orientation, 1);
}

#[test]
fn refuses_what_it_cannot_decode() {
    for marker in [0xC3, 0xC5, 0xC9, 0xCF] {
        assert_eq!(
            jpeg(&header(marker, 10, 10, &[0x11], None)),
            Err(ProbeError::Unsupported)
        );
    }
    let good = header(0xC0, 10, 10, &[0x11], None);
    let malformed: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xFF, 0xD8],
        b"\x89PNG".to_vec(),
        header(0xC0, 0, 10, &[0x11], None),        // zero width
        header(0xC0, 10, 0, &[0x11], None),        // DNL height
        header(0xC0, 10, 10, &[0x11, 0x11], None), // two components
        header(0xC0, 10, 10, &[0x51], None),       // sampling 5
        good[..good.len() - 6].to_vec(),           // cut inside SOF
        vec![0xFF, 0xD8, 0xFF, 0xD9],              // EOI before a frame
        vec![0xFF, 0xD8, 0x00, 0x00],              // not a marker
    ];
    for (i, bytes) in malformed.iter().enumerate() {
        assert_eq!(jpeg(bytes), Err(ProbeError::Malformed), "case {i}");
    }
}

proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut v = vec![0xFF, 0xD8];
        v.extend(bytes);
        let _ = jpeg(&v);
        let _ = exif_orientation(&v[2..]);
    }

    #[test]
    fn never_panics_on_mutated_headers(i in 0usize..40, b in any::<u8>(), cut in 0usize..40) {
        let mut v = header(0xC2, 300, 200, &[0x22, 0x11, 0x11], Some(&exif(6, true)));
        let i = i % v.len();
        v[i] = b;
        v.truncate(v.len() - cut.min(v.len()));
        let _ = jpeg(&v);
    }
}
