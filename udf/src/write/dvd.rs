//! DVD-Video order: `VIDEO_TS` and `AUDIO_TS` first in the root, and the `VIDEO_TS` files in the order players
//! read them (DVD Specifications for Read-Only Disc, Part 3: the video manager, then each title set's IFO,
//! menu VOB, title VOBs 1 to 9 and backup IFO).

use super::tree::{NodeKind, Tree};

/// Position of a `VIDEO_TS` file name in player order (`VIDEO_TS.IFO` is 0), or `None` for other names.
pub fn dvd_video_rank(name: &str) -> Option<u32> {
    let n = name.to_ascii_uppercase();
    match n.as_str() {
        "VIDEO_TS.IFO" => return Some(0),
        "VIDEO_TS.VOB" => return Some(1),
        "VIDEO_TS.BUP" => return Some(2),
        _ => {}
    }
    // VTS_nn_k.EXT
    let b = n.as_bytes();
    if b.len() != 12 || !n.starts_with("VTS_") || b[6] != b'_' || b[8] != b'.' {
        return None;
    }
    let title: u32 = n.get(4..6)?.parse().ok()?;
    let part = u32::from(b[7].checked_sub(b'0')?);
    if !(1..=99).contains(&title) || part > 9 {
        return None;
    }
    let within = match (part, n.get(9..)?) {
        (0, "IFO") => 0,
        (k, "VOB") => 1 + k,
        (0, "BUP") => 11,
        _ => return None,
    };
    Some(3 + (title - 1) * 12 + within)
}

/// Reorders `tree` for a DVD-Video disc: `VIDEO_TS` then `AUDIO_TS` first in the root, and the files of
/// `VIDEO_TS` in player order, other names after them in their previous order.
pub fn sort_for_dvd_video(tree: &mut Tree) {
    let root_rank = |name: &str| match name.to_ascii_uppercase().as_str() {
        "VIDEO_TS" => 0,
        "AUDIO_TS" => 1,
        _ => 2,
    };
    tree.sort_entries_by(Tree::ROOT, |a, b| root_rank(a.0).cmp(&root_rank(b.0)));
    let video = tree
        .entries(Tree::ROOT)
        .find(|(n, id)| n.eq_ignore_ascii_case("VIDEO_TS") && matches!(tree.kind(*id), Some(NodeKind::Dir)))
        .map(|(_, id)| id);
    if let Some(v) = video {
        tree.sort_entries_by(v, |a, b| {
            dvd_video_rank(a.0).unwrap_or(u32::MAX).cmp(&dvd_video_rank(b.0).unwrap_or(u32::MAX))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_order() {
        let names = [
            "VIDEO_TS.IFO",
            "VIDEO_TS.VOB",
            "VIDEO_TS.BUP",
            "VTS_01_0.IFO",
            "VTS_01_0.VOB",
            "VTS_01_1.VOB",
            "VTS_01_9.VOB",
            "VTS_01_0.BUP",
            "VTS_02_0.IFO",
            "VTS_99_0.BUP",
        ];
        let ranks: Vec<u32> = names.iter().map(|n| dvd_video_rank(n).unwrap()).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
        assert_eq!(dvd_video_rank("README.TXT"), None);
        assert_eq!(dvd_video_rank("VTS_00_0.IFO"), None);
        assert_eq!(dvd_video_rank("VTS_01_1.IFO"), None);
    }
}
