//! ECMA-167 3rd edition 4/14.16 Path Component: the contents of a symbolic link (UDF 2.60 2.3.12), one
//! component after another.

use std::io::{self, Write};

use byteorder::{WriteBytesExt, LE};

use super::{cs0, le_u16, le_u8, run, slice};
use crate::error::{Error, Result};

/// Size of the fixed part of a path component.
pub const PATH_COMPONENT_HEADER_SIZE: usize = 4;

/// Component types (4/14.16.1.1).
pub mod component_type {
    /// Root of an agreed-upon directory hierarchy (with an empty identifier: the root).
    pub const ROOT_AGREED: u8 = 1;
    /// Root of the file system holding the link (`/`).
    pub const ROOT: u8 = 2;
    /// Parent directory (`..`).
    pub const PARENT: u8 = 3;
    /// Current directory (`.`).
    pub const CURRENT: u8 = 4;
    /// A named entry.
    pub const NAMED: u8 = 5;
}

/// ECMA-167 4/14.16.1 Path Component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathComponent {
    /// One of the [`component_type`] constants.
    pub component_type: u8,
    /// Component file version number (0).
    pub version: u16,
    /// Identifier, CS0 d-characters (empty except for named components).
    pub identifier: Vec<u8>,
}

impl PathComponent {
    /// Parses one component at the start of `b`; returns it and its length.
    pub fn parse(b: &[u8]) -> Result<(Self, usize)> {
        let (component_type, len, version) = run("path component", b, PATH_COMPONENT_HEADER_SIZE, |i| {
            let (i, t) = le_u8(i)?;
            let (i, l) = le_u8(i)?;
            let (i, v) = le_u16(i)?;
            Ok((i, (t, l, v)))
        })?;
        let identifier = slice("path component identifier", b, PATH_COMPONENT_HEADER_SIZE, usize::from(len))?.to_vec();
        Ok((
            PathComponent { component_type, version, identifier },
            PATH_COMPONENT_HEADER_SIZE.saturating_add(usize::from(len)),
        ))
    }

    /// Writes the component.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_u8(self.component_type)?;
        w.write_u8(u8::try_from(self.identifier.len()).map_err(io::Error::other)?)?;
        w.write_u16::<LE>(self.version)?;
        w.write_all(&self.identifier)
    }
}

/// Parses the whole contents of a symbolic link.
pub fn parse_all(b: &[u8]) -> Result<Vec<PathComponent>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(rest) = b.get(at..).filter(|r| !r.is_empty()) {
        let (c, len) = PathComponent::parse(rest)?;
        out.push(c);
        at = at.saturating_add(len);
    }
    Ok(out)
}

/// The POSIX path the components spell: a leading `/` for a root component, `..` and `.` for parent and
/// current, names decoded from CS0. A component naming an agreed-upon root other than the root itself, or an
/// unknown type, is an error.
pub fn to_posix(components: &[PathComponent]) -> Result<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for c in components {
        match c.component_type {
            component_type::ROOT_AGREED | component_type::ROOT => {
                if component_type::ROOT_AGREED == c.component_type && !c.identifier.is_empty() {
                    return Err(Error::Unsupported { what: "symbolic link to an agreed-upon root".into() });
                }
                parts.clear();
                absolute = true;
            }
            component_type::PARENT => parts.push("..".into()),
            component_type::CURRENT => parts.push(".".into()),
            component_type::NAMED => parts.push(cs0::decode(&c.identifier)),
            t => return Err(Error::invalid("path component", 0, 0, format!("component type {t}"))),
        }
    }
    let joined = parts.join("/");
    Ok(if absolute { format!("/{joined}") } else { joined })
}

/// The components of a POSIX path, for writing a symbolic link: `/` first for an absolute path, repeated and
/// trailing slashes dropped.
pub fn from_posix(target: &str) -> Vec<PathComponent> {
    let mut out = Vec::new();
    if target.starts_with('/') {
        out.push(PathComponent { component_type: component_type::ROOT, version: 0, identifier: Vec::new() });
    }
    for part in target.split('/').filter(|p| !p.is_empty()) {
        let c = match part {
            ".." => PathComponent { component_type: component_type::PARENT, version: 0, identifier: Vec::new() },
            "." => PathComponent { component_type: component_type::CURRENT, version: 0, identifier: Vec::new() },
            name => PathComponent { component_type: component_type::NAMED, version: 0, identifier: cs0::encode(name) },
        };
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for t in ["/usr/bin/env", "../x/./y", "file", "/", "日本/語"] {
            let comps = from_posix(t);
            let mut v = Vec::new();
            for c in &comps {
                c.write_to(&mut v).unwrap();
            }
            let parsed = parse_all(&v).unwrap();
            assert_eq!(parsed, comps);
            assert_eq!(to_posix(&parsed).unwrap(), t);
        }
        assert!(parse_all(&[5, 10, 0, 0, 8]).is_err());
        assert!(to_posix(&[PathComponent { component_type: 9, version: 0, identifier: vec![] }]).is_err());
    }
}
