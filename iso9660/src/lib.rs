//! odix iso9660 (being written).
