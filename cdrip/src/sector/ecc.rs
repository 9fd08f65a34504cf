//! ECMA-130 (2nd edition, June 1996) Annex A: the Reed-Solomon Product-like Code (RSPC) of Mode 1 and
//! Mode 2 Form 1 sectors.
//!
//! The ECC block is the 2340 bytes after the sync field (sector bytes 12..2352). Its first 2064 bytes (header,
//! user data, EDC, intermediate field) are 1032 16-bit words, seen as a matrix of 24 rows by 43 columns; the
//! most and least significant bytes of the words form two independent planes, so every codeword below exists
//! once per plane.
//!
//! - P parity (bytes 2064..2236 of the block): 86 codewords, one per byte column of the 26 × 86-byte matrix:
//!   24 data symbols then 2 parity symbols, a (26,24) Reed-Solomon code.
//! - Q parity (bytes 2236..2340): 52 codewords along the diagonals of the 26-row matrix that now includes the
//!   P parity: symbol `m` of diagonal `n` is word `(43·n + 44·m) mod 1118`, 43 symbols then 2 parity symbols, a
//!   (45,43) Reed-Solomon code.
//!
//! Both codes are over GF(2^8) with the field polynomial x^8 + x^4 + x^3 + x^2 + 1 and primitive element
//! α = x; a codeword `v_0 .. v_{n-1}` satisfies Σ v_i = 0 and Σ α^(n-1-i) · v_i = 0 (Annex A parity check
//! matrices H_P and H_Q). With two parity symbols each codeword can correct one wrong byte.

/// Length of the ECC block: sector bytes 12..2352.
pub const BLOCK_LEN: usize = 2340;
/// Offset of the P parity inside the ECC block.
pub const P_OFFSET: usize = 2064;
/// Offset of the Q parity inside the ECC block.
pub const Q_OFFSET: usize = 2236;
/// Number of P codewords (43 word columns × 2 byte planes).
pub const P_CODEWORDS: usize = 86;
/// Symbols in a P codeword.
pub const P_LEN: usize = 26;
/// Number of Q codewords (26 word diagonals × 2 byte planes).
pub const Q_CODEWORDS: usize = 52;
/// Symbols in a Q codeword.
pub const Q_LEN: usize = 45;

/// Words of the matrix covered by Q (24 rows of data + 2 rows of P parity, 43 words each).
const Q_MATRIX_WORDS: usize = 1118;

/// Field polynomial without its x^8 term.
const FIELD_LOW: u8 = 0x1D;

/// `EXP[i] = α^i`, doubled so that a sum of two logarithms indexes it without reduction.
const EXP: [u8; 512] = build_exp();
/// `LOG[α^i] = i`; `LOG[0]` is unused.
const LOG: [u8; 256] = build_log();

/// Byte positions in the ECC block of each P codeword's symbols.
const P_INDEX: [[u16; P_LEN]; P_CODEWORDS] = build_p_index();
/// Byte positions in the ECC block of each Q codeword's symbols.
const Q_INDEX: [[u16; Q_LEN]; Q_CODEWORDS] = build_q_index();

// The builders below run at compile time only: an out-of-range index or overflow fails the build.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn build_exp() -> [u8; 512] {
    let mut exp = [0u8; 512];
    let mut x: u8 = 1;
    let mut i = 0;
    while i < 512 {
        exp[i] = x;
        x = if x & 0x80 != 0 { (x << 1) ^ FIELD_LOW } else { x << 1 };
        i += 1;
    }
    exp
}

#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn build_log() -> [u8; 256] {
    let exp = build_exp();
    let mut log = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        log[exp[i] as usize] = i as u8;
        i += 1;
    }
    log
}

#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn build_p_index() -> [[u16; P_LEN]; P_CODEWORDS] {
    let mut idx = [[0u16; P_LEN]; P_CODEWORDS];
    let mut c = 0;
    while c < P_CODEWORDS {
        let mut i = 0;
        while i < P_LEN {
            idx[c][i] = (i * P_CODEWORDS + c) as u16;
            i += 1;
        }
        c += 1;
    }
    idx
}

