#include "storage/layer_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "os/unique_fd.h"
#include "support/temp_dir.h"

namespace crio::storage {
namespace {

using os::UniqueFd;

constexpr time_t kFileMtime = 1600000000;
constexpr time_t kDirMtime = 1500000000;

// --- building layers in memory -----------------------------------------------------------------

la_ssize_t AppendToString(archive*, void* client, const void* buf, size_t size) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), size);
  return static_cast<la_ssize_t>(size);
}

struct Xattr {
  std::string name;
  std::string value;
};

// A PAX tar stream, built entry by entry with libarchive's writer.
class TarBuilder {
 public:
  TarBuilder() : a_(archive_write_new()), entry_(archive_entry_new()) {
    archive_write_set_format_pax_restricted(a_);
    archive_write_open(a_, &out_, nullptr, AppendToString, nullptr);
  }
  ~TarBuilder() {
    archive_entry_free(entry_);
    archive_write_free(a_);
  }

  TarBuilder& File(const std::string& path, const std::string& content, mode_t perm = 0644,
                   int64_t uid = 0, int64_t gid = 0, const std::vector<Xattr>& xattrs = {}) {
    Start(path, AE_IFREG, perm, uid, gid, xattrs);
    archive_entry_set_size(entry_, static_cast<la_int64_t>(content.size()));
    Write();
    archive_write_data(a_, content.data(), content.size());
    return *this;
  }
  TarBuilder& Dir(const std::string& path, mode_t perm = 0755, int64_t uid = 0, int64_t gid = 0,
                  const std::vector<Xattr>& xattrs = {}) {
    Start(path, AE_IFDIR, perm, uid, gid, xattrs);
    archive_entry_set_mtime(entry_, kDirMtime, 0);
    Write();
    return *this;
  }
  TarBuilder& Symlink(const std::string& path, const std::string& target) {
    Start(path, AE_IFLNK, 0777, 0, 0, {});
    archive_entry_copy_symlink(entry_, target.c_str());
    Write();
    return *this;
  }
  TarBuilder& Hardlink(const std::string& path, const std::string& target) {
    Start(path, AE_IFREG, 0644, 0, 0, {});
    archive_entry_copy_hardlink(entry_, target.c_str());
    archive_entry_set_size(entry_, 0);
    Write();
    return *this;
  }
  TarBuilder& Node(const std::string& path, mode_t type, mode_t perm, dev_t rdev = 0) {
    Start(path, type, perm, 0, 0, {});
    archive_entry_set_rdev(entry_, rdev);
    Write();
    return *this;
  }

  // The finished, uncompressed tar (padded to libarchive's 10 KiB blocks, i.e. with trailing zeros
  // after the end-of-archive marker).
  std::string Finish() {
    archive_write_close(a_);
    return out_;
  }

 private:
  void Start(const std::string& path, mode_t type, mode_t perm, int64_t uid, int64_t gid,
             const std::vector<Xattr>& xattrs) {
    archive_entry_clear(entry_);
    archive_entry_copy_pathname(entry_, path.c_str());
    archive_entry_set_filetype(entry_, type);
    archive_entry_set_perm(entry_, perm);
    archive_entry_set_uid(entry_, uid);
    archive_entry_set_gid(entry_, gid);
    archive_entry_set_mtime(entry_, kFileMtime, 0);
    for (const Xattr& x : xattrs) {
      archive_entry_xattr_add_entry(entry_, x.name.c_str(), x.value.data(), x.value.size());
    }
  }
  void Write() {
    int r = archive_write_header(a_, entry_);
    EXPECT_EQ(r, ARCHIVE_OK) << archive_error_string(a_);
  }

  archive* a_;
  archive_entry* entry_;
  std::string out_;
};

enum class Compression { kNone, kGzip, kZstd };

