#!/usr/bin/env python3
"""Builds the ImageCodecs test fixtures and their golden pixel hashes. Run once.

Usage: python3 make_golden.py /path/to/shared   (needs pypng, Pillow, numpy,
and djpeg/cjpeg/jpegtran from Debian's libjpeg-turbo-progs 2.1.5, the same
library convviz links, so JPEG goldens are exact).

Writes next to this script:
  pngsuite/            PngSuite files (valid and x*.png), with its license
  jpeg/                libjpeg-turbo test images, crops of the sample photos,
                       gray, CMYK and EXIF-orientation files made here
  crafted/             headers declaring huge or empty images
  golden.tsv           name, width, height, layout, bit depth, sha256 of the
                       samples (interleaved, top row first, 16-bit little-endian)
  cmyk.rgb             raw RGB expected for jpeg/cmyk.jpg (compared with a
                       tolerance: Pillow's libjpeg is not ours)

Trusted decoders: pypng for PNG (exact 16-bit, no gamma, no sBIT shift; the
palette/tRNS/low-bit expansion below is the PNG spec's), djpeg for JPEG.
"""
import ctypes
import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import png
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUTS = {1: "gray", 2: "grayAlpha", 3: "rgb", 4: "rgba"}


def png_golden(path):
    """Pixels as libpng with expand + tRNS-to-alpha gives them, from pypng."""
    reader = png.Reader(filename=path)
    width, height, rows, info = reader.read()
    rows = [list(r) for r in rows]
    depth = info["bitdepth"]
    if reader.color_type == 3:
        palette = [tuple(p) for p in info["palette"]]
        has_alpha = any(len(p) == 4 for p in palette)
        entries = [p + (255,) if has_alpha and len(p) == 3 else p for p in palette]
        channels = 4 if has_alpha else 3
        data = np.array([[c for i in r for c in entries[i]] for r in rows], dtype=np.uint16)
        depth = 8
    else:
        channels = info["planes"]
        data = np.array(rows, dtype=np.uint32).reshape(height, width, channels)
        trns = info.get("transparent")
        maxval = (1 << depth) - 1
        if trns is not None:
            key = np.array(trns if isinstance(trns, tuple) else (trns,), dtype=np.uint32)
            alpha = np.where(np.all(data == key, axis=2), 0, maxval)[:, :, None]
            data = np.concatenate([data, alpha], axis=2)
            channels += 1
        if depth < 8:
            data = data * (255 // maxval)
            depth = 8
        data = data.reshape(height, width * channels)
    dtype = "<u2" if depth == 16 else "u1"
    raw = np.ascontiguousarray(data.astype(dtype)).tobytes()
    return width, height, LAYOUTS[channels], depth, raw


def read_pnm(data):
    """Parses djpeg's binary PGM/PPM output."""
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    kind, width, height = fields[0], int(fields[1]), int(fields[2])
    channels = 1 if kind == b"P5" else 3
    raw = data[pos + 1:pos + 1 + width * height * channels]
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, channels)


def djpeg(path):
    return read_pnm(subprocess.run(["djpeg", "-pnm", path], check=True, capture_output=True).stdout)


def golden_row(name, pixels):
    height, width, channels = pixels.shape
    raw = np.ascontiguousarray(pixels).tobytes()
    return (name, width, height, LAYOUTS[channels], 8, hashlib.sha256(raw).hexdigest())


def orient(pixels, orientation):
    """Pillow's ImageOps.exif_transpose, on a numpy array."""
    return {
        1: lambda a: a,
        2: np.fliplr,
        3: lambda a: np.rot90(a, 2),
        4: np.flipud,
        5: lambda a: np.transpose(a, (1, 0, 2)),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(np.transpose(a, (1, 0, 2)), 2),
        8: lambda a: np.rot90(a, 1),
    }[orientation](pixels)


def exif_app1(orientation, big_endian):
    """An APP1 segment holding only IFD0 with the orientation tag."""
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(e + "I", 0)
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def with_app1(jpeg, segment):
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + segment + jpeg[2:]


