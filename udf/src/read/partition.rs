//! From a (partition reference, logical block) to a physical block, for each kind of partition map.

use std::collections::BTreeMap;

use crate::error::{Checked, Error, Result};

/// One run of a metadata file: `blocks` blocks of the file from `file_block` on lie at `lblock` of the
/// physical partition (or are not recorded when `lblock` is `None`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub(crate) file_block: u64,
    pub(crate) blocks: u64,
    pub(crate) lblock: Option<u32>,
}

/// How a partition map resolves blocks.
#[derive(Clone, Debug)]
pub(crate) enum Mapping {
    /// Type 1: `start + block`.
    Physical { start: u64, length: u64 },
    /// Sparable: as type 1, except packets listed in the sparing table.
    Sparable { start: u64, length: u64, packet: u32, remap: BTreeMap<u32, u32> },
    /// Virtual: through the VAT into the physical map `phys`.
    Virtual { phys: u16, vat: Vec<u32> },
    /// Metadata: through the metadata file (or its mirror) into the physical map `phys`.
    Metadata { phys: u16, main: Option<Vec<Run>>, mirror: Option<Vec<Run>> },
    /// Being built: a reference to it is a loop.
    Building { what: &'static str },
    /// Not readable (an unknown map type).
    Unreadable { why: String },
}

/// What kind of partition map a reference names, for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappingKind {
    /// Type 1.
    Physical,
    /// Sparable.
    Sparable,
    /// Virtual (VAT).
    Virtual,
    /// Metadata partition.
    Metadata,
    /// Not readable.
    Unreadable,
}

impl Mapping {
    pub(crate) fn kind(&self) -> MappingKind {
        match self {
            Mapping::Physical { .. } => MappingKind::Physical,
            Mapping::Sparable { .. } => MappingKind::Sparable,
            Mapping::Virtual { .. } => MappingKind::Virtual,
            Mapping::Metadata { .. } => MappingKind::Metadata,
            Mapping::Building { .. } | Mapping::Unreadable { .. } => MappingKind::Unreadable,
        }
    }
}

/// Where a run of logical blocks lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// At this physical block, for this many blocks (at least 1).
    At { phys: u64, blocks: u64 },
    /// Not recorded (a metadata file hole): reads as zeros, for this many blocks.
    Hole { blocks: u64 },
}

pub(crate) struct Maps {
    pub(crate) maps: Vec<Mapping>,
}

impl Maps {
    fn get(&self, reference: u16) -> Result<&Mapping> {
        self.maps.get(usize::from(reference)).ok_or(Error::PartitionReference { reference, count: self.maps.len() })
    }

