// Unit tests of crioctl's pure pod/container helpers (cmd/crioctl/runtime_format.h): config
// loading, list filters, crictl-style tables and JSON, durations and CRI log reading.

// runtime_format.h pulls in api.pb.h, which must come before any system header (<signal.h>
// defines SIGABRT & co., which are also CRI enum values).
// clang-format off
#include "runtime_format.h"
// clang-format on

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace crioctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int64_t kSecond = 1'000'000'000;
// 2024-05-01T10:00:00Z
constexpr int64_t kBase = 1714557600LL * kSecond;

long UtcZone(int64_t, std::string* name) {
  if (name != nullptr) *name = "UTC";
  return 0;
}

long PlusTwoZone(int64_t, std::string* name) {
  if (name != nullptr) *name = "CEST";
  return 2 * 3600;
}

// A temporary directory removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/crioctl_format_test.XXXXXX";
    path_ = mkdtemp(tmpl) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- Config files ----

TEST(CrioctlConfig_ParseConfigText, SnakeCaseJson_FillsPodConfig) {
  v1::PodSandboxConfig config;
  auto st = ParseConfigText(R"({
      "metadata": {"name": "nginx-sandbox", "namespace": "default", "attempt": 1,
                   "uid": "hdishd83djaidwnduwk28bcsb"},
      "log_directory": "/tmp",
      "linux": {"cgroup_parent": "pod.slice"},
      "labels": {"app": "web"},
      "some_future_field": {"x": 1}})",
                            &config);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(config.metadata().name(), "nginx-sandbox");
  EXPECT_EQ(config.metadata().namespace_(), "default");
  EXPECT_EQ(config.metadata().attempt(), 1u);
  EXPECT_EQ(config.log_directory(), "/tmp");
  EXPECT_EQ(config.linux().cgroup_parent(), "pod.slice");
  EXPECT_EQ(config.labels().at("app"), "web");
}

TEST(CrioctlConfig_ParseConfigText, CamelCaseJson_IsAccepted) {
  v1::ContainerConfig config;
  auto st = ParseConfigText(R"({"metadata": {"name": "c"}, "logPath": "c.log",
                                "image": {"image": "busybox"}})",
                            &config);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(config.log_path(), "c.log");
  EXPECT_EQ(config.image().image(), "busybox");
}

TEST(CrioctlConfig_ParseConfigText, YamlContainer_FillsRepeatedMapAndCoercesStrings) {
  v1::ContainerConfig config;
  auto st = ParseConfigText(
      "metadata:\n"
      "  name: busybox\n"
      "image:\n"
      "  image: docker.io/library/busybox:latest\n"
      "command: [sh, -c, 'echo hi']\n"
      "envs:\n"
      "  - key: PORT\n"
      "    value: 8080\n"
      "labels:\n"
      "  version: 2\n"
      "  enabled: true\n"
      "  empty:\n"
      "tty: true\n"
      "linux:\n"
      "  resources:\n"
      "    memory_limit_in_bytes: 67108864\n",
      &config);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_THAT(config.command(), ElementsAre("sh", "-c", "echo hi"));
  ASSERT_EQ(config.envs_size(), 1);
  EXPECT_EQ(config.envs(0).key(), "PORT");
  EXPECT_EQ(config.envs(0).value(), "8080");
  EXPECT_EQ(config.labels().at("version"), "2");
  EXPECT_EQ(config.labels().at("enabled"), "true");
  EXPECT_EQ(config.labels().at("empty"), "");
  EXPECT_TRUE(config.tty());
  EXPECT_EQ(config.linux().resources().memory_limit_in_bytes(), 67108864);
}

