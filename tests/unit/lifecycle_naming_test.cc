// The lifecycle's pure helpers: CRI-O's object names, signal names and numbers, ids, selectors.
#include "lifecycle/naming.h"

#include <gtest/gtest.h>

#include <set>

namespace crio::lifecycle {
namespace {

TEST(LifecycleNaming, PodAndContainerNamesFollowCrio) {
  v1::PodSandboxMetadata pod;
  pod.set_name("web");
  pod.set_namespace_("prod");
  pod.set_uid("u1");
  pod.set_attempt(2);
  v1::ContainerMetadata ctr;
  ctr.set_name("nginx");
  ctr.set_attempt(3);
  EXPECT_EQ(PodName(pod), "k8s_POD_web_prod_u1_2");
  EXPECT_EQ(ContainerName(ctr, pod), "k8s_nginx_web_prod_u1_3");
}

TEST(LifecycleNaming, SignalNumberReadsEverySpelling) {
  EXPECT_EQ(SignalNumber("SIGTERM"), 15);
  EXPECT_EQ(SignalNumber("TERM"), 15);
  EXPECT_EQ(SignalNumber("9"), 9);
  EXPECT_EQ(SignalNumber("SIGRTMIN"), 34);
  EXPECT_EQ(SignalNumber("SIGRTMIN+3"), 37);
  EXPECT_EQ(SignalNumber("SIGRTMAX-2"), 62);
  EXPECT_EQ(SignalNumber("SIGRTMINPLUS1"), 35);  // the CRI enum's spelling
  EXPECT_EQ(SignalNumber("SIGRTMAXMINUS4"), 60);
  EXPECT_EQ(SignalNumber(""), 0);
  EXPECT_EQ(SignalNumber("SIGNOPE"), 0);
}

TEST(LifecycleNaming, SignalEnumRoundTripsThroughTheName) {
  for (int n : {1, 2, 9, 15, 17, 31, 34, 40, 50, 64}) {
    v1::Signal e = SignalEnum(n);
    ASSERT_NE(e, v1::RUNTIME_DEFAULT) << n;
    EXPECT_EQ(SignalNumber(v1::Signal_Name(e)), n) << v1::Signal_Name(e);
  }
  EXPECT_EQ(SignalEnum(0), v1::RUNTIME_DEFAULT);
  EXPECT_EQ(SignalEnum(32), v1::RUNTIME_DEFAULT);  // glibc's own, no name
  EXPECT_EQ(SignalEnum(65), v1::RUNTIME_DEFAULT);
}

TEST(LifecycleNaming, NewIdIsSixtyFourHexDigitsAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId();
    ASSERT_EQ(id.size(), 64u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(LifecycleNaming, LabelsMatchNeedsEverySelectorLabel) {
  google::protobuf::Map<std::string, std::string> labels;
  labels["app"] = "web";
  labels["tier"] = "front";
  EXPECT_TRUE(LabelsMatch(labels, {}));
  EXPECT_TRUE(LabelsMatch(labels, {{"app", "web"}}));
  EXPECT_TRUE(LabelsMatch(labels, {{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(LabelsMatch(labels, {{"app", "db"}}));
  EXPECT_FALSE(LabelsMatch(labels, {{"app", "web"}, {"zone", "a"}}));
}

}  // namespace
}  // namespace crio::lifecycle