    /// Where logical block `block` of partition `reference` lies, and how many blocks from it (at most `want`,
    /// at least 1) are contiguous. `mirror` reads a metadata partition through its mirror file.
    pub(crate) fn place(&self, reference: u16, block: u64, want: u64, mirror: bool) -> Result<Place> {
        let want = want.max(1);
        match self.get(reference)? {
            Mapping::Physical { start, length } => {
                if block >= *length {
                    return Err(Error::OutsidePartition { reference, block, length: *length });
                }
                let blocks = want.min(length.sub_or(block, "partition")?);
                Ok(Place::At { phys: start.add_or(block, "physical block")?, blocks })
            }
            Mapping::Sparable { start, length, packet, remap } => {
                if block >= *length {
                    return Err(Error::OutsidePartition { reference, block, length: *length });
                }
                let packet = u64::from(*packet).max(1);
                let in_packet = block.checked_rem(packet).unwrap_or(0);
                let first = block.sub_or(in_packet, "packet")?;
                let to_packet_end = packet.sub_or(in_packet, "packet")?;
                let limit = want.min(length.sub_or(block, "partition")?);
                if let Some(mapped) = u32::try_from(first).ok().and_then(|f| remap.get(&f)) {
                    return Ok(Place::At {
                        phys: u64::from(*mapped).add_or(in_packet, "spare block")?,
                        blocks: limit.min(to_packet_end),
                    });
                }
                // Contiguous up to the next remapped packet.
                let next_remapped = u32::try_from(first)
                    .ok()
                    .and_then(|f| remap.range(f.saturating_add(1)..).next().map(|(o, _)| u64::from(*o)))
                    .unwrap_or(u64::MAX);
                let blocks = limit.min(next_remapped.saturating_sub(block)).max(1);
                Ok(Place::At { phys: start.add_or(block, "physical block")?, blocks })
            }
            Mapping::Virtual { phys, vat } => {
                let idx = usize::try_from(block).map_err(|_| Error::Overflow { what: "virtual block" })?;
                let Some(&target) = vat.get(idx) else {
                    return Err(Error::OutsidePartition {
                        reference,
                        block,
                        length: u64::try_from(vat.len()).unwrap_or(u64::MAX),
                    });
                };
                if target == crate::format::partition::VAT_UNUSED {
                    return Err(Error::invalid("VAT", block, 0, format!("virtual block {block} is not in use")));
                }
                // Extend while the VAT maps consecutive virtual blocks to consecutive blocks.
                let mut blocks = 1u64;
                while blocks < want {
                    let next = usize::try_from(blocks).ok().and_then(|b| idx.checked_add(b)).and_then(|i| vat.get(i));
                    match next {
                        Some(&t) if u64::from(t) == u64::from(target).saturating_add(blocks) => {
                            blocks = blocks.saturating_add(1)
                        }
                        _ => break,
                    }
                }
                let underlying = self.place_physical(*phys, u64::from(target), blocks)?;
                Ok(underlying)
            }
            Mapping::Metadata { phys, main, mirror: mirror_runs } => {
                let runs = match (mirror, main, mirror_runs) {
                    (false, Some(m), _) | (true, _, Some(m)) => m,
                    (false, None, Some(m)) => m,
                    _ => return Err(Error::invalid("metadata partition", block, 0, "no readable metadata file")),
                };
                let i = runs.partition_point(|r| r.file_block.saturating_add(r.blocks) <= block);
                let Some(run) = runs.get(i).filter(|r| r.file_block <= block) else {
                    let length = runs.last().map_or(0, |r| r.file_block.saturating_add(r.blocks));
                    return Err(Error::OutsidePartition { reference, block, length });
                };
                let off = block.sub_or(run.file_block, "metadata block")?;
                let blocks = want.min(run.blocks.sub_or(off, "metadata run")?);
                match run.lblock {
                    None => Ok(Place::Hole { blocks }),
                    Some(l) => self.place_physical(*phys, u64::from(l).add_or(off, "metadata block")?, blocks),
                }
            }
            Mapping::Building { what } => Err(Error::Loop { what, block }),
            Mapping::Unreadable { why } => Err(Error::Unsupported { what: why.clone() }),
        }
    }

    /// As [`Self::place`], for the physical map under a virtual or metadata partition (never another virtual
    /// or metadata partition, so resolution is at most two levels deep).
    fn place_physical(&self, reference: u16, block: u64, want: u64) -> Result<Place> {
        match self.get(reference)? {
            Mapping::Physical { .. } | Mapping::Sparable { .. } => self.place(reference, block, want, false),
            Mapping::Building { what } => Err(Error::Loop { what, block }),
            _ => Err(Error::invalid("partition maps", block, 0, "a virtual or metadata partition lies on another one")),
        }
    }

    /// Whether a metadata partition with a mirror file is behind `reference`.
    pub(crate) fn has_mirror(&self, reference: u16) -> bool {
        matches!(self.maps.get(usize::from(reference)), Some(Mapping::Metadata { main: Some(_), mirror: Some(_), .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparable_and_virtual() {
        let mut remap = BTreeMap::new();
        remap.insert(32, 5000);
        let maps = Maps {
            maps: vec![
                Mapping::Sparable { start: 100, length: 1000, packet: 32, remap },
                Mapping::Virtual { phys: 0, vat: vec![3, 4, 5, 40, crate::format::partition::VAT_UNUSED] },
                Mapping::Virtual { phys: 1, vat: vec![0] },
            ],
        };
        assert_eq!(maps.place(0, 0, 100, false).unwrap(), Place::At { phys: 100, blocks: 32 });
        assert_eq!(maps.place(0, 33, 100, false).unwrap(), Place::At { phys: 5001, blocks: 31 });
        assert_eq!(maps.place(0, 64, 2000, false).unwrap(), Place::At { phys: 164, blocks: 936 });
        assert!(maps.place(0, 1000, 1, false).is_err());
        assert_eq!(maps.place(1, 0, 10, false).unwrap(), Place::At { phys: 103, blocks: 3 });
        assert_eq!(maps.place(1, 3, 10, false).unwrap(), Place::At { phys: 5008, blocks: 1 });
        assert!(maps.place(1, 4, 1, false).is_err());
        assert!(maps.place(1, 5, 1, false).is_err());
        assert!(maps.place(2, 0, 1, false).is_err());
        assert!(maps.place(7, 0, 1, false).is_err());
    }
}
