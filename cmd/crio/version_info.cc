#include "version_info.h"

#include <sys/utsname.h>

#include <archive.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <seccomp.h>
#include <sqlite3.h>

#include <google/protobuf/stubs/common.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/version.h>
#include <toml++/toml.h>
#include <CLI/Version.hpp>
#include <boost/version.hpp>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "util/build_info.h"

namespace crio::cmd {

namespace {

std::string Platform() {
  utsname u{};
  ::uname(&u);
  return fmt::format("linux/{}", u.machine);
}

std::vector<std::pair<std::string, std::string>> LibraryVersions() {
  const scmp_version* sv = seccomp_version();
  return {
      {"grpc", grpc::Version()},
      {"protobuf", google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)},
      {"spdlog", fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH)},
      {"fmt",
       fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
      {"tomlplusplus", fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH)},
      {"nlohmann_json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                                    NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH)},
      {"cli11", CLI11_VERSION},
      {"libcurl", curl_version_info(CURLVERSION_NOW)->version},
      {"openssl", OpenSSL_version(OPENSSL_VERSION)},
      {"libarchive", archive_version_string()},
      {"sqlite", sqlite3_libversion()},
      {"libseccomp", fmt::format("{}.{}.{}", sv->major, sv->minor, sv->micro)},
      {"boost", fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                            BOOST_VERSION % 100)},
  };
}

}  // namespace

std::string ShortVersion() { return fmt::format("crio version {}", build::kVersion); }

std::string VersionText() {
  std::string out;
  auto line = [&out](std::string_view k, std::string_view v) {
    out += fmt::format("{:<16}{}\n", fmt::format("{}:", k), v);
  };
  line("Version", build::kVersion);
  line("GitCommit", build::kGitCommit);
  line("GitTreeState", build::kGitTreeState);
  line("BuildDate", build::kBuildDate);
  line("Compiler", build::kCompiler);
  line("BuildType", build::kBuildType);
  line("Platform", Platform());
  for (const auto& [name, version] : LibraryVersions()) {
    line(name, version);
  }
  return out;
}

std::string VersionJson() {
  nlohmann::json libs = nlohmann::json::object();
  for (const auto& [name, version] : LibraryVersions()) libs[name] = version;
  nlohmann::json j = {{"version", build::kVersion},
                      {"gitCommit", build::kGitCommit},
                      {"gitTreeState", build::kGitTreeState},
                      {"buildDate", build::kBuildDate},
                      {"compiler", build::kCompiler},
                      {"platform", Platform()},
                      {"libraries", libs}};
  return j.dump(2) + "\n";
}

}  // namespace crio::cmd