#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn build_q_index() -> [[u16; Q_LEN]; Q_CODEWORDS] {
    let mut idx = [[0u16; Q_LEN]; Q_CODEWORDS];
    let mut q = 0;
    while q < Q_CODEWORDS {
        let n = q / 2;
        let plane = q % 2;
        let mut m = 0;
        while m < Q_LEN - 2 {
            let word = (43 * n + 44 * m) % Q_MATRIX_WORDS;
            idx[q][m] = (2 * word + plane) as u16;
            m += 1;
        }
        idx[q][Q_LEN - 2] = (Q_OFFSET + 2 * n + plane) as u16;
        idx[q][Q_LEN - 1] = (Q_OFFSET + Q_CODEWORDS + 2 * n + plane) as u16;
        q += 1;
    }
    idx
}

/// α^i for i in 0..510.
fn exp(i: usize) -> u8 {
    EXP.get(i).copied().unwrap_or(0)
}

/// log_α(x) for x ≠ 0.
fn log(x: u8) -> usize {
    usize::from(LOG.get(usize::from(x)).copied().unwrap_or(0))
}

/// Product in GF(2^8).
#[cfg(test)]
fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        exp(log(a).wrapping_add(log(b)))
    }
}

/// Quotient `a / b` in GF(2^8), `b ≠ 0`.
fn div(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        exp(log(a).wrapping_add(255).wrapping_sub(log(b)))
    }
}

/// Product by α.
fn mul_alpha(x: u8) -> u8 {
    let shifted = x.wrapping_shl(1);
    if x & 0x80 != 0 {
        shifted ^ FIELD_LOW
    } else {
        shifted
    }
}

fn byte(block: &[u8], i: u16) -> u8 {
    block.get(usize::from(i)).copied().unwrap_or(0)
}

fn set(block: &mut [u8], i: u16, v: u8) {
    if let Some(b) = block.get_mut(usize::from(i)) {
        *b = v;
    }
}

/// The two parity symbols for the data symbols at `idx[..n-2]`, given the weights α^(n-1-i).
fn parity(block: &[u8], idx: &[u16]) -> (u8, u8) {
    let data = idx.get(..idx.len().saturating_sub(2)).unwrap_or_default();
    let mut s0 = 0u8;
    let mut horner = 0u8;
    for &i in data {
        let v = byte(block, i);
        s0 ^= v;
        horner = mul_alpha(horner) ^ v;
    }
    // horner = Σ α^(k-1-i) v_i with k = n-2; the weights of the full codeword are two powers higher.
    let s1 = mul_alpha(mul_alpha(horner));
    // p0 + p1 = s0 and α·p0 + p1 = s1.
    let p0 = div(s0 ^ s1, 1 ^ mul_alpha(1));
    (p0, s0 ^ p0)
}

/// The syndromes (Σ v_i, Σ α^(n-1-i) v_i) of the codeword at `idx`.
fn syndromes(block: &[u8], idx: &[u16]) -> (u8, u8) {
    let mut s0 = 0u8;
    let mut s1 = 0u8;
    for &i in idx {
        let v = byte(block, i);
        s0 ^= v;
        s1 = mul_alpha(s1) ^ v;
    }
    (s0, s1)
}

/// Writes the P and then the Q parity of `block` (at least [`BLOCK_LEN`] bytes; the header bytes must already
/// be as the sector's mode wants them for the computation).
pub fn generate(block: &mut [u8]) {
    for idx in &P_INDEX {
        let (p0, p1) = parity(block, idx);
        set(block, idx[P_LEN - 2], p0);
        set(block, idx[P_LEN - 1], p1);
    }
    for idx in &Q_INDEX {
        let (q0, q1) = parity(block, idx);
        set(block, idx[Q_LEN - 2], q0);
        set(block, idx[Q_LEN - 1], q1);
    }
}

/// How many P and Q codewords of a block have non-zero syndromes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Syndromes {
    /// Failing P codewords, 0..=86.
    pub p_failing: u32,
    /// Failing Q codewords, 0..=52.
    pub q_failing: u32,
}

