#!/usr/bin/env bash
# Installs the Debian packages sdm needs, only those missing. Idempotent and quiet
# when everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail
packages=(
  build-essential cmake make pkg-config ccache git
  libtorch-dev libopenblas0-openmp libopenblas-dev
  libeigen3-dev libopencv-dev libtomlplusplus-dev libhdf5-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libspdlog-dev
  nlohmann-json3-dev cppzmq-dev libzmq3-dev
  python3 python3-zmq python3-numpy
  python3-torch python3-scipy python3-sklearn python3-h5py python3-igor
  libopenmpi-dev openmpi-bin
)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "sdm: installing missing Debian packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo_cmd=(sudo); else
    echo "sdm: these packages are missing and I am not root: ${missing[*]}" >&2
    echo "sdm: run 'apt-get install ${missing[*]}' as root, then retry." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "sdm: packages installed."