// Compresses `plain` as one stream, so every variant decompresses to exactly the same bytes.
std::string Compress(const std::string& plain, Compression c) {
  if (c == Compression::kNone) {
    return plain;
  }
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  if (c == Compression::kGzip) {
    archive_write_add_filter_gzip(a);
  } else {
    archive_write_add_filter_zstd(a);
  }
  archive_write_set_bytes_in_last_block(a, 1);  // no zero padding after the compressed stream
  archive_write_open(a, &out, nullptr, AppendToString, nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "layer.tar");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(plain.size()));
  EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
  EXPECT_EQ(archive_write_data(a, plain.data(), plain.size()),
            static_cast<la_ssize_t>(plain.size()));
  archive_write_close(a);
  archive_entry_free(e);
  archive_write_free(a);
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    snprintf(buf, sizeof(buf), "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

// A 512-byte ustar header, written by hand so a test controls every byte (as Go's archive/tar
// does: UTF-8 PAX records, no hdrcharset).
std::string UstarHeader(const std::string& name, char type, size_t size) {
  std::string h(512, '\0');
  auto put = [&h](size_t off, const std::string& v) { h.replace(off, v.size(), v); };
  put(0, name.substr(0, 99));
  char num[32];
  snprintf(num, sizeof(num), "%07o", 0644);
  put(100, num);
  put(108, "0000000");
  put(116, "0000000");
  snprintf(num, sizeof(num), "%011zo", size);
  put(124, num);
  snprintf(num, sizeof(num), "%011o", static_cast<unsigned>(kFileMtime));
  put(136, num);
  h[156] = type;
  put(257, std::string("ustar\0", 6));
  put(263, "00");
  put(148, "        ");
  unsigned sum = 0;
  for (unsigned char c : h) {
    sum += c;
  }
  snprintf(num, sizeof(num), "%06o", sum);
  put(148, std::string(num) + '\0');
  return h;
}

std::string PaxRecord(const std::string& key, const std::string& value) {
  // "<len> key=value\n", where len counts itself.
  size_t body = key.size() + value.size() + 3;
  size_t len = body + std::to_string(body).size();
  if (std::to_string(len).size() != std::to_string(body).size()) {
    ++len;
  }
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

std::string Padded(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

// One regular file whose real name is carried in a PAX `path` record.
std::string PaxNamedFileTar(const std::string& name, const std::string& content) {
  std::string pax = PaxRecord("path", name);
  return UstarHeader("PaxHeaders/x", 'x', pax.size()) + Padded(pax) +
         UstarHeader("placeholder", '0', content.size()) + Padded(content) +
         std::string(1024, '\0');
}

// An in-memory fd holding `bytes`, positioned at 0: no tarball touches the disk.
UniqueFd MemFd(const std::string& bytes) {
  UniqueFd fd(memfd_create("layer", MFD_CLOEXEC));
  EXPECT_TRUE(fd);
  EXPECT_EQ(write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(lseek(fd.get(), 0, SEEK_SET), 0);
  return fd;
}

// --- inspecting the result ---------------------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::string out;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    return "<cannot open: " + std::string(strerror(errno)) + ">";
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& content) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd) << path;
  ASSERT_EQ(write(fd.get(), content.data(), content.size()), static_cast<ssize_t>(content.size()));
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path << ": " << strerror(errno);
  return st;
}

std::string GetXattr(const std::string& path, const std::string& name) {
  char buf[256];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof(buf));
  if (n < 0) {
    return "<" + std::string(strerror(errno)) + ">";
  }
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    return names;
  }
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      names.push_back(n);
    }
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Path -> type, mode, owner, mtime and content (or target, or device) of everything under root.
void Describe(const std::string& root, const std::string& rel,
              std::map<std::string, std::string>& out) {
  for (const std::string& name : ListDir(root + "/" + rel)) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    std::string full = root + "/" + child;
    struct stat st = Lstat(full);
    std::string d = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                    std::to_string(st.st_gid) + " " + std::to_string(st.st_mtim.tv_sec) + " ";
    if (S_ISREG(st.st_mode)) {
      d += ReadFile(full) + " nlink=" + std::to_string(st.st_nlink);
    } else if (S_ISLNK(st.st_mode)) {
      d += std::filesystem::read_symlink(full).string();
    } else if (S_ISDIR(st.st_mode)) {
      Describe(root, child, out);
    } else {
      d += std::to_string(st.st_rdev);
    }
    out[child] = d;
  }
}

// A private /tmp dir holding `dest`, so that writes beside dest (escapes) can be detected.
class LayerExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(base_.empty());
    dest_ = base_ + "/dest";
    ASSERT_EQ(mkdir(dest_.c_str(), 0755), 0);
  }
  StatusOr<ExtractResult> Extract(const std::string& stream, ExtractOptions opts = {}) {
    return Extract(stream, dest_, opts);
  }
  StatusOr<ExtractResult> Extract(const std::string& stream, const std::string& dest,
                                  ExtractOptions opts = {}) {
    UniqueFd fd = MemFd(stream);
    return ExtractLayer(fd.get(), dest, opts);
  }

  // Nothing but dest (and what the test itself put there) may exist beside dest.
  void ExpectBaseHoldsOnly(const std::vector<std::string>& names) {
    EXPECT_EQ(ListDir(base_), names);
  }

  testing::TempDir tmp_;
  std::string base_ = tmp_.path();
  std::string dest_;
};

