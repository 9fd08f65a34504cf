//! odix udf (being written).
