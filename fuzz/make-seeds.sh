#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/seeds/TARGET/ (each file under 200 KiB):
# - ISO 9660 images made by xorriso (Rock Ridge + Joliet, zisofs, El Torito) and genisoimage (Rock Ridge +
#   Joliet, plain level 1) from a small tree, and small cases of the hostile corpus (testdata/src/hostile.rs);
# - a compact UDF image from the hostile generator (2048-byte blocks, anchor at the last sector) and an empty
#   mkudffs image with 512-byte blocks;
# - single structures cut from those images at their known offsets (first byte: the target's selector);
# - CUE/CCD sheets, rescue maps, MMC responses, AccurateRip and CTDB responses written here.
# The whole-image walk targets take an image without its first 16 sectors (all zero here), so seeds are cut
# from byte 32768 on. Needs xorriso, genisoimage, mkudffs (udftools) and python3.
# The seeds of the build round-trip targets (`*_roundtrip`) are not images but fuzzer inputs describing trees and
# options, picked from a fuzzing run to cover every level and extension; they are kept as they are.
set -euo pipefail
cd "$(dirname "$0")"
FUZZ=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SEEDS=$FUZZ/seeds
mkdir -p "$SEEDS"
find "$SEEDS" -mindepth 1 -maxdepth 1 ! -name '*_roundtrip' -exec rm -rf {} +

# A small tree: files, a nested directory, a symlink, a text file zisofs compresses.
T=$WORK/tree
mkdir -p "$T/dir/sub"
echo hello >"$T/hello.txt"
echo inner >"$T/dir/sub/inner.txt"
ln -s ../hello.txt "$T/dir/link"
(yes "odix zisofs seed line" || true) | head -c 70000 >"$T/text.txt"
head -c 2048 /dev/zero >"$WORK/boot.img"

xorriso -as mkisofs -quiet -R -J -no-pad -o "$WORK/rr-joliet.iso" "$T"
xorriso -no_rc -outdev "$WORK/zisofs.iso" -padding 0 -zisofs level=9:block_size=32k -map "$T" / \
  -set_filter_r --zisofs / -- -commit >/dev/null 2>&1
cp -r "$T" "$WORK/boot-tree" && cp "$WORK/boot.img" "$WORK/boot-tree/boot.img"
xorriso -as mkisofs -quiet -R -no-pad -b boot.img -no-emul-boot -boot-load-size 4 -o "$WORK/eltorito.iso" "$WORK/boot-tree"
genisoimage -quiet -R -J -no-pad -o "$WORK/genisoimage.iso" "$T" 2>/dev/null || genisoimage -quiet -R -J -o "$WORK/genisoimage.iso" "$T"
genisoimage -quiet -no-pad -o "$WORK/level1.iso" "$T" 2>/dev/null || genisoimage -quiet -o "$WORK/level1.iso" "$T"
mkudffs -b 512 --media-type=hd "$WORK/udf512.img" 400 >/dev/null

(cd .. && cargo run -q -p odix-testdata --example hostile -- "$WORK/hostile" --compact-udf "$WORK/compact-udf.img" >/dev/null)

python3 - "$WORK" "$SEEDS" <<'PY'
import os, sys, struct
work, seeds = sys.argv[1], sys.argv[2]
LIMIT = 200 * 1024