// Probes, on the filesystem the tests use, whether this process may mknod / set an xattr.
bool CanMknod(const std::string& dir) {
  std::string p = dir + "/probe-dev";
  if (mknod(p.c_str(), S_IFCHR | 0600, makedev(1, 3)) != 0) {
    return false;
  }
  unlink(p.c_str());
  return true;
}

bool CanSetXattr(const std::string& dir, const std::string& name, const std::string& value) {
  std::string p = dir + "/probe-xattr";
  WriteFile(p, "");
  bool ok = setxattr(p.c_str(), name.c_str(), value.data(), value.size(), 0) == 0;
  unlink(p.c_str());
  return ok;
}

// VFS_CAP_REVISION_2 with CAP_NET_BIND_SERVICE (bit 10) permitted and the effective flag set.
std::string NetBindCapability() {
  const uint32_t words[5] = {0x02000001, 1u << 10, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof(words));
}

// --- ordinary content ------------------------------------------------------------------------

TEST_F(LayerExtractTest, RegularFile_Plain_KeepsContentModeOwnerAndMtime) {
  std::string tar = TarBuilder()
                        .Dir("etc/", 0710, 0, 0)
                        .File("etc/app.conf", "hello\n", 0640, 1234, 5678)
                        .File("usr/bin/su", "suid", 04755, 0, 0)
                        .File("usr/bin/wall", "sgid", 02755, 0, 5)
                        .Dir("tmp/", 01777)
                        .Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries, 5u);
  EXPECT_EQ(ReadFile(dest_ + "/etc/app.conf"), "hello\n");
  struct stat conf = Lstat(dest_ + "/etc/app.conf");
  EXPECT_EQ(conf.st_mode, S_IFREG | 0640);
  EXPECT_EQ(conf.st_uid, 1234u);
  EXPECT_EQ(conf.st_gid, 5678u);
  EXPECT_EQ(conf.st_mtim.tv_sec, kFileMtime);
  EXPECT_EQ(Lstat(dest_ + "/usr/bin/su").st_mode, S_IFREG | 04755);
  EXPECT_EQ(Lstat(dest_ + "/usr/bin/wall").st_mode, S_IFREG | 02755);
  EXPECT_EQ(Lstat(dest_ + "/usr/bin/wall").st_gid, 5u);
  // Directory mode and mtime survive the files written into it afterwards.
  struct stat etc = Lstat(dest_ + "/etc");
  EXPECT_EQ(etc.st_mode, S_IFDIR | 0710);
  EXPECT_EQ(etc.st_mtim.tv_sec, kDirMtime);
  EXPECT_EQ(Lstat(dest_ + "/tmp").st_mode, S_IFDIR | 01777);
  // Parents missing from the tar are created 0755.
  EXPECT_EQ(Lstat(dest_ + "/usr").st_mode, S_IFDIR | 0755);
}

TEST_F(LayerExtractTest, KeepOwnershipFalse_FileOwnedByCaller) {
  std::string tar = TarBuilder().File("f", "x", 0644, 1234, 5678).Finish();
  ExtractOptions opts;
  opts.keep_ownership = false;

  ASSERT_TRUE(Extract(tar, opts).ok());

  EXPECT_EQ(Lstat(dest_ + "/f").st_uid, geteuid());
}

