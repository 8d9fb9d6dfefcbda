// Pod networking through real CNI plugins (Debian's containernetworking-plugins in /usr/lib/cni)
// driven by the real daemon: bridge + host-local IPAM + portmap.
//
// Traffic stays on this machine: every test uses its own bridge "criotest<pid%1000>" and a private
// /24 (10.199.<n>.0/24) that exists only on that bridge and in the pod namespaces the test made;
// no masquerade, no default route in the pods, host-local's dataDir inside the test's temp dir.
// The bridge plugin (isGateway) turns net.ipv4.ip_forward on: the fixture saves and restores it.
// Teardown removes the pods, the bridge, and the portmap plugin's shared chains when this test
// created them.
#include "daemon_harness.h"
#include "registry_fixture.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "os/unique_fd.h"

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kAcceptPolicy[] = R"({"default":[{"type":"insecureAcceptAnything"}]})";
constexpr char kCgroupRoot[] = "/sys/fs/cgroup";
constexpr char kDebianCni[] = "/usr/lib/cni";
constexpr char kNetworkName[] = "criotest-net";
constexpr char kIpForward[] = "/proc/sys/net/ipv4/ip_forward";
// Answers every TCP connection on 8080 with "pong-<hostname>".
constexpr char kPongServer[] =
    "trap 'exit 0' TERM; while true; do echo pong-$(busybox hostname) | busybox nc -l -p 8080; "
    "done & wait";

// Regular files below `dir` (recursively), relative paths.
std::vector<std::string> FilesBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_directory(ec)) out.push_back(fs::relative(it->path(), dir).string());
  }
  return out;
}

