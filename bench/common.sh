# Set-up shared by the bench scripts. Source it from a script in bench/:
#
#   source "$(dirname "$0")/common.sh"
#
# It sets `here` (bench/) and `root` (the repository) and changes to `root`.
# Then call what the script needs:
#
#   bench_build_convviz      builds convviz in release mode (static Swift runtime, as
#                            scripts/demo.sh does) unless $CONVVIZ names a binary, and
#                            sets `convviz` to its path
#   bench_need_torch [torchvision]
#                            Debian's python3-torch (and python3-torchvision), with
#                            apt-get when missing
#   bench_need_pip IMPORTS PACKAGE...
#                            the system python3's packages, with pip when `import
#                            IMPORTS` fails
#   bench_venv DIR IMPORTS PACKAGE...
#                            a venv in DIR on top of the system's packages (Debian's
#                            torch 1.13 wants numpy<2), made when `import IMPORTS` fails
#                            in it
#   bench_mnist_dir [DIR]    prints DIR, or the MNIST folder of ../shared or data/

here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

bench_build_convviz() {
  if [[ -n "${CONVVIZ:-}" ]]; then
    convviz="$CONVVIZ"
    return
  fi
  echo "bench: building convviz (release)…" >&2
  swift build -c release --static-swift-stdlib --product convviz >/dev/null
  convviz="$(swift build -c release --show-bin-path)/convviz"
}

bench_need_torch() {
  local packages=(python3-torch) imports=torch
  if [[ "${1:-}" == torchvision ]]; then
    packages+=(python3-torchvision)
    imports="torch, torchvision"
  fi
  if ! /usr/bin/python3 -c "import $imports" 2>/dev/null; then
    echo "bench: installing ${packages[*]} (apt-get)…" >&2
    apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
}

bench_need_pip() {
  local imports="$1"
  shift
  if ! python3 -c "import $imports" 2>/dev/null; then
    echo "bench: installing $* (pip)…" >&2
    python3 -m pip install --quiet "$@" >&2
  fi
}

bench_venv() {
  local venv="$1" imports="$2"
  shift 2
  if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
    echo "bench: making $venv ($*)…" >&2
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    "$venv/bin/pip" install -q "$@"
  fi
}

bench_mnist_dir() {
  if [[ -n "${1:-}" ]]; then echo "$1"
  elif [[ -d "$root/../shared/data/mnist" ]]; then echo "$root/../shared/data/mnist"
  else echo "$root/data/mnist"; fi
}
