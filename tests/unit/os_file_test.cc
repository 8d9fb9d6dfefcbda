// Whole-file helpers (src/os/file.h): ReadSmallFile, WriteFileAtomic, ReplaceSymlink, RandomName.

#include "os/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace crio::os {
namespace {

namespace fs = std::filesystem;

class OsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crio-os-file-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Names in the test directory, e.g. to spot a leftover temp file.
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  std::string dir_;
};

TEST_F(OsFileTest, ReadSmallFile_ReadsWholeFile) {
  const std::string path = dir_ + "/f";
  const std::string content(100000, 'x');  // more than one read() buffer
  std::ofstream(path) << content;
  EXPECT_EQ(*ReadSmallFile(path), content);
}

TEST_F(OsFileTest, ReadSmallFile_Missing_NotFoundNamingPath) {
  auto text = ReadSmallFile(dir_ + "/missing");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(text.status().message().find(dir_ + "/missing"), std::string::npos);
}

TEST_F(OsFileTest, ReadSmallFile_LargerThanMax_InvalidArgument) {
  const std::string path = dir_ + "/f";
  std::ofstream(path) << std::string(11, 'x');
  EXPECT_EQ(ReadSmallFile(path, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ReadSmallFile(path, 11), std::string(11, 'x'));
}

TEST_F(OsFileTest, WriteFileAtomic_NewFile_WrittenWithNoTempLeft) {
  const std::string path = dir_ + "/record.pb";
  ASSERT_TRUE(WriteFileAtomic(path, "hello").ok());
  EXPECT_EQ(*ReadSmallFile(path), "hello");
  EXPECT_EQ(Entries(), std::vector<std::string>{"record.pb"});
}

TEST_F(OsFileTest, WriteFileAtomic_ExistingFile_Replaced) {
  const std::string path = dir_ + "/record.pb";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(5000, 'a')).ok());
  struct stat before;
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  ASSERT_TRUE(WriteFileAtomic(path, "b").ok());
  EXPECT_EQ(*ReadSmallFile(path), "b");
  struct stat after;
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // a new file renamed over, not rewritten in place
  EXPECT_EQ(Entries(), std::vector<std::string>{"record.pb"});
}

TEST_F(OsFileTest, WriteFileAtomic_Mode_AppliedUnderUmask) {
  const mode_t old_umask = umask(022);
  const std::string path = dir_ + "/f";
  Status written = WriteFileAtomic(path, "x", 0640);
  Status widened = WriteFileAtomic(dir_ + "/g", "x", 0666);
  umask(old_umask);
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE(widened.ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(stat((dir_ + "/g").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_TRUE(WriteFileAtomic(path, "y").ok());  // the default
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(OsFileTest, WriteFileAtomic_MissingDirectory_NotFoundAndNothingCreated) {
  Status st = WriteFileAtomic(dir_ + "/missing/f", "x");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Entries().empty());
}

TEST_F(OsFileTest, WriteFileAtomic_RenameFails_TempRemoved) {
  // A non-empty directory cannot be replaced by a file.
  const std::string path = dir_ + "/taken";
  ASSERT_TRUE(fs::create_directory(path));
  std::ofstream(path + "/inside") << "x";
  Status st = WriteFileAtomic(path, "x");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("rename"), std::string::npos) << st;
  EXPECT_EQ(Entries(), std::vector<std::string>{"taken"});
}

TEST_F(OsFileTest, WriteFileAtomic_ConcurrentWriters_ReadersAlwaysSeeOneWholeFile) {
  const std::string path = dir_ + "/shared";
  constexpr int kWriters = 6;
  constexpr int kRounds = 40;
  // Each writer's contents: its own letter, its own length, so a mix or a cut shows.
  auto contents = [](int writer) {
    return std::string(20000 + static_cast<size_t>(writer) * 1000, static_cast<char>('a' + writer));
  };
  ASSERT_TRUE(WriteFileAtomic(path, contents(0)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    while (!done) {
      auto text = ReadSmallFile(path);
      if (!text.ok() || text->empty() || *text != contents(text->front() - 'a')) {
        ++bad_reads;
      }
    }
  });
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kRounds; ++i) {
        if (!WriteFileAtomic(path, contents(w)).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(bad_reads, 0);
  auto last = ReadSmallFile(path);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, contents(last->front() - 'a'));
  EXPECT_EQ(Entries(), std::vector<std::string>{"shared"});
}

TEST_F(OsFileTest, ReplaceSymlink_NewAndExisting_PointsAtTarget) {
  const std::string link = dir_ + "/l";
  ASSERT_TRUE(ReplaceSymlink("../one", link).ok());
  EXPECT_EQ(fs::read_symlink(link), "../one");
  ASSERT_TRUE(ReplaceSymlink("../two", link).ok());
  EXPECT_EQ(fs::read_symlink(link), "../two");
  std::ofstream(dir_ + "/file") << "x";  // a regular file under the name is replaced too
  ASSERT_TRUE(ReplaceSymlink("../three", dir_ + "/file").ok());
  EXPECT_EQ(fs::read_symlink(dir_ + "/file"), "../three");
  EXPECT_EQ(Entries().size(), 2u);
}

TEST_F(OsFileTest, ReplaceSymlink_MissingDirectory_NotFound) {
  EXPECT_EQ(ReplaceSymlink("t", dir_ + "/missing/l").code(), absl::StatusCode::kNotFound);
}

TEST(OsRandomName, LengthAndAlphabet) {
  const std::string name = RandomName(26);
  EXPECT_EQ(name.size(), 26u);
  EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567"), std::string::npos);
  EXPECT_NE(RandomName(26), name);
}

}  // namespace
}  // namespace crio::os
