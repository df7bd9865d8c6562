#!/usr/bin/python3
"""Builds hanazono-fallback.ttf.gz, the certificate's fallback font.

The main font (WenQuanYi Micro Hei) covers GB 18030's common characters.
The fallback holds what it lacks that names and purposes need: every
character of HanaMinA (Hanazono Mincho A) in the Basic Multilingual Plane
that the main font has no glyph for (CJK Extension A, the ideographs and
symbols WenQuanYi leaves out, CJK radicals, enclosed and compatibility
forms) and all of CJK Extension B (U+20000-U+2A6DF) from HanaMinB. Both
come from Debian's fonts-hanazono (Hanazono Font License, see
LICENSE-hanazono.txt). Layout tables, hinting and vertical metrics go:
the certificate draws horizontal text glyph by glyph. A TrueType font holds
at most 65,535 glyphs, so Extensions C to F (17,000 more) do not fit.

Run from this folder with fonts-hanazono and python3-fonttools installed:
    python3 make_fallback.py
"""
import gzip
import unicodedata

from fontTools import merge, subset
from fontTools.ttLib import TTFont

HANAZONO = "/usr/share/fonts/truetype/hanazono/"
EXT_B = range(0x20000, 0x2A6E0)


def cut(src, unicodes, out):
    opts = subset.Options()
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "vhea", "vmtx", "VORG", "prop", "FFTM"]
    font = TTFont(src)
    s = subset.Subsetter(opts)
    s.populate(unicodes=unicodes)
    s.subset(font)
    font.save(out)


def main():
    main_font = set(TTFont("wqy-microhei.ttf", lazy=True).getBestCmap())
    a = set(TTFont(HANAZONO + "HanaMinA.ttf", lazy=True).getBestCmap())
    b = set(TTFont(HANAZONO + "HanaMinB.ttf", lazy=True).getBestCmap())
    refused = {"Cc", "Cf", "Co", "Cs", "Cn", "Mn", "Me", "Zl", "Zp"}
    bmp = sorted(c for c in a - main_font if c < 0x10000 and unicodedata.category(chr(c)) not in refused)
    cut(HANAZONO + "HanaMinA.ttf", bmp, "/tmp/fallback-a.ttf")
    cut(HANAZONO + "HanaMinB.ttf", sorted(c for c in b if c in EXT_B), "/tmp/fallback-b.ttf")
    font = merge.Merger().merge(["/tmp/fallback-a.ttf", "/tmp/fallback-b.ttf"])
    font["head"].created = font["head"].modified = 0  # the same bytes on every run
    font.recalcTimestamp = False
    font.save("/tmp/fallback.ttf")
    with open("/tmp/fallback.ttf", "rb") as f, open("hanazono-fallback.ttf.gz", "wb") as out:
        out.write(gzip.compress(f.read(), compresslevel=9, mtime=0))


if __name__ == "__main__":
    main()
