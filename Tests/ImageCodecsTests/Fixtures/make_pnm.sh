#!/usr/bin/env bash
# Builds pnm/: Netpbm images of every kind convviz reads, each beside the
# PNG that Netpbm itself (pnmtopng, after pamdepth to 255 or 65535 where the
# maxval is another) makes of it, the reference the tests decode against.
# Run once, with Debian's netpbm 11 and the repository's samples/:
#   bash make_pnm.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/pnm"
samples="$here/../../../samples"
mkdir -p "$out"
cd "$out"
rm -f ./*.p?m ./*.png
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A 37x23 crop of the astronaut (odd width: P4 rows end in padding bits).
pngtopam "$samples/astronaut.png" | pamcut -left 200 -top 120 -width 37 -height 23 \
  | pamtopnm > "$work/rgb.ppm"
pnmtopnm -plain < "$work/rgb.ppm" > /dev/null  # netpbm is complete
ppmtopgm < "$work/rgb.ppm" > "$work/gray.pgm"

# Binary and plain, 8 bits.
cp "$work/rgb.ppm" p6.ppm
cp "$work/gray.pgm" p5.pgm
pnmtoplainpnm < p6.ppm > p3.ppm
pnmtoplainpnm < p5.pgm > p2.pgm
# Bitmaps: binary and plain.
pamditherbw -threshold < "$work/gray.pgm" | pamtopnm > p4.pbm
pnmtoplainpnm < p4.pbm > p1.pbm
# 16 bits, and maxvals that are neither 255 nor 65535.
pamdepth 1000 < p6.ppm > p6-1000.ppm
pamdepth 100 < p5.pgm > p5-100.pgm
# (From maxval 1000, so that the samples are not all multiples of 257,
# which pnmtopng would store at 8 bits.)
pamdepth 65535 < p6-1000.ppm > p6-65535.ppm
pamdepth 1000 < p5.pgm | pamdepth 65535 > p5-65535.pgm
pnmtoplainpnm < p6-1000.ppm > p3-1000.ppm
pnmtoplainpnm < p5-100.pgm > p2-100.pgm
# A header with comments (djpeg writes none; GIMP and others do).
{ printf 'P6\n# made by make_pnm.sh\n37 # width\n23\n# maxval next\n255\n'
  tail -c $((37 * 23 * 3)) p6.ppm; } > p6-comments.ppm

# The references: what Netpbm's own pnmtopng makes of each file, at 8 or 16 bits.
for f in p?.p?m p6-comments.ppm; do pnmtopng < "$f" > "${f%.*}.png"; done
for f in p6-65535.ppm p5-65535.pgm; do pnmtopng < "$f" > "${f%.*}.png"; done
pamdepth 65535 < p6-1000.ppm | pnmtopng > p6-1000.png
pamdepth 255 < p5-100.pgm | pnmtopng > p5-100.png
cp p6-1000.png p3-1000.png
cp p5-100.png p2-100.png
ls -l
