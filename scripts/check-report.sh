#!/usr/bin/env bash
# Renders a convviz report in headless Chromium and checks that the page shows
# its images: every <img> must have decoded (naturalWidth > 0) and the
# screenshot must not be blank.
#
#   scripts/check-report.sh [output/report.html] [screenshot.png]
#
# Needs Debian's chromium (apt-get install -y chromium). The report itself has
# no scripts; a copy with a small checking script appended is what Chromium
# loads for the DOM check, so the report on disk is never changed.
set -euo pipefail

report=${1:-output/report.html}
screenshot=${2:-${report%.html}-screenshot.png}
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
  echo "check-report: chromium not found; install it with: apt-get install -y chromium" >&2
  exit 2
fi
[[ -f "$report" ]] || { echo "check-report: $report: no such file" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
       --user-data-dir="$work/profile" --virtual-time-budget=10000)

# 1. The DOM after load: count images that decoded and images that did not.
probe="$work/probe.html"
cp "$report" "$probe"
cat >> "$probe" <<'JS'
<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const broken = images.filter(img => !img.complete || img.naturalWidth === 0).length;
  document.body.setAttribute('data-check',
    'images=' + images.length + ' broken=' + broken);
});
</script>
JS
dom=$("$browser" "${flags[@]}" --dump-dom "file://$(realpath "$probe")" 2>/dev/null)
marker=$(grep -o 'data-check="images=[0-9]* broken=[0-9]*"' <<<"$dom" || true)
if [[ -z "$marker" ]]; then
  echo "check-report: the page did not finish loading in Chromium" >&2
  exit 1
fi
count=$(sed -E 's/.*images=([0-9]+).*/\1/' <<<"$marker")
broken=$(sed -E 's/.*broken=([0-9]+).*/\1/' <<<"$marker")
echo "check-report: $count images, $broken broken"
if (( count == 0 || broken > 0 )); then
  echo "check-report: FAIL: the report must show all its images" >&2
  exit 1
fi

# 2. A screenshot of the page as a reader sees it (the report, not the probe).
"$browser" "${flags[@]}" --window-size=1280,3000 --screenshot="$work/shot.png" \
  "file://$(realpath "$report")" >/dev/null 2>&1
cp "$work/shot.png" "$screenshot"
# A blank 1280x3000 page compresses to a few KB; pictures make it far larger.
size=$(stat -c %s "$screenshot")
echo "check-report: screenshot $screenshot ($size bytes)"
if (( size < 40000 )); then
  echo "check-report: FAIL: the screenshot looks blank" >&2
  exit 1
fi
echo "check-report: OK"
