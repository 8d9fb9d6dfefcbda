#include "streaming_bench.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>

#include "os/netns.h"
#include "os/socket.h"
#include "os/unique_fd.h"
#include "streaming/client.h"

namespace crio::bench {
namespace {

constexpr int kEchoPort = 8081;
// A stalled transfer fails after this long without data instead of hanging the run.
constexpr auto kIoTimeout = std::chrono::seconds(60);
// Transfers before the measured ones (TCP windows grown, code paged in) are this short.
constexpr size_t kWarmupBytes = 16'000'000;

const std::vector<std::string> kTop = {"/bin/busybox", "top", "-b", "-d", "30"};
// busybox `nc` as an echo server: with -ll it keeps listening and every connection gets its own
// `cat`. The fixture image has no `nc` link, hence `busybox nc`.
const std::vector<std::string> kEchoServer = {"/bin/sh", "-c",
                                              "exec busybox nc -ll -p 8081 -e /bin/cat"};

const char kExecSync[] = "ExecSync true";
const char kStreamingExec[] = "Exec true (streaming)";
const char kDirect[] = "direct MB/s";
const char kForwarded[] = "port-forward MB/s";
const char kRatio[] = "port-forward/direct";

// Repeated measurements of one metric that may fail on its own (containerd's streaming server,
// say) without stopping the others: the values, or the first error, after which it is skipped.
struct Series {
  std::string metric;
  Samples values;  // ms for latencies, MB/s for throughput
  Status error;

