// Runtime handler selection (oci/handler.h).
#include <gtest/gtest.h>

#include "oci/handler.h"

namespace crio::oci {
namespace {

config::RuntimeConfig TwoHandlers() {
  config::RuntimeConfig rc;
  rc.default_runtime = "crun";
  rc.container_exits_dir = "/tmp/exits";
  rc.container_attach_socket_dir = "/tmp/attach";
  rc.log_level = "debug";
  rc.cgroup_manager = "cgroupfs";
  config::RuntimeHandler crun;
  crun.runtime_path = "/usr/bin/crun";
  crun.runtime_root = "/run/crun";
  crun.monitor_path = "/usr/bin/conmon";
  crun.monitor_env = {"PATH=/usr/bin"};
  crun.monitor_cgroup = "pod";
  crun.container_create_timeout = 30;
  rc.runtimes["crun"] = crun;
  config::RuntimeHandler kata;
  kata.runtime_type = "vm";
  kata.runtime_path = "/usr/bin/kata";
  rc.runtimes["kata"] = kata;
  return rc;
}

// A Runtime that only records which handler built it.
class NamedRuntime : public Runtime {
 public:
  explicit NamedRuntime(std::string handler) : name(std::move(handler)) {}
  StatusOr<int> CreateContainer(const CreateRequest&) override { return Unimplemented("x"); }
  Status StartContainer(const std::string&) override { return Unimplemented("x"); }
  Status KillContainer(const std::string&, int, bool) override { return Unimplemented("x"); }
  Status DeleteContainer(const std::string&, bool) override { return Unimplemented("x"); }
  StatusOr<RuntimeState> State(const std::string&) override { return Unimplemented("x"); }
  Status UpdateContainerResources(const std::string&, const std::string&) override {
    return Unimplemented("x");
  }
  StatusOr<ExecSyncResult> ExecSync(const std::string&, const std::vector<std::string>&,
                                    std::chrono::milliseconds, bool) override {
    return Unimplemented("x");
  }
  Status ReopenLog(const std::string&) override { return Unimplemented("x"); }
  StatusOr<std::optional<ExitInfo>> ReadExit(const std::string&) override {
    return Unimplemented("x");
  }
  StatusOr<bool> WasOomKilled(const std::string&) override { return Unimplemented("x"); }
  Status Track(const std::string&, const ContainerDirs&) override { return Unimplemented("x"); }

  std::string name;
};

TEST(ConmonOptionsFor, CopiesHandlerAndRuntimeWideSettings) {
  config::RuntimeConfig rc = TwoHandlers();
  auto o = ConmonOptionsFor("crun", rc.runtimes["crun"], rc);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->handler_name, "crun");
  EXPECT_EQ(o->runtime_path, "/usr/bin/crun");
  EXPECT_EQ(o->runtime_root, "/run/crun");
  EXPECT_EQ(o->monitor_path, "/usr/bin/conmon");
  EXPECT_EQ(o->monitor_env, std::vector<std::string>{"PATH=/usr/bin"});
  EXPECT_EQ(o->exits_dir, "/tmp/exits");
  EXPECT_EQ(o->attach_socket_dir, "/tmp/attach");
  EXPECT_EQ(o->log_level, "debug");
  EXPECT_FALSE(o->systemd_cgroup);
  EXPECT_EQ(o->create_timeout, std::chrono::seconds(30));
}

TEST(ConmonOptionsFor, SystemdManagerSetsFlagAndZeroTimeoutKeepsDefault) {
  config::RuntimeConfig rc = TwoHandlers();
  rc.cgroup_manager = "systemd";
  rc.runtimes["crun"].container_create_timeout = 0;
  auto o = ConmonOptionsFor("crun", rc.runtimes["crun"], rc);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->systemd_cgroup);
  EXPECT_EQ(o->create_timeout, std::chrono::seconds(240));
}

TEST(ConmonOptionsFor, EmptyMonitorEnv_GetsDefaultPath) {
  config::RuntimeConfig rc = TwoHandlers();
  rc.runtimes["crun"].monitor_env.clear();
  auto o = ConmonOptionsFor("crun", rc.runtimes["crun"], rc);
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o->monitor_env.size(), 1u);
  EXPECT_EQ(o->monitor_env[0].rfind("PATH=", 0), 0u);
}

TEST(ConmonOptionsFor, VmType_InvalidArgument) {
  config::RuntimeConfig rc = TwoHandlers();
  auto o = ConmonOptionsFor("kata", rc.runtimes["kata"], rc);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find("runtime_type vm not supported"), absl::string_view::npos);
}

TEST(HandlerRegistry, Get_CachesOneRuntimePerHandler) {
  int built = 0;
  HandlerRegistry registry(TwoHandlers(),
                           [&](const std::string& name, const config::RuntimeHandler& handler,
                               const config::RuntimeConfig&) -> StatusOr<RuntimePtr> {
                             ++built;
                             EXPECT_EQ(handler.runtime_path, "/usr/bin/crun");
                             return RuntimePtr(new NamedRuntime(name));
                           });
  auto a = registry.Get("crun");
  auto b = registry.Get("");  // the default handler
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(built, 1);
  EXPECT_EQ(static_cast<NamedRuntime*>(*a)->name, "crun");
}

TEST(HandlerRegistry, UnknownHandler_NotFound) {
  HandlerRegistry registry(TwoHandlers(), [](auto&&...) -> StatusOr<RuntimePtr> {
    return RuntimePtr(new NamedRuntime("x"));
  });
  auto r = registry.Get("gvisor");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "runtime handler gvisor is not configured");
}

TEST(HandlerRegistry, NonOciType_InvalidArgumentAndFactoryNotCalled) {
  bool called = false;
  HandlerRegistry registry(TwoHandlers(), [&](auto&&...) -> StatusOr<RuntimePtr> {
    called = true;
    return RuntimePtr(new NamedRuntime("x"));
  });
  auto r = registry.Get("kata");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("runtime_type vm not supported"), absl::string_view::npos);
  EXPECT_FALSE(called);
}

TEST(HandlerRegistry, FactoryError_NotCachedSoRetried) {
  int calls = 0;
  HandlerRegistry registry(TwoHandlers(), [&](auto&&...) -> StatusOr<RuntimePtr> {
    if (++calls == 1) {
      return InvalidArgument("monitor_path `/x` is not executable");
    }
    return RuntimePtr(new NamedRuntime("crun"));
  });
  EXPECT_EQ(registry.Get("crun").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.Get("crun").ok());
  EXPECT_EQ(calls, 2);
}

TEST(HandlerRegistry, DefaultFactory_MissingBinary_InvalidArgumentNamingIt) {
  config::RuntimeConfig rc = TwoHandlers();
  rc.runtimes["crun"].runtime_path = "/nonexistent/crun";
  HandlerRegistry registry(rc);
  auto r = registry.Get("crun");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("/nonexistent/crun"), absl::string_view::npos);
}

}  // namespace
}  // namespace crio::oci
