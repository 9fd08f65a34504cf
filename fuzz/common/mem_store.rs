//! The fuzz input as a store of bytes, so that no file is written.

use odix_cdrip::store::ByteStore;

#[derive(Debug)]
pub struct Mem(pub Vec<u8>);

impl ByteStore for Mem {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(std::io::Error::other)?;
        let end = start.checked_add(buf.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(self.0.get(start..end).ok_or(std::io::ErrorKind::UnexpectedEof)?);
        Ok(())
    }
}