// Connects to ip:port and returns what the peer sends until it closes ("" on failure).
std::string TcpRead(const std::string& ip, int port, milliseconds timeout) {
  os::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return "";
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return "";
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  std::string out;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class CniTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    if (PathOf("conmon").empty()) GTEST_SKIP() << "conmon is not installed";
    if (PathOf("crun").empty() && PathOf("runc").empty()) GTEST_SKIP() << "no OCI runtime";
    for (const char* plugin : {"bridge", "host-local", "portmap"}) {
      if (::access((std::string(kDebianCni) + "/" + plugin).c_str(), X_OK) != 0) {
        GTEST_SKIP() << "containernetworking-plugins is not installed (" << plugin << ")";
      }
    }
    if (PathOf("ip").empty() || PathOf("iptables").empty()) GTEST_SKIP() << "no ip/iptables";

    const int n = static_cast<int>(::getpid() % 200) + 20;
    bridge_ = "criotest" + std::to_string(::getpid() % 1000);
    subnet_prefix_ = "10.199." + std::to_string(n) + ".";
    gateway_ = subnet_prefix_ + "1";
    host_port_ = 20000 + static_cast<int>(::getpid() % 10000);
    // Never share a subnet or bridge with anything that exists already.
    std::string addrs = RunCommand({"ip", "-4", "-o", "addr"}).output;
    if (Contains(addrs, subnet_prefix_)) GTEST_SKIP() << subnet_prefix_ << "0/24 is in use";
    if (fs::exists("/sys/class/net/" + bridge_)) GTEST_SKIP() << bridge_ << " exists";

    ip_forward_ = ReadFile(kIpForward);
    hostport_chains_existed_ =
        Contains(RunCommand({"iptables", "-t", "nat", "-S"}).output, "CNI-HOSTPORT-DNAT");
    touched_host_ = true;

    // The plugin dir: Debian's plugins plus a fake that fails, for the failure tests.
    fs::create_directories(env_.Sub("plugins"));
    for (const char* plugin : {"bridge", "host-local", "portmap", "loopback"}) {
      fs::create_symlink(std::string(kDebianCni) + "/" + plugin, env_.Sub("plugins/") + plugin);
    }
    WriteFile(env_.Sub("plugins/failing"),
              "#!/bin/sh\ncat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
              "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"failing plugin says no\"}'\n"
              "exit 1\n");
    fs::permissions(env_.Sub("plugins/failing"), fs::perms::owner_all);
    fs::create_directories(NetDir());
    // A malformed file sorting first: skipped with a warning, the next one is used.
    WriteFile(NetDir() + "/00-broken.conflist", "{\"cniVersion\": \"1.0.0\", \"name\": ");
    WriteFile(NetDir() + "/10-criotest.conflist", Conflist(kNetworkName, ""));

    if (CrunNeedsHybridWorkaround()) {
      WriteFile(env_.Sub("crun-wrapper"),
                "#!/bin/sh\n"
                "exec unshare --mount --propagation private /bin/sh -c "
                "'mount -t tmpfs -o size=4k crio-test-hide-cgroup2 /sys/fs/cgroup/unified && "
                "exec " +
                    PathOf("crun") + " \"$@\"' crun \"$@\"\n");
      fs::permissions(env_.Sub("crun-wrapper"), fs::perms::owner_all);
    }
    auto registry = SharedTestRegistry();
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    fs::create_directories(env_.Sub("registries.conf.d"));
    WriteFile(env_.Sub("registries.conf"),
              "[[registry]]\nlocation = \"" + registry_->host() + "\"\ninsecure = true\n");
    WriteFile(env_.Sub("policy.json"), kAcceptPolicy);
    cgroup_parent_ = "/crio-cpp-test-" + RandomHex(12);
    ASSERT_NO_FATAL_FAILURE(StartDaemon());
    ASSERT_NO_FATAL_FAILURE(Pull());
  }

  void TearDown() override {
    if (daemon_) {
      for (const auto& id : pods_) (void)RemovePod(id);
    }
    daemon_.reset();
    old_daemons_.clear();
    if (!touched_host_) return;
    if (fs::exists("/sys/class/net/" + bridge_)) RunCommand({"ip", "link", "del", bridge_});
    if (!hostport_chains_existed_) RemoveHostportChains();
    WriteFile(kIpForward, ip_forward_);
    if (cgroup_parent_.rfind("/crio-cpp-test-", 0) == 0) {
      for (const auto& h : CgroupHierarchies()) RemoveCgroupTree(h + cgroup_parent_);
    }
  }

  // portmap's shared chains stay after the last DEL by design; this test made them, so it
  // removes them (the jumps from the built-in chains first).
  static void RemoveHostportChains() {
    std::istringstream rules(RunCommand({"iptables", "-t", "nat", "-S"}).output);
    for (std::string line; std::getline(rules, line);) {
      if (line.rfind("-A ", 0) == 0 && Contains(line, "-j CNI-HOSTPORT-")) {
        std::vector<std::string> argv = {"iptables", "-t", "nat", "-D"};
        std::istringstream words(line.substr(3));
        for (std::string w; words >> w;) argv.push_back(w);
        // Comments are quoted in -S output; iptables wants them unquoted as one argument.
        std::vector<std::string> fixed;
        for (size_t i = 0; i < argv.size(); ++i) {
          std::string w = argv[i];
          if (!w.empty() && w.front() == '"') {
            while (w.back() != '"' && i + 1 < argv.size()) w += " " + argv[++i];
            w = w.substr(1, w.size() - 2);
          }
          fixed.push_back(w);
        }
        RunCommand(fixed);
      }
    }
    for (const char* chain :
         {"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SNAT"}) {
      RunCommand({"iptables", "-t", "nat", "-F", chain});
      RunCommand({"iptables", "-t", "nat", "-X", chain});
    }
  }

  std::string NetDir() const { return env_.Sub("net.d"); }

  // A conflist for the suite's bridge; `extra_plugin` is appended to the chain when set.
  std::string Conflist(const std::string& name, const std::string& extra_plugin) const {
    std::string plugins =
        R"({"type":"bridge","bridge":")" + bridge_ +
        R"(","isGateway":true,"ipMasq":false,"hairpinMode":false,"ipam":{"type":"host-local",)"
        R"("ranges":[[{"subnet":")" +
        subnet_prefix_ + R"(0/24"}]],"dataDir":")" + env_.Sub("ipam") +
        R"("}},{"type":"portmap","capabilities":{"portMappings":true},"snat":false})";
    if (!extra_plugin.empty()) plugins += R"(,{"type":")" + extra_plugin + R"("})";
    return R"({"cniVersion":"1.0.0","name":")" + name + R"(","plugins":[)" + plugins + "]}";
  }

  std::string DaemonConfig() const {
    return "[crio.image]\n"
           "registries_conf = \"" +
           env_.Sub("registries.conf") +
           "\"\n"
           "registries_conf_dir = \"" +
           env_.Sub("registries.conf.d") +
           "\"\n"
           "signature_policy = \"" +
           env_.Sub("policy.json") +
           "\"\n"
           "[crio.network]\nplugin_dirs = [\"" +
           env_.Sub("plugins") + "\"]\n" +
           (CrunNeedsHybridWorkaround() ? "[crio.runtime.runtimes.crun]\nruntime_path = \"" +
                                              env_.Sub("crun-wrapper") + "\"\n"
                                        : "");
  }

  // Starts the daemon; with `reuse` it continues the previous one's root, runroot and config dir.
  void StartDaemon(bool reuse = false) {
    DaemonOptions options;
    options.config_text = DaemonConfig();
    if (reuse) {
      const Daemon& old = *old_daemons_.back();
      options.extra_args = {
          "--config", old.dir().Sub("crio.conf"), "--config-dir", old.config_dir(),
          "--root",   old.dir().Sub("root"),      "--runroot",    old.dir().Sub("runroot")};
    }
    options.extra_args.push_back("--cni-config-dir");
    options.extra_args.push_back(NetDir());
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
  }

  void Pull() {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(registry_->Reference("busybox:latest"));
    v1::PullImageResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = daemon_->image().PullImage(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  v1::RuntimeService::Stub& rt() { return daemon_->runtime(); }

  v1::PodSandboxConfig PodConfig(const std::string& name, bool host_network = false) {
    v1::PodSandboxConfig config;
    auto* md = config.mutable_metadata();
    md->set_name(name);
    md->set_namespace_("cni-test");
    md->set_uid("uid-" + RandomHex(16));
    md->set_attempt(1);
    config.set_hostname(name);
    std::string log_dir = env_.Sub("pod-logs/" + name + "-" + md->uid());
    fs::create_directories(log_dir);
    config.set_log_directory(log_dir);
    config.mutable_linux()->set_cgroup_parent(cgroup_parent_);
    auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(host_network ? v1::NODE : v1::POD);
    ns->set_pid(v1::CONTAINER);
    ns->set_ipc(v1::POD);
    return config;
  }

  grpc::Status RunPod(const v1::PodSandboxConfig& config, std::string* id) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    v1::RunPodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = rt().RunPodSandbox(ctx.get(), req, &resp);
    if (st.ok()) {
      std::lock_guard lock(mu_);
      pods_.push_back(resp.pod_sandbox_id());
    }
    if (id) *id = resp.pod_sandbox_id();
    return st;
  }

  std::string MustRunPod(const v1::PodSandboxConfig& config) {
    std::string id;
    grpc::Status st = RunPod(config, &id);
    EXPECT_TRUE(st.ok()) << "RunPodSandbox " << config.metadata().name() << ": "
                         << st.error_message();
    return st.ok() ? id : "";
  }

  grpc::Status StopPod(const std::string& id) {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    return rt().StopPodSandbox(ctx.get(), req, &resp);
  }

  grpc::Status RemovePod(const std::string& id) {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    return rt().RemovePodSandbox(ctx.get(), req, &resp);
  }

  // The pod's IPs from PodSandboxStatus.
  std::vector<std::string> PodIps(const std::string& id) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    v1::PodSandboxStatusResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().PodSandboxStatus(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> out;
    if (!resp.status().network().ip().empty()) out.push_back(resp.status().network().ip());
    for (const auto& ip : resp.status().network().additional_ips()) out.push_back(ip.ip());
    return out;
  }

  // Creates and starts a busybox container running `script`; "" on failure.
  std::string RunCtr(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                     const std::string& name, const std::string& script) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_id);
    auto* config = req.mutable_config();
    config->mutable_metadata()->set_name(name);
    config->mutable_image()->set_image(registry_->Reference("busybox:latest"));
    config->add_command("/bin/sh");
    config->add_args("-c");
    config->add_args(script);
    config->set_log_path(name + ".log");
    *req.mutable_sandbox_config() = pod;
    v1::CreateContainerResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = rt().CreateContainer(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << "CreateContainer " << name << ": " << st.error_message();
    if (!st.ok()) return "";
    v1::StartContainerRequest start;
    start.set_container_id(resp.container_id());
    v1::StartContainerResponse start_resp;
    auto ctx2 = daemon_->Context(seconds(120));
    st = rt().StartContainer(ctx2.get(), start, &start_resp);
    EXPECT_TRUE(st.ok()) << "StartContainer " << name << ": " << st.error_message();
    return st.ok() ? resp.container_id() : "";
  }

  // ExecSync's stdout ("" on failure).
  std::string Exec(const std::string& ctr, const std::string& script, int64_t timeout = 10) {
    v1::ExecSyncRequest req;
    req.set_container_id(ctr);
    req.add_cmd("/bin/sh");
    req.add_cmd("-c");
    req.add_cmd(script);
    req.set_timeout(timeout);
    v1::ExecSyncResponse resp;
    auto ctx = daemon_->Context(seconds(timeout + 20));
    grpc::Status st = rt().ExecSync(ctx.get(), req, &resp);
    return st.ok() ? resp.stdout() : "";
  }

  std::optional<v1::RuntimeCondition> NetworkCondition() {
    v1::StatusRequest req;
    v1::StatusResponse resp;
    auto ctx = daemon_->Context();
    if (!rt().Status(ctx.get(), req, &resp).ok()) return std::nullopt;
    for (const auto& c : resp.status().conditions()) {
      if (c.type() == "NetworkReady") return c;
    }
    return std::nullopt;
  }

  // host-local's allocations: one file per IP (its lock and last-reserved files excluded).
  std::vector<std::string> IpamAllocations(const std::string& network = kNetworkName) const {
    std::vector<std::string> out;
    for (const auto& f : FilesBelow(env_.Sub("ipam/") + network)) {
      if (f != "lock" && f.rfind("last_reserved_ip", 0) != 0) out.push_back(f);
    }
    return out;
  }
  // The bridge's ports (brif/ holds one symlink per enslaved veth).
  std::vector<std::string> BridgePorts() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it("/sys/class/net/" + bridge_ + "/brif", ec), end;
         !ec && it != end; it.increment(ec)) {
      out.push_back(it->path().filename().string());
    }
    return out;
  }
  // Pinned namespace files of every daemon of this test.
  std::vector<std::string> NamespaceFiles() const {
    std::vector<std::string> out;
    auto add = [&](const Daemon& d) {
      for (const auto& f : FilesBelow(d.dir().Sub("ns"))) out.push_back(f);
    };
    if (daemon_) add(*daemon_);
    for (const auto& d : old_daemons_) add(*d);
    return out;
  }
  std::vector<std::string> CacheEntries() const {
    return FilesBelow(daemon_->dir().Sub("root/crio-cpp-state/cni"));
  }
  bool NatMentions(const std::string& needle) const {
    return Contains(RunCommand({"iptables", "-t", "nat", "-S"}).output, needle);
  }

  // Leaves nothing behind: IPAM store, bridge ports, netns files.
  void ExpectNothingLeft() {
    EXPECT_TRUE(IpamAllocations().empty()) << Join(IpamAllocations());
    EXPECT_TRUE(BridgePorts().empty()) << Join(BridgePorts());
    EXPECT_TRUE(NamespaceFiles().empty()) << Join(NamespaceFiles());
  }

  TempDir env_;
  RegistryFixture* registry_ = nullptr;
  std::string bridge_, subnet_prefix_, gateway_, cgroup_parent_, ip_forward_;
  int host_port_ = 0;
  bool hostport_chains_existed_ = true;
  bool touched_host_ = false;
  std::mutex mu_;
  std::vector<std::string> pods_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::unique_ptr<Daemon>> old_daemons_;
};

