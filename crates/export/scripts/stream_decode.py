"""Reads export files the way single-member streaming readers do.

Usage: stream_decode.py LISTING.json, where the listing maps an export name to its file
paths in part order. Each file is fed in 64 KiB pieces to ONE `zlib.decompressobj(31)`
(gzip wrapper, one member): such a reader stops at the end of the first member, so rows of
any later member would land in `unused_data` instead of the output. Prints JSON:
{export: {"lines": [...], "files": n, "incomplete": [...], "trailing": [...]}}, where
`incomplete` lists files whose member did not end (`eof` false) and `trailing` files with
bytes after the member (`unused_data` not empty).
"""

import json
import sys
import zlib

PIECE = 64 * 1024


def decode(path):
    decoder = zlib.decompressobj(31)
    out = []
    with open(path, "rb") as f:
        while True:
            piece = f.read(PIECE)
            if not piece:
                break
            out.append(decoder.decompress(piece))
    out.append(decoder.flush())
    return b"".join(out), decoder.eof, decoder.unused_data


def main():
    with open(sys.argv[1]) as f:
        listing = json.load(f)
    result = {}
    for export, paths in listing.items():
        entry = {"lines": [], "files": len(paths), "incomplete": [], "trailing": []}
        for path in paths:
            data, eof, unused = decode(path)
            if not eof:
                entry["incomplete"].append(path)
            if unused:
                entry["trailing"].append(path)
            entry["lines"].extend(data.decode("utf-8").splitlines())
        result[export] = entry
    json.dump(result, sys.stdout)


main()