TEST(CrioctlConfig_ParseConfigText, BadInput_IsInvalidArgument) {
  v1::PodSandboxConfig config;
  auto json = ParseConfigText("{\"metadata\": ", &config);
  EXPECT_EQ(json.code(), absl::StatusCode::kInvalidArgument);
  auto yaml = ParseConfigText("metadata:\n  name: a: b\n", &config);
  EXPECT_EQ(yaml.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(yaml.message()), HasSubstr("yaml line 2"));
  auto wrong_type = ParseConfigText("{\"metadata\": {\"attempt\": \"many\"}}", &config);
  EXPECT_EQ(wrong_type.code(), absl::StatusCode::kInvalidArgument);
  auto not_object = ParseConfigText("- a\n", &config);
  EXPECT_EQ(not_object.code(), absl::StatusCode::kInvalidArgument);
}

TEST(CrioctlConfig_Validate, PodWithoutUid_GetsRandomUuid) {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name("p");
  config.mutable_metadata()->set_namespace_("ns");
  ASSERT_TRUE(ValidatePodSandboxConfig(&config).ok());
  EXPECT_THAT(config.metadata().uid(),
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  std::string first = config.metadata().uid();
  config.mutable_metadata()->clear_uid();
  ASSERT_TRUE(ValidatePodSandboxConfig(&config).ok());
  EXPECT_NE(config.metadata().uid(), first);
}

TEST(CrioctlConfig_Validate, MissingFields_AreRejected) {
  v1::PodSandboxConfig pod;
  EXPECT_THAT(std::string(ValidatePodSandboxConfig(&pod).message()), "metadata is not set");
  pod.mutable_metadata()->set_name("p");
  EXPECT_THAT(std::string(ValidatePodSandboxConfig(&pod).message()),
              HasSubstr("name or namespace"));
  v1::ContainerConfig ctr;
  EXPECT_FALSE(ValidateContainerConfig(ctr).ok());
  ctr.mutable_metadata();
  EXPECT_THAT(std::string(ValidateContainerConfig(ctr).message()), HasSubstr("name"));
  ctr.mutable_metadata()->set_name("c");
  EXPECT_TRUE(ValidateContainerConfig(ctr).ok());
}

TEST(CrioctlConfig_Load, FilesOnDisk_AreLoadedOrReported) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string pod_path =
      dir.Write("pod.yaml", "metadata:\n  name: p\n  namespace: default\n  uid: u1\n");
  auto pod = LoadPodSandboxConfig(pod_path);
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(pod->metadata().uid(), "u1");

  auto missing = LoadPodSandboxConfig(dir.path() + "/nope.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("not found"));

  std::string bad = dir.Write("ctr.json", R"({"metadata": {}})");
  auto ctr = LoadContainerConfig(bad);
  EXPECT_EQ(ctr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ctr.status().message()), HasSubstr(bad));
}

TEST(CrioctlConfig_ImagesToPull, MountImages_AreIncludedOnce) {
  v1::ContainerConfig config;
  config.mutable_image()->set_image("busybox");
  config.add_mounts()->mutable_image()->set_image("data:v1");
  config.add_mounts()->set_host_path("/srv");
  config.add_mounts()->mutable_image()->set_image("busybox");
  EXPECT_THAT(ImagesToPull(config), ElementsAre("busybox", "data:v1"));
}

// ---- Filters ----

TEST(CrioctlFilters_ParseLabels, KeyValuePairs_AreParsedAndMalformedRejected) {
  auto ok = ParseLabels({"app=web", "tier="});
  ASSERT_TRUE(ok.ok());
  EXPECT_THAT(*ok, UnorderedElementsAre(Pair("app", "web"), Pair("tier", "")));
  EXPECT_THAT(std::string(ParseLabels({"app"}).status().message()),
              "incorrectly specified label: app");
  EXPECT_FALSE(ParseLabels({"a=b=c"}).ok());
}

