use super::*;
use crate::transform::orient;

/// A `w` x `h` image whose pixel values number them in reading order (one channel
/// repeated), so that a moved pixel says where it came from.
fn numbered(w: u32, h: u32, orientation: u8) -> Pixels {
    Pixels {
        data: (0..w * h).flat_map(|v| [v as u8; 3]).collect(),
        width: w,
        height: h,
        channels: 3,
        orientation,
    }
}

fn values(px: &Pixels) -> Vec<u8> {
    px.data.chunks(3).map(|p| p[0]).collect()
}

#[test]
fn stored_rect_then_orient_gives_the_shown_region() {
    // For every orientation and every region of a 4 x 3 stored image: cropping the stored
    // rectangle and turning it upright equals turning the whole image upright and cropping.
    for o in 1..=8u8 {
        let mut upright = numbered(4, 3, o);
        orient::apply(&mut upright);
        let (sw, sh) = (upright.width, upright.height);
        for (x, y, w, h) in [
            (0, 0, sw, sh),
            (1, 0, 2, 1),
            (0, 1, 1, 2),
            (1, 1, sw - 1, sh - 1),
        ] {
            let shown = Rect::new(x, y, w, h);
            let want = values(&crop(numbered_upright(o), shown));
            let stored = stored_rect(o, 4, 3, shown);
            let mut got = crop(numbered(4, 3, o), stored);
            orient::apply(&mut got);
            assert_eq!((got.width, got.height), (w, h), "orientation {o} {shown}");
            assert_eq!(values(&got), want, "orientation {o} {shown}");
        }
    }
}

fn numbered_upright(o: u8) -> Pixels {
    let mut px = numbered(4, 3, o);
    orient::apply(&mut px);
    px
}

#[test]
fn crop_clamps_to_the_image() {
    let px = crop(numbered(4, 3, 1), Rect::new(2, 1, 10, 10));
    assert_eq!((px.width, px.height), (2, 2));
    assert_eq!(values(&px), [6, 7, 10, 11]);
    let px = crop(numbered(4, 3, 1), Rect::new(9, 9, 1, 1));
    assert_eq!((px.width, px.height, px.data.len()), (0, 0, 0));
}

#[test]
fn mirror_and_quarter_turns() {
    // Stored 0 1 2 / 3 4 5.
    type Case = (bool, u8, (u32, u32), [u8; 6]);
    let cases: [Case; 6] = [
        (false, 0, (3, 2), [0, 1, 2, 3, 4, 5]),
        (false, 1, (2, 3), [3, 0, 4, 1, 5, 2]),
        (false, 2, (3, 2), [5, 4, 3, 2, 1, 0]),
        (false, 3, (2, 3), [2, 5, 1, 4, 0, 3]),
        (true, 0, (3, 2), [2, 1, 0, 5, 4, 3]),
        // IIIF §4.3: mirror first, then rotate.
        (true, 1, (2, 3), [5, 2, 4, 1, 3, 0]),
    ];
    for (flip, turns, size, want) in cases {
        let mut px = numbered(3, 2, 1);
        if flip {
            mirror(&mut px);
        }
        rotate(&mut px, turns);
        assert_eq!((px.width, px.height), size, "mirror {flip} turns {turns}");
        assert_eq!(values(&px), want, "mirror {flip} turns {turns}");
    }
}

#[test]
fn gray_and_bitonal_keep_alpha() {
    let mut px = Pixels {
        data: vec![255, 0, 0, 7, 0, 255, 0, 9, 255, 255, 255, 11],
        width: 3,
        height: 1,
        channels: 4,
        orientation: 1,
    };
    let mut b = Pixels {
        data: px.data.clone(),
        ..px
    };
    gray(&mut px);
    // BT.601: red 76, green 150, white 255.
    assert_eq!(
        px.data,
        [76, 76, 76, 7, 150, 150, 150, 9, 255, 255, 255, 11]
    );
    bitonal(&mut b);
    assert_eq!(b.data, [0, 0, 0, 7, 255, 255, 255, 9, 255, 255, 255, 11]);
}