TEST_F(CniTest, TwoPods_TalkOverTcpAndReachTheNode_NothingLeftAfterRemove) {
  auto cond = NetworkCondition();
  ASSERT_TRUE(cond.has_value());
  EXPECT_TRUE(cond->status()) << cond->reason() << ": " << cond->message();

  auto config_a = PodConfig("pod-a");
  auto config_b = PodConfig("pod-b");
  std::string a = MustRunPod(config_a);
  std::string b = MustRunPod(config_b);
  ASSERT_FALSE(a.empty() || b.empty());
  auto ips_a = PodIps(a);
  auto ips_b = PodIps(b);
  ASSERT_EQ(ips_a.size(), 1u);
  ASSERT_EQ(ips_b.size(), 1u);
  EXPECT_EQ(ips_a[0].rfind(subnet_prefix_, 0), 0u) << ips_a[0];
  EXPECT_EQ(ips_b[0].rfind(subnet_prefix_, 0), 0u) << ips_b[0];
  EXPECT_NE(ips_a[0], ips_b[0]);
  EXPECT_EQ(BridgePorts().size(), 2u) << Join(BridgePorts());
  EXPECT_EQ(IpamAllocations().size(), 2u) << Join(IpamAllocations());
  EXPECT_TRUE(daemon_->WaitForLog(
      "pod=" + a + " network=" + kNetworkName + " CNI ADD ips=[" + ips_a[0] + "] took ",
      seconds(1)));

  std::string server = RunCtr(a, config_a, "server", kPongServer);
  std::string client = RunCtr(b, config_b, "client", "trap 'exit 0' TERM; sleep 3600 & wait");
  ASSERT_FALSE(server.empty() || client.empty());

  // B -> A over TCP on the bridge.
  std::string reply;
  EXPECT_TRUE(Eventually(
      [&] {
        reply = Exec(client, "busybox nc -w 3 " + ips_a[0] + " 8080 </dev/null");
        return Contains(reply, "pong-pod-a");
      },
      seconds(20), milliseconds(300)))
      << "last reply: " << reply;

  // The pod has no default route: traffic can only stay on the subnet.
  std::string routes = Exec(client, "cat /proc/net/route");
  EXPECT_FALSE(Contains(routes, "\n" + std::string("eth0\t00000000"))) << routes;

  // B -> the node: the bridge's gateway address, where this test listens.
  os::UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, gateway_.c_str(), &addr.sin_addr);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
  socklen_t len = sizeof addr;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  const int node_port = ntohs(addr.sin_port);
  std::string received;
  std::thread accept_thread([&] {
    pollfd pfd{listener.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 20000) != 1) return;
    os::UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    char buf[128];
    ssize_t n;
    while (conn && (n = ::read(conn.get(), buf, sizeof buf)) > 0) received.append(buf, n);
  });
  Exec(client, "echo hello-node | busybox nc -w 3 " + gateway_ + " " + std::to_string(node_port));
  accept_thread.join();
  EXPECT_EQ(received, "hello-node\n");

  ASSERT_TRUE(StopPod(a).ok());
  EXPECT_EQ(IpamAllocations().size(), 1u) << "StopPodSandbox releases the IP";
  ASSERT_TRUE(StopPod(a).ok()) << "idempotent";
  ASSERT_TRUE(RemovePod(a).ok());
  ASSERT_TRUE(RemovePod(b).ok());
  ExpectNothingLeft();
  EXPECT_TRUE(CacheEntries().empty()) << Join(CacheEntries());
  EXPECT_TRUE(daemon_->WaitForLog(
      "pod=" + b + " network=" + kNetworkName + " CNI DEL ips=[" + ips_b[0] + "] took ",
      seconds(1)));
  // The timings, for the record.
  std::istringstream log(daemon_->Log());
  for (std::string line; std::getline(log, line);) {
    if (Contains(line, " CNI ADD ") || Contains(line, " CNI DEL ")) std::cout << line << "\n";
  }
  EXPECT_TRUE(daemon_->WaitForLog("skipping CNI config", seconds(1)))
      << "the malformed 00-broken.conflist is reported";
}