impl Syndromes {
    /// True when every codeword checks.
    pub fn clean(&self) -> bool {
        self.p_failing == 0 && self.q_failing == 0
    }
}

/// Checks every P and Q codeword of `block`.
pub fn check(block: &[u8]) -> Syndromes {
    let p = P_INDEX.iter().filter(|idx| syndromes(block, &idx[..]) != (0, 0)).count();
    let q = Q_INDEX.iter().filter(|idx| syndromes(block, &idx[..]) != (0, 0)).count();
    Syndromes { p_failing: u32::try_from(p).unwrap_or(u32::MAX), q_failing: u32::try_from(q).unwrap_or(u32::MAX) }
}

/// What one correction pass over a set of codewords did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassResult {
    /// Codewords in which one byte was corrected.
    pub corrected: u32,
    /// Codewords with errors that one-byte correction cannot explain.
    pub uncorrectable: u32,
}

/// Corrects one byte in each codeword of `table` whose syndromes point at a single error.
fn correct<const N: usize>(block: &mut [u8], table: &[[u16; N]]) -> PassResult {
    let mut r = PassResult::default();
    for idx in table {
        let (s0, s1) = syndromes(block, &idx[..]);
        if (s0, s1) == (0, 0) {
            continue;
        }
        if s0 == 0 || s1 == 0 {
            r.uncorrectable = r.uncorrectable.saturating_add(1);
            continue;
        }
        // One error of magnitude e at position j gives s0 = e and s1 = α^(n-1-j) · e.
        let power = log(div(s1, s0));
        let last = N.saturating_sub(1);
        match last.checked_sub(power).and_then(|j| idx.get(j)) {
            Some(&pos) => {
                set(block, pos, byte(block, pos) ^ s0);
                r.corrected = r.corrected.saturating_add(1);
            }
            None => r.uncorrectable = r.uncorrectable.saturating_add(1),
        }
    }
    r
}

/// One pass of single-byte correction over the P codewords.
pub fn correct_p(block: &mut [u8]) -> PassResult {
    correct(block, &P_INDEX)
}

/// One pass of single-byte correction over the Q codewords.
pub fn correct_q(block: &mut [u8]) -> PassResult {
    correct(block, &Q_INDEX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_tables() {
        assert_eq!(exp(0), 1);
        assert_eq!(exp(8), 0x1D);
        assert_eq!(exp(255), 1);
        for a in 1..=255u8 {
            assert_eq!(exp(log(a)), a);
            assert_eq!(mul(a, div(1, a)), 1);
            assert_eq!(mul_alpha(a), mul(a, 2));
        }
    }

    #[test]
    fn every_block_byte_is_in_one_p_and_one_q_codeword() {
        let mut p = vec![0u32; Q_OFFSET];
        for idx in &P_INDEX {
            for &i in idx {
                p[usize::from(i)] += 1;
            }
        }
        assert!(p.iter().all(|&n| n == 1));
        let mut q = vec![0u32; BLOCK_LEN];
        for idx in &Q_INDEX {
            for &i in idx {
                q[usize::from(i)] += 1;
            }
        }
        assert!(q.iter().all(|&n| n == 1));
    }

    fn block(seed: u32) -> Vec<u8> {
        let mut b = vec![0u8; BLOCK_LEN];
        let mut x = seed | 1;
        for v in b.iter_mut().take(P_OFFSET) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *v = x as u8;
        }
        generate(&mut b);
        b
    }

    #[test]
    fn generated_parity_checks() {
        let b = block(7);
        assert!(check(&b).clean());
    }

    #[test]
    fn single_errors_are_corrected_anywhere() {
        let good = block(99);
        for pos in (0..BLOCK_LEN).step_by(7) {
            let mut b = good.clone();
            b[pos] ^= 0x5A;
            assert!(!check(&b).clean());
            let r = correct_p(&mut b);
            if pos < Q_OFFSET {
                assert_eq!(r, PassResult { corrected: 1, uncorrectable: 0 }, "byte {pos}");
            } else {
                assert_eq!(correct_q(&mut b).corrected, 1, "byte {pos}");
            }
            assert_eq!(b, good, "byte {pos}");
        }
    }
}
