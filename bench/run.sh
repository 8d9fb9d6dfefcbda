#!/usr/bin/env bash
# crio-cpp benchmarks: crio (with crun and runc) vs the bare OCI runtimes vs containerd 1.6 + runc,
# all in one run on this machine, printed as markdown tables. See bench/README.md.
#
#   sudo bash bench/run.sh [BUILD_DIR]        (default BUILD_DIR: <repo>/build; builds nothing)
#
# Knobs (environment): RUNS (30) measured runs per latency benchmark, WARMUP (2),
# COUNTS (0,10,50,110) running pods for the memory benchmark, START_RUNS (RUNS) pod starts at the
# highest count, SETTLE_MS (3000) wait before each memory reading, PF_MB (256) MB pushed per
# port-forward run, PF_RUNS (3) measured port-forward runs, STATS_COUNTS (10,110) running pods for
# the stats benchmark, STATS_CPU_S (60) length of its polled CPU window, STATS_GAP_MS (1000) pause
# before each timed stats call, STATS_NET (cni; or host) its pods' network, SKIP (space-separated
# list of lifecycle density network streaming stats floor crio containerd) to leave parts out,
# KEEP_TEMP=1 keeps the temp dir (logs) after the run.
#
# Everything lives in one temp dir; the machine's /etc/crio, /etc/containers, /etc/cni,
# /var/lib/containers, /var/lib/containerd and containerd service are never touched. Every
# process, mount, pod, bridge, netns and cgroup this script makes is removed on exit, on failure
# too (trap), by PID or by its unique name.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$HERE")
BUILD=$(cd "${1:-$SRC/build}" && pwd) || { echo "no build dir" >&2; exit 2; }
BENCH=$BUILD/bench/crio-bench
CRIO=$BUILD/cmd/crio
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-2}
COUNTS=${COUNTS:-0,10,50,110}
START_RUNS=${START_RUNS:-$RUNS}
SETTLE_MS=${SETTLE_MS:-3000}
PF_MB=${PF_MB:-256}
PF_RUNS=${PF_RUNS:-3}
STATS_COUNTS=${STATS_COUNTS:-10,110}
STATS_CPU_S=${STATS_CPU_S:-60}
STATS_GAP_MS=${STATS_GAP_MS:-1000}
STATS_NET=${STATS_NET:-cni}
SKIP=" ${SKIP:-} "