class TurboJPEG:
    """libturbojpeg (same libjpeg-turbo 2.1.5) through ctypes: it writes YCCK
    JPEGs from CMYK samples and reads CMYK samples back without conversion."""
    CMYK, SAMP_444 = 11, 0

    def __init__(self):
        self.lib = ctypes.CDLL("libturbojpeg.so.0")
        self.lib.tjInitCompress.restype = ctypes.c_void_p
        self.lib.tjInitDecompress.restype = ctypes.c_void_p

    def compress_cmyk(self, cmyk, quality):
        height, width, _ = cmyk.shape
        handle = ctypes.c_void_p(self.lib.tjInitCompress())
        buffer, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
        source = np.ascontiguousarray(cmyk).ctypes.data_as(ctypes.POINTER(ctypes.c_ubyte))
        status = self.lib.tjCompress2(handle, source, width, 0, height, self.CMYK,
                                      ctypes.byref(buffer), ctypes.byref(size), self.SAMP_444,
                                      quality, 0)
        assert status == 0, "tjCompress2 failed"
        data = ctypes.string_at(buffer, size.value)
        self.lib.tjFree(buffer)
        self.lib.tjDestroy(handle)
        return data

    def decompress_cmyk(self, data, width, height):
        handle = ctypes.c_void_p(self.lib.tjInitDecompress())
        out = np.zeros((height, width, 4), dtype=np.uint8)
        status = self.lib.tjDecompress2(handle, data, ctypes.c_ulong(len(data)),
                                        out.ctypes.data_as(ctypes.POINTER(ctypes.c_ubyte)),
                                        width, 0, height, self.CMYK, 0)
        assert status == 0, "tjDecompress2 failed"
        self.lib.tjDestroy(handle)
        return out


def adobe_cmyk_to_rgb(cmyk):
    """Inverted (Adobe) CMYK to RGB: R = C*K/255 rounded, as Pillow does."""
    inverted = cmyk.astype(np.uint32)
    product = inverted[:, :, :3] * inverted[:, :, 3:4] + 128
    return ((product + (product >> 8)) >> 8).astype(np.uint8)


