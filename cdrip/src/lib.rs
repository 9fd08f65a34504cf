//! odix cdrip (being written).
