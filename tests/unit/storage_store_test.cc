// Tests of the crash-safe image store (src/storage/store.h) with real directories, a real SQLite
// file and, as root, real overlay mounts (skipped where overlay cannot be mounted).

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/fs_tree.h"
#include "storage/metadata_db.h"
#include "storage/overlay.h"
#include "storage/store.h"

namespace crio::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    snprintf(buf, sizeof(buf), "%02x", md[i]);
    out += buf;
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.flush()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// Mount points at or below `dir`, deepest first.
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devs, root, mount_point;
    fields >> id >> parent >> devs >> root >> mount_point;
    if (mount_point.compare(0, dir.size(), dir) == 0) {
      out.push_back(mount_point);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a > b; });
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crio-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.root = dir_ + "/root";
    options_.runroot = dir_ + "/run";
    options_.sync_filesystem = false;
  }

  void TearDown() override {
    store_.reset();
    // Whatever a failed test left mounted goes before the tree does.
    for (const std::string& m : MountsUnder(dir_)) {
      umount2(m.c_str(), MNT_DETACH);
    }
    EXPECT_TRUE(RemoveTree(dir_).ok());
  }

  void Reopen(std::string driver = "overlay") {  // by value: callers pass store_->driver()
    store_.reset();
    options_.driver = driver;
    auto store = Store::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // A fresh diff id, as extraction would report it.
  std::string NewDiffId() { return "sha256:" + Sha256Hex("diff-" + std::to_string(counter_++)); }

  static std::string ChainOf(const std::string& parent, const std::string& diff_id) {
    return parent.empty() ? diff_id.substr(7) : Sha256Hex("sha256:" + parent + " " + diff_id);
  }

  // Commits a layer holding `files` on top of `parent`; returns its chain id hex.
  std::string AddLayer(const std::string& parent, const std::map<std::string, std::string>& files) {
    std::string diff_id = NewDiffId();
    std::string chain = ChainOf(parent, diff_id);
    auto writer = store_->BeginLayer(chain, parent);
    EXPECT_TRUE(writer.ok()) << writer.status();
    if (!writer.ok()) {
      return "";
    }
    int64_t size = 0;
    for (const auto& [name, content] : files) {
      WriteFile((*writer)->path() + "/" + name, content);
      size += static_cast<int64_t>(content.size());
    }
    Status st = (*writer)->Commit(diff_id, "sha256:" + Sha256Hex("blob" + diff_id), size);
    EXPECT_TRUE(st.ok()) << st;
    return chain;
  }

  static ImageRecord MakeImage(const std::string& seed, std::vector<std::string> layers,
                               std::vector<std::string> names,
                               std::vector<std::string> digests = {}) {
    ImageRecord image;
    image.id = Sha256Hex("config-" + seed);
    image.config_json = "{\"seed\":\"" + seed + "\"}";
    image.manifest_json = "{\"manifest\":\"" + seed + "\"}";
    image.manifest_digest = "sha256:" + Sha256Hex(image.manifest_json);
    image.layers = std::move(layers);
    image.names = std::move(names);
    image.digests = std::move(digests);
    return image;
  }

  std::string dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  int counter_ = 0;
};

#define REQUIRE_OVERLAY()                                      \
  do {                                                         \
    ASSERT_NO_FATAL_FAILURE(Reopen("overlay"));                \
    if (store_->driver() != "overlay") {                       \
      GTEST_SKIP() << "overlay mounts are not permitted here"; \
    }                                                          \
  } while (0)

// ---- chain ids -------------------------------------------------------------------------------

TEST(ComputeChainIdsTest, ThreeLayers_MatchesImageSpecFormula) {
  // Given a sha256 helper checked against the FIPS 180-2 "abc" vector
  ASSERT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string d0 = "sha256:" + Sha256Hex("layer0");
  std::string d1 = "sha256:" + Sha256Hex("layer1");
  std::string d2 = "sha256:" + Sha256Hex("layer2");
  // When
  auto chain = ComputeChainIds({d0, d1, d2});
  // Then ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))
  ASSERT_TRUE(chain.ok()) << chain.status();
  std::string c1 = "sha256:" + Sha256Hex(d0 + " " + d1);
  std::string c2 = "sha256:" + Sha256Hex(c1 + " " + d2);
  EXPECT_THAT(*chain, ElementsAre(d0, c1, c2));
}

TEST(ComputeChainIdsTest, MalformedDiffId_InvalidArgument) {
  auto chain = ComputeChainIds({"sha256:" + Sha256Hex("x"), "md5:abcd"});
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ComputeChainIds({}).ok());
}

// ---- layers ---------------------------------------------------------------------------------

TEST_F(StoreTest, BeginLayerCommit_HasLayerAndContents) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string base = AddLayer("", {{"a", "alpha"}});
  std::string top = AddLayer(base, {{"b", "beta"}});

  EXPECT_TRUE(store_->HasLayer(base));
  EXPECT_TRUE(store_->HasLayer("sha256:" + top));
  EXPECT_FALSE(store_->HasLayer(Sha256Hex("nope")));
  auto layer = store_->GetLayer(top);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(layer->parent, base);
  EXPECT_EQ(layer->size, 4);
  EXPECT_EQ(layer->state, LayerState::kComplete);
  EXPECT_EQ(ReadFile(store_->LayerDiffPath(top) + "/b"), "beta");
  EXPECT_THAT(Names(store_->layers_dir() + "/staging"), IsEmpty());
}

