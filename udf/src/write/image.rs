//! A UDF-only image written in one pass: the VRS at 16, the fixed structures at 256, the partition with the
//! metadata area, then every file's data in [`Tree::data_order`], the mirror and the end anchors.

use std::io::{self, Write};

use super::emit::put_zeros;
use super::error::WriteError;
use super::options::UdfOptions;
use super::plan::{Placement, RegionKind, UdfLayout, UdfPlanner, BLOCK_SIZE, HEAD_END};
use super::tree::{DataId, Tree};

/// Block of the Volume Recognition Sequence in an image without ISO 9660 descriptors (ECMA-167 2/8.3: it starts
/// at byte 32768).
pub const VRS_BLOCK: u32 = 16;

/// A UDF-only image, planned: [`UdfImage::size`] is known before a byte is written.
#[derive(Debug)]
pub struct UdfImage<'t> {
    layout: UdfLayout<'t>,
    /// Data items with their first block and size, in block order.
    data: Vec<(DataId, u32, u64)>,
}

impl<'t> UdfImage<'t> {
    /// Plans the image of `tree`.
    pub fn plan(tree: &'t Tree, opts: UdfOptions) -> Result<Self, WriteError> {
        let planner = UdfPlanner::new(tree, opts)?;
        let mut next = u64::from(HEAD_END) + u64::from(planner.metadata_blocks());
        let mut data = Vec::new();
        for (id, size) in tree.data_order() {
            let start = u32::try_from(next).map_err(|_| WriteError::ImageTooLarge { blocks: next })?;
            data.push((id, start, size));
            next += size.div_ceil(u64::from(BLOCK_SIZE));
        }
        let mirror = u32::try_from(next).map_err(|_| WriteError::ImageTooLarge { blocks: next })?;
        next += u64::from(planner.mirror_blocks());
        let tail_start = u32::try_from(next).map_err(|_| WriteError::ImageTooLarge { blocks: next })?;
        let index: std::collections::HashMap<DataId, u32> = data.iter().map(|(d, s, _)| (*d, *s)).collect();
        let lookup = |d: DataId| index.get(&d).copied();
        let tail_blocks = planner.tail_blocks(u64::from(tail_start));
        let layout = planner.place(&Placement {
            vrs: VRS_BLOCK,
            partition_start: HEAD_END,
            mirror,
            tail_start,
            tail_blocks,
            data: &lookup,
        })?;
        Ok(UdfImage { layout, data })
    }

    /// Size of the image in bytes.
    pub fn size(&self) -> u64 {
        u64::from(self.layout.total_blocks()) * u64::from(BLOCK_SIZE)
    }

    /// The placed layout.
    pub fn layout(&self) -> &UdfLayout<'t> {
        &self.layout
    }

    /// Data items in the order [`UdfImage::write`] asks for them: id, first block, size in bytes.
    pub fn data(&self) -> &[(DataId, u32, u64)] {
        &self.data
    }

    /// Writes the whole image to `w` in order, never seeking. `copy(id, size, w)` must write the `size` bytes
    /// of data item `id` and return how many it wrote; the writer pads them to a whole block.
    pub fn write<W, F>(&self, mut w: W, mut copy: F) -> Result<W, WriteError>
    where
        W: Write,
        F: FnMut(DataId, u64, &mut W) -> io::Result<u64>,
    {
        let block = u64::from(BLOCK_SIZE);
        let mut pos: u64 = 0;
        let regions = self.layout.regions();
        let mut items = self.data.iter().peekable();
        let gap_to = |w: &mut W, pos: &mut u64, to: u64| -> Result<(), WriteError> {
            if to < *pos {
                return Err(WriteError::plan(format!("block {} already written (at {})", to, *pos)));
            }
            put_zeros(w, (to - *pos) * block)?;
            *pos = to;
            Ok(())
        };
        for r in regions {
            while let Some(&&(id, start, size)) = items.peek() {
                if u64::from(start) >= u64::from(r.start) {
                    break;
                }
                items.next();
                gap_to(&mut w, &mut pos, u64::from(start))?;
                let n = copy(id, size, &mut w)?;
                if n != size {
                    return Err(WriteError::plan(format!("data item {} gave {n} bytes, planned {size}", id.0)));
                }
                put_zeros(&mut w, (block - size % block) % block)?;
                pos += size.div_ceil(block);
            }
            gap_to(&mut w, &mut pos, u64::from(r.start))?;
            match r.kind {
                RegionKind::Vrs => self.layout.write_vrs(&mut w)?,
                RegionKind::Head => self.layout.write_head(&mut w)?,
                RegionKind::Metadata => self.layout.write_metadata(&mut w)?,
                RegionKind::Mirror => self.layout.write_mirror(&mut w)?,
                RegionKind::Tail => self.layout.write_tail(&mut w)?,
            }
            pos += u64::from(r.blocks);
        }
        if items.next().is_some() {
            return Err(WriteError::plan("file data after the tail"));
        }
        w.flush()?;
        Ok(w)
    }
}
