#pragma once
// Shared by the spec builder's unit tests (spec_*_test.cc): a fixture holding the inputs of an
// ordinary container in an ordinary pod, and helpers to look into the generated spec.
// Hermetic: host facts come from a fixed HostInfo; files live in mkdtemp dirs.

// spec_internal.h pulls in api.pb.h, which must come before any system header.
#include "container/spec_internal.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace crio::container::spec_test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/crio-spec-builder-XXXXXX";
    char* dir = mkdtemp(tmpl);
    if (dir != nullptr) {
      path_ = dir;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

inline std::vector<std::string> Strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) {
    return out;
  }
  for (const nlohmann::json& v : j) {
    out.push_back(v.get<std::string>());
  }
  return out;
}

inline const nlohmann::json* FindMount(const nlohmann::json& spec, const std::string& destination) {
  for (const nlohmann::json& m : spec["mounts"]) {
    if (m["destination"] == destination) {
      return &m;
    }
  }
  return nullptr;
}

inline std::vector<std::string> MountDestinations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  for (const nlohmann::json& m : spec["mounts"]) {
    out.push_back(m["destination"].get<std::string>());
  }
  return out;
}

inline const nlohmann::json* FindNamespace(const nlohmann::json& spec, const std::string& type) {
  for (const nlohmann::json& ns : spec["linux"]["namespaces"]) {
    if (ns["type"] == type) {
      return &ns;
    }
  }
  return nullptr;
}

// The action applying to `name` when called without argument filters ("" when not listed).
inline std::string SyscallAction(const nlohmann::json& seccomp, const std::string& name) {
  for (const nlohmann::json& rule : seccomp["syscalls"]) {
    if (rule.contains("args")) {
      continue;
    }
    for (const nlohmann::json& n : rule["names"]) {
      if (n == name) {
        return rule["action"].get<std::string>();
      }
    }
  }
  return "";
}

inline constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n"
    "broken line\n"
    "alice:x:1000:1000::/home/alice:/bin/sh\n";
inline constexpr char kGroup[] =
    "root:x:0:\n"
    "nginx:x:101:\n"
    "alice:x:1000:\n"
    "video:x:44:alice,bob\n"
    "audio:x:29:alice\n"
    "staff:x:50:bob\n";

// An nginx container in pod "pod1" with pinned namespaces and pod files, on a fixed x86_64 host
// whose /dev is an empty temporary directory. Each test file derives its own suite from it.
class SpecFixture : public ::testing::Test {
 protected:
  SpecFixture() {
    config_.mutable_metadata()->set_name("app");
    config_.mutable_image()->set_image("docker.io/library/busybox:latest");
    sandbox_.mutable_metadata()->set_name("pod");
    sandbox_.mutable_metadata()->set_namespace_("default");
    // What the kubelet sends for an ordinary pod: private PID namespace per container.
    config_.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        runtime::v1::CONTAINER);
    image_.config.entrypoint = {"/docker-entrypoint.sh"};
    image_.config.cmd = {"nginx", "-g", "daemon off;"};
    host_.cap_last_cap = 40;
    host_.apparmor_enabled = false;
    host_.memory_swap = true;
    host_.hugetlb = true;
    host_.machine = "x86_64";
    host_.kernel_release = "6.1.0";
    host_.dev_dir = dev_dir_.path();

    in_.container_id = "ctr1";
    in_.config = &config_;
    in_.sandbox = &sandbox_;
    in_.image = &image_;
    in_.rootfs = "/var/lib/crio/ctr1/rootfs";
    in_.runtime = &runtime_;
    in_.host = &host_;
    in_.cgroups_path = "/crio-cpp-test/crio-ctr1";
    in_.etc_passwd = kPasswd;
    in_.etc_group = kGroup;
    in_.pod.pod_id = "pod1";
    in_.pod.hostname = "web-0";
    in_.pod.netns_path = "/var/run/netns/pod1";
    in_.pod.ipcns_path = "/var/run/ipcns/pod1";
    in_.pod.utsns_path = "/var/run/utsns/pod1";
    in_.pod.hostname_file = "/run/crio/pod1/hostname";
    in_.pod.resolv_conf_file = "/run/crio/pod1/resolv.conf";
    in_.pod.hosts_file = "/run/crio/pod1/hosts";
    in_.pod.shm_path = "/run/crio/pod1/shm";
  }

  runtime::v1::LinuxContainerSecurityContext* sc() {
    return config_.mutable_linux()->mutable_security_context();
  }
  runtime::v1::LinuxContainerResources* resources() {
    return config_.mutable_linux()->mutable_resources();
  }
  void MakeSandboxPrivileged() {
    sandbox_.mutable_linux()->mutable_security_context()->set_privileged(true);
  }

  nlohmann::json Build() {
    auto spec = BuildSpec(in_);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return spec.ok() ? *spec : nlohmann::json::object();
  }
  Status BuildError() {
    auto spec = BuildSpec(in_);
    return spec.ok() ? absl::OkStatus() : spec.status();
  }
  TempDir dev_dir_;
  runtime::v1::ContainerConfig config_;
  runtime::v1::PodSandboxConfig sandbox_;
  image::ImageConfig image_;
  config::RuntimeConfig runtime_;
  HostInfo host_;
  SpecInputs in_;
};

}  // namespace crio::container::spec_test