TEST_F(StoreTest, BeginLayer_AbandonedWriter_LeavesNoTrace) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string diff_id = NewDiffId();
  std::string chain = ChainOf("", diff_id);
  {
    auto writer = store_->BeginLayer(chain, "");
    ASSERT_TRUE(writer.ok()) << writer.status();
    WriteFile((*writer)->path() + "/junk", "half a layer");
  }  // destroyed without Commit

  EXPECT_FALSE(store_->HasLayer(chain));
  EXPECT_FALSE(PathExists(store_->layers_dir() + "/" + chain));
  EXPECT_THAT(Names(store_->layers_dir() + "/staging"), IsEmpty());
  EXPECT_THAT(store_->ListLayers(), IsEmpty());
  // And the chain id is free again.
  auto again = store_->BeginLayer(chain, "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)->Commit(diff_id, "", 0).ok());
  EXPECT_TRUE(store_->HasLayer(chain));
}

TEST_F(StoreTest, BeginLayer_ExistingOrParentless_Refused) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string base = AddLayer("", {});
  EXPECT_EQ(store_->BeginLayer(base, "").status().code(), absl::StatusCode::kAlreadyExists);
  // Overlay layers may be written before their parent (parallel pulls): a missing parent is
  // refused at Commit; vfs needs the parent's contents up front and refuses at BeginLayer.
  std::string diff_id = NewDiffId();
  std::string missing = Sha256Hex("missing");
  auto child = store_->BeginLayer(ChainOf(missing, diff_id), missing);
  if (store_->driver() == "overlay") {
    ASSERT_TRUE(child.ok()) << child.status();
    EXPECT_EQ((*child)->Commit(diff_id, "", 0).code(), absl::StatusCode::kFailedPrecondition);
  } else {
    EXPECT_EQ(child.status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(store_->BeginLayer("not-a-digest", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, Commit_DiffIdNotMatchingChainId_InvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string base = AddLayer("", {});
  std::string diff_id = NewDiffId();
  auto writer = store_->BeginLayer(ChainOf(base, diff_id), base);
  ASSERT_TRUE(writer.ok()) << writer.status();
  Status st = (*writer)->Commit(NewDiffId(), "", 0);  // some other layer's content
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  writer->reset();
  EXPECT_FALSE(store_->HasLayer(ChainOf(base, diff_id)));
}

TEST_F(StoreTest, BeginLayer_FourThreadsSameChain_ExactlyOneWriter) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string diff_id = NewDiffId();
  std::string chain = ChainOf("", diff_id);
  std::atomic<int> writers{0};
  std::atomic<int> already{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto writer = store_->BeginLayer(chain, "");
      if (writer.ok()) {
        writers++;
        WriteFile((*writer)->path() + "/f", "x");
        // Hold the layer a moment so the other threads really contend.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!(*writer)->Commit(diff_id, "", 1).ok()) {
          other++;
        }
      } else if (writer.status().code() == absl::StatusCode::kAlreadyExists) {
        already++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(writers.load(), 1);
  EXPECT_EQ(already.load(), 3);
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(store_->HasLayer(chain));
}

TEST_F(StoreTest, BeginLayer_WhileHeld_BlocksThenTakesOverAbandonedLayer) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string diff_id = NewDiffId();
  std::string chain = ChainOf("", diff_id);
  auto first = store_->BeginLayer(chain, "");
  ASSERT_TRUE(first.ok()) << first.status();

  std::atomic<bool> returned{false};
  Status second_commit;
  std::thread waiter([&] {
    auto second = store_->BeginLayer(chain, "");
    returned = true;
    second_commit = second.ok() ? (*second)->Commit(diff_id, "", 0) : second.status();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(returned.load()) << "BeginLayer must wait for the current writer";
  first->reset();  // abandon
  waiter.join();
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(second_commit.ok()) << second_commit;
  EXPECT_TRUE(store_->HasLayer(chain));
}

// ---- images ---------------------------------------------------------------------------------

TEST_F(StoreTest, PutImage_LookupByIdPrefixNameAndDigest) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string l0 = AddLayer("", {{"a", "12345"}});
  std::string l1 = AddLayer(l0, {{"b", "123"}});
  ImageRecord image = MakeImage("nginx", {l0, l1}, {"docker.io/library/nginx:1.25"},
                                {"docker.io/library/nginx@sha256:" + Sha256Hex("m")});
  ASSERT_TRUE(store_->PutImage(image).ok());

  for (const std::string& ref :
       {image.id, "sha256:" + image.id, image.id.substr(0, 3), image.id.substr(0, 12),
        std::string("docker.io/library/nginx:1.25"),
        "docker.io/library/nginx@sha256:" + Sha256Hex("m")}) {
    auto found = store_->LookupImage(ref);
    ASSERT_TRUE(found.ok()) << ref << ": " << found.status();
    EXPECT_EQ(found->id, image.id);
    EXPECT_THAT(found->layers, ElementsAre(l0, l1));
    EXPECT_EQ(found->top_layer, l1);
    EXPECT_EQ(found->size, 8);
    EXPECT_EQ(found->config_json, image.config_json);
    EXPECT_EQ(found->manifest_digest, image.manifest_digest);
    EXPECT_GT(found->created_ns, 0);
  }
  EXPECT_EQ(store_->LookupImage("docker.io/library/nginx:latest").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->LookupImage(image.id.substr(0, 2)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, LookupImage_AmbiguousPrefix_InvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ImageRecord a = MakeImage("a", {}, {"a:1"});
  ImageRecord b = MakeImage("b", {}, {"b:1"});
  a.id = "abc1" + a.id.substr(4);
  b.id = "abc2" + b.id.substr(4);
  ASSERT_TRUE(store_->PutImage(a).ok());
  ASSERT_TRUE(store_->PutImage(b).ok());

  auto found = store_->LookupImage("abc");
  EXPECT_EQ(found.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(found.status().message()), HasSubstr("ambiguous"));
  auto unique = store_->LookupImage("abc2");
  ASSERT_TRUE(unique.ok()) << unique.status();
  EXPECT_EQ(unique->id, b.id);
}

TEST_F(StoreTest, PutImage_NameHeldByOtherImage_MovesIt) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ImageRecord old_image = MakeImage("old", {}, {"app:latest", "app:1"});
  ImageRecord new_image = MakeImage("new", {}, {"app:latest"});
  ASSERT_TRUE(store_->PutImage(old_image).ok());
  ASSERT_TRUE(store_->PutImage(new_image).ok());

  auto latest = store_->LookupImage("app:latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->id, new_image.id);
  auto old_found = store_->LookupImage(old_image.id);
  ASSERT_TRUE(old_found.ok());
  EXPECT_THAT(old_found->names, ElementsAre("app:1"));
}

TEST_F(StoreTest, PutImage_Again_AddsNamesAndKeepsCreated) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ImageRecord image = MakeImage("x", {}, {"x:1"});
  ASSERT_TRUE(store_->PutImage(image).ok());
  auto first = store_->LookupImage(image.id);
  ASSERT_TRUE(first.ok());
  image.names = {"x:2"};
  ASSERT_TRUE(store_->PutImage(image).ok());
  auto second = store_->LookupImage(image.id);
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(second->names, ElementsAre("x:1", "x:2"));
  EXPECT_EQ(second->created_ns, first->created_ns);
}

TEST_F(StoreTest, PutImage_MissingOrMisorderedLayers_Refused) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string l0 = AddLayer("", {});
  std::string l1 = AddLayer(l0, {});
  EXPECT_EQ(store_->PutImage(MakeImage("m", {l0, Sha256Hex("nope")}, {})).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->PutImage(MakeImage("m", {l1}, {})).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store_->ListImages(), IsEmpty());
}

TEST_F(StoreTest, RemoveImage_OneOfTwoNames_KeepsImage) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string l0 = AddLayer("", {});
  ImageRecord image = MakeImage("x", {l0}, {"x:1", "x:2"});
  ASSERT_TRUE(store_->PutImage(image).ok());

  ASSERT_TRUE(store_->RemoveImage("x:1").ok());

  auto found = store_->LookupImage(image.id);
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(found->names, ElementsAre("x:2"));
  EXPECT_TRUE(store_->HasLayer(l0));
  EXPECT_EQ(store_->LookupImage("x:1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, RemoveImage_LastName_RemovesImageAndUnsharedLayersOnly) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string shared = AddLayer("", {{"base", "b"}});
  std::string only_a = AddLayer(shared, {{"a", "a"}});
  std::string only_b = AddLayer(shared, {{"b", "b"}});
  ImageRecord a = MakeImage("a", {shared, only_a}, {"a:1"});
  ImageRecord b = MakeImage("b", {shared, only_b}, {"b:1"});
  ASSERT_TRUE(store_->PutImage(a).ok());
  ASSERT_TRUE(store_->PutImage(b).ok());

  ASSERT_TRUE(store_->RemoveImage("a:1").ok());

  EXPECT_EQ(store_->LookupImage(a.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->HasLayer(only_a));
  EXPECT_FALSE(PathExists(store_->layers_dir() + "/" + only_a));
  EXPECT_TRUE(store_->HasLayer(shared));
  EXPECT_TRUE(store_->HasLayer(only_b));
  EXPECT_EQ(ReadFile(store_->LayerDiffPath(shared) + "/base"), "b");
  EXPECT_THAT(Names(store_->layers_dir() + "/staging"), IsEmpty());
  EXPECT_EQ(store_->RemoveImage("a:1").code(), absl::StatusCode::kNotFound);

  // Removing the other image by id takes the shared layer as well.
  ASSERT_TRUE(store_->RemoveImage(b.id).ok());
  EXPECT_THAT(store_->ListLayers(), IsEmpty());
}

TEST_F(StoreTest, RemoveImage_UsedByContainer_FailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string l0 = AddLayer("", {{"f", "x"}});
  ImageRecord image = MakeImage("x", {l0}, {"x:1"});
  ASSERT_TRUE(store_->PutImage(image).ok());
  ASSERT_TRUE(store_->CreateContainerLayer("ctr1", "x:1", "{}").ok());

  Status st = store_->RemoveImage("x:1");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("ctr1"));
  EXPECT_TRUE(store_->LookupImage("x:1").ok());
  EXPECT_TRUE(store_->HasLayer(l0));

  ASSERT_TRUE(store_->RemoveContainerLayer("ctr1").ok());
  EXPECT_TRUE(store_->RemoveImage("x:1").ok());
}

// ---- containers (overlay) -------------------------------------------------------------------

TEST_F(StoreTest, ContainerLayer_MountUnmountRefcountAndRemove) {
  REQUIRE_OVERLAY();
  std::string l0 = AddLayer("", {{"lower0", "zero"}, {"shadowed", "old"}});
  std::string l1 = AddLayer(l0, {{"lower1", "one"}, {"shadowed", "new"}});
  ASSERT_TRUE(store_->PutImage(MakeImage("img", {l0, l1}, {"img:1"})).ok());
  auto created = store_->CreateContainerLayer("c1", "img:1", "meta-v1");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->top_layer, l1);
  EXPECT_EQ(created->mount_count, 0);

  // Mount: lower files visible, top layer wins.
  auto rootfs = store_->Mount("c1", "");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(*rootfs, created->rootfs);
  EXPECT_TRUE(IsMountPoint(*rootfs));
  EXPECT_EQ(ReadFile(*rootfs + "/lower0"), "zero");
  EXPECT_EQ(ReadFile(*rootfs + "/lower1"), "one");
  EXPECT_EQ(ReadFile(*rootfs + "/shadowed"), "new");

  // Writes land in upper; the layer stays untouched.
  WriteFile(*rootfs + "/written", "w");
  WriteFile(*rootfs + "/lower0", "changed");
  EXPECT_EQ(ReadFile(created->dir + "/upper/written"), "w");
  EXPECT_EQ(ReadFile(created->dir + "/upper/lower0"), "changed");
  EXPECT_EQ(ReadFile(store_->LayerDiffPath(l0) + "/lower0"), "zero");

  // Reference counting.
  ASSERT_TRUE(store_->Mount("c1", "").ok());
  auto c = store_->GetContainerLayer("c1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mount_count, 2);
  ASSERT_TRUE(store_->Unmount("c1", false).ok());
  EXPECT_TRUE(IsMountPoint(*rootfs));
  ASSERT_TRUE(store_->Unmount("c1", false).ok());
  EXPECT_FALSE(IsMountPoint(*rootfs));
  EXPECT_TRUE(store_->Unmount("c1", false).ok());  // not mounted: still OK
  EXPECT_EQ(store_->GetContainerLayer("c1")->mount_count, 0);

  // Metadata is the caller's.
  ASSERT_TRUE(store_->SetContainerMetadata("c1", "meta-v2").ok());
  EXPECT_EQ(store_->GetContainerLayer("c1")->metadata, "meta-v2");
  ASSERT_EQ(store_->ListContainerLayers().size(), 1u);

  // Remove while mounted: unmounts; then idempotent.
  ASSERT_TRUE(store_->Mount("c1", "").ok());
  ASSERT_TRUE(store_->RemoveContainerLayer("c1").ok());
  EXPECT_THAT(MountsUnder(dir_), IsEmpty());
  EXPECT_FALSE(PathExists(created->dir));
  EXPECT_TRUE(store_->RemoveContainerLayer("c1").ok());
  EXPECT_THAT(store_->ListContainerLayers(), IsEmpty());
  EXPECT_EQ(store_->Mount("c1", "").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, ContainerLayer_ForceUnmountAndDuplicateId) {
  REQUIRE_OVERLAY();
  ASSERT_TRUE(store_->PutImage(MakeImage("empty", {}, {"empty:1"})).ok());
  auto created = store_->CreateContainerLayer("c1", "empty:1", "");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(store_->CreateContainerLayer("c1", "empty:1", "").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateContainerLayer("../x", "empty:1", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateContainerLayer("c2", "nope:1", "").status().code(),
            absl::StatusCode::kNotFound);

  // An image without layers mounts over an empty lower dir.
  ASSERT_TRUE(store_->Mount("c1", "").ok());
  ASSERT_TRUE(store_->Mount("c1", "").ok());
  EXPECT_THAT(Names(created->rootfs), IsEmpty());
  ASSERT_TRUE(store_->Unmount("c1", /*force=*/true).ok());
  EXPECT_FALSE(IsMountPoint(created->rootfs));
  EXPECT_EQ(store_->GetContainerLayer("c1")->mount_count, 0);
}

TEST_F(StoreTest, Overlay_WhiteoutInUpperLayer_HidesLowerFile) {
  REQUIRE_OVERLAY();
  std::string l0 = AddLayer("", {{"gone", "x"}, {"kept", "y"}});
  std::string diff_id = NewDiffId();
  std::string l1 = ChainOf(l0, diff_id);
  {
    auto writer = store_->BeginLayer(l1, l0);
    ASSERT_TRUE(writer.ok()) << writer.status();
    // What extraction makes of a `.wh.gone` entry: a 0/0 character device.
    if (mknod(((*writer)->path() + "/gone").c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0) {
      GTEST_SKIP() << "mknod: " << strerror(errno);
    }
    ASSERT_TRUE((*writer)->Commit(diff_id, "", 0).ok());
  }
  ASSERT_TRUE(store_->PutImage(MakeImage("wh", {l0, l1}, {"wh:1"})).ok());
  ASSERT_TRUE(store_->CreateContainerLayer("c1", "wh:1", "").ok());
  auto rootfs = store_->Mount("c1", "");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();

  EXPECT_FALSE(PathExists(*rootfs + "/gone"));
  EXPECT_EQ(ReadFile(*rootfs + "/kept"), "y");
  ASSERT_TRUE(store_->RemoveContainerLayer("c1").ok());
}

TEST_F(StoreTest, Overlay_ManyLayers_MountsBeyondOnePageOfAbsolutePaths) {
  // A long root makes 30 absolute "l/" paths exceed a page, which forces relative lowers.
  options_.root = dir_ + "/" + std::string(150, 'r');
  REQUIRE_OVERLAY();
  constexpr int kLayers = 30;
  OverlaySpec absolute{store_->layers_dir() + "/l",
                       std::vector<std::string>(kLayers, "abcdefghijkl"),
                       "/u",
                       "/w",
                       "/m",
                       "",
                       ""};
  ASSERT_EQ(OverlayMountData(absolute, false).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> layers;
  std::string parent;
  for (int i = 0; i < kLayers; ++i) {
    parent = AddLayer(parent, {{"f" + std::to_string(i), std::to_string(i)}});
    ASSERT_FALSE(parent.empty());
    layers.push_back(parent);
  }
  ASSERT_TRUE(store_->PutImage(MakeImage("deep", layers, {"deep:1"})).ok());
  ASSERT_TRUE(store_->CreateContainerLayer("c1", "deep:1", "").ok());

  auto rootfs = store_->Mount("c1", "");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(ReadFile(*rootfs + "/f0"), "0");
  EXPECT_EQ(ReadFile(*rootfs + "/f29"), "29");
  ASSERT_TRUE(store_->Unmount("c1", false).ok());
  EXPECT_FALSE(IsMountPoint(*rootfs));
}

TEST_F(StoreTest, OverlayMountData_TooLongForAbsolute_InvalidArgumentInAbsoluteMode) {
  OverlaySpec spec{"/var/lib/containers/storage/overlay-layers/l", {}, "/u", "/w", "/m", "", ""};
  for (int i = 0; i < 100; ++i) {
    spec.lower_links.push_back("abcdefghijkl");
  }
  EXPECT_EQ(OverlayMountData(spec, false).status().code(), absl::StatusCode::kInvalidArgument);
  auto relative = OverlayMountData(spec, true);
  ASSERT_TRUE(relative.ok()) << relative.status();
  EXPECT_THAT(*relative, HasSubstr("lowerdir=abcdefghijkl:abcdefghijkl:"));
  spec.upper_dir = "/has,comma";
  EXPECT_EQ(OverlayMountData(spec, true).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, Reopen_MountedContainer_KeepsCountAndContent) {
  REQUIRE_OVERLAY();
  std::string l0 = AddLayer("", {{"f", "x"}});
  ASSERT_TRUE(store_->PutImage(MakeImage("p", {l0}, {"p:1"})).ok());
  ASSERT_TRUE(store_->CreateContainerLayer("c1", "p:1", "m").ok());
  auto rootfs = store_->Mount("c1", "");
  ASSERT_TRUE(rootfs.ok());

  ASSERT_NO_FATAL_FAILURE(Reopen());  // a daemon restart without a reboot

  auto c = store_->GetContainerLayer("c1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mount_count, 1);
  EXPECT_TRUE(IsMountPoint(*rootfs));
  EXPECT_TRUE(store_->HasLayer(l0));
  ASSERT_TRUE(store_->Unmount("c1", false).ok());
  EXPECT_FALSE(IsMountPoint(*rootfs));
}

TEST_F(StoreTest, Reopen_CountWithoutMount_IsReset) {
  REQUIRE_OVERLAY();
  ASSERT_TRUE(store_->PutImage(MakeImage("p", {}, {"p:1"})).ok());
  ASSERT_TRUE(store_->CreateContainerLayer("c1", "p:1", "").ok());
  auto rootfs = store_->Mount("c1", "");
  ASSERT_TRUE(rootfs.ok());
  store_.reset();
  ASSERT_EQ(umount2(rootfs->c_str(), MNT_DETACH), 0);  // someone unmounted behind our back

  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->GetContainerLayer("c1")->mount_count, 0);
  ASSERT_TRUE(store_->Mount("c1", "").ok());
  EXPECT_TRUE(IsMountPoint(*rootfs));
  ASSERT_TRUE(store_->RemoveContainerLayer("c1").ok());
}

// ---- vfs ------------------------------------------------------------------------------------

TEST_F(StoreTest, Vfs_LayersAreFullCopiesAndContainersCopyTheTop) {
  ASSERT_NO_FATAL_FAILURE(Reopen("vfs"));
  ASSERT_EQ(store_->driver(), "vfs");
  std::string l0 = AddLayer("", {{"a", "alpha"}});
  std::string diff_id = NewDiffId();
  std::string l1 = ChainOf(l0, diff_id);
  {
    auto writer = store_->BeginLayer(l1, l0);
    ASSERT_TRUE(writer.ok()) << writer.status();
    EXPECT_EQ(ReadFile((*writer)->path() + "/a"), "alpha");  // parent's contents pre-populated
    WriteFile((*writer)->path() + "/b", "beta");
    ASSERT_TRUE((*writer)->Commit(diff_id, "", 4).ok());
  }
  ASSERT_TRUE(store_->PutImage(MakeImage("v", {l0, l1}, {"v:1"})).ok());
  auto c = store_->CreateContainerLayer("c1", "v:1", "");
  ASSERT_TRUE(c.ok()) << c.status();
  auto rootfs = store_->Mount("c1", "");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(ReadFile(*rootfs + "/a"), "alpha");
  EXPECT_EQ(ReadFile(*rootfs + "/b"), "beta");
  WriteFile(*rootfs + "/a", "changed");
  EXPECT_EQ(ReadFile(store_->LayerDiffPath(l1) + "/a"), "alpha");
  EXPECT_EQ(store_->GetContainerLayer("c1")->mount_count, 1);
  ASSERT_TRUE(store_->Unmount("c1", false).ok());
  ASSERT_TRUE(store_->RemoveContainerLayer("c1").ok());
  EXPECT_FALSE(PathExists(c->dir));

  // The driver sticks to a store with content, whatever is requested next time.
  ASSERT_NO_FATAL_FAILURE(Reopen("overlay"));
  EXPECT_EQ(store_->driver(), "vfs");
  EXPECT_TRUE(store_->HasLayer(l1));
}

TEST_F(StoreTest, CopyTree_KeepsTypesOwnersModesXattrsAndHardlinks) {
  std::string src = dir_ + "/src";
  std::string dst = dir_ + "/dst";
  ASSERT_EQ(mkdir(src.c_str(), 0750), 0);
  ASSERT_EQ(mkdir(dst.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((src + "/sub").c_str(), 0711), 0);
  WriteFile(src + "/sub/file", "content");
  ASSERT_EQ(chmod((src + "/sub/file").c_str(), 04755), 0);
  ASSERT_EQ(link((src + "/sub/file").c_str(), (src + "/hard").c_str()), 0);
  ASSERT_EQ(symlink("/etc/passwd", (src + "/sym").c_str()), 0);
  ASSERT_EQ(mkfifo((src + "/fifo").c_str(), 0600), 0);
  bool can_chown = chown((src + "/sub/file").c_str(), 1234, 5678) == 0;
  ASSERT_EQ(chmod((src + "/sub/file").c_str(), 04755), 0);  // chown cleared set-uid
  bool has_xattr = setxattr((src + "/sub/file").c_str(), "user.test", "v", 1, 0) == 0;

  ASSERT_TRUE(CopyTree(src, dst).ok());

  struct stat a, b, h;
  ASSERT_EQ(lstat((dst + "/sub/file").c_str(), &a), 0);
  ASSERT_EQ(lstat((dst + "/hard").c_str(), &h), 0);
  EXPECT_EQ(a.st_ino, h.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 04755u);
  if (can_chown) {
    EXPECT_EQ(a.st_uid, 1234u);
    EXPECT_EQ(a.st_gid, 5678u);
  }
  if (has_xattr) {
    char v[4] = {};
    EXPECT_EQ(getxattr((dst + "/sub/file").c_str(), "user.test", v, sizeof(v)), 1);
    EXPECT_EQ(v[0], 'v');
  }
  EXPECT_EQ(ReadFile(dst + "/sub/file"), "content");
  ASSERT_EQ(lstat((dst + "/sub").c_str(), &b), 0);
  EXPECT_EQ(b.st_mode & 07777, 0711u);
  EXPECT_EQ(std::filesystem::read_symlink(dst + "/sym"), "/etc/passwd");
  ASSERT_EQ(lstat((dst + "/fifo").c_str(), &b), 0);
  EXPECT_TRUE(S_ISFIFO(b.st_mode));
  ASSERT_EQ(lstat(dst.c_str(), &b), 0);
  EXPECT_EQ(b.st_mode & 07777, 0750u);
}

TEST_F(StoreTest, RemoveTree_WithMountInside_DetachesAndSparesTheLowerDir) {
  std::string lower = dir_ + "/lower";
  std::string tree = dir_ + "/tree";
  ASSERT_EQ(mkdir(lower.c_str(), 0755), 0);
  WriteFile(lower + "/precious", "p");
  for (const char* sub : {"", "/upper", "/work", "/merged"}) {
    ASSERT_EQ(mkdir((tree + sub).c_str(), 0755), 0);
  }
  OverlaySpec spec{dir_, {"lower"}, tree + "/upper", tree + "/work", tree + "/merged", "", ""};
  Status mounted = MountOverlay(spec, LowerPaths::kAbsolute);
  if (absl::IsPermissionDenied(mounted)) {
    GTEST_SKIP() << mounted;
  }
  ASSERT_TRUE(mounted.ok()) << mounted;
  ASSERT_EQ(ReadFile(tree + "/merged/precious"), "p");

  ASSERT_TRUE(RemoveTree(tree).ok());

  EXPECT_FALSE(PathExists(tree));
  EXPECT_THAT(MountsUnder(dir_), IsEmpty());
  EXPECT_EQ(ReadFile(lower + "/precious"), "p");
}

// ---- usage ----------------------------------------------------------------------------------

TEST_F(StoreTest, FsUsage_CountsBytesAndInodesOncePerInode) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto before = store_->ImageFsUsage();
  ASSERT_TRUE(before.ok()) << before.status();
  std::string l0 = AddLayer("", {{"big", std::string(1 << 20, 'x')}});
  ASSERT_EQ(link((store_->LayerDiffPath(l0) + "/big").c_str(),
                 (store_->LayerDiffPath(l0) + "/big2").c_str()),
            0);

  auto after = store_->ImageFsUsage();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE(after->used_bytes - before->used_bytes, uint64_t{1} << 20);
  EXPECT_LT(after->used_bytes - before->used_bytes, uint64_t{3} << 20);  // hardlink once
  // New inodes: layer dir, diff dir, the file (hardlink not counted again); the "l/" link too.
  EXPECT_GE(after->inodes_used - before->inodes_used, 3u);
  EXPECT_LE(after->inodes_used - before->inodes_used, 4u);
  EXPECT_EQ(after->path, store_->layers_dir());
  EXPECT_FALSE(after->mountpoint.empty());
  EXPECT_EQ(after->mountpoint[0], '/');
  auto containers = store_->ContainerFsUsage();
  ASSERT_TRUE(containers.ok()) << containers.status();
  EXPECT_EQ(containers->path, store_->containers_dir());
}

// ---- crash recovery -------------------------------------------------------------------------

TEST_F(StoreTest, Open_AfterSimulatedCrash_CleansEverythingAndKeepsCommittedData) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  const std::string driver = store_->driver();
  std::string good = AddLayer("", {{"keep", "k"}});
  ASSERT_TRUE(store_->PutImage(MakeImage("good", {good}, {"good:1"})).ok());
  std::string lost = AddLayer("", {{"x", "x"}});
  std::string lost_child = AddLayer(lost, {{"y", "y"}});
  ImageRecord broken = MakeImage("broken", {lost, lost_child}, {"broken:1"});
  ASSERT_TRUE(store_->PutImage(broken).ok());
  ASSERT_TRUE(store_->CreateContainerLayer("ctr-of-broken", broken.id, "").ok());
  ASSERT_TRUE(store_->CreateContainerLayer("ctr-ok", "good:1", "").ok());
  std::string layers = store_->layers_dir();
  std::string containers = store_->containers_dir();
  store_.reset();

  // Given the debris of a crash:
  std::string staging_junk = layers + "/staging/abcdef";
  ASSERT_EQ(mkdir(staging_junk.c_str(), 0700), 0);
  WriteFile(staging_junk + "/f", "partial");
  std::string orphan_id = Sha256Hex("orphan");  // renamed into place, row never committed
  ASSERT_EQ(mkdir((layers + "/" + orphan_id).c_str(), 0700), 0);
  ASSERT_EQ(mkdir((layers + "/" + orphan_id + "/diff").c_str(), 0700), 0);
  std::string incomplete_id = Sha256Hex("incomplete");
  {
    auto db = MetadataDb::Open(options_.root + "/crio-cpp.db");
    ASSERT_TRUE(db.ok()) << db.status();
    LayerRecord row;
    row.id = incomplete_id;
    row.diff_id = "sha256:" + incomplete_id;
    row.compressed_digest = "";
    row.state = LayerState::kIncomplete;
    ASSERT_TRUE((*db)->InsertLayer(row).ok());
  }
  ASSERT_EQ(mkdir((layers + "/" + incomplete_id).c_str(), 0700), 0);
  ASSERT_TRUE(RemoveTree(layers + "/" + lost).ok());  // a committed layer's dir vanished
  ASSERT_EQ(mkdir((containers + "/stray").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((containers + "/.staging/half").c_str(), 0700), 0);

  // When
  ASSERT_NO_FATAL_FAILURE(Reopen(driver));

  // Then only committed, intact data remains.
  EXPECT_THAT(Names(layers + "/staging"), IsEmpty());
  EXPECT_THAT(Names(containers + "/.staging"), IsEmpty());
  EXPECT_FALSE(PathExists(layers + "/" + orphan_id));
  EXPECT_FALSE(PathExists(layers + "/" + incomplete_id));
  EXPECT_FALSE(PathExists(layers + "/" + lost_child));
  EXPECT_FALSE(PathExists(containers + "/stray"));
  std::set<std::string> ids;
  for (const LayerRecord& l : store_->ListLayers()) {
    ids.insert(l.id);
  }
  EXPECT_THAT(ids, UnorderedElementsAre(good));
  EXPECT_EQ(store_->LookupImage("broken:1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetContainerLayer("ctr-of-broken").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(PathExists(containers + "/ctr-of-broken"));
  EXPECT_TRUE(store_->LookupImage("good:1").ok());
  EXPECT_TRUE(store_->GetContainerLayer("ctr-ok").ok());
  EXPECT_EQ(ReadFile(store_->LayerDiffPath(good) + "/keep"), "k");
  // And the store works: the lost layer can be pulled again.
  EXPECT_FALSE(AddLayer("", {}).empty());
}

TEST_F(StoreTest, Open_UnreferencedCommittedLayers_ArePruned) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  std::string used = AddLayer("", {});
  std::string dangling_base = AddLayer("", {});
  std::string dangling_top = AddLayer(dangling_base, {});
  ASSERT_TRUE(store_->PutImage(MakeImage("u", {used}, {"u:1"})).ok());

  ASSERT_NO_FATAL_FAILURE(Reopen(store_->driver()));

  EXPECT_TRUE(store_->HasLayer(used));
  EXPECT_FALSE(store_->HasLayer(dangling_base));
  EXPECT_FALSE(store_->HasLayer(dangling_top));
  EXPECT_FALSE(PathExists(store_->layers_dir() + "/" + dangling_top));
}

// Checks the invariants a crash must never break: every committed layer has its dir, every layer
// dir has a committed row, staging is empty, every image's layers exist.
void ExpectConsistent(Store& store) {
  std::set<std::string> rows;
  for (const LayerRecord& layer : store.ListLayers()) {
    EXPECT_EQ(layer.state, LayerState::kComplete) << layer.id;
    EXPECT_TRUE(PathExists(store.LayerDiffPath(layer.id))) << layer.id;
    rows.insert(layer.id);
  }
  for (const std::string& name : Names(store.layers_dir())) {
    if (name.size() == 64) {
      EXPECT_EQ(rows.count(name), 1u) << "dir without row: " << name;
    }
  }
  EXPECT_THAT(Names(store.layers_dir() + "/staging"), IsEmpty());
  for (const ImageRecord& image : store.ListImages()) {
    for (const std::string& layer : image.layers) {
      EXPECT_EQ(rows.count(layer), 1u) << "image " << image.id << " lost layer " << layer;
    }
  }
}

// The child loops forever: commit two stacked layers, store an image on them, and every third
// round remove an older image. It reports each finished round with one byte on `progress_fd`.
[[noreturn]] void CrashLoopChild(const StoreOptions& options, int progress_fd, int round) {
  auto store = Store::Open(options);
  if (!store.ok()) {
    _exit(2);
  }
  std::vector<std::string> names;
  for (int i = 0;; ++i) {
    std::string seed =
        std::to_string(getpid()) + "-" + std::to_string(round) + "-" + std::to_string(i);
    std::string d0 = "sha256:" + Sha256Hex("d0-" + seed);
    std::string d1 = "sha256:" + Sha256Hex("d1-" + seed);
    std::string c0 = d0.substr(7);
    std::string c1 = Sha256Hex(d0 + " " + d1);
    for (const auto& [chain, parent, diff] :
         {std::tuple{c0, std::string(), d0}, std::tuple{c1, c0, d1}}) {
      auto writer = (*store)->BeginLayer(chain, parent);
      if (!writer.ok()) {
        _exit(3);
      }
      for (int f = 0; f < 20; ++f) {
        std::ofstream((*writer)->path() + "/file" + std::to_string(f)) << seed;
      }
      if (!(*writer)->Commit(diff, "", 20).ok()) {
        _exit(4);
      }
    }
    ImageRecord image;
    image.id = Sha256Hex("image-" + seed);
    image.layers = {c0, c1};
    image.names = {"crash/" + seed + ":latest"};
    image.manifest_digest = "sha256:" + Sha256Hex(seed);
    if (!(*store)->PutImage(image).ok()) {
      _exit(5);
    }
    names.push_back(image.names[0]);
    if (i % 3 == 2 && !(*store)->RemoveImage(names[names.size() - 3]).ok()) {
      _exit(6);
    }
    char byte = 'x';
    if (write(progress_fd, &byte, 1) != 1) {
      _exit(7);
    }
  }
}

TEST_F(StoreTest, KillDashNine_AtRandomMoments_StoreStaysConsistent) {
  ASSERT_NO_FATAL_FAILURE(Reopen());
  options_.driver = store_->driver();
  store_.reset();
  std::mt19937 rng(std::random_device{}());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  int rounds = 0;
  for (; rounds < 5 && std::chrono::steady_clock::now() < deadline; ++rounds) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      CrashLoopChild(options_, fds[1], rounds);
    }
    close(fds[1]);
    // Let it finish a few rounds, then kill it somewhere in the middle of the next ones.
    int wanted = 1 + static_cast<int>(rng() % 3);
    int got = 0;
    while (got < wanted) {
      struct pollfd pfd = {fds[0], POLLIN, 0};
      if (poll(&pfd, 1, 2000) <= 0) {
        break;
      }
      char buf[16];
      ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      got += static_cast<int>(n);
    }
    struct pollfd none = {-1, 0, 0};
    poll(&none, 0, static_cast<int>(rng() % 15));  // a random moment within a round
    kill(pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child exited by itself, status " << wstatus;
    EXPECT_GE(got, wanted) << "child made too little progress before the kill";

    ASSERT_NO_FATAL_FAILURE(Reopen(options_.driver));
    ExpectConsistent(*store_);
    store_.reset();
  }
  EXPECT_GE(rounds, 3);
}

}  // namespace
}  // namespace crio::storage
