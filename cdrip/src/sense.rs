//! Sense data: SPC-4 4.5 (fixed format 4.5.3, descriptor format 4.5.2), with the MMC-6 Annex F texts for the
//! additional sense codes an optical drive commonly returns.

use std::fmt;

/// The sense key (SPC-4 Table 48), the coarse class of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenseKey {
    /// 0h: nothing to report.
    NoSense,
    /// 1h: the command succeeded after the device recovered.
    RecoveredError,
    /// 2h: no medium, or the drive is becoming ready.
    NotReady,
    /// 3h: the medium could not be read (unrecovered read error and friends).
    MediumError,
    /// 4h: the drive itself failed.
    HardwareError,
    /// 5h: the CDB was not accepted (bad opcode, field, or LBA).
    IllegalRequest,
    /// 6h: medium changed, reset, or a parameter changed.
    UnitAttention,
    /// 7h: write protected.
    DataProtect,
    /// Bh: the command was aborted by the device.
    AbortedCommand,
    /// Any other value, kept as read.
    Other(u8),
}

impl SenseKey {
    /// Decodes the 4-bit key.
    #[must_use]
    pub fn from_u8(k: u8) -> Self {
        match k & 0x0f {
            0x0 => Self::NoSense,
            0x1 => Self::RecoveredError,
            0x2 => Self::NotReady,
            0x3 => Self::MediumError,
            0x4 => Self::HardwareError,
            0x5 => Self::IllegalRequest,
            0x6 => Self::UnitAttention,
            0x7 => Self::DataProtect,
            0xb => Self::AbortedCommand,
            other => Self::Other(other),
        }
    }

    /// The 4-bit value.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::NoSense => 0x0,
            Self::RecoveredError => 0x1,
            Self::NotReady => 0x2,
            Self::MediumError => 0x3,
            Self::HardwareError => 0x4,
            Self::IllegalRequest => 0x5,
            Self::UnitAttention => 0x6,
            Self::DataProtect => 0x7,
            Self::AbortedCommand => 0xb,
            Self::Other(k) => k,
        }
    }
}

impl fmt::Display for SenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::NoSense => "NO SENSE",
            Self::RecoveredError => "RECOVERED ERROR",
            Self::NotReady => "NOT READY",
            Self::MediumError => "MEDIUM ERROR",
            Self::HardwareError => "HARDWARE ERROR",
            Self::IllegalRequest => "ILLEGAL REQUEST",
            Self::UnitAttention => "UNIT ATTENTION",
            Self::DataProtect => "DATA PROTECT",
            Self::AbortedCommand => "ABORTED COMMAND",
            Self::Other(k) => return write!(f, "SENSE KEY 0x{k:x}"),
        };
        f.write_str(s)
    }
}

/// Parsed sense data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sense {
    /// Response code: 70h/71h fixed, 72h/73h descriptor.
    pub response_code: u8,
    /// Sense key.
    pub key: SenseKey,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// The INFORMATION field when the device marked it valid; for read errors, the LBA of the failing block.
    pub information: Option<u64>,
}

/// Fixed-format response codes (current, deferred).
const FIXED: [u8; 2] = [0x70, 0x71];
/// Descriptor-format response codes (current, deferred).
const DESCRIPTOR: [u8; 2] = [0x72, 0x73];
/// Descriptor type of the Information sense data descriptor (SPC-4 4.5.2.2).
const DESC_INFORMATION: u8 = 0x00;