die() { echo "run.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

[[ $EUID -eq 0 ]] || die "needs root (sudo bash bench/run.sh)"
for f in "$BENCH" "$CRIO"; do [[ -x $f ]] || die "$f not built (ninja -C $BUILD crio crio-bench pause)"; done
for b in docker-registry conmon runc crun containerd containerd-shim-runc-v2 python3 curl jq ip \
         unshare setpriv; do
  command -v "$b" >/dev/null || die "$b is not installed"
done
RUNC=$(command -v runc)
CRUN=$(command -v crun)

T=$(mktemp -d /tmp/crio-bench-XXXXXX)
RESULTS=$T/results.tsv
: >"$RESULTS"
CGROUP=/crio-bench-$$
BRIDGE=crbench$$
BRIDGE=${BRIDGE:0:15}
SUBNET=10.198.0.0/16
IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
NETNS_BEFORE=$(ls /var/run/netns 2>/dev/null | sort)
RUN_CONTAINERD_EXISTED=0
[[ -e /run/containerd ]] && RUN_CONTAINERD_EXISTED=1
REGISTRY_PID=""
CRIO_PID=""
CONTAINERD_PID=""

# ---- cleanup -------------------------------------------------------------------------------

stop_pid() {  # stop_pid PID: SIGTERM, up to 15 s, then SIGKILL
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# Processes whose command line names our temp dir (conmon, shims, pause, containers started by
# the floor runs): ours by construction, killed by PID. The registry is stopped last, apart.
kill_leftovers() {
  local pid
  for pid in $(pgrep -f -- "$T" || true); do
    [[ $pid == "$$" || $pid == "$BASHPID" || $pid == "$REGISTRY_PID" ]] && continue
    kill -KILL "$pid" 2>/dev/null
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  log "cleaning up"
  [[ -n $CRIO_PID ]] && stop_crio
  [[ -n $CONTAINERD_PID ]] && stop_containerd
  # Containers left by an interrupted floor run.
  for rt in runc crun; do
    local root=$T/floor-$rt
    [[ -d $root ]] || continue
    local wrapper=$RUNC
    [[ $rt == crun ]] && wrapper=$T/crun-wrapper
    for state in "$root"/*/; do
      [[ -d $state ]] && "$wrapper" --root "$root" delete -f "$(basename "$state")" >/dev/null 2>&1
    done
  done
  kill_leftovers
  stop_pid "$REGISTRY_PID"
  # Mounts below the temp dir, deepest first.
  awk -v t="$T" '$5 == t || index($5, t "/") == 1 {print $5}' /proc/self/mountinfo |
    awk '{print length, $0}' | sort -rn | cut -d' ' -f2- |
    while read -r m; do umount -l "$m" 2>/dev/null; done
  # Network namespaces containerd pinned for our pods and did not remove.
  for ns in $(ls /var/run/netns 2>/dev/null | sort); do
    if ! grep -qx -- "$ns" <<<"$NETNS_BEFORE" && [[ $ns == cni-* ]]; then
      umount -l "/var/run/netns/$ns" 2>/dev/null; rm -f "/var/run/netns/$ns"
    fi
  done
  ip link del "$BRIDGE" >/dev/null 2>&1
  echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
  # Cgroups of our pods and containers, deepest first (rmdir never removes a populated one).
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [[ -d $h${CGROUP#/} ]] && find "$h${CGROUP#/}" -depth -type d -delete 2>/dev/null
  done
  # containerd's shim sockets live in /run/containerd/s whatever its config says.
  if [[ $RUN_CONTAINERD_EXISTED == 0 ]]; then
    rmdir /run/containerd/s /run/containerd/runc/k8s.io /run/containerd/runc \
      /run/containerd/io.containerd.runtime.v2.task/k8s.io \
      /run/containerd/io.containerd.runtime.v2.task /run/containerd 2>/dev/null
  fi
  if [[ ${KEEP_TEMP:-0} == 1 ]]; then
    log "kept $T"
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- registry and images -------------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_registry() {
  local port
  port=$(free_port)
  [[ $port == 5000 ]] && port=$(free_port)
  REGISTRY=127.0.0.1:$port
  mkdir -p "$T/registry"
  sed -e "s|@ADDR@|$REGISTRY|g" -e "s|@ROOTDIR@|$T/registry/storage|g" -e "s|@AUTH@||g" \
    "$SRC/tests/fixtures/registry_config.yml.in" >"$T/registry/config.yml"
  env -u REGISTRY_HTTP_ADDR setpriv --pdeathsig KILL docker-registry serve "$T/registry/config.yml" \
    >"$T/registry/log" 2>&1 &
  REGISTRY_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do
    curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && break
    kill -0 "$REGISTRY_PID" 2>/dev/null || die "docker-registry exited: $(tail -5 "$T/registry/log")"
    sleep 0.1
  done
  python3 "$SRC/tests/fixtures/make_test_images.py" --registry "$REGISTRY" --only busybox pause \
    >"$T/registry/images.json" 2>"$T/registry/push.log" || die "pushing images failed: $(tail -5 "$T/registry/push.log")"
  BUSYBOX=$REGISTRY/busybox:latest
  PAUSE=$REGISTRY/pause:3.10.1
  log "registry on $REGISTRY (pid $REGISTRY_PID)"
}

# The busybox rootfs unpacked as an OCI bundle for the floor runs: `top`, no terminal, no
# network namespace (the crio and containerd rows use hostNetwork pods too).
make_bundle() {
  python3 "$SRC/tests/fixtures/make_test_images.py" --oci-layout "$T/layout" --only busybox \
    >/dev/null 2>"$T/layout.log" || die "OCI layout failed: $(tail -5 "$T/layout.log")"
  mkdir -p "$T/bundle/rootfs"
  python3 - "$T/layout/busybox" "$T/bundle/rootfs" <<'EOF' || die "unpacking busybox failed"
import json, sys, tarfile
layout, rootfs = sys.argv[1], sys.argv[2]
def blob(digest):
    return layout + "/blobs/" + digest.replace(":", "/")
desc = json.load(open(layout + "/index.json"))["manifests"][0]
manifest = json.load(open(blob(desc["digest"])))
while "manifests" in manifest:
    manifest = json.load(open(blob(manifest["manifests"][0]["digest"])))
for layer in manifest["layers"]:
    with tarfile.open(blob(layer["digest"])) as tar:
        tar.extractall(rootfs)
EOF
  "$RUNC" spec --bundle "$T/bundle" || die "runc spec failed"
  jq '.process.args = ["/bin/busybox","top","-b","-d","30"] | .process.terminal = false
      | .linux.namespaces |= map(select(.type != "network"))' \
    "$T/bundle/config.json" >"$T/bundle/config.json.new" && mv "$T/bundle/config.json.new" "$T/bundle/config.json"
}

# crun 1.8 refuses hybrid cgroup hosts whose cgroup2 mount has controllers ("cgroups in hybrid
# mode not supported"); hide /sys/fs/cgroup/unified in a private mount namespace, as the
# integration tests do. crio and the floor both run crun through it, so they compare fairly.
make_crun_wrapper() {
  CRUN_RUNTIME=$CRUN
  # (cgroupfs files report size 0: read them.)
  if [[ ! -e /sys/fs/cgroup/cgroup.controllers &&
        -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
    cat >"$T/crun-wrapper" <<EOF
#!/bin/sh
exec unshare --mount --propagation private /bin/sh -c 'mount -t tmpfs -o size=4k crio-bench-hide-cgroup2 /sys/fs/cgroup/unified && exec $CRUN "\$@"' crun "\$@"
EOF
    chmod 700 "$T/crun-wrapper"
    CRUN_RUNTIME=$T/crun-wrapper
  fi
}

make_cni_conf() {
  mkdir -p "$T/cni" "$T/ipam" "$T/netns"
  cat >"$T/cni/10-crio-bench.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "crio-bench",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$T/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# ---- crio ----------------------------------------------------------------------------------

start_crio() {
  local d=$T/crio
  rm -rf "$d"
  mkdir -p "$d/conf.d" "$d/pod-logs" "$d/registries.conf.d"
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY" >"$d/registries.conf"
  echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$d/policy.json"
  : >"$d/crio.conf"
  cat >"$d/conf.d/00-bench.conf" <<EOF
[crio]
log_dir = "$d/pod-logs"
version_file = "$d/version"
clean_shutdown_file = "$d/clean.shutdown"
[crio.runtime]
container_exits_dir = "$d/exits"
container_attach_socket_dir = "$d/attach"
namespaces_dir = "$d/ns"
cgroup_manager = "cgroupfs"
default_runtime = "runc"
[crio.runtime.runtimes.crun]
runtime_path = "$CRUN_RUNTIME"
runtime_root = "$d/crun-root"
[crio.runtime.runtimes.runc]
runtime_path = "$RUNC"
runtime_root = "$d/runc-root"
[crio.image]
pause_image = "$PAUSE"
registries_conf = "$d/registries.conf"
registries_conf_dir = "$d/registries.conf.d"
signature_policy = "$d/policy.json"
[crio.network]
network_dir = "$T/cni"
plugin_dirs = ["/usr/lib/cni"]
EOF
  "$CRIO" --config "$d/crio.conf" --config-dir "$d/conf.d" --listen "$d/crio.sock" \
    --root "$d/root" --runroot "$d/runroot" --cni-config-dir "$T/cni" \
    --cni-plugin-dir /usr/lib/cni >"$d/crio.log" 2>&1 &
  CRIO_PID=$!
  CRIO_SOCK=$d/crio.sock
  "$BENCH" pull --endpoint "$CRIO_SOCK" "$BUSYBOX" "$PAUSE" >/dev/null ||
    die "crio did not start or pull: $(tail -20 "$d/crio.log")"
  log "crio up (pid $CRIO_PID)"
}

stop_crio() {
  timeout 300 "$BENCH" cleanup --endpoint "$CRIO_SOCK" >/dev/null 2>&1
  stop_pid "$CRIO_PID"
  CRIO_PID=""
  kill_leftovers
}

# ---- containerd ----------------------------------------------------------------------------

start_containerd() {
  local d=$T/containerd
  rm -rf "$d"
  mkdir -p "$d"
  local cri='plugins."io.containerd.grpc.v1.cri"'
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = "$d/debug.sock"
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
[$cri]
  sandbox_image = "$PAUSE"
  # The streaming server (Exec, Attach, PortForward URLs), as by default: plain HTTP on loopback,
  # a free port.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Root here lacks CAP_SYS_RESOURCE: the pause container's default oom_score_adj (-998) would
  # make runc fail ("can't get final child's PID from pipe"). This clamps it at containerd's own.
  restrict_oom_score_adj = true
  [$cri.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [$cri.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [$cri.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$RUNC"
        Root = "$d/runc-root"
  [$cri.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$T/cni"
  [$cri.registry.mirrors."$REGISTRY"]
    endpoint = ["http://$REGISTRY"]
EOF
  containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  CONTAINERD_SOCK=$d/containerd.sock
  "$BENCH" pull --endpoint "$CONTAINERD_SOCK" "$BUSYBOX" "$PAUSE" >/dev/null ||
    die "containerd did not start or pull: $(tail -20 "$d/containerd.log")"
  log "containerd up (pid $CONTAINERD_PID)"
}

stop_containerd() {
  timeout 300 "$BENCH" cleanup --endpoint "$CONTAINERD_SOCK" >/dev/null 2>&1
  stop_pid "$CONTAINERD_PID"
  CONTAINERD_PID=""
  kill_leftovers
}

# ---- benchmarks ----------------------------------------------------------------------------

# cri ROW SOCK HANDLER SUBCOMMAND [flags...]: one crio-bench run against a daemon. A failing
# benchmark is reported and the run goes on.
cri() {
  local row=$1 sock=$2 handler=$3 sub=$4
  shift 4
  log "$sub: $row $*"
  mkdir -p "$T/pod-logs"
  "$BENCH" "$sub" --endpoint "$sock" --row "$row" --results "$RESULTS" --image "$BUSYBOX" \
    --handler "$handler" --cgroup-parent "$CGROUP" --log-root "$T/pod-logs" --warmup "$WARMUP" \
    "$@" >/dev/null || log "$sub $row failed (see above)"
}

# stats_run ROW SOCK HANDLER DAEMON_PID MONITOR MATCH: the stats benchmark against a running daemon.
stats_run() {
  local net=()
  [[ $STATS_NET == host ]] || net=(--pod-network)
  cri "$1" "$2" "$3" stats --runs "$RUNS" --counts "$STATS_COUNTS" --cpu-s "$STATS_CPU_S" \
    --gap-ms "$STATS_GAP_MS" --daemon-pid "$4" --monitor "$5" --monitor-match "$6" "${net[@]}"
}

# Whether any of the benchmarks sharing one daemon per row runs.
shared_daemon_parts() { ! skipped lifecycle || ! skipped network || ! skipped streaming; }

crio_rows() {  # the rows of crio: crio+crun, crio+runc
  if shared_daemon_parts; then
    start_crio
    for rt in crun runc; do
      skipped lifecycle || cri "crio+$rt" "$CRIO_SOCK" "$rt" lifecycle --runs "$RUNS"
      if ! skipped network; then
        cri "crio+$rt" "$CRIO_SOCK" "$rt" podcycle --runs "$RUNS"
        cri "crio+$rt" "$CRIO_SOCK" "$rt" podcycle --runs "$RUNS" --pod-network
      fi
      skipped streaming || cri "crio+$rt" "$CRIO_SOCK" "$rt" streaming --runs "$RUNS" \
        --pf-mb "$PF_MB" --pf-runs "$PF_RUNS"
    done
    stop_crio
  fi
  if ! skipped density; then
    for rt in crun runc; do  # a fresh daemon each, so each idle reading is a first one
      start_crio
      cri "crio+$rt" "$CRIO_SOCK" "$rt" density --runs "$START_RUNS" --counts "$COUNTS" \
        --daemon-pid "$CRIO_PID" --monitor conmon --monitor-match "$T/crio/" --settle-ms "$SETTLE_MS"
      stop_crio
    done
  fi
  if ! skipped stats; then
    for rt in crun runc; do  # a fresh daemon each: the CPU reading sees no leftovers of the other
      start_crio
      stats_run "crio+$rt" "$CRIO_SOCK" "$rt" "$CRIO_PID" conmon "$T/crio/"
      stop_crio
    done
  fi
}

containerd_rows() {
  local row=containerd+runc
  if shared_daemon_parts; then
    start_containerd
    skipped lifecycle || cri $row "$CONTAINERD_SOCK" "" lifecycle --runs "$RUNS"
    if ! skipped network; then
      cri $row "$CONTAINERD_SOCK" "" podcycle --runs "$RUNS"
      cri $row "$CONTAINERD_SOCK" "" podcycle --runs "$RUNS" --pod-network
    fi
    skipped streaming || cri $row "$CONTAINERD_SOCK" "" streaming --runs "$RUNS" \
      --pf-mb "$PF_MB" --pf-runs "$PF_RUNS"
    stop_containerd
  fi
  if ! skipped density; then
    start_containerd
    cri $row "$CONTAINERD_SOCK" "" density --runs "$START_RUNS" --counts "$COUNTS" \
      --daemon-pid "$CONTAINERD_PID" --monitor containerd-shim-runc-v2 \
      --monitor-match "$T/containerd/" --settle-ms "$SETTLE_MS"
    stop_containerd
  fi
  if ! skipped stats; then
    start_containerd
    stats_run $row "$CONTAINERD_SOCK" "" "$CONTAINERD_PID" containerd-shim-runc-v2 "$T/containerd/"
    stop_containerd
  fi
}

# runtime_floor SUBCOMMAND RUNTIME: one bare-runtime benchmark of the busybox bundle (floor:
# run -d + delete -f; execfloor: exec true), row "floor runc" or "floor crun".
runtime_floor() {
  local sub=$1 rt=$2 runtime=$RUNC
  [[ $rt == crun ]] && runtime=$CRUN_RUNTIME
  log "$sub: floor $rt"
  "$BENCH" "$sub" --runtime "$runtime" --bundle "$T/bundle" --root "$T/floor-$rt" \
    --row "floor $rt" --results "$RESULTS" --runs "$RUNS" --warmup "$WARMUP" >/dev/null ||
    log "$sub floor $rt failed"
}

floor_rows() {
  make_bundle
  for rt in runc crun; do
    # The floor of the lifecycle table, and of the exec table.
    skipped lifecycle || runtime_floor floor "$rt"
    skipped streaming || runtime_floor execfloor "$rt"
  done
  if ! skipped network; then
    log "floor: netns + CNI ADD/DEL"
    "$BENCH" netfloor --conflist "$T/cni/10-crio-bench.conflist" --bin-dir /usr/lib/cni \
      --netns-dir "$T/netns" --results "$RESULTS" --runs "$RUNS" --warmup "$WARMUP" >/dev/null ||
      log "netfloor failed"
  fi
}

log "temp dir $T, RUNS=$RUNS COUNTS=$COUNTS START_RUNS=$START_RUNS PF_MB=$PF_MB PF_RUNS=$PF_RUNS" \
  "STATS_COUNTS=$STATS_COUNTS STATS_CPU_S=$STATS_CPU_S STATS_GAP_MS=$STATS_GAP_MS" \
  "STATS_NET=$STATS_NET"
start_registry
make_crun_wrapper
make_cni_conf
skipped floor || floor_rows
skipped crio || crio_rows
skipped containerd || containerd_rows

echo
echo "## crio-cpp benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, N=$RUNS runs, warmup $WARMUP)"
echo
"$BENCH" report --results "$RESULTS" --counts "$COUNTS" --stats-counts "$STATS_COUNTS"
cp "$RESULTS" "${RESULTS_COPY:-/dev/null}" 2>/dev/null