TEST_F(LayerExtractTest, Symlink_TargetStoredVerbatim) {
  std::string tar = TarBuilder()
                        .Symlink("bin/sh", "/usr/bin/dash")
                        .Symlink("lib", "usr/lib")
                        .Symlink("up", "../../..")
                        .Finish();

  ASSERT_TRUE(Extract(tar).ok());

  EXPECT_TRUE(S_ISLNK(Lstat(dest_ + "/bin/sh").st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(dest_ + "/bin/sh"), "/usr/bin/dash");
  EXPECT_EQ(std::filesystem::read_symlink(dest_ + "/lib"), "usr/lib");
  EXPECT_EQ(std::filesystem::read_symlink(dest_ + "/up"), "../../..");
  EXPECT_EQ(Lstat(dest_ + "/lib").st_mtim.tv_sec, kFileMtime);
}

TEST_F(LayerExtractTest, Hardlink_SharesInode) {
  std::string tar = TarBuilder()
                        .File("usr/bin/perl", "#!perl", 0755)
                        .Hardlink("usr/bin/perl5.36", "usr/bin/perl")
                        .Finish();

  ASSERT_TRUE(Extract(tar).ok());

  struct stat a = Lstat(dest_ + "/usr/bin/perl");
  struct stat b = Lstat(dest_ + "/usr/bin/perl5.36");
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
}

TEST_F(LayerExtractTest, Xattrs_UserAndCapability_Preserved) {
  if (!CanSetXattr(base_, "user.probe", "1") ||
      !CanSetXattr(base_, "security.capability", NetBindCapability())) {
    GTEST_SKIP() << "filesystem or privileges do not allow user/security xattrs";
  }
  std::string tar = TarBuilder()
                        .Dir("data/", 0755, 0, 0, {{"user.dir", "d"}})
                        .File("usr/bin/ping", "elf", 0755, 0, 0,
                              {{"security.capability", NetBindCapability()}, {"user.foo", "bar"}})
                        .Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(GetXattr(dest_ + "/usr/bin/ping", "user.foo"), "bar");
  EXPECT_EQ(GetXattr(dest_ + "/usr/bin/ping", "security.capability"), NetBindCapability());
  EXPECT_EQ(GetXattr(dest_ + "/data", "user.dir"), "d");
}

TEST_F(LayerExtractTest, Compression_GzipZstdPlain_SameTreeAndDiffId) {
  std::string plain = TarBuilder()
                          .Dir("etc/", 0755)
                          .File("etc/os-release", "ID=test\n", 0644, 1, 2)
                          .File("big", std::string(3 << 20, 'z') + "end", 0600)
                          .Symlink("etc/alias", "os-release")
                          .Hardlink("etc/copy", "etc/os-release")
                          .Finish();
  const std::string want = "sha256:" + Sha256Hex(plain);
  std::map<std::string, std::string> trees[3];
  const Compression kinds[3] = {Compression::kNone, Compression::kGzip, Compression::kZstd};

  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    std::string dest = base_ + "/d" + std::to_string(i);
    ASSERT_EQ(mkdir(dest.c_str(), 0755), 0);
    std::string stream = Compress(plain, kinds[i]);
    if (i > 0) {
      ASSERT_LT(stream.size(), plain.size());  // really compressed
    }

    StatusOr<ExtractResult> r = Extract(stream, dest);

    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->diff_id, want);
    EXPECT_EQ(r->uncompressed_bytes, plain.size());
    EXPECT_EQ(r->entries, 5u);
    Describe(dest, "", trees[i]);
  }
  EXPECT_EQ(trees[0].size(), 5u);
  EXPECT_EQ(trees[0]["big"].substr(trees[0]["big"].size() - 11), "end nlink=1");
  EXPECT_EQ(trees[0], trees[1]);
  EXPECT_EQ(trees[0], trees[2]);
}

TEST_F(LayerExtractTest, TrailingBytesAfterTarEnd_IncludedInDiffId) {
  std::string plain = TarBuilder().File("a", "a").Finish() + std::string(3 << 20, '\0') + "tail";

  StatusOr<ExtractResult> r = Extract(Compress(plain, Compression::kGzip));

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, "sha256:" + Sha256Hex(plain));
  EXPECT_EQ(r->uncompressed_bytes, plain.size());
}

TEST_F(LayerExtractTest, RootDirEntry_AppliesModeToDest) {
  std::string tar = TarBuilder().Dir("./", 0750).File("./f", "f").Finish();

  ASSERT_TRUE(Extract(tar).ok());

  EXPECT_EQ(Lstat(dest_).st_mode, S_IFDIR | 0750);
  EXPECT_EQ(Lstat(dest_).st_mtim.tv_sec, kDirMtime);
  EXPECT_EQ(ReadFile(dest_ + "/f"), "f");
}

TEST_F(LayerExtractTest, PaxUtf8AndLongNames_KeptAsBytes) {
  const std::string utf8 = "usr/share/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt";
  const std::string long_name = "opt/" + std::string(150, 'd') + "/" + std::string(120, 'f');
  std::string tar = TarBuilder().File(long_name, "long").Finish();

  StatusOr<ExtractResult> r1 = Extract(PaxNamedFileTar(utf8, "utf8"));
  StatusOr<ExtractResult> r2 = Extract(tar);

  ASSERT_TRUE(r1.ok()) << r1.status();
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(ReadFile(dest_ + "/" + utf8), "utf8");
  EXPECT_EQ(ReadFile(dest_ + "/" + long_name), "long");
}