TEST(CrioctlFilters_Pods, Options_BuildFilter) {
  PodListOptions o;
  o.id = "abc";
  o.state = "Ready";
  o.labels = {"app=web"};
  auto req = BuildListPodSandboxRequest(o);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->filter().id(), "abc");
  ASSERT_TRUE(req->filter().has_state());
  EXPECT_EQ(req->filter().state().state(), v1::SANDBOX_READY);
  EXPECT_EQ(req->filter().label_selector().at("app"), "web");

  o.state = "notready";
  EXPECT_EQ(BuildListPodSandboxRequest(o)->filter().state().state(), v1::SANDBOX_NOTREADY);
  o.state = "";
  EXPECT_FALSE(BuildListPodSandboxRequest(o)->filter().has_state());
  o.state = "running";
  EXPECT_EQ(BuildListPodSandboxRequest(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CrioctlFilters_Containers, DefaultIsRunningOnly_AllAndLatestLiftIt) {
  ContainerListOptions o;
  auto req = BuildListContainersRequest(o);
  ASSERT_TRUE(req.ok());
  ASSERT_TRUE(req->filter().has_state());
  EXPECT_EQ(req->filter().state().state(), v1::CONTAINER_RUNNING);

  o.all = true;
  EXPECT_FALSE(BuildListContainersRequest(o)->filter().has_state());

  o.state = "EXITED";
  o.pod_id = "pod1";
  req = BuildListContainersRequest(o);
  EXPECT_EQ(req->filter().state().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(req->filter().pod_sandbox_id(), "pod1");

  o.latest = true;
  EXPECT_FALSE(BuildListContainersRequest(o)->filter().has_state());

  o.state = "stopped";
  EXPECT_THAT(std::string(BuildListContainersRequest(o).status().message()),
              HasSubstr("created, running, exited or unknown"));
}

v1::PodSandbox Pod(const std::string& id, const std::string& name, const std::string& ns,
                   int64_t created) {
  v1::PodSandbox p;
  p.set_id(id);
  p.mutable_metadata()->set_name(name);
  p.mutable_metadata()->set_namespace_(ns);
  p.set_created_at(created);
  return p;
}

TEST(CrioctlFilters_SelectPods, RegexSortAndLast_Apply) {
  google::protobuf::RepeatedPtrField<v1::PodSandbox> pods;
  *pods.Add() = Pod("1", "web-a", "default", 10);
  *pods.Add() = Pod("2", "db", "default", 30);
  *pods.Add() = Pod("3", "web-b", "kube-system", 20);
  pods.Add()->set_id("no-metadata");

  PodListOptions o;
  auto all = SelectPods(pods, o);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id(), "2");  // newest first
  EXPECT_EQ(all[2].id(), "1");

  o.name_regex = "^web";
  auto web = SelectPods(pods, o);
  ASSERT_EQ(web.size(), 2u);
  EXPECT_EQ(web[0].id(), "3");

  o.namespace_regex = "default";
  EXPECT_EQ(SelectPods(pods, o).size(), 1u);

  o = PodListOptions{};
  o.latest = true;
  ASSERT_EQ(SelectPods(pods, o).size(), 1u);
  EXPECT_EQ(SelectPods(pods, o)[0].id(), "2");
  o.latest = false;
  o.last = 2;
  EXPECT_EQ(SelectPods(pods, o).size(), 2u);

  o = PodListOptions{};
  o.name_regex = "([";  // invalid: matches nothing, like crictl
  EXPECT_TRUE(SelectPods(pods, o).empty());
}

TEST(CrioctlFilters_SelectContainers, NamespaceLabelAndPredicate_Apply) {
  google::protobuf::RepeatedPtrField<v1::Container> ctrs;
  auto* a = ctrs.Add();
  a->set_id("a");
  a->mutable_metadata()->set_name("app");
  (*a->mutable_labels())["io.kubernetes.pod.namespace"] = "prod";
  a->set_created_at(1);
  auto* b = ctrs.Add();
  b->set_id("b");
  b->mutable_metadata()->set_name("sidecar");
  b->set_created_at(2);

  ContainerListOptions o;
  o.namespace_regex = "prod";
  auto out = SelectContainers(ctrs, o);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id(), "a");

  o.namespace_regex = "unknown";  // the stand-in for a missing label
  out = SelectContainers(ctrs, o);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id(), "b");

  o = ContainerListOptions{};
  out = SelectContainers(ctrs, o, [](const v1::Container& c) { return c.id() != "b"; });
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id(), "a");
}

