#!/usr/bin/env bash
# Installs every Debian package crio-cpp needs to build, test and run. Idempotent, non-interactive.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev libsqlite3-dev libseccomp-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-format libsystemd-dev libyaml-cpp-dev
)
RUNTIME_PKGS=(
  crun runc conmon containernetworking-plugins iproute2 iptables util-linux systemd dbus
)
TEST_PKGS=(
  docker-registry busybox-static skopeo umoci containerd curl zstd python3
)

missing=()
for p in "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${TEST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# critest's busybox stand-in needs a busybox whose shell executes /bin/ls instead of running its
# applet in-process (the MaskedPaths spec checks "/bin/sh: ls: Permission denied"): Debian's
# dynamic `busybox` flavour does, busybox-static does not, and the two packages conflict. So the
# .deb is only unpacked into a cache, never installed.
BUSYBOX_DEB_DIR=${CRIO_BUSYBOX_DEB_DIR:-/var/cache/crio-cpp/busybox-deb}
if [ ! -x "$BUSYBOX_DEB_DIR/bin/busybox" ]; then
  tmp=$(mktemp -d)
  chmod 755 "$tmp"  # apt's _apt user downloads into it
  (cd "$tmp" && { apt-get download -qq busybox 2>/dev/null ||
                  { apt-get update -qq && apt-get download -qq busybox; }; })
  mkdir -p "$BUSYBOX_DEB_DIR"
  dpkg-deb -x "$tmp"/busybox_*.deb "$BUSYBOX_DEB_DIR"
  rm -rf "$tmp"
  echo "install-deps: unpacked Debian's busybox into $BUSYBOX_DEB_DIR"
fi
# Debian's docker-registry package starts a system service on install; the tests run their own.
if systemctl is-active --quiet docker-registry 2>/dev/null; then systemctl stop docker-registry || true; fi
echo "install-deps: all packages present"
