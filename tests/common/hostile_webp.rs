//! A lossless WebP (VP8L) built bit by bit whose green Huffman code is over-subscribed in a
//! way image-webp 0.2.4's validity check misses (image-rs/image-webp#118): code lengths 1,1,1,
//! 2..13, 14, 15, 15. Counting codes per length in 16 bits, the code for length 15 starts at
//! 65534 and the two length-15 codes carry it to 65536: with overflow checks the addition
//! panics; without (release), it wraps to 0, equals the wrapped `2 << 15` the check compares
//! against, and the table fill indexes out of bounds. Either way the decoder panics; a server
//! must answer 422 and keep serving.

/// Bits written least significant first, as VP8L reads them.
#[derive(Default)]
struct Bits(Vec<u8>);

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.0.push(((value >> i) & 1) as u8);
        }
    }

    /// A prefix code: its most significant bit first (VP8L §3.7.2).
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.0.push(((code >> i) & 1) as u8);
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.0
            .chunks(8)
            .map(|c| c.iter().enumerate().map(|(i, b)| b << i).sum())
            .collect()
    }
}

/// Canonical codes (symbols in order within a length) for `lengths[symbol]`.
fn canonical(lengths: &[u32]) -> Vec<u32> {
    let max = lengths.iter().copied().max().unwrap_or(0) as usize;
    let mut count = vec![0u32; max + 2];
    for &l in lengths.iter().filter(|&&l| l > 0) {
        count[l as usize] += 1;
    }
    let mut next = vec![0u32; max + 2];
    let mut code = 0;
    for len in 1..=max {
        next[len] = code;
        code = (code + count[len]) << 1;
    }
    lengths
        .iter()
        .map(|&l| {
            let c = next[l as usize];
            next[l as usize] += 1;
            c
        })
        .collect()
}

/// The 4 x 4 lossless WebP described above.
pub fn oversubscribed_huffman() -> Vec<u8> {
    let mut b = Bits::default();
    b.put(0x2f, 8); // VP8L signature
    b.put(3, 14); // width - 1
    b.put(3, 14); // height - 1
    b.put(0, 1 + 3); // no alpha, version 0
    b.put(0, 3); // no transform, no colour cache, no meta prefix codes
                 // Green: a normal code. Its code lengths come through a code-length code over the
                 // symbols 1..=15, complete: one of length 2, eleven of 4, one of 5, two of 6.
    b.put(0, 1);
    let order = [
        17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    ];
    let mut cl_lengths = [0u32; 19];
    cl_lengths[1] = 2;
    cl_lengths[2..=12].fill(4);
    cl_lengths[13] = 5;
    cl_lengths[14..=15].fill(6);
    b.put(order.len() as u32 - 4, 4);
    for symbol in order {
        b.put(cl_lengths[symbol], 3);
    }
    let cl_codes = canonical(&cl_lengths);
    // 18 code lengths are read (max_symbol = 2 + 16, in 2 + 2 * 2 bits), the rest are 0.
    b.put(1, 1);
    b.put(2, 3);
    b.put(16, 6);
    let green: Vec<u32> = [1, 1, 1].into_iter().chain(2..=15).chain([15]).collect();
    assert_eq!(green.len(), 18);
    for len in green {
        b.code(cl_codes[len as usize], cl_lengths[len as usize]);
    }
    // Red, blue, alpha, distance: simple one-symbol codes.
    for _ in 0..4 {
        b.put(0b0001, 4);
    }
    b.put(0, 64);
    let mut vp8l = b.bytes();
    vp8l.resize(vp8l.len() + vp8l.len() % 2, 0);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + 8 + vp8l.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WEBPVP8L");
    out.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    out.extend_from_slice(&vp8l);
    out
}