// ---- Text output ----

TEST(CrioctlText_HumanDuration, MatchesGoUnits) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::seconds;
  EXPECT_EQ(HumanDuration(milliseconds(999)), "Less than a second");
  EXPECT_EQ(HumanDuration(seconds(-5)), "Less than a second");
  EXPECT_EQ(HumanDuration(seconds(1)), "1 second");
  EXPECT_EQ(HumanDuration(seconds(59)), "59 seconds");
  EXPECT_EQ(HumanDuration(seconds(119)), "About a minute");
  EXPECT_EQ(HumanDuration(minutes(59)), "59 minutes");
  EXPECT_EQ(HumanDuration(minutes(89)), "About an hour");
  EXPECT_EQ(HumanDuration(minutes(90)), "2 hours");
  EXPECT_EQ(HumanDuration(hours(47)), "47 hours");
  EXPECT_EQ(HumanDuration(hours(48)), "2 days");
  EXPECT_EQ(HumanDuration(hours(24 * 14)), "2 weeks");
  EXPECT_EQ(HumanDuration(hours(24 * 60)), "2 months");
  EXPECT_EQ(HumanDuration(hours(24 * 365 * 2)), "2 years");
  EXPECT_EQ(Ago(kBase, kBase + 5 * kSecond), "5 seconds ago");
}

TEST(CrioctlText_TruncateId, KeepsThirteenCharacters) {
  EXPECT_EQ(TruncateId("0123456789abcdef0123"), "0123456789abc");
  EXPECT_EQ(TruncateId("short"), "short");
  EXPECT_EQ(TruncateId("sha256:0123456789abcdef", "sha256:"), "0123456789abc");
}

TEST(CrioctlText_FormatTable, PadsColumnsLikeTabwriter) {
  std::string out =
      FormatTable({{"A", "B", "C"}, {"a-very-long-cell-value-here", "x", "last column is free"}});
  EXPECT_EQ(out, "A" + std::string(29, ' ') + "B" + std::string(19, ' ') + "C\n" +
                     "a-very-long-cell-value-here   x" + std::string(19, ' ') +
                     "last column is free\n");
}

TEST(CrioctlText_FormatPodsTable, PrintsCrictlColumns) {
  v1::PodSandbox p = Pod("0123456789abcdef0123", "nginx", "default", kBase - 90 * kSecond);
  p.mutable_metadata()->set_attempt(2);
  v1::PodSandbox q = Pod("fedcba9876543210", "db", "prod", kBase);
  q.set_state(v1::SANDBOX_NOTREADY);
  q.set_runtime_handler("kata");
  std::string out = FormatPodsTable({p, q}, /*no_trunc=*/false, kBase);
  // Widths are max(20, widest cell + 3); CREATED is the only column wider than 20.
  auto row = [](std::vector<std::string> cells) {
    const int widths[] = {20, 25, 20, 20, 20, 20};
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) line.append(widths[i] - cells[i].size(), ' ');
    }
    return line + "\n";
  };
  EXPECT_EQ(out, row({"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"}) +
                     row({"0123456789abc", "About a minute ago", "Ready", "nginx", "default", "2",
                          "(default)"}) +
                     row({"fedcba9876543", "Less than a second ago", "NotReady", "db", "prod", "0",
                          "kata"}));
  EXPECT_THAT(FormatPodsTable({p}, /*no_trunc=*/true, kBase), HasSubstr("0123456789abcdef0123"));
}

