#!/usr/bin/env bash
# CRI conformance: runs critest (cri-tools v1.26.1, validation specs) against the built crio.
#
#   run_critest.sh BUILD_DIR HANDLER        # HANDLER: runc or crun
#
# Everything lives under one temp dir: a docker-registry on 127.0.0.1 loaded with stand-ins for
# critest's images (make_critest_images.py), a registries.conf mirroring registry.k8s.io,
# gcr.io, docker.io and quay.io to it, a CNI bridge on a subnet of its own, and crio with its
# own root, runroot, socket and state dirs. The JUnit report is kept in BUILD_DIR/conformance/.
# Fails on any failed spec not in known_failures.txt, and on a listed spec that now passes (so
# the list only shrinks). Exit 77 (ctest: skipped) when HANDLER cannot run containers here, or
# when critest is missing outside CI; under CI=true a missing critest fails.
# Tools: $CRI_TOOLS_DIR, default ../shared/tools/cri-tools from the project root.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:?usage: run_critest.sh BUILD_DIR HANDLER}" && pwd)
HANDLER=${2:?usage: run_critest.sh BUILD_DIR HANDLER}
TOOLS=${CRI_TOOLS_DIR:-$ROOT/../shared/tools/cri-tools}
SKIP=77

say() { echo "critest[$HANDLER]: $*"; }

if [ ! -x "$TOOLS/critest" ] || [ ! -x "$TOOLS/crictl" ]; then
  if [ "${CI:-}" = "true" ]; then
    say "FAILED: critest/crictl not found in $TOOLS (set CRI_TOOLS_DIR)"
    exit 1
  fi
  say "########################################################################"
  say "# SKIPPED: critest/crictl not found in $TOOLS (set CRI_TOOLS_DIR).     #"
  say "# CRI conformance was NOT checked. Under CI=true this is a failure.    #"
  say "########################################################################"
  exit $SKIP
fi

WORK=$(mktemp -d /tmp/crio-critest.XXXXXX)
REPORT_DIR="$BUILD/conformance"
mkdir -p "$REPORT_DIR"
SOCK="$WORK/crio.sock"
CRICTL=("$TOOLS/crictl" --runtime-endpoint "unix://$SOCK" --image-endpoint "unix://$SOCK"
        --timeout 60s)
# A bridge and subnet of its own per handler, so the two runs never share addresses.
case "$HANDLER" in
  runc) BRIDGE=critest-runc; SUBNET=10.231.0.0/24 ;;
  crun) BRIDGE=critest-crun; SUBNET=10.232.0.0/24 ;;
  *) say "unknown handler $HANDLER"; exit 2 ;;
esac
CRIO_PID=""; REG_PID=""