  bool ok() const { return error.ok(); }
  // Keeps `value` when `measured` (not a warm-up run), or its error.
  void Take(bool measured, const StatusOr<double>& value) {
    if (!value.ok()) {
      error = value.status();
    } else if (measured) {
      values.Add(*value);
    }
  }
};

Status RecordLatency(const CriOptions& o, const Series& s) {
  if (!s.ok()) return AppendNa(o.results, o.row, s.metric, Message(s.error));
  return AppendLatency(o.results, o.row, s.metric, s.values);
}

// The median: a throughput's p99 would be its worst run, which says little with 3 runs.
Status RecordThroughput(const CriOptions& o, const Series& s) {
  if (!s.ok()) return AppendNa(o.results, o.row, s.metric, Message(s.error));
  return AppendMb(o.results, o.row, s.metric, s.values.Percentile(50));
}

struct RunningPod {
  std::string pod;
  std::string ctr;
};

// A pod with one container running `argv`; the pod is removed again when the container fails.
StatusOr<RunningPod> StartPodWith(CriClient& cri, const PodSpec& spec, const std::string& name,
                                  const std::vector<std::string>& argv) {
  PodTimes t;
  ASSIGN_OR_RETURN(std::string pod, cri.RunPod(spec, 0, t));
  StatusOr<std::string> ctr = cri.StartCommand(spec, pod, 0, name, argv, t);
  if (!ctr.ok()) {
    PodTimes ignored;
    (void)cri.StopRemovePod(pod, ignored);
    return ctr.status();
  }
  return RunningPod{pod, *ctr};
}

// ---- exec ----------------------------------------------------------------------------------

// ExecSync `true`: its time in ms. Errors: the RPC's; Internal for a non-zero exit.
StatusOr<double> TimeExecSync(CriClient& cri, const std::string& ctr) {
  auto start = Clock::now();
  ASSIGN_OR_RETURN(int code, cri.ExecSync(ctr, {"true"}));
  double ms = MsSince(start);
  if (code != 0) return Internal("ExecSync true: exit code " + std::to_string(code));
  return ms;
}

// An exec as `kubectl exec` makes it: the Exec RPC, then the SPDY upgrade, the error, stdout and
// stderr streams and the exit status (v4). The client discards the output (fds -1).
StatusOr<double> TimeStreamingExec(CriClient& cri, const std::string& ctr) {
  auto start = Clock::now();
  ASSIGN_OR_RETURN(std::string url, cri.ExecUrl(ctr, {"true"}));
  streaming::RemoteCommandClientOptions options;
  ASSIGN_OR_RETURN(int code, streaming::RunRemoteCommandClient(url, options));
  double ms = MsSince(start);
  if (code != 0) return Internal("streaming exec true: exit code " + std::to_string(code));
  return ms;
}

// Exec needs no network: a hostNetwork pod, as in the lifecycle benchmark (containerd needs
// CNI otherwise).
Status ExecBench(CriClient& cri, const StreamingOptions& o) {
  Series exec_sync{kExecSync, {}, {}};
  Series exec_stream{kStreamingExec, {}, {}};
  PodSpec spec = o.cri.spec;
  spec.host_network = true;
  spec.name_prefix = "bench-exec";
  StatusOr<RunningPod> pod = StartPodWith(cri, spec, "top", kTop);
  if (!pod.ok()) {
    exec_sync.error = exec_stream.error = pod.status();
  }
  // Alternating, so that both see the same machine over the same minutes.
  for (int i = -o.cri.warmup; pod.ok() && i < o.cri.runs; ++i) {
    if (exec_sync.ok()) exec_sync.Take(i >= 0, TimeExecSync(cri, pod->ctr));
    if (exec_stream.ok()) exec_stream.Take(i >= 0, TimeStreamingExec(cri, pod->ctr));
  }
  RETURN_IF_ERROR(RecordLatency(o.cri, exec_sync));
  RETURN_IF_ERROR(RecordLatency(o.cri, exec_stream));
  Status removed;
  if (pod.ok()) {
    PodTimes t;
    removed = cri.StopRemovePod(pod->pod, t);
  }
  RETURN_IF_ERROR(exec_sync.error);
  RETURN_IF_ERROR(exec_stream.error);
  return removed;
}

// ---- port-forward --------------------------------------------------------------------------

// What is pushed: a 64 KiB block of random bytes, over and over (random, so that nothing on the
// way could shrink it).
const std::string& Block() {
  static const std::string block = [] {
    std::mt19937_64 random(42);
    std::string b(64 * 1024, '\0');
    for (char& c : b) c = static_cast<char>(random());
    return b;
  }();
  return block;
}

void SetReceiveTimeout(int fd) {
  timeval tv{static_cast<time_t>(kIoTimeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Reads exactly `bytes` from `fd`. Errors: a read error; DeadlineExceeded after kIoTimeout
// without data; Unavailable when the echo ends early.
Status ReadEcho(int fd, size_t bytes) {
  std::vector<char> buf(256 * 1024);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::read(fd, buf.data(), std::min(buf.size(), bytes - got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return DeadlineExceeded("no echo for " + std::to_string(kIoTimeout.count()) + " s after " +
                              std::to_string(got) + " of " + std::to_string(bytes) + " bytes");
    }
    if (n < 0) return ErrnoError(errno, "read the echo");
    if (n == 0) {
      return Unavailable("the echo ended after " + std::to_string(got) + " of " +
                         std::to_string(bytes) + " bytes");
    }
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Pushes `bytes` into `fd` from a second thread while this one reads the echo back. Returns the
// seconds from the first byte written to the last byte echoed: the clock stops at the byte
// count, not at EOF, since how a forward ends differs (containerd closes it a second after the
// client's half-close). Errors: ReadEcho's, or the write's.
StatusOr<double> EchoTransfer(int fd, size_t bytes) {
  SetReceiveTimeout(fd);
  Status sent;
  auto start = Clock::now();
  std::thread writer([&] {
    const std::string& block = Block();
    for (size_t done = 0; done < bytes && sent.ok();) {
      size_t n = std::min(block.size(), bytes - done);
      sent = os::WriteAll(fd, std::string_view(block.data(), n));
      done += n;
    }
  });
  Status echoed = ReadEcho(fd, bytes);
  double seconds = MsSince(start) / 1000;
  if (!echoed.ok()) ::shutdown(fd, SHUT_RDWR);  // a blocked writer fails instead of waiting
  writer.join();
  RETURN_IF_ERROR(echoed);
  RETURN_IF_ERROR(Annotate(sent, "push"));
  return seconds;
}

StatusOr<double> MbPerSecond(const StatusOr<double>& seconds, size_t bytes) {
  if (!seconds.ok()) return seconds.status();
  return static_cast<double>(bytes) / 1e6 / *seconds;
}

// The floor: the same transfer over a TCP connection to 127.0.0.1:8081 made inside the pod's
// netns, as the daemons' forwarders connect, with no daemon and no SPDY in between.
StatusOr<double> DirectTransfer(const std::string& netns, size_t bytes) {
  ASSIGN_OR_RETURN(os::UniqueFd conn, os::ConnectLocalhostInNetns(netns, kEchoPort));
  return MbPerSecond(EchoTransfer(conn.get(), bytes), bytes);
}

// After a transfer: half-closes our side and waits for the forward to end (the daemon passes
// the half-close on, `cat` exits, the echo's EOF comes back). Errors: more bytes than were
// sent; DeadlineExceeded after kIoTimeout.
Status AwaitForwardEnd(int fd) {
  ::shutdown(fd, SHUT_WR);
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return absl::OkStatus();
    if (n > 0) return Internal("the echo sent more bytes than it was given");
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return DeadlineExceeded("the forwarded connection did not end");
    }
    return ErrnoError(errno, "read the end of the echo");
  }
}

// The same transfer through port-forward: a socketpair stands in for kubectl's local listener
// and its other end is forwarded over `conn` as connection `request_id`, as
// `kubectl port-forward` does per accepted connection. On failure `conn` is closed, which ends
// the forward whatever the daemon does.
StatusOr<double> ForwardedTransfer(streaming::spdy::Connection& conn, int request_id,
                                   size_t bytes) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoError(errno, "socketpair");
  }
  os::UniqueFd ours(sv[0]), theirs(sv[1]);
  Status forwarded;
  std::thread forward([&] {
    forwarded = streaming::ForwardOneConnection(conn, kEchoPort, request_id, theirs.get());
  });
  StatusOr<double> seconds = EchoTransfer(ours.get(), bytes);
  Status ended = seconds.ok() ? AwaitForwardEnd(ours.get()) : seconds.status();
  if (!ended.ok()) conn.Close();
  forward.join();
  RETURN_IF_ERROR(ended);
  if (!forwarded.ok()) {
    // Every byte came back, so the number stands; the daemon's complaint is shown all the same.
    std::fprintf(stderr, "crio-bench streaming: port-forward ended with: %s\n",
                 Message(forwarded).c_str());
  }
  return MbPerSecond(seconds, bytes);
}

// `nc` may not listen yet when StartContainer returns: connect until it accepts (the
// connection is closed at once; its `cat` sees EOF and exits).
Status WaitForEchoServer(const std::string& netns) {
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    StatusOr<os::UniqueFd> conn = os::ConnectLocalhostInNetns(netns, kEchoPort);
    if (conn.ok()) return absl::OkStatus();
    if (Clock::now() > deadline) {
      return Annotate(conn.status(), "echo server (busybox nc) not listening after 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The pod's netns as /proc/<pid>/ns/net of its container: the same path for both daemons.
StatusOr<std::string> PodNetns(CriClient& cri, const std::string& ctr) {
  ASSIGN_OR_RETURN(pid_t pid, cri.ContainerPid(ctr));
  return "/proc/" + std::to_string(pid) + "/ns/net";
}

// Direct and forwarded transfers, alternating, into the running echo pod.
void MeasureTransfers(CriClient& cri, const StreamingOptions& o, const RunningPod& pod,
                      Series& direct, Series& forwarded) {
  StatusOr<std::string> netns = PodNetns(cri, pod.ctr);
  Status up = netns.ok() ? WaitForEchoServer(*netns) : netns.status();
  if (!up.ok()) {
    direct.error = forwarded.error = up;
    return;
  }
  // One session for every connection, as `kubectl port-forward` keeps one.
  StatusOr<std::string> url = cri.PortForwardUrl(pod.pod, kEchoPort);
  StatusOr<streaming::SpdyDial> dial =
      url.ok() ? streaming::DialSpdy(*url, {"portforward.k8s.io"}) : url.status();
  if (!dial.ok()) forwarded.error = dial.status();
  const size_t bytes = static_cast<size_t>(o.pf_mb) * 1'000'000;
  int request_id = 0;
  for (int i = -o.cri.warmup; i < o.pf_runs && (direct.ok() || forwarded.ok()); ++i) {
    size_t n = i < 0 ? std::min(bytes, kWarmupBytes) : bytes;
    if (direct.ok()) direct.Take(i >= 0, DirectTransfer(*netns, n));
    if (forwarded.ok()) forwarded.Take(i >= 0, ForwardedTransfer(*dial->conn, request_id++, n));
  }
  if (dial.ok()) dial->conn->Close();
}

// Port-forward reaches into the pod's own network namespace: a pod network through CNI, as in
// the networking benchmark.
Status PortForwardBench(CriClient& cri, const StreamingOptions& o) {
  Series direct{kDirect, {}, {}};
  Series forwarded{kForwarded, {}, {}};
  PodSpec spec = o.cri.spec;
  spec.host_network = false;
  spec.name_prefix = "bench-pf";
  StatusOr<RunningPod> pod = StartPodWith(cri, spec, "echo", kEchoServer);
  if (pod.ok()) {
    MeasureTransfers(cri, o, *pod, direct, forwarded);
  } else {
    direct.error = forwarded.error = pod.status();
  }
  RETURN_IF_ERROR(RecordThroughput(o.cri, direct));
  RETURN_IF_ERROR(RecordThroughput(o.cri, forwarded));
  if (direct.ok() && forwarded.ok()) {
    RETURN_IF_ERROR(AppendMb(o.cri.results, o.cri.row, kRatio,
                             forwarded.values.Percentile(50) / direct.values.Percentile(50)));
  } else {
    RETURN_IF_ERROR(AppendNa(o.cri.results, o.cri.row, kRatio, "needs both throughputs"));
  }
  Status removed;
  if (pod.ok()) {
    PodTimes t;
    removed = cri.StopRemovePod(pod->pod, t);
  }
  RETURN_IF_ERROR(forwarded.error);
  RETURN_IF_ERROR(direct.error);
  return removed;
}

}  // namespace

Status RunStreamingBench(const StreamingOptions& o) {
  if (o.pf_mb <= 0 || o.pf_runs <= 0) return InvalidArgument("--pf-mb and --pf-runs must be > 0");
  CriClient cri(o.cri.endpoint);
  // Both parts run even when the first fails; its error is the one returned.
  Status exec = ExecBench(cri, o);
  Status forward = PortForwardBench(cri, o);
  RETURN_IF_ERROR(exec);
  return forward;
}

}  // namespace crio::bench