TEST(CrioctlText_FormatContainersTable, TruncatesDigestsAndNamesPod) {
  v1::Container c;
  c.set_id("c0123456789abcdef");
  c.set_pod_sandbox_id("p0123456789abcdef");
  c.mutable_image()->set_image("sha256:" + std::string(64, 'a'));
  c.mutable_metadata()->set_name("app");
  c.set_state(v1::CONTAINER_RUNNING);
  c.set_created_at(kBase - 3 * 3600 * kSecond);
  (*c.mutable_labels())["io.kubernetes.pod.name"] = "web";
  v1::Container d = c;
  d.mutable_image()->set_image("docker.io/library/busybox:latest");
  d.clear_labels();
  d.set_state(v1::CONTAINER_EXITED);
  std::string out = FormatContainersTable({c, d}, /*no_trunc=*/false, kBase);
  EXPECT_THAT(out, HasSubstr("CONTAINER           IMAGE"));
  EXPECT_THAT(out, HasSubstr("c0123456789ab       aaaaaaaaaaaaa"));
  EXPECT_THAT(out, HasSubstr("3 hours ago"));
  EXPECT_THAT(out, HasSubstr("Running"));
  EXPECT_THAT(out, HasSubstr("p0123456789ab       web                 unknown\n"));
  EXPECT_THAT(out, HasSubstr("docker.io/library/busybox:latest"));
  EXPECT_THAT(out, HasSubstr("unknown             unknown\n"));
  std::string full = FormatContainersTable({c}, /*no_trunc=*/true, kBase);
  EXPECT_THAT(full, HasSubstr("sha256:" + std::string(64, 'a')));
  EXPECT_THAT(full, HasSubstr("p0123456789abcdef"));
}

TEST(CrioctlText_Verbose, PodsAndContainers_PrintCrictlFields) {
  v1::PodSandbox p = Pod("pod1", "nginx", "default", kBase);
  (*p.mutable_labels())["b"] = "2";
  (*p.mutable_labels())["a"] = "1";
  EXPECT_EQ(FormatPodsVerbose({p}, UtcZone),
            "ID: pod1\nName: nginx\nNamespace: default\nStatus: Ready\n"
            "Created: 2024-05-01 10:00:00 +0000 UTC\nLabels:\n\ta -> 1\n\tb -> 2\n"
            "Runtime: (default)\n\n");
  v1::Container c;
  c.set_id("c1");
  c.set_pod_sandbox_id("pod1");
  c.mutable_metadata()->set_name("app");
  c.set_created_at(kBase - 2 * kSecond);
  EXPECT_EQ(FormatContainersVerbose({c}, kBase),
            "ID: c1\nPodID: pod1\nNamespace: unknown\nName: app\nAttempt: 0\nState: Created\n"
            "Created: 2 seconds ago\n\n");
}

TEST(CrioctlText_StatusTables, ExitedContainerAndPod_ShowCrictlLines) {
  v1::ContainerStatusResponse resp;
  auto* s = resp.mutable_status();
  s->set_id("c1");
  s->mutable_metadata()->set_name("app");
  s->set_state(v1::CONTAINER_EXITED);
  s->set_created_at(kBase - 120 * kSecond);
  s->set_started_at(kBase - 90 * kSecond);
  s->set_finished_at(kBase - 30 * kSecond);
  s->set_exit_code(3);
  (*resp.mutable_info())["info"] = "{}";
  EXPECT_EQ(FormatContainerStatusTable(resp, /*verbose=*/true, kBase),
            "ID: c1\nName: app\nState: CONTAINER_EXITED\nCreated: 2 minutes ago\n"
            "Started: About a minute ago\nFinished: 30 seconds ago\nExit Code: 3\n"
            "Info: map[info:{}]\n");

  v1::PodSandboxStatusResponse pod;
  pod.mutable_status()->set_id("p1");
  pod.mutable_status()->set_created_at(kBase + kSecond / 2);
  pod.mutable_status()->mutable_network()->set_ip("10.0.0.2");
  pod.mutable_status()->mutable_network()->add_additional_ips()->set_ip("fd00::2");
  EXPECT_EQ(FormatPodStatusTable(pod, /*verbose=*/false, PlusTwoZone),
            "ID: p1\nStatus: SANDBOX_READY\nCreated: 2024-05-01 12:00:00.5 +0200 CEST\n"
            "IP Addresses: 10.0.0.2\nAdditional IP: fd00::2\n");
}

