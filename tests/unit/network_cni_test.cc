// network/cni_network and network/cni_exec driven through fake CNI plugins: shell scripts in a
// temp dir that record their environment and stdin and print chosen results or errors.
#include "network/cni_network.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "network/cni_exec.h"

namespace crio::network {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Running (not gone, not a zombie).
bool Alive(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
}

// The result every ADD of the fake "ipam-ish" plugin prints (1.0.0 format).
constexpr const char* kAddResult =
    R"({"cniVersion":"1.0.0","interfaces":[{"name":"br"},{"name":"eth0","sandbox":"NETNS"}],)"
    R"("ips":[{"address":"fd00::5/64","interface":1},{"address":"10.9.0.5/24","gateway":"10.9.0.1","interface":1}]})";

class CniNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/crio-cni-test-XXXXXX";
    root_ = mkdtemp(tmpl.data());
    fs::create_directories(NetDir());
    fs::create_directories(BinDir());
    // "first": records the call, prints kAddResult on ADD.
    Plugin("first", std::string("printf '%s' '") + kAddResult + "' | sed \"s#NETNS#$CNI_NETNS#\"");
    // "second": a chained plugin (as portmap is); prints the same result.
    Plugin("second", std::string("printf '%s' '") + kAddResult + "' | sed \"s#NETNS#$CNI_NETNS#\"");
  }
  void TearDown() override {
    net_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string NetDir() const { return root_ + "/net.d"; }
  std::string BinDir() const { return root_ + "/bin"; }
  std::string CacheDir() const { return root_ + "/cache"; }
  std::string CallLog() const { return root_ + "/calls.log"; }

  // A fake plugin: records "COMMAND ID NETNS IFNAME|ARGS|PATH" and its stdin, then runs `body`
  // for ADD (other commands just succeed unless `body_all`).
  void Plugin(const std::string& name, const std::string& add_body, bool body_all = false) {
    std::string script =
        "#!/bin/sh\ninput=$(cat)\n"
        "echo \"$CNI_COMMAND $(basename $0) $CNI_CONTAINERID $CNI_NETNS "
        "$CNI_IFNAME|$CNI_ARGS|$CNI_PATH\" >> " +
        CallLog() + "\nprintf '%s' \"$input\" > " + root_ + "/stdin.$CNI_COMMAND.$(basename $0)\n";
    if (body_all) {
      script += add_body + "\n";
    } else {
      script += "if [ \"$CNI_COMMAND\" = ADD ]; then\n" + add_body + "\nfi\n";
    }
    WriteFile(BinDir() + "/" + name, script);
    fs::permissions(BinDir() + "/" + name, fs::perms::owner_all);
  }

  void Conflist(const std::string& plugins, const std::string& version = "1.0.0",
                const std::string& file = "10-test.conflist") {
    WriteFile(NetDir() + "/" + file, R"({"cniVersion":")" + version +
                                         R"(","name":"testnet","plugins":[)" + plugins + "]}");
  }

  CniOptions Options() const {
    CniOptions o;
    o.network_dir = NetDir();
    o.plugin_dirs = {root_ + "/nonexistent", BinDir()};
    o.cache_dir = CacheDir();
    o.plugin_timeout = 2s;
    o.watch = false;
    return o;
  }

  CniNetwork& Net(CniOptions o) {
    auto net = CniNetwork::Create(std::move(o));
    EXPECT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    return *net_;
  }
  CniNetwork& Net() { return Net(Options()); }

  static state::PodState Pod(const std::string& id = std::string(64, 'a')) {
    state::PodState pod;
    pod.set_id(id);
    pod.set_netns_path("/run/netns/fake-" + id.substr(0, 8));
    auto* md = pod.mutable_config()->mutable_metadata();
    md->set_name("web");
    md->set_namespace_("prod");
    md->set_uid("uid-1");
    auto* pm = pod.mutable_config()->add_port_mappings();
    pm->set_container_port(80);
    pm->set_host_port(8080);
    pm->set_protocol(::runtime::v1::TCP);
    auto* internal = pod.mutable_config()->add_port_mappings();
    internal->set_container_port(9090);  // no host port: not offered to portmap
    pod.mutable_config()->mutable_dns_config()->add_servers("10.96.0.10");
    return pod;
  }

  std::vector<std::string> Calls() const {
    std::vector<std::string> out;
    std::istringstream in(ReadFile(CallLog()));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  json Stdin(const std::string& command, const std::string& plugin) const {
    return json::parse(ReadFile(root_ + "/stdin." + command + "." + plugin), nullptr, false);
  }
  size_t CacheEntries() const {
    std::error_code ec;
    size_t n = 0;
    for (fs::directory_iterator it(CacheDir() + "/results", ec), end; !ec && it != end;
         it.increment(ec)) {
      ++n;
    }
    return n;
  }

  std::string root_;
  std::unique_ptr<CniNetwork> net_;
};

