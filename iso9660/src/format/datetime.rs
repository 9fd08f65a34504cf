//! ECMA-119 (4th edition) 9.1.5 (7-byte recording date of a directory record) and 8.4.26.1 (17-byte digit
//! date of a volume descriptor). Rock Ridge TF uses the same two forms.
//!
//! Both carry the offset from Greenwich as a signed byte in 15-minute units (-48 ..= +52). All-zero fields
//! (or all `'0'` digits) mean "not specified". Out-of-range fields give `None` instead of an error: a bad date
//! must not hide a file. An offset outside -48 ..= +52 is read as 0, as Linux does.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// The 7-byte date of a directory record (9.1.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectoryDateTime(pub [u8; 7]);

/// The 17-byte date of a volume descriptor (8.4.26.1): 16 ASCII digits `YYYYMMDDhhmmsscc` and the offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecDateTime(pub [u8; 17]);

/// Lowest and highest offsets from Greenwich, in 15-minute units (9.1.5 g).
const GMT_OFFSET_MIN: i8 = -48;
/// See [`GMT_OFFSET_MIN`].
const GMT_OFFSET_MAX: i8 = 52;

/// `[month, day, hour, minute, second]` of `year` at `offset` quarter hours from Greenwich, in UTC.
fn utc(year: i32, mdhms: [u32; 5], nanos: u32, offset: u8) -> Option<DateTime<Utc>> {
    let [month, day, hour, minute, second] = mdhms;
    let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(hour, minute, second, nanos)?;
    let off = i8::from_le_bytes([offset]);
    let off = if (GMT_OFFSET_MIN..=GMT_OFFSET_MAX).contains(&off) { off } else { 0 };
    let delta = TimeDelta::try_minutes(i64::from(off).checked_mul(15)?)?;
    Some(naive.checked_sub_signed(delta)?.and_utc())
}

impl DirectoryDateTime {
    /// The time in UTC, or `None` when unspecified (all zero) or out of range.
    pub fn to_utc(&self) -> Option<DateTime<Utc>> {
        let [y, mo, d, h, mi, s, off] = self.0;
        if self.0 == [0; 7] || (mo == 0 && d == 0) {
            return None;
        }
        utc(i32::from(y).checked_add(1900)?, [mo.into(), d.into(), h.into(), mi.into(), s.into()], 0, off)
    }
}

impl TryFrom<DirectoryDateTime> for DateTime<Utc> {
    type Error = ();
    fn try_from(d: DirectoryDateTime) -> Result<Self, ()> {
        d.to_utc().ok_or(())
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u32::from(c.checked_sub(b'0')?))
        } else {
            None
        }
    })
}

impl DecDateTime {
    /// The time in UTC, or `None` when unspecified (all `'0'` digits or zeros) or not a valid date.
    pub fn to_utc(&self) -> Option<DateTime<Utc>> {
        let d = &self.0;
        let text = d.get(..16)?;
        if text.iter().all(|&c| c == b'0' || c == 0 || c == b' ') {
            return None;
        }
        let year = i32::try_from(digits(text.get(0..4)?)?).ok()?;
        let field = |a: usize| digits(text.get(a..a.checked_add(2)?)?);
        let centis = field(14)?;
        utc(year, [field(4)?, field(6)?, field(8)?, field(10)?, field(12)?], centis.checked_mul(10_000_000)?, d[16])
    }
}

impl TryFrom<DecDateTime> for DateTime<Utc> {
    type Error = ();
    fn try_from(d: DecDateTime) -> Result<Self, ()> {
        d.to_utc().ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    #[test]
    fn directory_date_with_offset() {
        // 2024-02-29 12:30:15 at UTC+1 (4 quarter hours).
        let d = DirectoryDateTime([124, 2, 29, 12, 30, 15, 4]).to_utc().unwrap();
        assert_eq!(d.to_rfc3339(), "2024-02-29T11:30:15+00:00");
        assert_eq!(DirectoryDateTime([0; 7]).to_utc(), None);
        assert_eq!(DirectoryDateTime([124, 13, 1, 0, 0, 0, 0]).to_utc(), None);
        // Offset out of range: read as UTC.
        let d = DirectoryDateTime([80, 1, 1, 0, 0, 0, 100]).to_utc().unwrap();
        assert_eq!(d.year(), 1980);
    }

    #[test]
    fn dec_date() {
        let mut b = [0u8; 17];
        b[..16].copy_from_slice(b"2040123123595999");
        b[16] = (-8i8).to_le_bytes()[0];
        let d = DecDateTime(b).to_utc().unwrap();
        assert_eq!(d.to_rfc3339(), "2041-01-01T01:59:59.990+00:00");
        let mut z = [b'0'; 17];
        z[16] = 0;
        assert_eq!(DecDateTime(z).to_utc(), None);
        assert_eq!(DecDateTime([0; 17]).to_utc(), None);
        let mut bad = b;
        bad[3] = b'x';
        assert_eq!(DecDateTime(bad).to_utc(), None);
    }

    proptest! {
        #[test]
        fn any_directory_date_is_safe(b in any::<[u8; 7]>()) {
            let _ = DirectoryDateTime(b).to_utc();
        }

        #[test]
        fn any_dec_date_is_safe(b in any::<[u8; 17]>()) {
            let _ = DecDateTime(b).to_utc();
        }

        #[test]
        fn valid_dates_round_trip(y in 0u8..=255, mo in 1u8..=12, d in 1u8..=28, h in 0u8..24, mi in 0u8..60,
                                  s in 0u8..60) {
            let t = DirectoryDateTime([y, mo, d, h, mi, s, 0]).to_utc().unwrap();
            prop_assert_eq!(t.year(), 1900 + i32::from(y));
            prop_assert_eq!((t.month(), t.day(), t.hour(), t.minute(), t.second()),
                            (u32::from(mo), u32::from(d), u32::from(h), u32::from(mi), u32::from(s)));
        }
    }
}
