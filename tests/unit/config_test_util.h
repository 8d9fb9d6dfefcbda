#pragma once
// Shared by the crio.conf unit tests (config*_test.cc, one per src/config concern): test data,
// warning messages, and the error of applying one TOML snippet.

#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace crio::config {

// gtest prints warnings in failure messages through ADL, so this lives in Warning's namespace.
inline void PrintTo(const Warning& warning, std::ostream* os) {
  *os << warning.file << ":" << warning.line << ": " << warning.message;
}

namespace config_test {

// tests/unit/testdata/config/<name>; "" when missing.
inline std::string ReadTestData(const std::string& name) {
  std::ifstream in(std::string(CRIO_TEST_DATA_DIR) + "/config/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::vector<std::string> Messages(const std::vector<Warning>& warnings) {
  std::vector<std::string> messages;
  for (const Warning& warning : warnings) {
    messages.push_back(warning.message);
  }
  return messages;
}

// Applies `text` as file "test.conf" onto Defaults() and returns the error message ("" if ok).
inline std::string ApplyError(const std::string& text) {
  Config config = Defaults();
  std::vector<Warning> warnings;
  return Message(ApplyToml(text, "test.conf", config, warnings));
}

}  // namespace config_test
}  // namespace crio::config
