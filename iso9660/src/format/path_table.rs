//! ECMA-119 (4th edition) 9.4: the path table, recorded once little-endian (type L) and once big-endian
//! (type M). Readers here walk directories instead; the tables are parsed to be checked against each other.

use super::{be16, be32, bytes, le16, le32, u8_at};

/// One path table record (9.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTableRecord {
    /// Extended attribute record length, in sectors.
    pub ext_attr_length: u8,
    /// First sector of the directory's extent.
    pub extent: u32,
    /// Number (1-based) of the parent directory's record in the table.
    pub parent: u16,
    /// Directory identifier bytes (`[0]` for the root).
    pub identifier: Vec<u8>,
}

/// Byte order of a path table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Type L.
    Little,
    /// Type M.
    Big,
}

/// Why a path table could not be parsed: the byte offset of the bad record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathTableError {
    /// Offset of the record in the table.
    pub offset: usize,
}

/// Parses a whole path table of `size` bytes from `buf`, up to `max_records` records.
pub fn parse(buf: &[u8], order: Order, max_records: usize) -> Result<Vec<PathTableRecord>, PathTableError> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < buf.len() && out.len() < max_records {
        let err = PathTableError { offset: off };
        let id_len = u8_at(buf, off).ok_or(err)?;
        if id_len == 0 {
            return Err(err);
        }
        let ext_attr_length = u8_at(buf, off.checked_add(1).ok_or(err)?).ok_or(err)?;
        let (extent, parent) = match order {
            Order::Little => {
                (le32(buf, off.saturating_add(2)).ok_or(err)?, le16(buf, off.saturating_add(6)).ok_or(err)?)
            }
            Order::Big => (be32(buf, off.saturating_add(2)).ok_or(err)?, be16(buf, off.saturating_add(6)).ok_or(err)?),
        };
        let identifier = bytes(buf, off.saturating_add(8), usize::from(id_len)).ok_or(err)?.to_vec();
        out.push(PathTableRecord { ext_attr_length, extent, parent, identifier });
        // 8 fixed bytes, the identifier, and a pad byte when its length is odd (9.4.7).
        let len = 8usize.saturating_add(usize::from(id_len)).saturating_add(usize::from(id_len % 2));
        off = off.saturating_add(len);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_orders() {
        let mut l = vec![1, 0, 20, 0, 0, 0, 1, 0, 0, 0];
        l.extend_from_slice(&[3, 0, 21, 0, 0, 0, 1, 0, b'D', b'I', b'R', 0]);
        let recs = parse(&l, Order::Little, 100).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].extent, 21);
        assert_eq!(recs[1].identifier, b"DIR");
        let mut m = vec![1, 0, 0, 0, 0, 20, 0, 1, 0, 0];
        m.extend_from_slice(&[3, 0, 0, 0, 0, 21, 0, 1, b'D', b'I', b'R', 0]);
        assert_eq!(parse(&m, Order::Big, 100).unwrap(), recs);
        assert!(parse(&l[..14], Order::Little, 100).is_err());
    }
}
