#include "yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <vector>

namespace crioctl {
namespace {

// Keys keep their file order, so the JSON reads like the YAML it came from.
using Json = nlohmann::ordered_json;
using crio::Status;
using crio::StatusOr;

// Far deeper than any CRI config. Only an alias inside its own anchor ("&a [*a]"), which
// yaml-cpp turns into a cycle, gets here.
constexpr int kMaxDepth = 100;

Status LineError(const YAML::Mark& mark, const std::string& what) {
  if (mark.is_null()) return crio::InvalidArgument(absl::StrCat("yaml: ", what));
  return crio::InvalidArgument(absl::StrCat("yaml line ", mark.line + 1, ": ", what));
}

// A whole-string integer in `base`, as int64 when it fits, else uint64; nullopt when neither.
std::optional<Json> ParseInteger(std::string_view digits, int base) {
  const char* end = digits.data() + digits.size();
  int64_t v = 0;
  if (auto r = std::from_chars(digits.data(), end, v, base); r.ec == std::errc() && r.ptr == end) {
    return Json(v);
  }
  uint64_t u = 0;
  if (auto r = std::from_chars(digits.data(), end, u, base); r.ec == std::errc() && r.ptr == end) {
    return Json(u);
  }
  return std::nullopt;
}

// YAML 1.2 core schema resolution of a plain scalar (null is resolved by yaml-cpp already).
// yaml-cpp's own conversions follow YAML 1.1 ("yes" is true), which crictl's Go parser does not.
Json ResolvePlain(const std::string& s) {
  static const std::regex kBool("true|True|TRUE|false|False|FALSE");
  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(s, kBool)) return s[0] == 't' || s[0] == 'T';
  std::string_view text = s;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);  // from_chars takes no '+'
  std::optional<Json> number;
  if (std::regex_match(s, kDecimal)) {
    number = ParseInteger(text, 10);
  } else if (std::regex_match(s, kHex) || std::regex_match(s, kOctal)) {
    number = ParseInteger(text.substr(2), s[1] == 'x' ? 16 : 8);
  } else if (std::regex_match(s, kFloat)) {
    double d = 0;
    const char* end = text.data() + text.size();
    if (auto r = std::from_chars(text.data(), end, d); r.ec == std::errc() && r.ptr == end) {
      number = Json(d);
    }
  }
  return number ? *std::move(number) : Json(s);  // e.g. too large for JSON: keep the text
}

// yaml-cpp tags a plain scalar "?" and a quoted or block scalar "!"; "!!str" forces a string.
Json ScalarToJson(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return node.Scalar();
  return ResolvePlain(node.Scalar());
}

StatusOr<Json> NodeToJson(const YAML::Node& node, int depth);

// JSON keys are strings: a scalar key keeps its text ("1" stays "1"), a null key is "null".
StatusOr<std::string> KeyText(const YAML::Node& key) {
  if (key.IsNull()) return std::string("null");
  if (!key.IsScalar()) return LineError(key.Mark(), "complex mapping keys are not supported");
  return key.Scalar();
}

StatusOr<Json> MapToJson(const YAML::Node& node, int depth) {
  Json out = Json::object();
  for (const auto& pair : node) {
    ASSIGN_OR_RETURN(std::string key, KeyText(pair.first));
    // yaml-cpp keeps both pairs of a duplicate key; which one a config meant is unclear.
    if (out.contains(key)) {
      return LineError(pair.first.Mark(), absl::StrCat("duplicate key \"", key, "\""));
    }
    ASSIGN_OR_RETURN(out[key], NodeToJson(pair.second, depth + 1));
  }
  return out;
}

StatusOr<Json> NodeToJson(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) {
    return LineError(node.Mark(), absl::StrCat("nested deeper than ", kMaxDepth,
                                               " levels (an alias inside its own anchor?)"));
  }
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) {
        ASSIGN_OR_RETURN(Json value, NodeToJson(item, depth + 1));
        out.push_back(std::move(value));
      }
      return out;
    }
    case YAML::NodeType::Map:
      return MapToJson(node, depth);
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return Json(nullptr);
}

}  // namespace

StatusOr<std::string> YamlToJson(std::string_view yaml) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return LineError(e.mark, e.msg);
  }
  if (documents.empty()) return std::string("null");
  if (documents.size() > 1) {
    return LineError(documents[1].Mark(), "multiple documents are not supported");
  }
  ASSIGN_OR_RETURN(Json root, NodeToJson(documents[0], 0));
  return root.dump();
}

}  // namespace crioctl
