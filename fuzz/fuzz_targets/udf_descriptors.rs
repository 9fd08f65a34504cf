//! UDF volume structures one at a time (ECMA-167 part 3 and 4 descriptors, OSTA UDF 2.01): the first byte picks
//! the structure, the rest is its bytes. Every parser must return an error, never panic, on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odix_udf::format::{
    anchor::AnchorVolumeDescriptorPointer, cs0, entity, file_set::FileSetDescriptor,
    integrity::LogicalVolumeIntegrityDescriptor, partition, tag, timestamp::Timestamp, volume,
    vrs::VolumeStructureDescriptor,
};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, b)) = input.split_first() else { return };
    match selector % 16 {
        0 => drop(tag::verify(b, None)),
        1 => drop(tag::verify(b, Some(256))),
        2 => drop(AnchorVolumeDescriptorPointer::parse(b)),
        3 => drop(volume::PrimaryVolumeDescriptor::parse(b)),
        4 => drop(volume::ImplementationUseVolumeDescriptor::parse(b)),
        5 => drop(volume::LvInfo::parse(b)),
        6 => drop(partition::PartitionDescriptor::parse(b)),
        7 => drop(partition::LogicalVolumeDescriptor::parse(b)),
        8 => {
            // A partition map table as the LVD holds it: maps back to back.
            let mut rest = b;
            while let Ok((_, used)) = partition::PartitionMap::parse(rest) {
                if used == 0 || used > rest.len() {
                    break;
                }
                rest = &rest[used..];
            }
        }
        9 => drop(volume::UnallocatedSpaceDescriptor::parse(b)),
        10 => drop(volume::TerminatingDescriptor::parse(b)),
        11 => drop(volume::VolumeDescriptorPointer::parse(b)),
        12 => drop(LogicalVolumeIntegrityDescriptor::parse(b)),
        13 => drop(FileSetDescriptor::parse(b)),
        14 => {
            let _ = VolumeStructureDescriptor::parse(b);
            let _ = Timestamp::parse(b).map(|t| t.timezone_minutes());
            let _ = entity::EntityId::parse(b);
            let _ = entity::Charspec::parse(b);
        }
        _ => {
            let _ = cs0::decode(b);
            let _ = cs0::decode_dstring(b);
            if let Ok(s) = std::str::from_utf8(b) {
                let _ = cs0::posix_name(s, b);
                if let Ok(enc) = cs0::encode_dstring(s, 255) {
                    let _ = cs0::decode_dstring(&enc);
                }
            }
        }
    }
});