TEST_F(LayerExtractTest, SparseFile_HolesReadAsZeros) {
  archive* a = archive_write_new();
  std::string tar;
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &tar, nullptr, AppendToString, nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, "sparse");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 3 << 20);
  archive_entry_sparse_add_entry(e, 0, 4096);
  archive_entry_sparse_add_entry(e, 2 << 20, 4096);
  ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
  // The writer takes the whole logical content and stores only the mapped regions.
  std::string want(3 << 20, '\0');
  want.replace(0, 4096, std::string(4096, 'D'));
  want.replace(2 << 20, 4096, std::string(4096, 'D'));
  archive_write_data(a, want.data(), want.size());
  archive_write_close(a);
  archive_entry_free(e);
  archive_write_free(a);
  ASSERT_LT(tar.size(), 64u << 10);

  StatusOr<ExtractResult> r = Extract(tar);

  ASSERT_TRUE(r.ok()) << r.status();
  std::string got = ReadFile(dest_ + "/sparse");
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want);
  EXPECT_LT(Lstat(dest_ + "/sparse").st_blocks * 512, 1 << 20);  // the hole stays a hole
}

TEST_F(LayerExtractTest, PipeInput_GzipStreamed_ExtractsAndHashes) {
  std::string plain = TarBuilder().File("a", std::string(1 << 20, 'a')).Finish();
  std::string gz = Compress(plain, Compression::kGzip);
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd rd(fds[0]);
  UniqueFd wr(fds[1]);
  std::thread writer([&] {
    size_t off = 0;
    while (off < gz.size()) {
      ssize_t n = write(wr.get(), gz.data() + off, std::min<size_t>(4096, gz.size() - off));
      if (n <= 0) {
        break;
      }
      off += static_cast<size_t>(n);
    }
    wr.reset();
  });

  StatusOr<ExtractResult> r = ExtractLayer(rd.get(), dest_, {});
  writer.join();

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(fcntl(rd.get(), F_GETFD), -1);  // the caller's fd is left open
  EXPECT_EQ(r->diff_id, "sha256:" + Sha256Hex(plain));
  EXPECT_EQ(ReadFile(dest_ + "/a"), std::string(1 << 20, 'a'));
}

TEST_F(LayerExtractTest, ExistingDir_MergedAndFileReplacesDirAndSymlink) {
  ASSERT_EQ(mkdir((dest_ + "/keep").c_str(), 0755), 0);
  WriteFile(dest_ + "/keep/old", "old");
  ASSERT_EQ(mkdir((dest_ + "/was-dir").c_str(), 0755), 0);
  WriteFile(dest_ + "/was-dir/child", "c");
  WriteFile(base_ + "/victim", "precious");
  ASSERT_EQ(symlink((base_ + "/victim").c_str(), (dest_ + "/link").c_str()), 0);
  std::string tar = TarBuilder()
                        .Dir("keep/", 0700)
                        .File("keep/new", "new")
                        .File("was-dir", "now a file")
                        .File("link", "replaced")
                        .Finish();

  ASSERT_TRUE(Extract(tar).ok());

  EXPECT_EQ(ListDir(dest_ + "/keep"), (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(Lstat(dest_ + "/keep").st_mode, S_IFDIR | 0700);
  EXPECT_EQ(ReadFile(dest_ + "/was-dir"), "now a file");
  EXPECT_EQ(ReadFile(dest_ + "/link"), "replaced");
  EXPECT_TRUE(S_ISREG(Lstat(dest_ + "/link").st_mode));
  EXPECT_EQ(ReadFile(base_ + "/victim"), "precious");  // not written through the old symlink
}

TEST_F(LayerExtractTest, FifoAndCharDevice_CreatedWithModes) {
  if (!CanMknod(base_)) {
    GTEST_SKIP() << "mknod not permitted";
  }
  std::string tar = TarBuilder()
                        .Node("run/fifo", AE_IFIFO, 0622)
                        .Node("dev/null", AE_IFCHR, 0666, makedev(1, 3))
                        .Node("dev/loop9", AE_IFBLK, 0660, makedev(7, 9))
                        .Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->skipped_entries, 0u);
  EXPECT_EQ(Lstat(dest_ + "/run/fifo").st_mode, S_IFIFO | 0622);  // umask not applied
  struct stat null = Lstat(dest_ + "/dev/null");
  EXPECT_EQ(null.st_mode, S_IFCHR | 0666);
  EXPECT_EQ(null.st_rdev, makedev(1, 3));
  EXPECT_EQ(Lstat(dest_ + "/dev/loop9").st_mode, S_IFBLK | 0660);
  EXPECT_EQ(Lstat(dest_ + "/dev/loop9").st_rdev, makedev(7, 9));
}

TEST_F(LayerExtractTest, OpenAt2Disabled_NestedTreeStillExtracted) {
  std::string tar = TarBuilder()
                        .File("a/b/c/d", "deep")
                        .Dir("a/b/", 0750)
                        .Symlink("a/l", "b")
                        .Hardlink("a/b/c/e", "a/b/c/d")
                        .Finish();
  ExtractOptions opts;
  opts.use_openat2 = false;

  StatusOr<ExtractResult> r = Extract(tar, opts);

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ReadFile(dest_ + "/a/b/c/e"), "deep");
  EXPECT_EQ(Lstat(dest_ + "/a/b").st_mode, S_IFDIR | 0750);
}