TEST_F(CniNetworkTest, SetUpPod_ChainedList_EnvStdinPrevResultAndCapabilities) {
  Conflist(
      R"({"type":"first","bridge":"b9"},{"type":"second","capabilities":{"portMappings":true,"dns":true}})");
  CniNetwork& net = Net();
  net.SetPodCidr("10.9.0.0/24");
  state::PodState pod = Pod();
  auto ips = net.SetUpPod(pod);
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_EQ(*ips, (std::vector<std::string>{"10.9.0.5", "fd00::5"}));

  auto calls = Calls();
  ASSERT_EQ(calls.size(), 2u);
  const std::string expect_args =
      "|IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=" +
      pod.id() + ";K8S_POD_UID=uid-1|" + root_ + "/nonexistent:" + BinDir();
  EXPECT_EQ(calls[0], "ADD first " + pod.id() + " " + pod.netns_path() + " eth0" + expect_args);
  EXPECT_EQ(calls[1], "ADD second " + pod.id() + " " + pod.netns_path() + " eth0" + expect_args);

  json first = Stdin("ADD", "first");
  EXPECT_EQ(first["name"], "testnet");
  EXPECT_EQ(first["cniVersion"], "1.0.0");
  EXPECT_EQ(first["bridge"], "b9");
  EXPECT_FALSE(first.contains("prevResult"));
  EXPECT_FALSE(first.contains("runtimeConfig")) << "declares no capabilities";

  json second = Stdin("ADD", "second");
  ASSERT_TRUE(second.contains("prevResult")) << second.dump();
  EXPECT_EQ(second["prevResult"]["ips"][1]["address"], "10.9.0.5/24");
  EXPECT_EQ(second["prevResult"]["interfaces"][1]["sandbox"], pod.netns_path());
  ASSERT_TRUE(second.contains("runtimeConfig"));
  EXPECT_EQ(second["runtimeConfig"]["portMappings"],
            json::parse(R"([{"hostPort":8080,"containerPort":80,"protocol":"tcp"}])"));
  EXPECT_EQ(second["runtimeConfig"]["dns"]["servers"], json::parse(R"(["10.96.0.10"])"));
  EXPECT_FALSE(second["runtimeConfig"].contains("ipRanges")) << "not a declared capability";
  EXPECT_EQ(CacheEntries(), 1u);
}

TEST_F(CniNetworkTest, TearDownPod_AfterRestartWithConfigGone_DelsFromCacheInReverseOnce) {
  Conflist(R"({"type":"first"},{"type":"second"})");
  state::PodState pod = Pod();
  ASSERT_TRUE(Net().SetUpPod(pod).ok());
  // "Restart": a new instance, and the config file is gone meanwhile.
  fs::remove(NetDir() + "/10-test.conflist");
  CniNetwork& fresh = Net();
  EXPECT_FALSE(fresh.Readiness().ready);
  ASSERT_TRUE(fresh.TearDownPod(pod).ok());
  auto calls = Calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[2].substr(0, 11), "DEL second ");
  EXPECT_EQ(calls[3].substr(0, 10), "DEL first ");
  // The netns does not exist, so DEL gets none; it gets the cached result as prevResult.
  EXPECT_NE(calls[3].find(pod.id() + "  eth0|"), std::string::npos) << calls[3];
  json del = Stdin("DEL", "first");
  EXPECT_EQ(del["prevResult"]["ips"][1]["address"], "10.9.0.5/24");
  EXPECT_EQ(CacheEntries(), 0u);
  // Idempotent: nothing cached, nothing run.
  ASSERT_TRUE(fresh.TearDownPod(pod).ok());
  EXPECT_EQ(Calls().size(), 4u);
}

TEST_F(CniNetworkTest, SetUpPod_PluginErrorJson_RolledBackAndMessageReachesCaller) {
  Plugin(
      "failing",
      R"(echo '{"cniVersion":"1.0.0","code":7,"msg":"no more addresses","details":"range full"}'; exit 1)");
  Conflist(R"({"type":"first"},{"type":"failing"})");
  auto ips = Net().SetUpPod(Pod());
  ASSERT_FALSE(ips.ok());
  const std::string msg(ips.status().message());
  EXPECT_NE(msg.find("plugin failing ADD failed: no more addresses: range full (CNI error code 7)"),
            std::string::npos)
      << msg;
  auto calls = Calls();
  ASSERT_EQ(calls.size(), 4u) << "ADD first, ADD failing, DEL failing, DEL first";
  EXPECT_EQ(calls[2].substr(0, 12), "DEL failing ");
  EXPECT_EQ(calls[3].substr(0, 10), "DEL first ");
  EXPECT_EQ(CacheEntries(), 0u);
}