impl Sense {
    /// Parses fixed or descriptor format sense data. `None` when `bytes` holds no recognisable sense (empty, or an
    /// unknown response code), which callers report as "no sense data".
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let code = *bytes.first()? & 0x7f;
        if FIXED.contains(&code) {
            // Fixed format: byte 0 bit 7 VALID, bytes 3..7 INFORMATION, byte 2 key, bytes 12/13 ASC/ASCQ.
            let key = SenseKey::from_u8(*bytes.get(2)?);
            let asc = bytes.get(12).copied().unwrap_or(0);
            let ascq = bytes.get(13).copied().unwrap_or(0);
            let valid = *bytes.first()? & 0x80 != 0;
            let information = match (valid, bytes.get(3..7).and_then(|b| <[u8; 4]>::try_from(b).ok())) {
                (true, Some(b)) => Some(u64::from(u32::from_be_bytes(b))),
                _ => None,
            };
            Some(Self { response_code: code, key, asc, ascq, information })
        } else if DESCRIPTOR.contains(&code) {
            let key = SenseKey::from_u8(*bytes.get(1)?);
            let asc = bytes.get(2).copied().unwrap_or(0);
            let ascq = bytes.get(3).copied().unwrap_or(0);
            // The descriptors: ADDITIONAL SENSE LENGTH bytes from byte 8, cut to what was returned.
            let additional = usize::from(bytes.get(7).copied().unwrap_or(0));
            let mut rest = bytes.get(8..).unwrap_or_default();
            rest = rest.get(..additional).unwrap_or(rest);
            let mut information = None;
            while let [kind, len, body @ ..] = rest {
                let len = usize::from(*len);
                let desc = body.get(..len).unwrap_or(body);
                // Information descriptor: byte 2 bit 7 VALID, bytes 4..12 the 64-bit INFORMATION.
                if let (DESC_INFORMATION, [flags, _, info @ ..]) = (*kind, desc) {
                    if flags & 0x80 != 0 {
                        if let Some(v) = info.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                            information = Some(u64::from_be_bytes(v));
                        }
                    }
                }
                rest = body.get(len..).unwrap_or_default();
            }
            Some(Self { response_code: code, key, asc, ascq, information })
        } else {
            None
        }
    }

    /// The text of ASC/ASCQ, when it is one of the codes odix knows.
    #[must_use]
    pub fn description(&self) -> Option<&'static str> {
        asc_text(self.asc, self.ascq)
    }

    /// True for INVALID COMMAND OPERATION CODE (05/20/00): the drive does not implement the command.
    #[must_use]
    pub fn is_invalid_opcode(&self) -> bool {
        self.key == SenseKey::IllegalRequest && self.asc == 0x20
    }

    /// True for INVALID FIELD IN CDB (05/24/00): the drive refused a parameter of the command.
    #[must_use]
    pub fn is_invalid_field(&self) -> bool {
        self.key == SenseKey::IllegalRequest && self.asc == 0x24
    }
}

impl fmt::Display for Sense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:02X}/{:02X}/{:02X}", self.key, self.key.code(), self.asc, self.ascq)?;
        if let Some(text) = self.description() {
            write!(f, " ({text})")?;
        }
        if let Some(info) = self.information {
            write!(f, " at LBA {info}")?;
        }
        Ok(())
    }
}

/// Texts of the additional sense codes an optical drive commonly returns (SPC-4 Annex D, MMC-6 Annex F).
#[must_use]
pub fn asc_text(asc: u8, ascq: u8) -> Option<&'static str> {
    Some(match (asc, ascq) {
        (0x00, 0x00) => "no additional sense information",
        (0x02, 0x00) => "no seek complete",
        (0x04, 0x00) => "logical unit not ready, cause not reportable",
        (0x04, 0x01) => "logical unit is in process of becoming ready",
        (0x04, 0x02) => "logical unit not ready, initializing command required",
        (0x04, 0x07) => "logical unit not ready, operation in progress",
        (0x06, 0x00) => "no reference position found",
        (0x09, 0x00) => "track following error",
        (0x11, 0x00) => "unrecovered read error",
        (0x11, 0x05) => "L-EC uncorrectable error",
        (0x11, 0x06) => "CIRC unrecovered error",
        (0x11, 0x11) => "read error, loss of streaming",
        (0x15, 0x00) => "random positioning error",
        (0x15, 0x02) => "positioning error detected by read of medium",
        (0x17, 0x00) => "recovered data with no error correction applied",
        (0x17, 0x01) => "recovered data with retries",
        (0x18, 0x00) => "recovered data with error correction applied",
        (0x1a, 0x00) => "parameter list length error",
        (0x20, 0x00) => "invalid command operation code",
        (0x21, 0x00) => "logical block address out of range",
        (0x24, 0x00) => "invalid field in CDB",
        (0x26, 0x00) => "invalid field in parameter list",
        (0x28, 0x00) => "not ready to ready change, medium may have changed",
        (0x29, 0x00) => "power on, reset, or bus device reset occurred",
        (0x2a, 0x01) => "mode parameters changed",
        (0x30, 0x00) => "incompatible medium installed",
        (0x30, 0x02) => "cannot read medium, incompatible format",
        (0x3a, 0x00) => "medium not present",
        (0x3a, 0x01) => "medium not present, tray closed",
        (0x3a, 0x02) => "medium not present, tray open",
        (0x3e, 0x02) => "timeout on logical unit",
        (0x44, 0x00) => "internal target failure",
        (0x57, 0x00) => "unable to recover table-of-contents",
        (0x64, 0x00) => "illegal mode for this track",
        (0x64, 0x01) => "invalid packet size",
        (0x6f, 0x00) => "copy protection key exchange failure, authentication failure",
        (0x6f, 0x03) => "read of scrambled sector without authentication",
        _ => return None,
    })
}