// --- whiteouts -------------------------------------------------------------------------------

TEST_F(LayerExtractTest, OverlayMode_WhiteoutBecomesCharDevice00) {
  if (!CanMknod(base_)) {
    GTEST_SKIP() << "mknod not permitted";
  }
  std::string tar =
      TarBuilder().Dir("etc/").File("etc/.wh.shadow", "").File(".wh.gone", "").Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  ASSERT_TRUE(r.ok()) << r.status();
  for (const std::string& p : {dest_ + "/etc/shadow", dest_ + "/gone"}) {
    struct stat st = Lstat(p);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << p;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << p;
  }
  EXPECT_FALSE(Exists(dest_ + "/etc/.wh.shadow"));
  EXPECT_FALSE(Exists(dest_ + "/.wh.gone"));
}

TEST_F(LayerExtractTest, OverlayMode_OpaqueMarkerSetsOpaqueXattr) {
  if (!CanSetXattr(base_, "trusted.probe", "1")) {
    GTEST_SKIP() << "trusted xattrs not permitted";
  }
  std::string tar = TarBuilder()
                        .Dir("var/cache/")
                        .File("var/cache/.wh..wh..opq", "")
                        .File("var/cache/fresh", "f")
                        .Finish();

  ASSERT_TRUE(Extract(tar).ok());

  EXPECT_EQ(GetXattr(dest_ + "/var/cache", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(ListDir(dest_ + "/var/cache"), std::vector<std::string>{"fresh"});
  EXPECT_EQ(GetXattr(dest_ + "/var", "trusted.overlay.opaque"), "<No data available>");
}

TEST_F(LayerExtractTest, OverlayMode_LayerSuppliedOverlayXattrDropped) {
  if (!CanSetXattr(base_, "trusted.probe", "1")) {
    GTEST_SKIP() << "trusted xattrs not permitted";
  }
  std::string tar = TarBuilder()
                        .Dir("forged/", 0755, 0, 0,
                             {{"trusted.overlay.opaque", "y"}, {"user.overlay.opaque", "y"}})
                        .File("redirect", "", 0644, 0, 0, {{"trusted.overlay.redirect", "/etc"}})
                        .Finish();

  ASSERT_TRUE(Extract(tar).ok());

  EXPECT_EQ(GetXattr(dest_ + "/forged", "trusted.overlay.opaque"), "<No data available>");
  EXPECT_EQ(GetXattr(dest_ + "/forged", "user.overlay.opaque"), "<No data available>");
  EXPECT_EQ(GetXattr(dest_ + "/redirect", "trusted.overlay.redirect"), "<No data available>");
}

TEST_F(LayerExtractTest, ApplyMode_WhiteoutRemovesLowerAndOpaqueKeepsOwnEntries) {
  // Given a copy of the lower layer in dest.
  for (const char* d : {"/old", "/old/tree", "/opq", "/opq/sub", "/opq/lowerdir"}) {
    ASSERT_EQ(mkdir((dest_ + d).c_str(), 0755), 0);
  }
  WriteFile(dest_ + "/old/a", "a");
  WriteFile(dest_ + "/old/tree/x", "x");
  WriteFile(dest_ + "/old/b", "b");
  WriteFile(dest_ + "/opq/lower1", "1");
  WriteFile(dest_ + "/opq/sub/lower2", "2");
  WriteFile(dest_ + "/opq/lowerdir/lower3", "3");
  // When the layer deletes old/a and old/tree, and makes opq opaque after adding its own entries.
  std::string tar = TarBuilder()
                        .File("old/.wh.a", "")
                        .File("old/.wh.tree", "")
                        .File("old/.wh.missing", "")
                        .File("mine", "layer file")
                        .File(".wh.mine", "")  // same-layer file: not hidden
                        .Dir("opq/")
                        .File("opq/new", "n")
                        .Dir("opq/sub/")
                        .File("opq/sub/new2", "n2")
                        .File("opq/.wh..wh..opq", "")
                        .Finish();
  ExtractOptions opts;
  opts.whiteouts = WhiteoutMode::kApply;

  StatusOr<ExtractResult> r = Extract(tar, opts);

  // Then only lower entries are gone.
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ListDir(dest_ + "/old"), std::vector<std::string>{"b"});
  EXPECT_EQ(ReadFile(dest_ + "/mine"), "layer file");
  EXPECT_EQ(ListDir(dest_ + "/opq"), (std::vector<std::string>{"new", "sub"}));
  EXPECT_EQ(ListDir(dest_ + "/opq/sub"), std::vector<std::string>{"new2"});
  EXPECT_FALSE(Exists(dest_ + "/old/.wh.a"));
  EXPECT_FALSE(Exists(dest_ + "/opq/.wh..wh..opq"));
}

TEST_F(LayerExtractTest, ApplyMode_OpaqueFirst_EmptiesDirThenAddsNew) {
  ASSERT_EQ(mkdir((dest_ + "/d").c_str(), 0755), 0);
  WriteFile(dest_ + "/d/lower", "l");
  std::string tar = TarBuilder().Dir("d/").File("d/.wh..wh..opq", "").File("d/n", "n").Finish();
  ExtractOptions opts;
  opts.whiteouts = WhiteoutMode::kApply;

  ASSERT_TRUE(Extract(tar, opts).ok());

  EXPECT_EQ(ListDir(dest_ + "/d"), std::vector<std::string>{"n"});
}

// --- malicious layers ------------------------------------------------------------------------

TEST_F(LayerExtractTest, DotDotEntry_RefusedNothingWrittenOutside) {
  std::string tar = TarBuilder().File("ok", "fine").File("../evil", "pwned").Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(r.status()).find("layer entry `../evil` escapes the layer root"),
            std::string::npos)
      << r.status();
  ExpectBaseHoldsOnly({"dest"});
}

