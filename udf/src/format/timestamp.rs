//! ECMA-167 3rd edition 1/7.3 Timestamp: type and time zone, year to microseconds.
//!
//! The time zone is a signed 12-bit count of minutes from UTC; -2047 means "not specified" (read as UTC). Type 1
//! is local time with that offset, type 0 is UTC (UDF 2.60 2.1.4 allows only type 1). An all-zero timestamp
//! means "no time recorded".

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};

use super::{le_u16, le_u8, run};
use crate::error::Result;

/// Size in bytes.
pub const TIMESTAMP_SIZE: usize = 12;
/// Time zone value meaning "not specified".
pub const NO_TIME_ZONE: i16 = -2047;

/// ECMA-167 1/7.3 Timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    /// Type (bits 12–15) and time zone (bits 0–11, signed minutes).
    pub type_and_timezone: u16,
    /// Year, 1–9999.
    pub year: i16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59 (60 for a leap second).
    pub second: u8,
    /// 0–99.
    pub centiseconds: u8,
    /// Hundreds of microseconds, 0–99.
    pub hundreds_of_microseconds: u8,
    /// 0–99.
    pub microseconds: u8,
}

impl Timestamp {
    /// Parses 12 bytes.
    pub fn parse(b: &[u8]) -> Result<Self> {
        run("timestamp", b, TIMESTAMP_SIZE, |i| {
            let (i, type_and_timezone) = le_u16(i)?;
            let (i, year) = le_u16(i)?;
            let (i, month) = le_u8(i)?;
            let (i, day) = le_u8(i)?;
            let (i, hour) = le_u8(i)?;
            let (i, minute) = le_u8(i)?;
            let (i, second) = le_u8(i)?;
            let (i, centiseconds) = le_u8(i)?;
            let (i, hundreds_of_microseconds) = le_u8(i)?;
            let (i, microseconds) = le_u8(i)?;
            Ok((
                i,
                Timestamp {
                    type_and_timezone,
                    year: i16::from_le_bytes(year.to_le_bytes()),
                    month,
                    day,
                    hour,
                    minute,
                    second,
                    centiseconds,
                    hundreds_of_microseconds,
                    microseconds,
                },
            ))
        })
    }

    /// Writes the 12 bytes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u16::<LE>(self.type_and_timezone)?;
        w.write_i16::<LE>(self.year)?;
        w.write_u8(self.month)?;
        w.write_u8(self.day)?;
        w.write_u8(self.hour)?;
        w.write_u8(self.minute)?;
        w.write_u8(self.second)?;
        w.write_u8(self.centiseconds)?;
        w.write_u8(self.hundreds_of_microseconds)?;
        w.write_u8(self.microseconds)
    }

    /// The time zone in minutes east of UTC, `None` when not specified.
    pub fn timezone_minutes(&self) -> Option<i16> {
        let raw = self.type_and_timezone & 0x0fff;
        // Sign-extend the 12-bit field.
        let tz = if raw & 0x0800 != 0 {
            i16::try_from(raw).unwrap_or(0).wrapping_sub(0x1000)
        } else {
            i16::try_from(raw).unwrap_or(0)
        };
        (tz != NO_TIME_ZONE && (-1440..=1440).contains(&tz)).then_some(tz)
    }

    /// Whether nothing is recorded (all bytes zero).
    pub fn is_unset(&self) -> bool {
        *self == Timestamp::default()
    }

    /// The instant, in UTC; `None` when unset or not a valid date.
    pub fn to_utc(&self) -> Option<DateTime<Utc>> {
        if self.is_unset() {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(i32::from(self.year), u32::from(self.month), u32::from(self.day))?;
        let micros = u32::from(self.centiseconds.min(99))
            .checked_mul(10_000)?
            .checked_add(u32::from(self.hundreds_of_microseconds.min(99)).checked_mul(100)?)?
            .checked_add(u32::from(self.microseconds.min(99)))?;
        let local = date.and_hms_micro_opt(
            u32::from(self.hour),
            u32::from(self.minute),
            u32::from(self.second.min(59)),
            micros,
        )?;
        let offset = i64::from(self.timezone_minutes().unwrap_or(0));
        let utc = local.checked_sub_signed(chrono::Duration::try_minutes(offset)?)?;
        Some(Utc.from_utc_datetime(&utc))
    }

    /// The timestamp of `t` in UTC (type 1, time zone 0).
    pub fn from_utc(t: &DateTime<Utc>) -> Self {
        let micros = t.timestamp_subsec_micros().min(999_999);
        let byte = |v: u32| u8::try_from(v).unwrap_or(0);
        Timestamp {
            type_and_timezone: 0x1000,
            year: i16::try_from(t.year()).unwrap_or(0),
            month: byte(t.month()),
            day: byte(t.day()),
            hour: byte(t.hour()),
            minute: byte(t.minute()),
            second: byte(t.second().min(59)),
            centiseconds: byte(micros / 10_000),
            hundreds_of_microseconds: byte((micros / 100) % 100),
            microseconds: byte(micros % 100),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_zones() {
        let t = Timestamp {
            type_and_timezone: 0x1000 | (0x1000 - 120),
            year: 2024,
            month: 2,
            day: 29,
            hour: 1,
            minute: 30,
            second: 5,
            centiseconds: 12,
            hundreds_of_microseconds: 34,
            microseconds: 56,
        };
        let mut v = Vec::new();
        t.write_to(&mut v).unwrap();
        assert_eq!(v.len(), TIMESTAMP_SIZE);
        assert_eq!(Timestamp::parse(&v).unwrap(), t);
        assert_eq!(t.timezone_minutes(), Some(-120));
        let utc = t.to_utc().unwrap();
        assert_eq!(utc.to_rfc3339(), "2024-02-29T03:30:05.123456+00:00");
        assert_eq!(Timestamp::from_utc(&utc).to_utc(), Some(utc));
        assert_eq!(Timestamp::default().to_utc(), None);
        let none = Timestamp { type_and_timezone: 0x1000 | (0x1000 - 2047), ..t };
        assert_eq!(none.timezone_minutes(), None);
    }
}
