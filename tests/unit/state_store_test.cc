#include "state/state_store.h"
#include "support/temp_dir.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace crio::state {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.empty()); }
  std::unique_ptr<StateStore> Open() {
    auto s = StateStore::Open(dir_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  static PodState Pod(const std::string& id, const std::string& name) {
    PodState p;
    p.set_id(id);
    p.set_name(name);
    p.set_state(runtime::v1::SANDBOX_READY);
    p.mutable_config()->mutable_metadata()->set_name(name);
    return p;
  }
  testing::TempDir tmp_;
  std::string dir_ = tmp_.path();
};

TEST_F(StateStoreTest, PutPod_SurvivesReopen) {
  {
    auto store = Open();
    ASSERT_TRUE(store->PutPod(Pod("abc123", "k8s_POD_a")).ok());
  }
  auto store = Open();
  auto pod = store->GetPod("abc123");
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->config().metadata().name(), "k8s_POD_a");
  // The name stays reserved after a restart.
  EXPECT_EQ(store->ReserveName("k8s_POD_a", "other").code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(StateStoreTest, ResolveId_PrefixUniqueAmbiguousUnknown) {
  auto store = Open();
  ASSERT_TRUE(store->PutPod(Pod("aaa111", "p1")).ok());
  ASSERT_TRUE(store->PutPod(Pod("aaa222", "p2")).ok());
  EXPECT_EQ(*store->ResolvePodId("aaa1"), "aaa111");
  EXPECT_EQ(store->ResolvePodId("aaa").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->ResolvePodId("bbb").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->ResolvePodId("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StateStoreTest, ReserveName_SameIdIsIdempotentOtherIdRefused) {
  auto store = Open();
  EXPECT_TRUE(store->ReserveName("n", "id1").ok());
  EXPECT_TRUE(store->ReserveName("n", "id1").ok());
  auto st = store->ReserveName("n", "id2");
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(std::string(st.message()).find("id1"), std::string::npos);
  store->ReleaseName("n");
  EXPECT_TRUE(store->ReserveName("n", "id2").ok());
}

TEST_F(StateStoreTest, Delete_IsIdempotentAndRemovesFile) {
  auto store = Open();
  ASSERT_TRUE(store->PutPod(Pod("p1", "n1")).ok());
  ASSERT_TRUE(std::filesystem::exists(dir_ + "/pods/p1.pb"));
  EXPECT_TRUE(store->DeletePod("p1").ok());
  EXPECT_TRUE(store->DeletePod("p1").ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pods/p1.pb"));
  EXPECT_FALSE(store->GetPod("p1").has_value());
}

TEST_F(StateStoreTest, CorruptRecordAndInterruptedWrite_AreSkippedOnOpen) {
  {
    auto store = Open();
    ASSERT_TRUE(store->PutPod(Pod("good", "g")).ok());
  }
  std::ofstream(dir_ + "/pods/bad.pb") << "\xff\xff not a protobuf";
  std::ofstream(dir_ + "/pods/half.pb.tmp") << "partial";
  auto store = Open();
  EXPECT_TRUE(store->GetPod("good").has_value());
  EXPECT_EQ(store->ListPods().size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/pods/bad.pb.corrupt"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pods/half.pb.tmp"));
}

TEST_F(StateStoreTest, ContainersOfPod_FiltersByPod) {
  auto store = Open();
  for (const auto& [id, pod] : {std::pair{"c1", "p1"}, {"c2", "p1"}, {"c3", "p2"}}) {
    ContainerState c;
    c.set_id(id);
    c.set_pod_id(pod);
    c.set_name(std::string("n") + id);
    ASSERT_TRUE(store->PutContainer(c).ok());
  }
  EXPECT_EQ(store->ContainersOfPod("p1").size(), 2u);
  EXPECT_EQ(store->ContainersOfPod("p2").size(), 1u);
  EXPECT_EQ(*store->ResolveContainerId("c3"), "c3");
}

}  // namespace
}  // namespace crio::state
