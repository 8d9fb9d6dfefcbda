#!/usr/bin/env bash
# The main job: install, build, start `crio` with its embedded default configuration on the
# default socket, and run a pod from a local image:
#   1. a registry on 127.0.0.1 (Debian's docker-registry) holds a busybox image built here from
#      Debian's busybox-static (tests/fixtures/make_test_images.py): nothing leaves the machine;
#   2. crio pulls it, runs a pod and a container in it, execs into it and shows its logs;
#   3. everything is stopped and removed again, and crio shuts down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

WORK=$(mktemp -d /tmp/crio-main.XXXXXX)
SOCK=/var/run/crio/crio.sock
CTL="./build/cmd/crioctl -r unix://$SOCK --timeout 60"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
CRIO_PID=""; REG_PID=""; POD=""

cleanup() {
  set +e
  [ -n "$POD" ] && $CTL rmp -f "$POD" >/dev/null 2>&1
  [ -n "$CRIO_PID" ] && kill -TERM "$CRIO_PID" 2>/dev/null && wait "$CRIO_PID" 2>/dev/null
  [ -n "$REG_PID" ] && kill -TERM "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  echo "--- crio log"; tail -n 40 "$WORK/crio.log"
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting a registry on $REG with a busybox image built from busybox-static"
sed -e "s#@ROOTDIR@#$WORK/registry#; s#@ADDR@#$REG#; s#@AUTH@##" \
  tests/fixtures/registry_config.yml.in >"$WORK/registry.yml"
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do curl -fs "http://$REG/v2/" >/dev/null && break; sleep 0.1; done
python3 tests/fixtures/make_test_images.py --registry "$REG" --only busybox >/dev/null
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" >"$WORK/registries.conf"

echo "== starting crio (embedded default configuration, socket $SOCK)"
CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf" ./build/cmd/crio --config "$WORK/none.conf" \
  --config-dir "$WORK/none.d" --cgroup-manager cgroupfs >"$WORK/crio.log" 2>&1 &
CRIO_PID=$!
for _ in $(seq 1 200); do
  [ -S "$SOCK" ] && $CTL version >/dev/null 2>&1 && break
  kill -0 "$CRIO_PID" 2>/dev/null || { echo "crio exited during startup"; exit 1; }
  sleep 0.05
done
$CTL version
$CTL info | head -20

echo "== pull, run a pod and a container"
$CTL pull "$REG/busybox:latest"
$CTL images
cat >"$WORK/pod.json" <<JSON
{"metadata": {"name": "demo", "namespace": "default", "uid": "demo-uid-1", "attempt": 0},
 "hostname": "demo", "log_directory": "$WORK/logs", "linux": {"cgroup_parent": "/crio-cpp-demo"}}
JSON
cat >"$WORK/ctr.json" <<JSON
{"metadata": {"name": "hello"}, "image": {"image": "$REG/busybox:latest"},
 "command": ["/bin/sh", "-c", "echo hello from crio-cpp; hostname; sleep 3600"],
 "log_path": "hello.log"}
JSON
POD=$($CTL runp "$WORK/pod.json")
CTR=$($CTL create "$POD" "$WORK/ctr.json" "$WORK/pod.json")
$CTL start "$CTR"
$CTL pods
$CTL ps
echo "== exec"
$CTL exec -s "$CTR" id
echo "== exec through the streaming server (SPDY, as crictl and kubectl exec do)"
echo "typed into stdin" | $CTL exec -i "$CTR" cat
sleep 0.5
echo "== logs"
$CTL logs "$CTR"
echo "== stop and remove"
$CTL stop -t 1 "$CTR" && $CTL rm "$CTR"
$CTL stopp "$POD" && $CTL rmp "$POD" && POD=""
rmdir /sys/fs/cgroup/*/crio-cpp-demo 2>/dev/null || true
echo "== done"