// ---- JSON output ----

TEST(CrioctlJson_Time, FormatsLikeGoRfc3339Nano) {
  EXPECT_EQ(FormatGoRfc3339Nano(kBase, UtcZone), "2024-05-01T10:00:00Z");
  EXPECT_EQ(FormatGoRfc3339Nano(kBase + 120'000'000, UtcZone), "2024-05-01T10:00:00.12Z");
  EXPECT_EQ(FormatGoRfc3339Nano(kBase + 1, PlusTwoZone), "2024-05-01T12:00:00.000000001+02:00");
  EXPECT_EQ(FormatGoRfc3339Nano(0, UtcZone), "1970-01-01T00:00:00Z");
}

TEST(CrioctlJson_ProtoToJson, PrintsDefaultsInFieldOrder) {
  v1::ListPodSandboxResponse resp;
  *resp.add_items() = Pod("p1", "nginx", "default", 5);
  nlohmann::ordered_json j = ProtoToJson(resp);
  ASSERT_TRUE(j.is_object());
  const auto& item = j["items"][0];
  std::vector<std::string> keys;
  for (const auto& [k, v] : item.items()) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("id", "metadata", "state", "createdAt", "labels", "annotations",
                                "runtimeHandler"));
  EXPECT_EQ(item["state"], "SANDBOX_READY");
  EXPECT_EQ(item["createdAt"], "5");
  EXPECT_EQ(item["runtimeHandler"], "");
  EXPECT_EQ(item["metadata"]["attempt"], 0);
}

TEST(CrioctlJson_Inspect, PodEntry_HasTimesAndParsedInfo) {
  v1::PodSandboxStatusResponse resp;
  resp.mutable_status()->set_id("p1");
  resp.mutable_status()->set_created_at(kBase);
  (*resp.mutable_info())["info"] = R"({"pid": 42, "runtimeSpec": {"ociVersion": "1.0.2"}})";
  (*resp.mutable_info())["plain"] = "\"quoted\"";
  (*resp.mutable_info())["broken"] = "{not json";
  nlohmann::json e = PodInspectEntry(resp, UtcZone);
  EXPECT_EQ(e["status"]["id"], "p1");
  EXPECT_EQ(e["status"]["createdAt"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(e["status"]["state"], "SANDBOX_READY");
  EXPECT_EQ(e["info"]["pid"], 42);
  EXPECT_EQ(e["info"]["runtimeSpec"]["ociVersion"], "1.0.2");
  EXPECT_EQ(e["plain"], "quoted");
  EXPECT_EQ(e["broken"], "{not json");
}

TEST(CrioctlJson_Inspect, ContainerTimes_FollowState) {
  v1::ContainerStatusResponse resp;
  auto* s = resp.mutable_status();
  s->set_id("c1");
  s->set_created_at(kBase);
  nlohmann::json created = ContainerInspectEntry(resp, UtcZone);
  EXPECT_EQ(created["status"]["startedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(created["status"]["finishedAt"], "0001-01-01T00:00:00Z");
  EXPECT_FALSE(created.contains("info"));

  s->set_state(v1::CONTAINER_EXITED);
  s->set_started_at(kBase + kSecond);
  s->set_finished_at(kBase + 2 * kSecond);
  nlohmann::json exited = ContainerInspectEntry(resp, UtcZone);
  EXPECT_EQ(exited["status"]["startedAt"], "2024-05-01T10:00:01Z");
  EXPECT_EQ(exited["status"]["finishedAt"], "2024-05-01T10:00:02Z");
  EXPECT_EQ(exited["status"]["exitCode"], 0);
  EXPECT_EQ(exited["status"]["logPath"], "");
}

TEST(CrioctlJson_InspectDocument, OneIsObjectSeveralAreArray) {
  nlohmann::json a = {{"status", {{"id", "a"}}}};
  nlohmann::json b = {{"status", {{"id", "b"}}}};
  EXPECT_EQ(InspectDocument({a}), "{\n  \"status\": {\n    \"id\": \"a\"\n  }\n}");
  EXPECT_EQ(nlohmann::json::parse(InspectDocument({a, b})), nlohmann::json::array({a, b}));
}

// ---- Durations ----

TEST(CrioctlDuration_Parse, GoSyntaxAndSeconds) {
  using std::chrono::nanoseconds;
  EXPECT_EQ(*ParseDuration("10"), nanoseconds(10 * kSecond));
  EXPECT_EQ(*ParseDuration("1.5"), nanoseconds(1500'000'000));
  EXPECT_EQ(*ParseDuration("1m30s"), nanoseconds(90 * kSecond));
  EXPECT_EQ(*ParseDuration("500ms"), nanoseconds(500'000'000));
  EXPECT_EQ(*ParseDuration("2h"), nanoseconds(7200 * kSecond));
  EXPECT_EQ(*ParseDuration("1.5us"), nanoseconds(1500));
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("10x").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("-1").ok());
}

// ---- Logs ----

TEST(CrioctlLogs_Reader, JoinsPartialsAcrossFeeds_PerStream) {
  LogStreamReader r;
  auto first = r.Feed(
      "2024-05-01T10:00:00.000000001Z stdout P hel"
      "\n2024-05-01T10:00:00.1Z stderr F oops\n2024-05-01T10:00:00.2Z std");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].message, "oops");
  EXPECT_EQ(first[0].stream, crio::oci::LogStream::kStderr);
  auto second = r.Feed("out F lo\nnot a record\n\n2024-05-01T10:00:01Z stdout F bye\n");
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].message, "hello");
  EXPECT_EQ(second[0].stream, crio::oci::LogStream::kStdout);
  EXPECT_TRUE(second[0].complete);
  EXPECT_EQ(second[1].message, "bye");
  EXPECT_EQ(r.malformed(), 1);
  EXPECT_TRUE(r.Finish().empty());
}

