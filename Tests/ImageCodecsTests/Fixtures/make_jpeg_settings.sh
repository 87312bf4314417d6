#!/usr/bin/env bash
# Builds jpeg-settings.tsv: what libjpeg-turbo's own tools make with each
# DCT method and upsampling choice, the reference for DecodeOptions'
# jpegDCT/jpegUpsampling and EncodeOptions' jpegDCT. Run once, with Debian's
# libjpeg-turbo-progs 2.1.5 (the library convviz links):
#   bash make_jpeg_settings.sh
# Lines: kind, file, the tool's flags, SHA-256 (decode: of the PPM's samples;
# encode: of the whole JPEG cjpeg writes at quality 90 from the file's
# djpeg-decoded pixels).
set -euo pipefail
cd "$(dirname "$0")"
out=jpeg-settings.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# kind	file	flags	sha256 (made by make_jpeg_settings.sh)" > "$out"
samples() {  # the raster of a binary PPM/PGM (djpeg writes a 3-line header)
  tail -n +4 "$1"
}
for file in jpeg/testorig.jpg jpeg/rocket-crop.jpg jpeg/gray.jpg; do
  for dct in int fast float; do
    for smooth in "" "-nosmooth"; do
      djpeg -dct $dct $smooth -outfile "$work/d.pnm" "$file"
      flags="-dct $dct${smooth:+ $smooth}"
      echo "decode	$file	$flags	$(samples "$work/d.pnm" | sha256sum | cut -d' ' -f1)" >> "$out"
    done
  done
  djpeg -outfile "$work/in.pnm" "$file"
  for dct in int fast float; do
    cjpeg -quality 90 -dct $dct -outfile "$work/e.jpg" "$work/in.pnm"
    echo "encode	$file	-quality 90 -dct $dct	$(sha256sum < "$work/e.jpg" | cut -d' ' -f1)" >> "$out"
  done
done
cat "$out"