/// Builds fixed-format sense bytes (18 bytes), as a device would return them; used by the simulated drive.
#[must_use]
pub fn fixed_sense(key: SenseKey, asc: u8, ascq: u8, information: Option<u32>) -> Vec<u8> {
    let info = information.unwrap_or(0).to_be_bytes();
    let code = 0x70 | if information.is_some() { 0x80 } else { 0 };
    // Bytes 0..8: response code, segment, key, INFORMATION, additional sense length (bytes 8..18); then the
    // command-specific information, ASC, ASCQ and the rest.
    let mut s = vec![code, 0, key.code()];
    s.extend_from_slice(&info);
    s.extend_from_slice(&[10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0]);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_round_trip() {
        let s = Sense::parse(&fixed_sense(SenseKey::MediumError, 0x11, 0, Some(1234))).unwrap();
        assert_eq!(s.key, SenseKey::MediumError);
        assert_eq!((s.asc, s.ascq), (0x11, 0));
        assert_eq!(s.information, Some(1234));
        assert_eq!(s.to_string(), "MEDIUM ERROR 03/11/00 (unrecovered read error) at LBA 1234");
        let s = Sense::parse(&fixed_sense(SenseKey::IllegalRequest, 0x20, 0, None)).unwrap();
        assert!(s.is_invalid_opcode());
        assert_eq!(s.information, None);
    }

    #[test]
    fn descriptor_with_information() {
        let mut b = vec![0x72, 0x03, 0x11, 0x00, 0, 0, 0, 12];
        b.extend_from_slice(&[0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x2c]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.key, SenseKey::MediumError);
        assert_eq!(s.information, Some(300));
    }

    #[test]
    fn information_after_another_descriptor_and_cut_short() {
        assert_eq!(fixed_sense(SenseKey::NoSense, 0, 0, None).len(), 18);
        // A stream commands descriptor (type 04h, 2 bytes), then the information descriptor.
        let mut b = vec![0x72, 0x03, 0x11, 0x00, 0, 0, 0, 16, 0x04, 0x02, 0, 0];
        b.extend_from_slice(&[0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x2c]);
        assert_eq!(Sense::parse(&b).unwrap().information, Some(300));
        // The additional sense length cuts the information descriptor: no INFORMATION.
        b[7] = 15;
        assert_eq!(Sense::parse(&b).unwrap().information, None);
        // Descriptor lengths that run past the end, or zero.
        assert_eq!(Sense::parse(&[0x72, 0x03, 0x11, 0, 0, 0, 0, 4, 0x00, 0xff, 0x80, 0]).unwrap().information, None);
        assert_eq!(Sense::parse(&[0x73, 0x03, 0x11, 0, 0, 0, 0, 6, 0x01, 0, 0x01, 0, 0, 0]).unwrap().information, None);
    }

    #[test]
    fn short_and_unknown() {
        assert_eq!(Sense::parse(&[]), None);
        assert_eq!(Sense::parse(&[0x70]), None);
        assert_eq!(Sense::parse(&[0x05, 1, 2]), None);
        let s = Sense::parse(&[0x70, 0, 0x02]).unwrap();
        assert_eq!((s.key, s.asc), (SenseKey::NotReady, 0));
        // Descriptor whose declared length runs past the buffer.
        assert!(Sense::parse(&[0x72, 0x03, 0x11, 0, 0, 0, 0, 200, 0x00, 0x0a, 0x80]).unwrap().information.is_none());
    }
}