TEST_F(CniTest, HostPort_ForwardsFromNodeToPod_RulesGoneAfterRemove) {
  auto config = PodConfig("web");
  auto* pm = config.add_port_mappings();
  pm->set_protocol(v1::TCP);
  pm->set_container_port(8080);
  pm->set_host_port(host_port_);
  std::string pod = MustRunPod(config);
  ASSERT_FALSE(pod.empty());
  ASSERT_FALSE(RunCtr(pod, config, "server", kPongServer).empty());
  EXPECT_TRUE(NatMentions(pod)) << "portmap's DNAT rules name the pod";

  std::string reply;
  EXPECT_TRUE(Eventually(
      [&] {
        reply = TcpRead(gateway_, host_port_, seconds(3));
        return Contains(reply, "pong-web");
      },
      seconds(20), milliseconds(300)))
      << "hostPort " << host_port_ << " on " << gateway_ << " answered: " << reply;

  ASSERT_TRUE(RemovePod(pod).ok());
  EXPECT_FALSE(NatMentions(pod)) << RunCommand({"iptables", "-t", "nat", "-S"}).output;
  EXPECT_TRUE(TcpRead(gateway_, host_port_, seconds(1)).empty());
  ExpectNothingLeft();
}

TEST_F(CniTest, DaemonKilledBetweenAddAndDel_RestartedDaemonCleansUpFromCache) {
  std::string pod = MustRunPod(PodConfig("survivor"));
  ASSERT_FALSE(pod.empty());
  ASSERT_EQ(IpamAllocations().size(), 1u);
  ASSERT_EQ(CacheEntries().size(), 1u) << "results/<network>-<id>-eth0";
  ASSERT_TRUE(daemon_->Signal(SIGKILL).ok());
  ASSERT_TRUE(daemon_->WaitExit(seconds(30)).ok());
  // The network config changes while the daemon is down: DEL must use the cached one.
  WriteFile(NetDir() + "/10-criotest.conflist", Conflist("other-net", ""));
  old_daemons_.push_back(std::move(daemon_));
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*reuse=*/true));
  auto ips = PodIps(pod);
  ASSERT_EQ(ips.size(), 1u) << "IPs survive the restart";
  ASSERT_TRUE(RemovePod(pod).ok());
  ExpectNothingLeft();
  EXPECT_TRUE(
      FilesBelow(old_daemons_.back()->dir().Sub("root/crio-cpp-state/cni/results")).empty());
}