TEST_F(LayerExtractTest, NestedDotDotEscape_Refused) {
  std::string tar = TarBuilder().File("a/b/../../../evil", "pwned").Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectBaseHoldsOnly({"dest"});
}

TEST_F(LayerExtractTest, AbsoluteName_LandsUnderDest) {
  // An absolute name pointing at a real place outside dest (like /etc/passwd, but ours).
  const std::string outside = base_ + "/abs-target";
  std::string tar = TarBuilder().File(outside, "inside").File("/./etc//passwd", "root:x").Finish();

  ASSERT_TRUE(Extract(tar).ok());

  EXPECT_EQ(ReadFile(dest_ + outside), "inside");
  EXPECT_EQ(ReadFile(dest_ + "/etc/passwd"), "root:x");
  ExpectBaseHoldsOnly({"dest"});
}

TEST_F(LayerExtractTest, WriteThroughAbsoluteSymlink_NotOutside) {
  ASSERT_EQ(mkdir((base_ + "/outside").c_str(), 0755), 0);
  std::string tar = TarBuilder().Symlink("a", base_ + "/outside").File("a/x", "pwned").Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  // The symlink resolves inside dest, where its target does not exist: refused.
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(Message(r.status()).find("`a` is a symlink to a missing directory"), std::string::npos)
      << r.status();
  EXPECT_EQ(ListDir(base_ + "/outside"), std::vector<std::string>{});
  ExpectBaseHoldsOnly({"dest", "outside"});
}

TEST_F(LayerExtractTest, WriteThroughAbsoluteSymlink_ConfinedToDest) {
  std::string tar = TarBuilder()
                        .Symlink("etc", "/data/etc")
                        .Dir("data/etc/")
                        .File("etc/conf", "confined")
                        .Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ReadFile(dest_ + "/data/etc/conf"), "confined");
  EXPECT_TRUE(S_ISLNK(Lstat(dest_ + "/etc").st_mode));
}

TEST_F(LayerExtractTest, WriteThroughDotDotSymlink_ConfinedToDest) {
  std::string tar = TarBuilder().Symlink("a", "../..").File("a/x", "confined").Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  // `..` at the root stays at the root, as it does inside the container.
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ReadFile(dest_ + "/x"), "confined");
  ExpectBaseHoldsOnly({"dest"});
  EXPECT_FALSE(Exists("/tmp/x") && ReadFile("/tmp/x") == "confined");
}

TEST_F(LayerExtractTest, WriteThroughSymlink_WithoutOpenat2_Refused) {
  std::string tar = TarBuilder().Symlink("a", "../..").File("a/x", "pwned").Finish();
  ExtractOptions opts;
  opts.use_openat2 = false;

  StatusOr<ExtractResult> r = Extract(tar, opts);

  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(r.status()).find("`a` is a symlink"), std::string::npos) << r.status();
  EXPECT_FALSE(Exists(dest_ + "/x"));
  ExpectBaseHoldsOnly({"dest"});
}