def jpeg_scans(data):
    """Each SOS segment with its entropy-coded data, up to the next marker."""
    scans, at = [], data.index(b"\xff\xda")
    while at < len(data) - 2:
        end = at + 2
        while not (data[end] == 0xFF and data[end + 1] not in (0x00, 0xFF)
                   and not 0xD0 <= data[end + 1] <= 0xD7 and end > at + 2):
            end += 1
        if data[at + 1] == 0xDA:
            scans.append(data[at:end])
        at = end
    return scans


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def crafted_png(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 16)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def with_sof_size(jpeg, width, height):
    data = bytearray(jpeg)
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def main(shared):
    rows = []
    suite = os.path.join(HERE, "pngsuite")
    os.makedirs(suite, exist_ok=True)
    source = os.path.join(shared, "data", "pngsuite")
    for name in sorted(os.listdir(source)):
        if name.endswith(".png") and name != "PngSuite.png" or name == "PngSuite.LICENSE":
            shutil.copy(os.path.join(source, name), suite)
        if name.endswith(".png") and name[0] != "x" and name != "PngSuite.png":
            width, height, layout, depth, raw = png_golden(os.path.join(source, name))
            rows.append(("pngsuite/" + name, width, height, layout, depth,
                         hashlib.sha256(raw).hexdigest()))

    jpeg = os.path.join(HERE, "jpeg")
    os.makedirs(jpeg, exist_ok=True)
    os.makedirs(os.path.join(HERE, "crafted"), exist_ok=True)
    tests = os.path.join(shared, "data", "jpeg-testimages")
    for name in ["testorig.jpg", "testimgint.jpg", "testimgari.jpg", "monkey12.jpg", "LICENSE.txt"]:
        shutil.copy(os.path.join(tests, name), jpeg)
    # Lossless crops keep each photo's own coding (tables, subsampling).
    for name, crop in [("rocket.jpg", "96x64+208+160"), ("hubble_deep_field.jpg", "96x64+400+400")]:
        out = os.path.join(jpeg, name.replace(".jpg", "-crop.jpg"))
        subprocess.run(["jpegtran", "-copy", "none", "-crop", crop, "-outfile", out,
                        os.path.join(shared, "samples", name)], check=True)
    testorig = os.path.join(tests, "testorig.ppm")
    subprocess.run(["cjpeg", "-grayscale", "-outfile", os.path.join(jpeg, "gray.jpg"), testorig],
                   check=True)
    subprocess.run(["cjpeg", "-progressive", "-sample", "1x1", "-quality", "80", "-outfile",
                    os.path.join(jpeg, "progressive444.jpg"), testorig], check=True)
    # A decode-time bomb: the last scan of a progressive file repeated 600
    # times. libjpeg only warns about the bogus progression and would run every
    # scan over the whole image; the decoder refuses more than 500 scans.
    tiny = os.path.join(HERE, "tiny.pgm")
    with open(tiny, "wb") as f:
        f.write(b"P5 16 16 255\n" + bytes(range(0, 256)))
    progressive = subprocess.run(["cjpeg", "-progressive", tiny], check=True,
                                 capture_output=True).stdout
    os.remove(tiny)
    assert progressive.endswith(b"\xff\xd9")
    scan = min(jpeg_scans(progressive), key=len)
    with open(os.path.join(HERE, "crafted", "many-scans.jpg"), "wb") as f:
        f.write(progressive[:-2] + scan * 600 + b"\xff\xd9")
    for name in ["testorig.jpg", "testimgint.jpg", "testimgari.jpg", "rocket-crop.jpg",
                 "hubble_deep_field-crop.jpg", "gray.jpg", "progressive444.jpg"]:
        rows.append(golden_row("jpeg/" + name, djpeg(os.path.join(jpeg, name))))

    # EXIF orientation: an asymmetric 12x8 picture, every orientation, both
    # byte orders. Goldens are djpeg's pixels turned as exif_transpose does.
    picture = np.zeros((8, 12, 3), dtype=np.uint8)
    picture[:4, :6] = (230, 20, 20)
    picture[:4, 6:] = (20, 230, 20)
    picture[4:, :6] = (20, 20, 230)
    picture[4:, 6:] = (240, 240, 30)
    picture[0, 0] = (255, 255, 255)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=95, subsampling=0)
    plain = buffer.getvalue()
    with open(os.path.join(jpeg, "orientation-none.jpg"), "wb") as f:
        f.write(plain)
    stored = djpeg(os.path.join(jpeg, "orientation-none.jpg"))
    rows.append(golden_row("jpeg/orientation-none.jpg", stored))
    for orientation in range(1, 9):
        for big_endian in (False, True):
            name = "orientation-%d-%s.jpg" % (orientation, "be" if big_endian else "le")
            with open(os.path.join(jpeg, name), "wb") as f:
                f.write(with_app1(plain, exif_app1(orientation, big_endian)))
            rows.append(golden_row("jpeg/" + name, orient(stored, orientation)))
    # A broken EXIF block (IFD offset past the end) is ignored, not fatal.
    broken = bytearray(exif_app1(6, False))
    broken[14:18] = struct.pack("<I", 4000)
    with open(os.path.join(jpeg, "orientation-broken.jpg"), "wb") as f:
        f.write(with_app1(plain, bytes(broken)))
    rows.append(golden_row("jpeg/orientation-broken.jpg", stored))

    # CMYK: Pillow writes Adobe-inverted CMYK. Expected RGB = C*K/255 on the
    # inverted values, from Pillow's own decode of the same file.
    cmyk = Image.fromarray(picture).resize((24, 16)).convert("CMYK")
    cmyk.save(os.path.join(jpeg, "cmyk.jpg"), "JPEG", quality=95)
    decoded = np.asarray(Image.open(os.path.join(jpeg, "cmyk.jpg")))
    adobe_cmyk_to_rgb(255 - decoded).tofile(os.path.join(HERE, "cmyk.rgb"))
    # Exact goldens from the same library: CMYK as stored, then the formula.
    turbo = TurboJPEG()
    with open(os.path.join(jpeg, "cmyk.jpg"), "rb") as f:
        stored_cmyk = turbo.decompress_cmyk(f.read(), 24, 16)
    rows.append(golden_row("jpeg/cmyk.jpg", adobe_cmyk_to_rgb(stored_cmyk)))
    # YCCK: TurboJPEG stores CMYK samples as YCCK (with an Adobe marker).
    ink = np.asarray(cmyk)
    ycck = turbo.compress_cmyk(ink, 95)
    assert b"Adobe" in ycck[:200]
    with open(os.path.join(jpeg, "ycck.jpg"), "wb") as f:
        f.write(ycck)
    rows.append(golden_row("jpeg/ycck.jpg", adobe_cmyk_to_rgb(turbo.decompress_cmyk(ycck, 24, 16))))

    crafted = os.path.join(HERE, "crafted")
    with open(os.path.join(crafted, "huge-20000x20000.png"), "wb") as f:
        f.write(crafted_png(20000, 20000))
    with open(os.path.join(crafted, "zero-width.png"), "wb") as f:
        f.write(crafted_png(0, 16))
    with open(os.path.join(tests, "testorig.jpg"), "rb") as f:
        original = f.read()
    with open(os.path.join(crafted, "huge-65500x65500.jpg"), "wb") as f:
        f.write(with_sof_size(original, 65500, 65500))
    with open(os.path.join(crafted, "zero-height.jpg"), "wb") as f:
        f.write(with_sof_size(original, 227, 0))
    # Corrupt data libjpeg only warns about (and fills with gray): the scan
    # cut at 60% with an end-of-image marker appended, and a frame header
    # claiming twice the rows the scan holds.
    assert original.index(b"\xff\xda") < len(original) * 6 // 10
    with open(os.path.join(crafted, "truncated-scan-eoi.jpg"), "wb") as f:
        f.write(original[:len(original) * 6 // 10] + b"\xff\xd9")
    with open(os.path.join(crafted, "more-rows.jpg"), "wb") as f:
        f.write(with_sof_size(original, 227, 298))

    with open(os.path.join(HERE, "golden.tsv"), "w") as f:
        f.write("# name\twidth\theight\tlayout\tbitDepth\tsha256 (made by make_golden.py)\n")
        for row in rows:
            f.write("\t".join(str(v) for v in row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared")