TEST_F(CniTest, FailingPluginInChain_AddRolledBackAndErrorNamesPlugin) {
  WriteFile(NetDir() + "/10-criotest.conflist", Conflist("criotest-fail", "failing"));
  ASSERT_TRUE(daemon_->WaitForLog("\"criotest-fail\"", seconds(5))) << "watcher reload";
  std::string id;
  grpc::Status st = RunPod(PodConfig("doomed"), &id);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.error_message(), "failing plugin says no")) << st.error_message();
  // bridge + host-local had allocated; the rollback DEL released everything.
  EXPECT_TRUE(IpamAllocations("criotest-fail").empty()) << Join(IpamAllocations("criotest-fail"));
  ExpectNothingLeft();
  EXPECT_TRUE(CacheEntries().empty()) << Join(CacheEntries());
  v1::ListPodSandboxRequest req;
  v1::ListPodSandboxResponse resp;
  auto ctx = daemon_->Context();
  ASSERT_TRUE(rt().ListPodSandbox(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.items_size(), 0);
}

TEST_F(CniTest, MissingPluginAndNoConfig_NotReadyWithReasonThenReadyAgain) {
  WriteFile(NetDir() + "/10-criotest.conflist", Conflist("criotest-missing", "no-such-plugin"));
  std::optional<v1::RuntimeCondition> cond;
  EXPECT_TRUE(Eventually(
      [&] {
        cond = NetworkCondition();
        return cond && !cond->status();
      },
      seconds(5)));
  ASSERT_TRUE(cond.has_value());
  EXPECT_EQ(cond->reason(), "NetworkPluginNotReady");
  EXPECT_TRUE(Contains(cond->message(), "no-such-plugin")) << cond->message();
  std::string id;
  grpc::Status st = RunPod(PodConfig("no-plugin"), &id);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.error_message(), "no-such-plugin")) << st.error_message();

  fs::remove(NetDir() + "/10-criotest.conflist");
  EXPECT_TRUE(Eventually(
      [&] {
        cond = NetworkCondition();
        return cond && !cond->status() && Contains(cond->message(), "no CNI configuration");
      },
      seconds(5)))
      << (cond ? cond->message() : "");

  WriteFile(NetDir() + "/10-criotest.conflist", Conflist(kNetworkName, ""));
  EXPECT_TRUE(Eventually(
      [&] {
        cond = NetworkCondition();
        return cond && cond->status();
      },
      seconds(5)));
  ExpectNothingLeft();
}