TEST_F(LayerExtractTest, HardlinkOutsideRoot_Refused) {
  std::string tar = TarBuilder().Hardlink("h", "../../etc/hostname").Finish();

  StatusOr<ExtractResult> r = Extract(tar);

  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Exists(dest_ + "/h"));
}

TEST_F(LayerExtractTest, HardlinkThroughSymlinkedDir_Refused) {
  ASSERT_EQ(mkdir((base_ + "/outside").c_str(), 0755), 0);
  WriteFile(base_ + "/outside/secret", "s");
  std::string tar = TarBuilder()
                        .Symlink("d", base_ + "/outside")
                        .Symlink("up", "..")
                        .Hardlink("h", "d/secret")
                        .Finish();
  std::string tar_dotdot =
      TarBuilder().Symlink("up", "../outside").Hardlink("h", "up/secret").Finish();

  for (const std::string& t : {tar, tar_dotdot}) {
    StatusOr<ExtractResult> r = Extract(t);

    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_FALSE(Exists(dest_ + "/h"));
  }
  EXPECT_EQ(Lstat(base_ + "/outside/secret").st_nlink, 1u);
}

TEST_F(LayerExtractTest, WhiteoutOfDotDot_Refused) {
  for (const char* name : {"a/.wh...", "a/.wh..", ".wh."}) {
    SCOPED_TRACE(name);
    for (WhiteoutMode mode : {WhiteoutMode::kOverlay, WhiteoutMode::kApply}) {
      std::string tar = TarBuilder().Dir("a/").File(name, "").Finish();
      ExtractOptions opts;
      opts.whiteouts = mode;

      StatusOr<ExtractResult> r = Extract(tar, opts);

      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
      EXPECT_TRUE(Exists(dest_ + "/a"));
    }
  }
}

TEST_F(LayerExtractTest, ApplyModeWhiteoutThroughSymlink_StaysInside) {
  ASSERT_EQ(mkdir((base_ + "/outside").c_str(), 0755), 0);
  WriteFile(base_ + "/outside/keep", "k");
  std::string tar = TarBuilder().Symlink("l", base_ + "/outside").File("l/.wh.keep", "").Finish();
  ExtractOptions opts;
  opts.whiteouts = WhiteoutMode::kApply;

  StatusOr<ExtractResult> r = Extract(tar, opts);

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ReadFile(base_ + "/outside/keep"), "k");
}

// --- broken input ----------------------------------------------------------------------------

TEST_F(LayerExtractTest, TruncatedGzip_ErrorNotCrash) {
  std::string plain = TarBuilder().File("a", std::string(200000, 'q')).File("b", "b").Finish();
  std::string gz = Compress(plain, Compression::kGzip);

  StatusOr<ExtractResult> r = Extract(gz.substr(0, gz.size() / 2));

  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
}

TEST_F(LayerExtractTest, CorruptGzip_ErrorNotCrash) {
  std::string plain = TarBuilder().File("a", std::string(200000, 'q')).Finish();
  std::string gz = Compress(plain, Compression::kGzip);
  for (size_t i = 20; i < gz.size() - 20; i += 7) {
    gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  }

  StatusOr<ExtractResult> r = Extract(gz);

  EXPECT_FALSE(r.ok());
}

TEST_F(LayerExtractTest, NotATarAndEmptyStream_Errors) {
  StatusOr<ExtractResult> garbage = Extract(std::string(4096, '\x07') + "not a tar");
  StatusOr<ExtractResult> empty = Extract("");

  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument) << garbage.status();
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument) << empty.status();
}

TEST_F(LayerExtractTest, SuccessAndFailure_NoFdLeak) {
  std::string good = TarBuilder().Dir("a/b/").File("a/b/c", "c").Symlink("l", "a").Finish();
  std::string bad = TarBuilder().File("a/b/x", "x").File("../evil", "e").Finish();
  std::string gz = Compress(good, Compression::kGzip);
  size_t before = ListDir("/proc/self/fd").size();

  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Extract(good).ok());
    EXPECT_FALSE(Extract(bad).ok());
    EXPECT_FALSE(Extract(gz.substr(0, gz.size() - 30)).ok());
  }

  EXPECT_EQ(ListDir("/proc/self/fd").size(), before);
}

TEST_F(LayerExtractTest, MissingDest_ErrnoError) {
  std::string tar = TarBuilder().File("a", "a").Finish();

  StatusOr<ExtractResult> r = Extract(tar, base_ + "/nope");

  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
}

}  // namespace
}  // namespace crio::storage
