// The real crio daemon on a temporary socket: CRI basics, signals, configuration.
#include "daemon_harness.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include <filesystem>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace crio::testing {
namespace {

using std::chrono::seconds;

std::unique_ptr<Daemon> StartOrDie(DaemonOptions opts = {}) {
  auto d = Daemon::Start(std::move(opts));
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *std::move(d) : nullptr;
}

v1::StatusResponse GetStatus(Daemon& d, bool verbose) {
  v1::StatusRequest req;
  req.set_verbose(verbose);
  v1::StatusResponse resp;
  auto ctx = d.Context();
  grpc::Status st = d.runtime().Status(ctx.get(), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp;
}

const v1::RuntimeCondition* FindCondition(const v1::StatusResponse& r, const std::string& type) {
  for (const auto& c : r.status().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

TEST(Daemon, Version_ReportsRuntimeAndApiVersion) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  v1::VersionRequest req;
  v1::VersionResponse resp;
  auto ctx = d->Context();
  ASSERT_TRUE(d->runtime().Version(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.runtime_name(), "crio-cpp");
  EXPECT_EQ(resp.runtime_api_version(), "v1");
  EXPECT_FALSE(resp.runtime_version().empty());
}

TEST(Daemon, Socket_IsCreatedWithMode0660) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  struct stat st {};
  ASSERT_EQ(::stat(d->socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660);
}

TEST(Daemon, Status_NetworkNotReadyUntilCniConfigAppears) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  auto before = GetStatus(*d, false);
  const auto* runtime_ready = FindCondition(before, "RuntimeReady");
  ASSERT_NE(runtime_ready, nullptr);
  EXPECT_TRUE(runtime_ready->status()) << runtime_ready->message();
  const auto* net = FindCondition(before, "NetworkReady");
  ASSERT_NE(net, nullptr);
  EXPECT_FALSE(net->status());
  EXPECT_EQ(net->reason(), "NetworkPluginNotReady");
  EXPECT_NE(net->message().find("no CNI configuration file"), std::string::npos);

  WriteFile(d->dir().Sub("cni/net.d/10-test.conflist"),
            R"({"cniVersion":"1.0.0","name":"t","plugins":[{"type":"loopback"}]})");
  auto after = GetStatus(*d, false);
  ASSERT_NE(FindCondition(after, "NetworkReady"), nullptr);
  EXPECT_TRUE(FindCondition(after, "NetworkReady")->status());
}

TEST(Daemon, StatusVerbose_InfoIsJsonWithEffectiveConfig) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  auto resp = GetStatus(*d, true);
  ASSERT_EQ(resp.info().count("config"), 1u);
  auto j = nlohmann::json::parse(resp.info().at("config"), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["listen"], d->socket_path());
  EXPECT_TRUE(j["runtimes"].contains(j["default_runtime"].get<std::string>()));
  // The kubelet looks up the default handler under "".
  bool has_default = false;
  for (const auto& h : resp.runtime_handlers()) has_default |= h.name().empty();
  EXPECT_TRUE(has_default);
}

TEST(Daemon, RuntimeConfig_ReportsConfiguredCgroupDriver) {
  auto d = StartOrDie({.extra_args = {"--cgroup-manager", "cgroupfs"}});
  ASSERT_TRUE(d);
  v1::RuntimeConfigRequest req;
  v1::RuntimeConfigResponse resp;
  auto ctx = d->Context();
  ASSERT_TRUE(d->runtime().RuntimeConfig(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.linux().cgroup_driver(), v1::CgroupDriver::CGROUPFS);
}

TEST(Daemon, UpdateRuntimeConfig_PodCidrIsKept) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  v1::UpdateRuntimeConfigRequest req;
  req.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.88.0.0/16");
  v1::UpdateRuntimeConfigResponse resp;
  auto ctx = d->Context();
  ASSERT_TRUE(d->runtime().UpdateRuntimeConfig(ctx.get(), req, &resp).ok());
  auto status = GetStatus(*d, true);
  auto j = nlohmann::json::parse(status.info().at("config"));
  EXPECT_EQ(j["pod_cidr"], "10.88.0.0/16");
}

TEST(Daemon, UnimplementedRpc_ReturnsUnimplementedNamingTheRpc) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  v1::CheckpointContainerRequest req;
  v1::CheckpointContainerResponse resp;
  auto ctx = d->Context();
  grpc::Status st = d->runtime().CheckpointContainer(ctx.get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(st.error_message().find("CheckpointContainer"), std::string::npos)
      << st.error_message();
}

TEST(Daemon, Metrics_ScrapeCountsTheOperationsPerformed) {
  TempDir tmp;
  const std::string socket = tmp.Sub("metrics.sock");
  auto d = StartOrDie({.config_text = "[crio.metrics]\nenable_metrics = true\nmetrics_port = " +
                                      std::to_string(FreeLocalPort()) + "\nmetrics_socket = \"" +
                                      socket + "\"\n"});
  ASSERT_TRUE(d);
  long code = 0;
  auto before = ParseSamples(HttpGetUnix(socket, "/metrics", &code));
  ASSERT_EQ(code, 200);
  for (int i = 0; i < 3; ++i) {
    v1::VersionRequest req;
    v1::VersionResponse resp;
    auto ctx = d->Context();
    ASSERT_TRUE(d->runtime().Version(ctx.get(), req, &resp).ok());
  }
  for (int i = 0; i < 2; ++i) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id("0123456789abcdef");
    v1::PodSandboxStatusResponse resp;
    auto ctx = d->Context();
    EXPECT_EQ(d->runtime().PodSandboxStatus(ctx.get(), req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  const std::string text = HttpGetUnix(socket, "/metrics", &code);
  ASSERT_EQ(code, 200);
  auto after = ParseSamples(text);
  auto delta = [&](const std::string& series) { return after[series] - before[series]; };
  const std::string ops = "container_runtime_crio_operations_total";
  const std::string errors = "container_runtime_crio_operations_errors_total";
  EXPECT_EQ(delta(ops + "{operation=\"Version\"}"), 3) << text;
  EXPECT_EQ(delta(ops + "{operation=\"PodSandboxStatus\"}"), 2) << text;
  EXPECT_EQ(delta(errors + "{operation=\"PodSandboxStatus\"}"), 2) << text;
  EXPECT_EQ(delta(errors + "{operation=\"Version\"}"), 0) << text;
  EXPECT_GT(after["process_resident_memory_bytes"], 1e6) << text;
  EXPECT_GE(after["process_open_fds"], 3) << text;
  EXPECT_EQ(after["container_runtime_crio_default_runtime{runtime=\"crun\"}"] +
                after["container_runtime_crio_default_runtime{runtime=\"runc\"}"],
            1)
      << text;
  EXPECT_NE(text.find("# TYPE container_runtime_crio_operations_total counter"), std::string::npos);
  HttpGetUnix(socket, "/nope", &code);
  EXPECT_EQ(code, 404);
}

TEST(Daemon, MaxRecvMsgSize_OversizedRequestIsRefused) {
  auto d = StartOrDie({.config_text = "[crio.api]\ngrpc_max_recv_msg_size = 1024\n"});
  ASSERT_TRUE(d);
  v1::UpdateRuntimeConfigRequest req;
  req.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(std::string(4096, 'x'));
  v1::UpdateRuntimeConfigResponse resp;
  auto ctx = d->Context();
  grpc::Status st = d->runtime().UpdateRuntimeConfig(ctx.get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(Daemon, StaleSocket_IsReplaced) {
  TempDir tmp;
  // A socket file nobody listens on, as a crashed daemon leaves behind.
  std::string path = tmp.Sub("stale.sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::exists(path));

  auto d = StartOrDie({.listen = path});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->Log().find("removing stale socket") != std::string::npos) << d->Log();
  auto second = Daemon::Start({.wait_ready = false, .listen = path});
  ASSERT_TRUE(second.ok());
  // A live socket belongs to another daemon: the second one must refuse, not steal it.
  auto code = (*second)->WaitExit(seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_NE(*code, 0);
  EXPECT_NE((*second)->Log().find("another daemon"), std::string::npos) << (*second)->Log();
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(Daemon, Sighup_ReloadsLogLevelAndLogsTheChange) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  WriteFile(d->config_dir() + "/50-debug.conf", "[crio.runtime]\nlog_level = \"debug\"\n");
  ASSERT_TRUE(d->Signal(SIGHUP).ok());
  EXPECT_TRUE(d->WaitForLog("log_level: \"info\" -> \"debug\"", seconds(5))) << d->Log();
  // Still serving after the reload.
  v1::VersionRequest req;
  v1::VersionResponse resp;
  auto ctx = d->Context();
  EXPECT_TRUE(d->runtime().Version(ctx.get(), req, &resp).ok());
}

TEST(Daemon, Sigterm_ShutsDownCleanlyAndRemovesSocket) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->Signal(SIGTERM).ok());
  auto code = d->WaitExit(seconds(15));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_FALSE(std::filesystem::exists(d->socket_path()));
  EXPECT_NE(d->Log().find("shutdown complete"), std::string::npos);
}

TEST(Daemon, Sigint_AlsoShutsDownCleanly) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->Signal(SIGINT).ok());
  auto code = d->WaitExit(seconds(15));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_FALSE(std::filesystem::exists(d->socket_path()));
}

TEST(Daemon, BadConfigType_RefusesToStartNamingFileAndLine) {
  auto d = Daemon::Start({.config_text = "[crio.runtime]\n\npids_limit = \"many\"\n"});
  ASSERT_FALSE(d.ok());
  std::string msg = Message(d.status());
  EXPECT_NE(msg.find("crio.conf:3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pids_limit"), std::string::npos) << msg;
}

TEST(Daemon, UnknownKey_WarnsButStarts) {
  auto d = StartOrDie({.config_text = "[crio.runtime]\nno_such_option = 1\n"});
  ASSERT_TRUE(d);
  EXPECT_NE(d->Log().find("no_such_option"), std::string::npos) << d->Log();
}

TEST(CrioCommand, Config_OutputLoadsBackToTheSameConfig) {
  TempDir tmp;
  WriteFile(tmp.Sub("crio.conf"),
            "[crio.runtime]\npids_limit = 2048\ndefault_runtime = \"runc\"\n"
            "[crio.image]\npause_image = \"example.com/pause:1\"\n");
  auto first = RunCommand({BuiltBinary("crio"), "--config", tmp.Sub("crio.conf"), "--config-dir",
                           tmp.Sub("none.d"), "--log-level", "debug", "config"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("pids_limit = 2048"), std::string::npos);
  EXPECT_NE(first.output.find("log_level = \"debug\""), std::string::npos);
  WriteFile(tmp.Sub("roundtrip.conf"), first.output);
  auto second = RunCommand({BuiltBinary("crio"), "--config", tmp.Sub("roundtrip.conf"),
                            "--config-dir", tmp.Sub("none.d"), "config"});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(first.output, second.output);
}

// Every option has its flag and CONTAINER_* twin, with CRI-O's precedence: flags over drop-ins
// over the main file, the environment like a flag.
TEST(CrioCommand, GeneratedFlags_OverrideFilesAndEnvironmentWorks) {
  TempDir tmp;
  auto help = RunCommand({BuiltBinary("crio"), "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.output;
  size_t flags = 0;  // each flag shows its environment twin
  for (size_t at = help.output.find("Env:CONTAINER_"); at != std::string::npos;
       at = help.output.find("Env:CONTAINER_", at + 1)) {
    ++flags;
  }
  EXPECT_GT(flags, 100u) << help.output;
  EXPECT_NE(help.output.find("--cni-config-dir"), std::string::npos);
  EXPECT_NE(help.output.find("CONTAINER_STORAGE_DRIVER"), std::string::npos);

  WriteFile(tmp.Sub("crio.conf"), "[crio.runtime]\nlog_level = \"warn\"\npids_limit = 10\n");
  WriteFile(tmp.Sub("d/10.conf"), "[crio.runtime]\nlog_level = \"error\"\npids_limit = 20\n");
  auto out = RunCommand({"env", "CONTAINER_DEFAULT_ULIMITS=nofile=100:200", BuiltBinary("crio"),
                         "--config", tmp.Sub("crio.conf"), "--config-dir", tmp.Sub("d"), "-s",
                         "vfs", "--pids-limit", "30", "--enable-metrics", "config"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("storage_driver = \"vfs\""), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("pids_limit = 30"), std::string::npos) << "the flag wins";
  EXPECT_NE(out.output.find("log_level = \"error\""), std::string::npos) << "the drop-in wins";
  EXPECT_NE(out.output.find("enable_metrics = true"), std::string::npos);
  EXPECT_NE(out.output.find("nofile=100:200"), std::string::npos) << "from the environment";

  auto bad = RunCommand({BuiltBinary("crio"), "--config", tmp.Sub("crio.conf"), "--config-dir",
                         tmp.Sub("d"), "--pids-limit", "lots", "config"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--pids-limit"), std::string::npos) << bad.output;
}

TEST(CrioCommand, Version_PrintsBuildAndLibraryVersions) {
  auto r = RunCommand({BuiltBinary("crio"), "version"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* key : {"Version:", "GitCommit:", "BuildDate:", "Compiler:", "grpc:", "sqlite:",
                          "libarchive:", "openssl:"}) {
    EXPECT_NE(r.output.find(key), std::string::npos) << key << "\n" << r.output;
  }
  auto j = RunCommand({BuiltBinary("crio"), "version", "--json"});
  ASSERT_EQ(j.exit_code, 0);
  auto parsed = nlohmann::json::parse(j.output, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << j.output;
  EXPECT_TRUE(parsed.contains("libraries"));
}

TEST(Crioctl, VersionAndInfo_AgainstTheDaemon) {
  auto d = StartOrDie();
  ASSERT_TRUE(d);
  auto v = RunCommand({BuiltBinary("crioctl"), "-r", d->endpoint(), "version"});
  ASSERT_EQ(v.exit_code, 0) << v.output;
  EXPECT_NE(v.output.find("RuntimeName:  crio-cpp"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("RuntimeApiVersion:  v1"), std::string::npos);
  auto info = RunCommand({BuiltBinary("crioctl"), "--runtime-endpoint", d->endpoint(), "info"});
  ASSERT_EQ(info.exit_code, 0) << info.output;
  auto j = nlohmann::json::parse(info.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << info.output;
  EXPECT_TRUE(j["status"].contains("conditions"));
}

TEST(Crioctl, UnreachableEndpoint_FailsWithMessage) {
  TempDir tmp;
  auto v =
      RunCommand({BuiltBinary("crioctl"), "-r", "unix://" + tmp.Sub("nothing.sock"), "version"});
  EXPECT_NE(v.exit_code, 0);
  EXPECT_NE(v.output.find("Version"), std::string::npos) << v.output;
}

}  // namespace
}  // namespace crio::testing