TEST(CrioctlLogs_Reader, Finish_ReturnsUnterminatedAndPending) {
  LogStreamReader r;
  EXPECT_TRUE(
      r.Feed("2024-05-01T10:00:00Z stdout P part\n2024-05-01T10:00:01Z stderr F tail").empty());
  auto rest = r.Finish();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].message, "tail");
  EXPECT_TRUE(rest[0].complete);
  EXPECT_EQ(rest[1].message, "part");
  EXPECT_FALSE(rest[1].complete);
}

TEST(CrioctlLogs_Reader, EndOfFile_KeepsPartialMessagePending) {
  LogStreamReader r;
  EXPECT_TRUE(r.Feed("2024-05-01T10:00:00Z stdout P rot").empty());
  EXPECT_TRUE(r.EndOfFile().empty());  // a P chunk: the message continues in the next file
  auto next = r.Feed("2024-05-01T10:00:01Z stdout F ated\n");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].message, "rotated");
  EXPECT_TRUE(r.Finish().empty());
}

TEST(CrioctlLogs_Format, TimestampsNewlinesAndTail) {
  crio::oci::LogEntry e;
  e.time = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(kBase + 5)));
  e.message = "hi";
  EXPECT_EQ(FormatLogEntry(e, false), "hi\n");
  EXPECT_EQ(FormatLogEntry(e, true), "2024-05-01T10:00:00.000000005Z hi\n");
  e.complete = false;
  EXPECT_EQ(FormatLogEntry(e, false), "hi");

  std::vector<crio::oci::LogEntry> entries(5);
  for (int i = 0; i < 5; ++i) entries[i].message = std::to_string(i);
  auto last2 = TailEntries(entries, 2);
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[0].message, "3");
  EXPECT_EQ(TailEntries(entries, -1).size(), 5u);
  EXPECT_EQ(TailEntries(entries, 0).size(), 0u);
  EXPECT_EQ(TailEntries(entries, 9).size(), 5u);
}

}  // namespace
}  // namespace crioctl