TEST_F(CniNetworkTest, SetUpPod_GarbageResult_InvalidResultAndRolledBack) {
  Plugin("garbage", "echo 'this is not json'");
  Conflist(R"({"type":"garbage"})");
  auto ips = Net().SetUpPod(Pod());
  ASSERT_FALSE(ips.ok());
  EXPECT_NE(ips.status().message().find("plugin garbage ADD returned an invalid result"),
            std::string::npos)
      << ips.status();
  EXPECT_EQ(Calls().size(), 2u);
  EXPECT_EQ(Calls()[1].substr(0, 12), "DEL garbage ");
  EXPECT_EQ(CacheEntries(), 0u);
}

TEST_F(CniNetworkTest, SetUpPod_PluginCrashes_SignalAndStderrInError) {
  Plugin("crash", "echo 'segfault coming' >&2; kill -SEGV $$");
  Conflist(R"({"type":"crash"})");
  auto ips = Net().SetUpPod(Pod());
  ASSERT_FALSE(ips.ok());
  const std::string msg(ips.status().message());
  EXPECT_NE(msg.find("killed by signal 11"), std::string::npos) << msg;
  EXPECT_NE(msg.find("segfault coming"), std::string::npos) << msg;
  EXPECT_EQ(CacheEntries(), 0u);
}

