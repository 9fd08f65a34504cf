//! ECMA-130 (2nd edition, June 1996) 14.3: the Error Detection Code.
//!
//! A 32-bit CRC with the generator P(x) = (x^16 + x^15 + x^2 + 1) · (x^16 + x^2 + x + 1), i.e. 0x8001801B,
//! processed least significant bit first (the reflected polynomial is 0xD8018001), initial value 0, no final
//! inversion. The 4 result bytes are recorded least significant byte first.

/// The reflected generator polynomial.
#[cfg(test)]
const POLY_REFLECTED: u32 = 0xD801_8001;

/// Byte-at-a-time lookup table, built at compile time: the definition [`update`] is tested against.
#[cfg(test)]
const TABLE: [u32; 256] = build_table();

// Evaluated at compile time only: an out-of-range index or overflow would fail the build, never a run.
#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn build_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// The same CRC as the `crc` crate computes it, 16 bytes at a time (the table above is its definition, and what
/// the tests check it against).
const ALGORITHM: crc::Algorithm<u32> = crc::Algorithm {
    width: 32,
    poly: 0x8001_801B,
    init: 0,
    refin: true,
    refout: true,
    xorout: 0,
    check: 0x6EC2_EDC4,
    residue: 0,
};
const FAST: crc::Crc<u32, crc::Table<16>> = crc::Crc::<u32, crc::Table<16>>::new(&ALGORITHM);

/// Continues an EDC computation over `data`, starting from `crc` (0 for a fresh one).
pub fn update(crc: u32, data: &[u8]) -> u32 {
    // The crate reflects the initial value it is given, for a reflected algorithm; `crc` is already reflected.
    let mut d = FAST.digest_with_initial(crc.reverse_bits());
    d.update(data);
    d.finalize()
}

/// Continues an EDC computation a byte at a time with [`TABLE`].
#[cfg(test)]
fn update_bytewise(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let idx = usize::from((crc as u8) ^ b);
        crc = TABLE.get(idx).copied().unwrap_or(0) ^ (crc >> 8);
    }
    crc
}

/// The EDC of `data`.
pub fn compute(data: &[u8]) -> u32 {
    update(0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitwise_matches_table() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut crc = 0u32;
        for &b in &data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            }
        }
        assert_eq!(compute(&data), crc);
        assert_eq!(update_bytewise(0, &data), crc);
        assert_eq!(compute(b"123456789"), ALGORITHM.check);
        for cut in [0, 1, 15, 16, 17, 1000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(update(update(0, a), b), crc, "continued after {cut} bytes");
        }
        let (a, b) = data.split_at(1234);
        assert_eq!(update(compute(a), b), crc);
    }

    #[test]
    fn linear_and_zero() {
        assert_eq!(compute(&[0u8; 2064]), 0);
        // The CRC of a message followed by its own little-endian CRC is 0 (no final inversion).
        let mut msg = b"odix EDC".to_vec();
        let c = compute(&msg);
        msg.extend_from_slice(&c.to_le_bytes());
        assert_eq!(compute(&msg), 0);
    }
}