def put(target, name, data):
    if len(data) >= LIMIT:
        data = data[:LIMIT - 1]
    d = os.path.join(seeds, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

def img(path):
    with open(os.path.join(work, path), 'rb') as f:
        return f.read()

def strip_tail(b):
    return b.rstrip(b'\0') or b'\0'

isos = ['rr-joliet.iso', 'zisofs.iso', 'eltorito.iso', 'genisoimage.iso', 'level1.iso']
for h in ['iso-rr-traversal-names', 'iso-rr-cl-pl-loop', 'iso-rr-er-sl-lengths', 'iso-joliet-odd-names',
          'iso-zisofs-pointers', 'iso-boot-catalog-garbage', 'iso-dir-contains-itself', 'iso-both-endian-disagree']:
    isos.append('hostile/' + h + '.iso')
for p in isos:
    if os.path.exists(os.path.join(work, p)):
        put('iso_walk', os.path.basename(p), strip_tail(img(p)[32768:]))

udf = img('compact-udf.img')
put('udf_walk', 'compact-udf', udf[32768:])
put('udf_walk', 'mkudffs-512', strip_tail(img('udf512.img')[32768:]))

# Structures of the compact UDF image (2048-byte blocks, partition at sector 66): sector numbers from
# testdata/src/hostile.rs `compact_udf`.
def sec(n, length=2048):
    return udf[n * 2048:n * 2048 + length]
P = 66
desc = {0: sec(256 if len(udf) > 256 * 2048 else 99), 2: sec(99), 3: sec(32), 4: sec(33), 6: sec(34), 7: sec(35),
        9: sec(36), 10: sec(37), 12: sec(64), 13: sec(P)}
for sel, b in desc.items():
    put('udf_descriptors', f'sel{sel}', bytes([sel]) + strip_tail(b))
lvd = sec(35)
put('udf_descriptors', 'sel8-maps', bytes([8]) + lvd[440:446])
put('udf_descriptors', 'sel15-dstring', bytes([15]) + lvd[84:212])
for name, n in [('fe-dir', P + 2), ('fe-file', P + 4), ('fe-symlink', P + 8)]:
    put('udf_icb', name, bytes([0]) + strip_tail(sec(n)))
fe = sec(P + 2)
put('udf_icb', 'ads-short', bytes([3]) + fe[176:184])
put('udf_icb', 'symlink-path', bytes([7]) + b'\x05\x09\x00\x00hello.txt\x02\x00\x00\x00\x05\x03\x00\x00sub')
put('udf_fid', 'root-fids', strip_tail(sec(P + 3)))
put('udf_fid', 'sub-fids', strip_tail(sec(P + 6)))

# VAT (2.00+ header, two entries), VAT 1.50 (entries, regid, previous VAT), sparing table.
vat = struct.pack('<HH', 152, 0) + b'\x08HOSTILE'.ljust(128, b'\0') + struct.pack('<IIIHHHH', 0xFFFFFFFF, 1, 1, 0x201, 0x201, 0x201, 0)
vat += struct.pack('<II', 0, 1)
put('udf_vat_sparing', 'vat200', bytes([0]) + vat)
vat150 = struct.pack('<II', 0, 1) + b'\0*UDF Virtual Alloc Tbl'.ljust(32, b'\0') + struct.pack('<I', 0xFFFFFFFF)
put('udf_vat_sparing', 'vat150', bytes([1]) + vat150)
sp = bytearray(56)
sp[17:35] = b'*UDF Sparing Table'
sp[48:50] = struct.pack('<H', 2)
sp += struct.pack('<IIII', 32, 1000, 0xFFFFFFF0, 1032)
put('udf_vat_sparing', 'sparing', bytes([2]) + bytes(sp))

# ISO 9660 structures of the xorriso images: the PVD, the Joliet SVD, path tables, the root directory extent,
# the El Torito boot catalog, and a zisofs file (log2 block size, uncompressed size, stored bytes).
iso = img('rr-joliet.iso')
pvd = iso[16 * 2048:17 * 2048]
put('iso_volume_descriptor', 'pvd', bytes([0]) + pvd)
put('iso_volume_descriptor', 'svd', bytes([0]) + iso[17 * 2048:18 * 2048])
put('iso_volume_descriptor', 'terminator', bytes([0]) + iso[18 * 2048:18 * 2048 + 7])
pt_size = struct.unpack('<I', pvd[132:136])[0]
l_pt = struct.unpack('<I', pvd[140:144])[0]
m_pt = struct.unpack('>I', pvd[148:152])[0]
put('iso_volume_descriptor', 'path-table-l', bytes([1]) + iso[l_pt * 2048:l_pt * 2048 + pt_size])
put('iso_volume_descriptor', 'path-table-m', bytes([2]) + iso[m_pt * 2048:m_pt * 2048 + pt_size])
root_lba, root_len = struct.unpack('<I', pvd[158:162])[0], struct.unpack('<I', pvd[166:170])[0]
put('iso_directory_record', 'rr-root', strip_tail(iso[root_lba * 2048:root_lba * 2048 + root_len]))
hostile_rr = img('hostile/iso-rr-traversal-names.iso')
put('iso_directory_record', 'hostile-root', strip_tail(hostile_rr[22 * 2048:23 * 2048]))
put('iso_directory_record', 'hostile-lengths', strip_tail(img('hostile/iso-rr-er-sl-lengths.iso')[22 * 2048:23 * 2048]))
put('iso_joliet', 'names', 'hello.txt'.encode('utf-16-be') + 'Ünïcødé ☃'.encode('utf-16-be') + b'\x00')
put('iso_joliet', 'escapes', b'%/E')
et = img('eltorito.iso')
cat_lba = struct.unpack('<I', et[17 * 2048 + 0x47:17 * 2048 + 0x4B])[0]
put('iso_el_torito', 'catalog', bytes([0]) + strip_tail(et[cat_lba * 2048:cat_lba * 2048 + 2048]))
put('iso_el_torito', 'catalog-garbage', bytes([0]) + strip_tail(img('hostile/iso-boot-catalog-garbage.iso')[30 * 2048:31 * 2048]))
mbr = bytearray(512)
mbr[446:462] = bytes([0x80, 0, 1, 0, 0x17, 0xFE, 0xFF, 0xFF]) + struct.pack('<II', 0, 1000)
mbr[510:512] = b'\x55\xaa'
put('iso_el_torito', 'mbr', bytes([1]) + bytes(mbr))
z = img('zisofs.iso')
magic = bytes([0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07])
at = z.find(magic)
if at >= 0:
    size = struct.unpack('<I', z[at + 8:at + 12])[0]
    log2 = z[at + 13]
    nblocks = (size + (1 << log2) - 1) >> log2
    end = struct.unpack('<I', z[at + 16 + 4 * nblocks:at + 20 + 4 * nblocks])[0]
    put('iso_zisofs', 'text', bytes([log2]) + struct.pack('<I', size) + z[at:at + end])
hz = img('hostile/iso-zisofs-pointers.iso')
put('iso_zisofs', 'hostile-over', bytes([15]) + struct.pack('<I', 0xFFFFFFFF) + hz[30 * 2048:30 * 2048 + 64])

# CUE and CCD sheets.
put('cue', 'mode1', b'FILE "disc.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n')
put('cue', 'mixed', b'REM SESSION 01\nFILE "a.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n'
    b'  TRACK 02 AUDIO\n    PREGAP 00:02:00\n    INDEX 00 03:00:00\n    INDEX 01 03:02:00\n'
    b'REM SESSION 02\nFILE "b.bin" BINARY\n  TRACK 03 MODE2/2352\n    INDEX 01 00:00:00\n'
    b'CATALOG 0000000000000\nTITLE "x"\n  FLAGS DCP\n  ISRC ABCDE1234567\n  POSTGAP 00:02:00\n')
put('cue', 'wave', b'FILE "a.wav" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\nFILE "c.iso" BINARY\n  TRACK 02 MODE1/2048\n    INDEX 01 00:00:00\n')
ccd = (b'[CloneCD]\nVersion=3\n[Disc]\nTocEntries=4\nSessions=1\nDataTracksScrambled=0\nCDTextLength=0\n'
       b'[Session 1]\nPreGapMode=1\nPreGapSubC=0\n'
       b'[Entry 0]\nSession=1\nPoint=0xa0\nADR=0x01\nControl=0x04\nTrackNo=0\nAMin=0\nASec=0\nAFrame=0\nALBA=-150\nZero=0\nPMin=1\nPSec=0\nPFrame=0\nPLBA=4350\n'
       b'[Entry 1]\nSession=1\nPoint=0xa1\nADR=0x01\nControl=0x04\nTrackNo=0\nAMin=0\nASec=0\nAFrame=0\nALBA=-150\nZero=0\nPMin=1\nPSec=0\nPFrame=0\nPLBA=4350\n'
       b'[Entry 2]\nSession=1\nPoint=0xa2\nADR=0x01\nControl=0x04\nTrackNo=0\nAMin=0\nASec=0\nAFrame=0\nALBA=-150\nZero=0\nPMin=0\nPSec=4\nPFrame=0\nPLBA=150\n'
       b'[Entry 3]\nSession=1\nPoint=0x01\nADR=0x01\nControl=0x04\nTrackNo=0\nAMin=0\nASec=0\nAFrame=0\nALBA=-150\nZero=0\nPMin=0\nPSec=2\nPFrame=0\nPLBA=0\n'
       b'[TRACK 1]\nMODE=1\nINDEX 1=0\n')
put('ccd', 'one-track', ccd)

# AccurateRip responses: chunks of a header (track count, disc ids 1 and 2, freedb id) and per track a
# confidence, a CRC and a frame-450 CRC, all little-endian.
def ar_chunk(n, ids, entries):
    return bytes([n]) + struct.pack('<III', *ids) + b''.join(bytes([c]) + struct.pack('<II', crc, f) for c, crc, f in entries)
put('accuraterip_response', 'two-chunks', ar_chunk(3, (0x1b58, 0x5f82, 0x3403), [(5, 1, 2), (7, 3, 4), (2, 5, 6)])
    + ar_chunk(3, (0x1b58, 0x5f82, 0x3403), [(1, 1, 9), (0, 0, 0), (4, 8, 6)]))
put('accuraterip_response', 'cut-short', ar_chunk(2, (1, 2, 3), [(1, 1, 1), (1, 2, 2)])[:-3])
# CTDB responses.
put('ctdb_response', 'lookup', b'<?xml version="1.0" encoding="UTF-8"?>\n<ctdb xmlns="http://db.cuetools.net/ns/mmd-1.0#" '
    b'xmlns:ext="http://db.cuetools.net/ns/ext-1.0#">\n  <entry confidence="8" crc32="5457b143" id="3117474" npar="8" '
    b'stride="5880" toc="0:16032:32072:47282:62810" trackcrcs="97217ee6 dc8a2af2 338369b1 2eac339c" />\n'
    b'  <entry confidence="2" id="5" trackcrcs="97217ee6 00000001" />\n'
    b'  <metadata source="musicbrainz" artist="A &amp; B" album="x"><track name="one"/></metadata>\n</ctdb>\n')
put('ctdb_response', 'one-track', b'<ctdb><entry confidence="1" trackcrcs="0badf00d"/></ctdb>')

# ddrescue mapfiles.
put('rescue_map', 'simple', b'# Mapfile. Created by GNU ddrescue version 1.27\n# current_pos  current_status  current_pass\n'
    b'0x00000000     ?               1\n#      pos        size  status\n0x00000000  0x00010000  +\n0x00010000  0x00000800  -\n0x00010800  0x00100000  ?\n')
put('rescue_map', 'phases', b'0x00020000 * 2\n0x00000000 0x00020000 +\n0x00020000 0x00001000 *\n0x00021000 0x00001000 /\n0x00022000 0x00010000 -\n')

# MMC responses: selector (see mmc_responses.rs) + data.
sense_fixed = bytes([0xF0, 0, 0x03, 0, 0, 0x01, 0x2C, 10] + [0] * 4 + [0x11, 0x00] + [0] * 4)
put('mmc_responses', 'sense-fixed', bytes([0]) + sense_fixed)
put('mmc_responses', 'sense-desc', bytes([0, 0x72, 0x03, 0x11, 0x00, 0, 0, 0, 12, 0x00, 0x0A, 0x80, 0] + [0, 0, 0, 0, 0, 0, 1, 0x2C]))
inq = bytes([5, 0x80, 5, 0x32, 31, 0, 0, 0]) + b'VENDOR  PRODUCT NAME    1.00'
put('mmc_responses', 'inquiry', bytes([1]) + inq)
toc = struct.pack('>HBB', 18, 1, 1) + bytes([0, 0x14, 1, 0]) + struct.pack('>I', 0) + bytes([0, 0x14, 0xAA, 0]) + struct.pack('>I', 4350)
put('mmc_responses', 'toc', bytes([2]) + toc)
put('mmc_responses', 'session', bytes([3]) + struct.pack('>HBB', 10, 1, 1) + bytes([0, 0x14, 1, 0]) + struct.pack('>I', 0))
full = struct.pack('>HBB', 2 + 11 * 3, 1, 1)
for point, pm in [(0xA0, 1), (0xA2, 0), (1, 0)]:
    full += bytes([1, 0x14, 0, point, 0, 0, 0, 0, pm, 2, 0])
put('mmc_responses', 'full-toc', bytes([4]) + full)
put('mmc_responses', 'cd-text', bytes([5]) + struct.pack('>HH', 2 + 18, 0) + bytes([0x80, 0, 0, 0]) + b'TITLE\0\0\0\0\0\0\0' + b'\0\0')
conf = struct.pack('>IHH', 4 + 12, 0, 0x08) + struct.pack('>HBB', 0, 3, 8) + struct.pack('>HBB', 0x08, 1, 0) + struct.pack('>HBB', 0x1E, 0x0B, 4) + bytes([3, 0, 0, 0])
put('mmc_responses', 'configuration', bytes([6]) + conf)
put('mmc_responses', 'disc-info', bytes([7]) + struct.pack('>H', 32) + bytes([0x0E, 1, 1, 1, 1, 0x20, 0, 0]) + bytes(24))
put('mmc_responses', 'track-info', bytes([8]) + struct.pack('>H', 46) + bytes([1, 1, 0, 4, 0x01, 0x02]) + struct.pack('>II', 0, 0) + bytes(36))
put('mmc_responses', 'mode-sense', bytes([9]) + struct.pack('>H', 18) + bytes(6) + bytes([0x01, 0x0A, 0x20, 8, 0, 0, 0, 0, 8, 0, 0, 0]))
put('mmc_responses', 'drive', bytes([10]) + inq)
PY
python3 "$FUZZ/raw-format-seeds.py" "$SEEDS"  # nrg, mds, cdi, gdi, toc
find "$SEEDS" -type f | wc -l
du -sh "$SEEDS"