TEST_F(CniNetworkTest, SetUpPod_PluginHangs_KilledAtTimeoutAndRolledBack) {
  Plugin("hang", "sleep 30 & echo $! > " + root_ + "/sleep.pid; wait");
  Conflist(R"({"type":"hang"})");
  CniOptions o = Options();
  o.plugin_timeout = 300ms;
  CniNetwork& net = Net(o);
  auto start = std::chrono::steady_clock::now();
  auto ips = net.SetUpPod(Pod());
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(ips.ok());
  EXPECT_EQ(ips.status().code(), absl::StatusCode::kDeadlineExceeded) << ips.status();
  EXPECT_LT(took, 5s);
  EXPECT_EQ(Calls().size(), 2u) << "ADD then the rollback DEL";
  EXPECT_EQ(CacheEntries(), 0u);
  // No sleep left behind: the plugin's process group was killed.
  pid_t sleeper = std::atoi(ReadFile(root_ + "/sleep.pid").c_str());
  ASSERT_GT(sleeper, 0);
  for (int i = 0; i < 100 && Alive(sleeper); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(Alive(sleeper)) << "sleep " << sleeper << " survived";
}

TEST_F(CniNetworkTest, MissingPluginBinary_NotReadyAndSetUpFailsNamingIt) {
  Conflist(R"({"type":"first"},{"type":"absent"})");
  CniNetwork& net = Net();
  auto ready = net.Readiness();
  EXPECT_FALSE(ready.ready);
  EXPECT_EQ(ready.reason, "NetworkPluginNotReady");
  EXPECT_NE(ready.message.find("failed to find plugin \"absent\""), std::string::npos)
      << ready.message;
  auto ips = net.SetUpPod(Pod());
  ASSERT_FALSE(ips.ok());
  EXPECT_EQ(ips.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(ips.status().message().find("absent"), std::string::npos);
  EXPECT_TRUE(Calls().empty()) << "nothing may run when the list is incomplete";
  EXPECT_EQ(CacheEntries(), 0u);
}

TEST_F(CniNetworkTest, NoConfig_NotReadyAndPodGetsLoopbackOnly) {
  CniNetwork& net = Net();
  auto ready = net.Readiness();
  EXPECT_FALSE(ready.ready);
  EXPECT_NE(ready.message.find("no CNI configuration file in " + NetDir()), std::string::npos);
  auto ips = net.SetUpPod(Pod());
  ASSERT_TRUE(ips.ok());
  EXPECT_TRUE(ips->empty());
  EXPECT_TRUE(Calls().empty());
}

TEST_F(CniNetworkTest, MalformedConfig_SkippedAndNextOneUsed) {
  WriteFile(NetDir() + "/01-bad.conflist", R"({"cniVersion":"1.0.0","name":"bad","plugins":[{}]})");
  Conflist(R"({"type":"first"})");
  CniNetwork& net = Net();
  ASSERT_TRUE(net.CurrentNetwork().has_value());
  EXPECT_EQ(net.CurrentNetwork()->name, "testnet");
  EXPECT_TRUE(net.Readiness().ready);
}

TEST_F(CniNetworkTest, Watch_ConfigAppearsAndGoes_ReadinessFollowsWithoutRestart) {
  CniOptions o = Options();
  o.watch = true;
  CniNetwork& net = Net(o);
  EXPECT_FALSE(net.CurrentNetwork().has_value());
  Conflist(R"({"type":"first"})");
  // CurrentNetwork() never re-reads by itself: only the watcher can change it.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!net.CurrentNetwork() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(net.CurrentNetwork().has_value());
  EXPECT_TRUE(net.Readiness().ready);
  fs::remove(NetDir() + "/10-test.conflist");
  deadline = std::chrono::steady_clock::now() + 5s;
  while (net.CurrentNetwork() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(net.CurrentNetwork().has_value());
  EXPECT_FALSE(net.Readiness().ready);
}

TEST_F(CniNetworkTest, Readiness_WithoutWatcher_ConfigWrittenJustBeforeCounts) {
  CniNetwork& net = Net();  // watch = false
  EXPECT_FALSE(net.Readiness().ready);
  Conflist(R"({"type":"first"})");
  EXPECT_TRUE(net.Readiness().ready);
}

TEST_F(CniNetworkTest, Watch_DirCreatedLater_Noticed) {
  fs::remove_all(NetDir());
  CniOptions o = Options();
  o.watch = true;
  CniNetwork& net = Net(o);
  EXPECT_FALSE(net.CurrentNetwork().has_value());
  fs::create_directories(NetDir());
  Conflist(R"({"type":"first"})");
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!net.CurrentNetwork() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(net.CurrentNetwork().has_value()) << "the watcher noticed the new directory";
}

TEST_F(CniNetworkTest, OldPluginResult_ConvertedToListVersionForNextPlugin) {
  Plugin("old", R"(echo '{"cniVersion":"0.2.0","ip4":{"ip":"10.3.0.9/16","gateway":"10.3.0.1"}}')");
  Conflist(R"({"type":"old"},{"type":"second"})", "0.4.0");
  auto ips = Net().SetUpPod(Pod());
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_EQ(*ips, (std::vector<std::string>{"10.9.0.5", "fd00::5"})) << "the last plugin's";
  json second = Stdin("ADD", "second");
  EXPECT_EQ(second["prevResult"]["cniVersion"], "0.4.0");
  EXPECT_EQ(second["prevResult"]["ips"][0]["address"], "10.3.0.9/16");
  EXPECT_EQ(second["prevResult"]["ips"][0]["version"], "4");
}

TEST_F(CniNetworkTest, Version020List_NoPrevResultChaining) {
  Plugin("old", R"(echo '{"cniVersion":"0.2.0","ip4":{"ip":"10.3.0.9/16"}}')");
  Conflist(R"({"type":"old"},{"type":"first"})", "0.2.0");
  auto ips = Net().SetUpPod(Pod());
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_FALSE(Stdin("ADD", "first").contains("prevResult"));
}

TEST_F(CniNetworkTest, CheckPod_RunsCheckWithCachedResult) {
  Conflist(R"({"type":"first"},{"type":"second"})");
  CniNetwork& net = Net();
  state::PodState pod = Pod();
  ASSERT_TRUE(net.SetUpPod(pod).ok());
  ASSERT_TRUE(net.CheckPod(pod).ok());
  auto calls = Calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[2].substr(0, 12), "CHECK first ");
  EXPECT_EQ(Stdin("CHECK", "second")["prevResult"]["ips"][1]["address"], "10.9.0.5/24");
}

TEST_F(CniNetworkTest, StatusVerb_V110PluginReportsError_NotReadyWithItsMessage) {
  Plugin(
      "statusful",
      R"(if [ "$CNI_COMMAND" = STATUS ]; then echo '{"code":50,"msg":"plugin not available"}'; exit 1; fi)",
      /*body_all=*/true);
  Conflist(R"({"type":"statusful"})", "1.1.0");
  auto ready = Net().Readiness();
  EXPECT_FALSE(ready.ready);
  EXPECT_NE(ready.message.find("plugin not available"), std::string::npos) << ready.message;
  ASSERT_FALSE(Calls().empty());
  EXPECT_EQ(Calls()[0].substr(0, 17), "STATUS statusful ");
}

TEST_F(CniNetworkTest, StatusVerb_V100List_NotCalled) {
  Conflist(R"({"type":"first"})", "1.0.0");
  EXPECT_TRUE(Net().Readiness().ready);
  EXPECT_TRUE(Calls().empty());
}

TEST_F(CniNetworkTest, Parallel_ManyPodsAddDel_AllSucceedCacheEmpty) {
  Conflist(R"({"type":"first"},{"type":"second"})");
  CniNetwork& net = Net();
  constexpr int kPods = 16;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      std::string id = std::string(62, '0') + (i < 10 ? "0" : "") + std::to_string(i);
      state::PodState pod = Pod(id);
      if (!net.SetUpPod(pod).ok()) ++failures;
      if (!net.TearDownPod(pod).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Calls().size(), static_cast<size_t>(kPods * 4));
  EXPECT_EQ(CacheEntries(), 0u);
}

TEST_F(CniNetworkTest, DelFailure_KeptInCacheForRetry) {
  Plugin("delfail",
         R"(if [ "$CNI_COMMAND" = DEL ] && [ ! -e )" + root_ +
             R"(/allow-del ]; then echo '{"code":999,"msg":"busy"}'; exit 1; fi
if [ "$CNI_COMMAND" = ADD ]; then printf '%s' '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.8/24"}]}'; fi)",
         /*body_all=*/true);
  Conflist(R"({"type":"delfail"})");
  CniNetwork& net = Net();
  state::PodState pod = Pod();
  ASSERT_TRUE(net.SetUpPod(pod).ok());
  Status del = net.TearDownPod(pod);
  ASSERT_FALSE(del.ok());
  EXPECT_NE(del.message().find("busy"), std::string::npos) << del;
  EXPECT_EQ(CacheEntries(), 1u);
  WriteFile(root_ + "/allow-del", "");
  ASSERT_TRUE(net.TearDownPod(pod).ok());
  EXPECT_EQ(CacheEntries(), 0u);
}

TEST_F(CniNetworkTest, ReleaseOrphans_DelsOnlyPodsWithoutRecord) {
  Conflist(R"({"type":"first"})");
  CniNetwork& net = Net();
  state::PodState live = Pod(std::string(64, 'b'));
  state::PodState orphan = Pod(std::string(64, 'c'));
  ASSERT_TRUE(net.SetUpPod(live).ok());
  ASSERT_TRUE(net.SetUpPod(orphan).ok());
  EXPECT_EQ(net.ReleaseOrphans({live.id()}), 1);
  auto calls = Calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2], "DEL first " + orphan.id() + "  eth0|" + PodCniArgs(orphan) + "|" + root_ +
                          "/nonexistent:" + BinDir());
  EXPECT_EQ(CacheEntries(), 1u);
}

