//! Building small UDF images in memory for the unit tests.