cleanup() {
  local status=$?
  set +e
  if [ -n "$CRIO_PID" ] && kill -0 "$CRIO_PID" 2>/dev/null; then
    # Let the daemon remove what critest left behind, then stop it.
    for pod in $("${CRICTL[@]}" pods -q 2>/dev/null); do
      "${CRICTL[@]}" stopp "$pod" >/dev/null 2>&1
      "${CRICTL[@]}" rmp -f "$pod" >/dev/null 2>&1
    done
    kill -TERM "$CRIO_PID"
    for _ in $(seq 1 100); do kill -0 "$CRIO_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CRIO_PID" 2>/dev/null
    wait "$CRIO_PID" 2>/dev/null
  fi
  if [ -n "$REG_PID" ]; then kill -TERM "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null; fi
  # Anything still mounted below the work dir (a crash), deepest first.
  awk -v w="$WORK" '$5 == w || index($5, w "/") == 1 {print $5}' /proc/self/mountinfo |
    sort -r | while read -r m; do umount -l "$m"; done
  ip link del "$BRIDGE" 2>/dev/null
  if [ $status -ne 0 ] && [ -f "$WORK/crio.log" ]; then
    say "--- last lines of the crio log"
    tail -n 60 "$WORK/crio.log"
  fi
  [ -f "$WORK/crio.log" ] && cp "$WORK/crio.log" "$REPORT_DIR/crio-$HANDLER.log"
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The handler must run a container here at all (crun 1.8 refuses hybrid cgroup hosts whose
# v2 tree has controllers): a bare `run` of a busybox bundle tells.
handler_works() {
  local bundle="$WORK/probe"
  rm -rf "$bundle"
  mkdir -p "$bundle/rootfs/bin"
  cp /bin/busybox "$bundle/rootfs/bin/"
  (cd "$bundle" && "$HANDLER" spec >/dev/null 2>&1) || return 1
  python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
spec = json.load(open(p))
spec["process"]["args"] = ["/bin/busybox", "true"]
spec["process"]["terminal"] = False
json.dump(spec, open(p, "w"))
PY
  "$RUNTIME_PATH" --root "$WORK/probe-root" run --bundle "$bundle" "critest-probe-$$-$RANDOM" \
    >"$WORK/probe.log" 2>&1
}
# crun 1.8 refuses hybrid cgroup hosts whose v2 tree has controllers ("cgroups in hybrid mode
# not supported"): there it runs behind a wrapper that hides /sys/fs/cgroup/unified in a mount
# namespace of its own. Only /sys/fs/cgroup is made private there: the rest keeps the host's
# propagation, which critest's mount propagation specs check. runc handles hybrid mode itself.
RUNTIME_PATH=$(command -v "$HANDLER" || true)
if [ "$HANDLER" = crun ] && [ -n "$RUNTIME_PATH" ] && ! handler_works &&
  grep -q "hybrid" "$WORK/probe.log" 2>/dev/null; then
  cat >"$WORK/crun-wrapper" <<WRAP
#!/bin/sh
exec unshare --mount --propagation unchanged /bin/sh -c 'mount --make-rprivate /sys/fs/cgroup && mount -t tmpfs -o size=4k critest-hide-cgroup2 /sys/fs/cgroup/unified && exec $RUNTIME_PATH "\$@"' crun "\$@"
WRAP
  chmod 0755 "$WORK/crun-wrapper"
  RUNTIME_PATH="$WORK/crun-wrapper"
  say "crun runs behind a wrapper hiding the hybrid cgroup2 tree"
fi
if [ -z "$RUNTIME_PATH" ] || ! handler_works; then
  say "SKIPPED: $HANDLER cannot run a container on this host: $(tail -n 1 "$WORK/probe.log" 2>/dev/null)"
  exit $SKIP
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

say "starting a registry with critest's stand-in images"
REG=127.0.0.1:$(free_port)
sed -e "s#@ROOTDIR@#$WORK/registry#; s#@ADDR@#$REG#; s#@AUTH@##" \
  "$ROOT/tests/fixtures/registry_config.yml.in" >"$WORK/registry.yml"
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do curl -fs "http://$REG/v2/" >/dev/null && break; sleep 0.1; done
BUSYBOX=${CRIO_BUSYBOX_DEB_DIR:-/var/cache/crio-cpp/busybox-deb}/bin/busybox
[ -x "$BUSYBOX" ] || { say "no $BUSYBOX: run scripts/install-deps.sh"; exit 1; }
python3 "$HERE/make_critest_images.py" --registry "$REG" --pause "$BUILD/cmd/pause" \
  --busybox "$BUSYBOX" \
  >"$WORK/images.json" 2>"$WORK/images.log" || { cat "$WORK/images.log"; exit 1; }

{
  for prefix in registry.k8s.io gcr.io docker.io quay.io; do
    printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$prefix" "$prefix"
    printf '[[registry.mirror]]\nlocation = "%s"\ninsecure = true\n\n' "$REG"
  done
  # Short names (crictl pull busybox) resolve through docker.io.
  printf 'unqualified-search-registries = ["docker.io"]\n'
} >"$WORK/registries.conf"
mkdir -p "$WORK/registries.d"
echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$WORK/policy.json"

mkdir -p "$WORK/cni/net.d"
cat >"$WORK/cni/net.d/10-critest.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "critest-$HANDLER", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
   "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$WORK/cni/ipam",
            "ranges": [[{"subnet": "$SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
JSON

cat >"$WORK/crio.conf" <<TOML
[crio]
root = "$WORK/root"
runroot = "$WORK/runroot"
log_dir = "$WORK/pod-logs"
version_file = "$WORK/version"
clean_shutdown_file = "$WORK/clean.shutdown"
[crio.api]
listen = "$SOCK"
[crio.runtime]
default_runtime = "$HANDLER"
cgroup_manager = "cgroupfs"
container_exits_dir = "$WORK/exits"
container_attach_socket_dir = "$WORK/attach"
namespaces_dir = "$WORK/ns"
# As CRI-O's own critest run: no profile in the config means unconfined, as the CRI says.
seccomp_use_default_when_empty = false
[crio.runtime.runtimes.$HANDLER]
runtime_path = "$RUNTIME_PATH"
runtime_root = "$WORK/$HANDLER-root"
[crio.image]
pause_image = "registry.k8s.io/pause:3.10.1"
registries_conf = "$WORK/registries.conf"
registries_conf_dir = "$WORK/registries.d"
signature_policy = "$WORK/policy.json"
[crio.network]
network_dir = "$WORK/cni/net.d"
plugin_dirs = ["/usr/lib/cni", "/opt/cni/bin"]
TOML

say "starting crio ($HANDLER) on $SOCK"
mkdir -p "$WORK/crio.conf.d"
"$BUILD/cmd/crio" --config "$WORK/crio.conf" --config-dir "$WORK/crio.conf.d" \
  >"$WORK/crio.log" 2>&1 &
CRIO_PID=$!
for _ in $(seq 1 200); do
  "${CRICTL[@]}" version >/dev/null 2>&1 && break
  kill -0 "$CRIO_PID" 2>/dev/null || { say "crio exited during startup"; exit 1; }
  sleep 0.05
done

say "running critest (validation specs)"
REPORT="$REPORT_DIR/critest-$HANDLER.xml"
rm -f "$REPORT"
set +e
(cd "$WORK" && "$TOOLS/critest" -runtime-endpoint "unix://$SOCK" -image-endpoint "unix://$SOCK" \
  -ginkgo.skip 'benchmark' -ginkgo.junit-report "$REPORT" -ginkgo.no-color \
  -ginkgo.timeout 40m) >"$REPORT_DIR/critest-$HANDLER.log" 2>&1
CRITEST_STATUS=$?
set -e
tail -n 30 "$REPORT_DIR/critest-$HANDLER.log"
[ -f "$REPORT" ] || { say "critest wrote no report (exit $CRITEST_STATUS)"; exit 1; }
python3 "$HERE/check_report.py" "$REPORT" "$HERE/known_failures.txt"