// Pod stats read the pod's own network namespace: eth0's counters grow with traffic the node
// sends to the pod, and a host-network pod reports no interfaces of its own.
TEST_F(CniTest, PodSandboxStats_ReportTheInterfaceOfThePodsNamespace) {
  auto config = PodConfig("stats-net");
  std::string id = MustRunPod(config);
  ASSERT_FALSE(id.empty());
  auto ips = PodIps(id);
  ASSERT_EQ(ips.size(), 1u);
  auto rx_packets_of_eth0 = [&]() -> std::optional<v1::NetworkInterfaceUsage> {
    v1::PodSandboxStatsRequest req;
    req.set_pod_sandbox_id(id);
    v1::PodSandboxStatsResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().PodSandboxStats(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (!resp.stats().linux().has_network()) return std::nullopt;
    return resp.stats().linux().network().default_interface();
  };
  auto before = rx_packets_of_eth0();
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->name(), "eth0");
  // Connections to a closed port: each SYN reaches the pod's eth0 and gets a RST back.
  for (int i = 0; i < 20; ++i) {
    os::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(9);
    ASSERT_EQ(::inet_pton(AF_INET, ips[0].c_str(), &addr.sin_addr), 1);
    (void)::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  auto after = rx_packets_of_eth0();
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(after->rx_bytes().value(), before->rx_bytes().value() + 20 * 40);
  EXPECT_GT(after->tx_bytes().value(), before->tx_bytes().value());

  std::string host = MustRunPod(PodConfig("stats-host", true));
  ASSERT_FALSE(host.empty());
  v1::ListPodSandboxStatsRequest req;
  req.mutable_filter()->set_id(host);
  v1::ListPodSandboxStatsResponse resp;
  auto ctx = daemon_->Context();
  ASSERT_TRUE(rt().ListPodSandboxStats(ctx.get(), req, &resp).ok());
  ASSERT_EQ(resp.stats_size(), 1);
  EXPECT_FALSE(resp.stats(0).linux().has_network());
}

TEST_F(CniTest, HostNetworkPod_SkipsCni) {
  std::string pod = MustRunPod(PodConfig("hostnet", /*host_network=*/true));
  ASSERT_FALSE(pod.empty());
  EXPECT_TRUE(IpamAllocations().empty());
  EXPECT_TRUE(CacheEntries().empty());
  EXPECT_FALSE(fs::exists("/sys/class/net/" + bridge_)) << "no ADD ran, so no bridge";
  ASSERT_TRUE(RemovePod(pod).ok());
}

TEST_F(CniTest, ParallelPods_DistinctIpsAndAllReleased) {
  constexpr int kPods = 6;
  std::vector<std::string> ids(kPods);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] { ids[i] = MustRunPod(PodConfig("par-" + std::to_string(i))); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ips;
  for (const auto& id : ids) {
    ASSERT_FALSE(id.empty());
    for (const auto& ip : PodIps(id)) ips.insert(ip);
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kPods));
  EXPECT_EQ(BridgePorts().size(), static_cast<size_t>(kPods));
  threads.clear();
  std::atomic<int> failed{0};
  for (const auto& id : ids) {
    threads.emplace_back([&, id] {
      if (!RemovePod(id).ok()) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  ExpectNothingLeft();
}

}  // namespace
}  // namespace crio::testing
