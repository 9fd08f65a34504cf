#!/usr/bin/env python3
"""Writes the seeds of the raw image format targets (nrg, mds, cdi, gdi, toc) into SEEDS/TARGET/: small images
built from the layouts docs/image-formats.md describes. The fuzz targets write each input beside small data files
(fuzz.bin, fuzz.mdf, fuzz.md0, fuzz.raw: 40 raw Mode 1 sectors; fuzz.iso: 40 zero sectors; fuzz.wav: a WAVE file
of 20 sectors of silence), which these seeds name."""
import os
import struct
import sys

seeds = sys.argv[1]


def put(target, name, data):
    d = os.path.join(seeds, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def chunk(cid, body):
    return cid + struct.pack('>I', len(body)) + body


def nrg_dao(v2, mode, size, pregap, n):
    body = b'\0' * (size * (pregap + n))
    pos = (lambda lba: struct.pack('>i', lba)) if v2 else (
        lambda lba: bytes([0, (lba + 150) // 4500, (lba + 150) // 75 % 60, (lba + 150) % 75]))
    cue = b''.join([bytes([0x41, 0, 0, 0]) + pos(-150), bytes([0x41, 1, 0, 0]) + pos(-pregap),
                    bytes([0x41, 1, 1, 0]) + pos(0), bytes([0x01, 0xAA, 1, 0]) + pos(n)])
    offs = (0, pregap * size, (pregap + n) * size)
    blk = b'\0' * 12 + struct.pack('>HBBH', size, mode, 0, 0) + (struct.pack('>QQQ', *offs) if v2 else struct.pack('>III', *offs))
    hdr = b'\0' * 20 + bytes([1, 1])
    first = len(body)
    body += chunk(b'CUEX' if v2 else b'CUES', cue) + chunk(b'DAOX' if v2 else b'DAOI', hdr + blk)
    body += chunk(b'SINF', struct.pack('>I', 1)) + chunk(b'END!', b'')
    return body + (b'NER5' + struct.pack('>Q', first) if v2 else b'NERO' + struct.pack('>I', first))


put('nrg', 'v2-dao-2048', nrg_dao(True, 0, 2048, 2, 4))
put('nrg', 'v1-dao-raw-sub', nrg_dao(False, 0x0F, 2448, 1, 3))
tao = b'\0' * (2048 * 6)
etn = lambda off, ln, mode, lba: struct.pack('>QQ', off, ln) + bytes([0, 0, 0, mode]) + struct.pack('>I', lba) + b'\0' * 8
tao_chain = chunk(b'ETN2', etn(0, 2048 * 3, 0, 0)) + chunk(b'ETN2', etn(2048 * 3, 2048 * 3, 0, 11403)) + chunk(b'END!', b'')
put('nrg', 'v2-tao-2-sessions', tao + tao_chain + b'NER5' + struct.pack('>Q', len(tao)))

# MDS: one session, a raw Mode 1 track and an audio track in fuzz.mdf.
tracks = [(0xAA, 0, 20, 0, 150), (0xA9, 170, 20, 20 * 2352, 150)]
blocks = 3 + len(tracks)
track_at, extra_at = 88 + 24, 88 + 24 + blocks * 80
footer_at = extra_at + 8 * len(tracks)
d = bytearray(88)
d[0:16] = b'MEDIA DESCRIPTOR'
d[16:18] = bytes([1, 3])
struct.pack_into('<HH', d, 18, 0, 1)
struct.pack_into('<I', d, 80, 88)
d += struct.pack('<iiHBBHHII', -150, 190, 1, blocks, 3, 1, 2, 0, track_at)
for p in (0xA0, 0xA1, 0xA2):
    b = bytearray(80)
    b[4] = p
    d += b
for i, (mode, start, length, off, pregap) in enumerate(tracks):
    b = bytearray(80)
    b[0], b[4] = mode, i + 1
    struct.pack_into('<IH', b, 12, extra_at + 8 * i, 2352)
    struct.pack_into('<IQII', b, 36, start, off, 1, footer_at)
    d += b
for (mode, start, length, off, pregap) in tracks:
    d += struct.pack('<II', pregap, length)
split = bytearray(d)
d += struct.pack('<IIII', footer_at + 16, 0, 0, 0) + b'*.mdf\0'
put('mds', 'data-audio', bytes(d))
# The same, its data file split into two pieces (fuzz.mdf, fuzz.md0): two file blocks, a file count of 2.
for i in range(len(tracks)):
    struct.pack_into('<I', split, track_at + (3 + i) * 80 + 48, 2)
split += struct.pack('<IIII', footer_at + 32, 0, 0, 0) + struct.pack('<IIII', footer_at + 38, 0, 0, 0)
split += b'*.mdf\0*.md0\0'
put('mds', 'split', bytes(split))

# CDI: a data track (2048-byte sectors) and an audio track, in each version.
MARK = bytes([0, 0, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
for version in (4, 5, 6):
    data = b'\0' * (2048 * 10 + 2352 * 8)
    desc = struct.pack('<HH', 1, 2)
    for ti, (mode, rm, pregap, start, total) in enumerate([(1, 0, 2, 0, 10), (0, 2, 2, 10, 8)]):
        desc += b'\0' * 4 + MARK + MARK + b'\0' * 4 + bytes([4]) + b'a.cd'
        fixed = bytearray(23)
        if version == 6:
            fixed[19:23] = struct.pack('<I', 0x80000000)
        desc += bytes(fixed) + (b'\0' * 8 if version == 6 else b'')
        desc += struct.pack('<HII', 2, pregap, total - pregap) + struct.pack('<I', 0) + b'\0\0'
        desc += struct.pack('<II', mode, 0) + struct.pack('<IIII', 0, ti, start, total) + b'\0' * 16
        desc += struct.pack('<II', rm, 4 if mode else 0) + b'\0' * 25
        if version != 4:
            desc += b'\0' * 5 + (b'\xff' * 4 if version == 6 else b'\0' * 4) + (b'\0' * 78 if version == 6 else b'')
    desc += b'\0' * (12 if version == 4 else 13)
    out = data + desc + struct.pack('<I', 0x80000000 | version)
    at = len(data)
    out += struct.pack('<I', (len(out) + 4 - at) if version == 6 else at)
    put('cdi', f'v{version}', out)

put('gdi', 'three-tracks', b'3\n1 0 4 2352 fuzz.bin 0\n2 600 0 2352 fuzz.raw 0\n3 45000 4 2352 "fuzz.bin" 0\n')
put('gdi', 'cooked', b'2\r\n1 0 4 2048 fuzz.iso 0\r\n2 45000 4 2352 fuzz.bin 0\r\n')
put('toc', 'two-files', b'CD_ROM\nCD_TEXT { LANGUAGE_MAP { 0 : EN } LANGUAGE 0 { TITLE "x" } }\n// data\n'
    b'TRACK MODE1\nNO COPY\nDATAFILE "fuzz.iso"\nTRACK AUDIO\nPREGAP 00:02:00\nFILE "fuzz.raw" SWAP 0 00:00:20\n')
put('toc', 'one-file', b'CD_ROM_XA\nTRACK MODE1_RAW RW_RAW\nZERO 00:00:02\nSTART\nDATAFILE "fuzz.bin" #0 00:00:10\n'
    b'TRACK AUDIO\nFILE "fuzz.bin" #47040 0 00:00:10\nINDEX 00:00:05\nZERO 00:00:01\n')
put('toc', 'wave', b'CD_DA\nTRACK AUDIO\nAUDIOFILE "fuzz.wav" 0\nTRACK AUDIO\nFILE "fuzz.wav" 00:00:05 588\n'
    b'TRACK AUDIO\nFILE "fuzz.wav" SWAP 2940\n')
