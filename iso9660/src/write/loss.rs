//! What the writer had to change to fit a tree into the format, counted per kind, so that the caller can say so
//! once instead of silently recording something else.

use std::fmt;

/// A kind of lossy change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LossKind {
    /// Joliet names longer than the limit, cut to it (the limit in UCS-2 characters: 64, or 103 with
    /// `joliet_long`).
    JolietNameCut {
        /// The limit.
        max: usize,
    },
    /// Characters Joliet cannot hold (bytes that are not UTF-8, characters outside the BMP, control characters,
    /// `* / : ; ? \`) recorded as `_` in Joliet names.
    JolietCharacterReplaced,
    /// Names cut to fit the ISO 9660 interchange level, with no Rock Ridge name to keep them whole.
    IsoNameCut {
        /// The interchange level.
        level: u8,
    },
    /// Times after 2155-12-31 23:59:59 UTC (the latest a directory record or Rock Ridge `TF` date holds, ECMA-119
    /// 9.1.5), recorded as that time.
    DateAfter2155,
    /// Times before 1900-01-01 00:00:00 UTC (the earliest a recording date holds), recorded as that time.
    DateBefore1900,
}

/// One kind of lossy change, how many entries it touched and one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loss {
    /// What was changed.
    pub kind: LossKind,
    /// Entries changed this way.
    pub count: u64,
    /// Path in the image of the first one (`/` separated, from the root).
    pub example: String,
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.count;
        let s = if n == 1 { "" } else { "s" };
        match self.kind {
            LossKind::JolietNameCut { max } => write!(f, "{n} Joliet name{s} cut to {max} characters")?,
            LossKind::JolietCharacterReplaced => {
                write!(f, "{n} Joliet name{s} with characters Joliet cannot hold, recorded as _")?
            }
            LossKind::IsoNameCut { level } => {
                write!(f, "{n} name{s} cut to fit ISO 9660 level {level}, with no Rock Ridge name to keep them whole")?
            }
            LossKind::DateAfter2155 => {
                write!(f, "{n} entr{} with times after 2155, recorded as 2155-12-31 23:59:59 UTC", plural_y(n))?
            }
            LossKind::DateBefore1900 => {
                write!(f, "{n} entr{} with times before 1900, recorded as 1900-01-01 00:00:00 UTC", plural_y(n))?
            }
        }
        write!(f, ", e.g. {}", self.example)
    }
}

fn plural_y(n: u64) -> &'static str {
    if n == 1 {
        "y"
    } else {
        "ies"
    }
}

/// Counts changes per kind, keeping the first example of each.
#[derive(Debug, Default)]
pub(crate) struct LossCounter {
    seen: Vec<Loss>,
}

impl LossCounter {
    /// Counts one entry changed as `kind`; `path` is called only for the first one.
    pub(crate) fn add(&mut self, kind: LossKind, path: impl FnOnce() -> String) {
        match self.seen.iter_mut().find(|l| l.kind == kind) {
            Some(l) => l.count = l.count.saturating_add(1),
            None => self.seen.push(Loss { kind, count: 1, example: path() }),
        }
    }

    /// The changes, in a fixed order of kinds.
    pub(crate) fn finish(mut self) -> Vec<Loss> {
        self.seen.sort_by_key(|l| l.kind);
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let mut c = LossCounter::default();
        c.add(LossKind::JolietNameCut { max: 64 }, || "/a/long".into());
        c.add(LossKind::DateAfter2155, || "/t".into());
        c.add(LossKind::JolietNameCut { max: 64 }, || "/b".into());
        let v = c.finish();
        assert_eq!(v[0].to_string(), "2 Joliet names cut to 64 characters, e.g. /a/long");
        assert_eq!(v[1].to_string(), "1 entry with times after 2155, recorded as 2155-12-31 23:59:59 UTC, e.g. /t");
    }
}