TEST(CniArgs, PodCapabilityArgs_PodCidrBandwidthAndCgroup) {
  state::PodState pod;
  pod.set_id("p");
  pod.set_cgroup_path("/kubepods/pod1");
  (*pod.mutable_config()->mutable_annotations())["kubernetes.io/ingress-bandwidth"] = "10M";
  (*pod.mutable_config()->mutable_annotations())["kubernetes.io/egress-bandwidth"] = "1Mi";
  json caps = PodCapabilityArgs(pod, "10.0.0.0/24, fd00::/64");
  EXPECT_EQ(caps["ipRanges"],
            json::parse(R"([[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/64"}]])"));
  EXPECT_EQ(caps["bandwidth"]["ingressRate"], 10000000u);
  EXPECT_EQ(caps["bandwidth"]["egressRate"], 1048576u);
  EXPECT_EQ(caps["cgroupPath"], "/kubepods/pod1");
  EXPECT_FALSE(caps.contains("portMappings"));
  EXPECT_FALSE(caps.contains("dns"));
}

TEST(CniArgs, ParseQuantity_SuffixesAndErrors) {
  EXPECT_EQ(*ParseQuantity("100"), 100u);
  EXPECT_EQ(*ParseQuantity("1.5k"), 1500u);
  EXPECT_EQ(*ParseQuantity("2Gi"), 2147483648u);
  EXPECT_FALSE(ParseQuantity("fast").ok());
  EXPECT_FALSE(ParseQuantity("10Q").ok());
}

TEST(CniExec, FindPlugin_MissingEverywhere_NotFoundListingDirs) {
  auto p = FindPlugin("nope-plugin", {"/nonexistent-a", "/nonexistent-b"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("/nonexistent-a /nonexistent-b"), std::string::npos);
}

}  // namespace
}  // namespace crio::network
