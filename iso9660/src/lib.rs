//! odix iso9660 (being written).
pub mod write;
