#!/usr/bin/env bash
# Builds examples/LibraryUse, a separate package that uses convviz as a
# library, against this checkout, and runs it on a bundled photo: the check
# that the README's "Use convviz as a library" example compiles and works,
# and that the library products can be another package's dependencies.
# The example names the checkout by path (../..), but SwiftPM lets path and
# branch dependencies use unsafeFlags; so the check commits a copy of the
# checkout to a scratch git repository, tags it, and points the example at
# that tag, which is how a user's package would depend on a release. When
# the convviz binary is built (.build/debug or .build/release), the
# example's picture must equal `convviz filter`'s.
#
# Usage: scripts/check-library-example.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A copy of the checkout (tracked and new files, no .build) in a folder
# named convviz: a path dependency is known by its folder's name, and the
# example's build stays away from the checkout's.
echo "check-library-example: copying the checkout…" >&2
mkdir "$work/convviz"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) \
  | (cd "$root" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) \
  | tar -C "$work/convviz" -xf -
example="$work/convviz/examples/LibraryUse"
git -C "$work/convviz" init -q
git -C "$work/convviz" add -A
git -C "$work/convviz" -c user.name=check -c user.email=check@localhost commit -qm snapshot
git -C "$work/convviz" tag 1.0.0
path_dependency='.package(name: "convviz", path: "../..")'
grep -qF "$path_dependency" "$example/Package.swift" || {
  echo "check-library-example: $example/Package.swift no longer says $path_dependency" >&2
  exit 1
}
sed -i "s|.package(name: \"convviz\", path: \"../..\")|.package(url: \"file://$work/convviz\", exact: \"1.0.0\")|" \
  "$example/Package.swift"
# The checkout's pins, so that resolving needs no newer versions.
if [[ -f "$root/Package.resolved" ]]; then cp "$root/Package.resolved" "$example/"; fi

echo "check-library-example: building examples/LibraryUse…" >&2
swift build --package-path "$example" >&2
bin="$(swift build --package-path "$example" --show-bin-path)/LibraryUse"

photo="$work/convviz/samples/astronaut.png"
"$bin" "$photo" "$work/edges.png"
[[ -s "$work/edges.png" ]] || { echo "check-library-example: no output written" >&2; exit 1; }

for convviz in "$root/.build/debug/convviz" "$root/.build/release/convviz"; do
  [[ -x "$convviz" ]] || continue
  "$convviz" filter "$photo" -k sobel --padding same --border reflect -o "$work/cli.png" >/dev/null
  cmp "$work/edges.png" "$work/cli.png" || {
    echo "check-library-example: the example and \`convviz filter\` disagree" >&2
    exit 1
  }
  echo "check-library-example: same picture as $convviz filter" >&2
  break
done
echo "check-library-example: ok"
