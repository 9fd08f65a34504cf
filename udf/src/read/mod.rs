//! Walking a UDF volume lazily: the volume structures are read once by [`Volume::open`]; a directory is read
//! when it is listed, an entry when it is asked for, file data as it is read.

mod dir;
mod entry;
mod file;
mod io;
mod partition;
mod volume;

pub use dir::DirEntry;
pub use entry::{Data, DataExtent, Entry};
pub use file::{DataPastEnd, FileReader};
pub use partition::MappingKind;
pub use volume::{Volume, VolumeInfo};
