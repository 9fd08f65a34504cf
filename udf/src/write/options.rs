//! What to build: the UDF revision and the identifiers and clock recorded in the volume.

use std::fmt;
use std::str::FromStr;

use super::error::WriteError;
use super::plan::{EXTENDED_FILE_ENTRY_HEADER, FILE_ENTRY_HEADER};
use super::tree::Time;

/// The OSTA UDF revision an image conforms to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    /// UDF 1.02: NSR02, File Entries; what DVD-Video players read.
    V1_02,
    /// UDF 1.50: NSR02.
    V1_50,
    /// UDF 2.01: NSR03, Extended File Entries.
    #[default]
    V2_01,
    /// UDF 2.50: NSR03 with a metadata partition and its mirror.
    V2_50,
    /// UDF 2.60: as 2.50.
    V2_60,
}

impl Revision {
    /// The revision as UDF records it in entity identifier suffixes (BCD-like: 0x0201 for 2.01).
    pub fn number(self) -> u16 {
        match self {
            Revision::V1_02 => 0x0102,
            Revision::V1_50 => 0x0150,
            Revision::V2_01 => 0x0201,
            Revision::V2_50 => 0x0250,
            Revision::V2_60 => 0x0260,
        }
    }

    /// True from 2.00 on: NSR03 and descriptor version 3 (ECMA-167 3rd edition).
    pub fn nsr03(self) -> bool {
        self >= Revision::V2_01
    }

    /// True when entries are Extended File Entries (2.01 and later).
    pub fn extended_entries(self) -> bool {
        self >= Revision::V2_01
    }

    /// True when the file system lives in a metadata partition (2.50, 2.60).
    pub fn metadata_partition(self) -> bool {
        self >= Revision::V2_50
    }

    /// Descriptor tag version (ECMA-167 3/7.2.2): 2 for NSR02, 3 for NSR03.
    pub fn descriptor_version(self) -> u16 {
        if self.nsr03() {
            3
        } else {
            2
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.number();
        write!(f, "{:x}.{:02x}", n >> 8, n & 0xff)
    }
}

impl FromStr for Revision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "1.02" | "102" => Revision::V1_02,
            "1.50" | "1.5" | "150" => Revision::V1_50,
            "2.01" | "201" => Revision::V2_01,
            "2.50" | "2.5" | "250" => Revision::V2_50,
            "2.60" | "2.6" | "260" => Revision::V2_60,
            _ => return Err(format!("unknown UDF revision {s:?} (1.02, 1.50, 2.01, 2.50 or 2.60)")),
        })
    }
}

/// Identifiers and settings of the image. Build with [`UdfOptions::default`] and the setters.
#[derive(Clone, Debug)]
pub struct UdfOptions {
    pub(crate) revision: Revision,
    pub(crate) volume_id: String,
    pub(crate) volume_set_id: Option<String>,
    pub(crate) application: String,
    pub(crate) recording_time: Time,
    pub(crate) vat: bool,
}

impl Default for UdfOptions {
    fn default() -> Self {
        UdfOptions {
            revision: Revision::default(),
            volume_id: "CDROM".into(),
            volume_set_id: None,
            application: String::new(),
            recording_time: Time::default(),
            vat: false,
        }
    }
}

/// Longest volume identifier in bytes of CS0 (a 32-byte d-string: the length byte and the compression ID).
const VOLUME_ID_MAX: usize = 31;
/// Longest volume set identifier (a 128-byte d-string).
const VOLUME_SET_ID_MAX: usize = 127;

impl UdfOptions {
    /// The UDF revision (default 2.01).
    #[must_use]
    pub fn revision(mut self, r: Revision) -> Self {
        self.revision = r;
        self
    }

    /// The volume label: the Primary Volume Descriptor's identifier (at most 30 Latin-1 characters), also the
    /// logical volume and file set identifier.
    #[must_use]
    pub fn volume_id(mut self, id: impl Into<String>) -> Self {
        self.volume_id = id.into();
        self
    }

    /// The volume set identifier; by default 16 hexadecimal digits from the recording time and the label
    /// (UDF 2.60 2.2.2.5 asks for a unique start).
    #[must_use]
    pub fn volume_set_id(mut self, id: impl Into<String>) -> Self {
        self.volume_set_id = Some(id.into());
        self
    }

    /// The application recorded in the Primary Volume Descriptor's Application Identifier (at most 23 bytes).
    #[must_use]
    pub fn application(mut self, app: impl Into<String>) -> Self {
        self.application = app.into();
        self
    }

    /// The recording time of every volume descriptor (the CLI passes `SOURCE_DATE_EPOCH` or the clock).
    #[must_use]
    pub fn recording_time(mut self, t: Time) -> Self {
        self.recording_time = t;
        self
    }

    /// A volume for sequentially recorded media (UDF 1.50 and 2.01, CD-R and DVD-R): the entries, directories and
    /// file set descriptor are recorded in a virtual partition, mapped to the physical partition by a Virtual
    /// Allocation Table whose entry is the volume's last block ([`super::UdfPlanner::place_vat`]).
    #[must_use]
    pub fn virtual_partition(mut self, on: bool) -> Self {
        self.vat = on;
        self
    }

    /// The chosen revision.
    pub fn get_revision(&self) -> Revision {
        self.revision
    }

    /// Whether the volume has a virtual partition.
    pub fn get_virtual_partition(&self) -> bool {
        self.vat
    }

    /// Partition reference of the file system (the file set descriptor, entries and directories): 1 (the metadata
    /// or virtual partition) or 0 (the physical one).
    pub(crate) fn fs_partition(&self) -> u16 {
        u16::from(self.revision.metadata_partition() || self.vat)
    }

    pub(crate) fn validate(&self) -> Result<(), WriteError> {
        let check = |what, value: &str, max: usize| {
            if super::names::encoded_len(value) > max {
                Err(WriteError::IdentifierTooLong { what, value: value.to_string(), max: max + 1 })
            } else {
                Ok(())
            }
        };
        if self.vat && !matches!(self.revision, Revision::V1_50 | Revision::V2_01) {
            return Err(WriteError::plan(format!(
                "a virtual partition is recorded in UDF 1.50 or 2.01, not {}",
                self.revision
            )));
        }
        check("volume identifier", &self.volume_id, VOLUME_ID_MAX)?;
        check("volume set identifier", &self.volume_set_id_or_default(), VOLUME_SET_ID_MAX)
    }

    pub(crate) fn volume_set_id_or_default(&self) -> String {
        match &self.volume_set_id {
            Some(s) => s.clone(),
            None => {
                let h = super::super::format::tag::crc16(self.volume_id.as_bytes());
                // The low 32 bits of the time are the unique part; the label's CRC separates images made in
                // the same second.
                let t = self.recording_time.secs as u32;
                format!("{t:08X}{h:04X}{:04X}", self.revision.number())
            }
        }
    }

    /// Bytes of an entry before its allocation descriptors.
    pub(crate) fn entry_header(&self) -> u32 {
        if self.revision.extended_entries() {
            EXTENDED_FILE_ENTRY_HEADER
        } else {
            FILE_ENTRY_HEADER
        }
    }

    /// Bytes of one allocation descriptor of a file's data: `long_ad` when the entry is in the metadata or
    /// virtual partition and the data in the physical one, `short_ad` otherwise.
    pub(crate) fn file_ad_size(&self) -> u64 {
        if self.fs_partition() == 1 {
            16
        } else {
            8
        }
    }
}
