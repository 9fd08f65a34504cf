"""ECM and CSO/ZSO files written by their published descriptions, for the tests that check odix's readers and
writers of them (no reference tool of either format installs on Debian).

As a module: edc(data), hdr(kind, count), ecm(src, limit), cso(src, kind, shift, store_every).
As a program:
    containers.py ecm SRC DST [LIMIT]
    containers.py cso SRC DST cso|zso [SHIFT [STORE_EVERY]]
"""
import struct
import sys
import zlib

SYNC = b'\x00' + b'\xff' * 10 + b'\x00'


def _edc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xD8018001 if c & 1 else c >> 1
        t.append(c)
    return t


_EDC = _edc_table()


def edc(data, crc=0):
    """The ECMA-130 EDC: a CRC of reflected polynomial 0xD8018001, no inversion."""
    for b in data:
        crc = _EDC[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def hdr(kind, count):
    """An ECM record header: the type in the low 2 bits, count - 1 in 5 bits then 7-bit groups."""
    n = (count - 1) & 0xFFFFFFFF
    out = [((n & 0x1F) << 2) | kind | (0x80 if n >> 5 else 0)]
    n >>= 5
    while n:
        out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
        n >>= 7
    return bytes(out)


def ecm(src, limit=None):
    """Runs of up to 7 Mode 1 sectors (those ending before byte `limit`) as type 1 records (3 address bytes and
    the user data), every other byte in type 0 records, the EDC of the whole at the end."""
    limit = len(src) if limit is None else limit
    out = bytearray(b'ECM\x00')
    raw = bytearray()
    p = 0

    def flush():
        if raw:
            out.extend(hdr(0, len(raw)) + raw)
            raw.clear()

    while p < len(src):
        run = []
        while (len(run) < 7 and p + 2352 <= min(len(src), limit) and src[p:p + 12] == SYNC
               and src[p + 15] == 1):
            run.append(src[p + 12:p + 15] + src[p + 16:p + 2064])
            p += 2352
        if run:
            flush()
            out.extend(hdr(1, len(run)) + b''.join(run))
        else:
            raw.append(src[p])
            p += 1
    flush()
    out.extend(hdr(0, 0) + edc(src).to_bytes(4, 'little'))
    return bytes(out)


def cso(src, kind, shift=0, store_every=0):
    """A CSO v1 (deflate) or ZSO (LZ4) of 2048-byte blocks with index shift `shift` (blocks aligned to 1 << shift,
    padded with zeros), every `store_every`-th block and any block that does not shrink stored."""
    if kind == 'zso':
        import lz4.block
    bs = 2048
    align = 1 << shift
    n = (len(src) + bs - 1) // bs
    pos = 24 + 4 * (n + 1)
    pos = (pos + align - 1) // align * align
    data = bytearray()
    idx = []
    for i in range(n):
        blk = src[i * bs:(i + 1) * bs]
        if kind == 'zso':
            c = lz4.block.compress(blk, store_size=False)
        else:
            z = zlib.compressobj(9, zlib.DEFLATED, -15)
            c = z.compress(blk) + z.flush()
        flag = 0
        if (store_every and i % store_every == 0) or len(c) >= len(blk):
            c = blk
            flag = 0x80000000
        idx.append(((pos + len(data)) >> shift) | flag)
        data += c
        while (pos + len(data)) % align:
            data.append(0)
    idx.append((pos + len(data)) >> shift)
    head = struct.pack('<4sIQIBBxx', b'ZISO' if kind == 'zso' else b'CISO', 24, len(src), bs, 1, shift)
    body = head + struct.pack('<%dI' % (n + 1), *idx)
    body += b'\x00' * (pos - len(body))
    return body + bytes(data)


if __name__ == '__main__':
    what, src_path, dst_path = sys.argv[1:4]
    src = open(src_path, 'rb').read()
    if what == 'ecm':
        result = ecm(src, int(sys.argv[4]) if len(sys.argv) > 4 else None)
    else:
        rest = [int(a) for a in sys.argv[5:7]]
        result = cso(src, sys.argv[4], *rest)
    open(dst_path, 'wb').write(result)
