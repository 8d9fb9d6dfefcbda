#include "yaml_lite.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace crioctl {
namespace {

// Keys keep their file order, so the JSON reads like the YAML it came from.
using Json = nlohmann::ordered_json;
using crio::Status;
using crio::StatusOr;

Status LineError(int line, std::string_view what) {
  return crio::InvalidArgument(absl::StrCat("yaml line ", line, ": ", std::string(what)));
}

bool IsBlankChar(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsBlankChar(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlankChar(s.front())) s.remove_prefix(1);
  return TrimRight(s);
}

// A quote opens a quoted scalar only where a scalar may start: at the beginning, after a flow
// indicator, or after whitespace that follows ':', '-' or '?'. Elsewhere ("it's") it is text.
bool QuoteOpensScalar(std::string_view s, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && IsBlankChar(s[j - 1])) --j;
  if (j == 0) return true;
  char prev = s[j - 1];
  if (prev == '[' || prev == '{' || prev == ',') return true;
  return (prev == ':' || prev == '-' || prev == '?') && j < i;
}

// Drops a trailing comment: '#' at the start or after whitespace, outside quoted scalars.
std::string_view StripComment(std::string_view s) {
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote == '"') {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quote = 0;
      }
      continue;
    }
    if (quote == '\'') {
      if (c == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          ++i;
        } else {
          quote = 0;
        }
      }
      continue;
    }
    if (c == '#' && (i == 0 || IsBlankChar(s[i - 1]))) return s.substr(0, i);
    if ((c == '"' || c == '\'') && QuoteOpensScalar(s, i)) quote = c;
  }
  return s;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads a quoted scalar starting at s[*pos] (the quote) and advances *pos past the closing quote.
StatusOr<std::string> ParseQuoted(std::string_view s, std::size_t* pos, int line) {
  const char quote = s[*pos];
  std::string out;
  std::size_t i = *pos + 1;
  while (i < s.size()) {
    char c = s[i];
    if (quote == '\'') {
      if (c == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          out += '\'';
          i += 2;
          continue;
        }
        *pos = i + 1;
        return out;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == '"') {
      *pos = i + 1;
      return out;
    }
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) {
      return LineError(line, "double-quoted scalars spanning lines are not supported");
    }
    char e = s[i + 1];
    i += 2;
    int hex_digits = 0;
    switch (e) {
      case '0':
        out += '\0';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 't':
      case '\t':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'v':
        out += '\v';
        break;
      case 'f':
        out += '\f';
        break;
      case 'r':
        out += '\r';
        break;
      case 'e':
        out += '\x1b';
        break;
      case ' ':
        out += ' ';
        break;
      case '"':
        out += '"';
        break;
      case '/':
        out += '/';
        break;
      case '\\':
        out += '\\';
        break;
      case 'N':
        AppendUtf8(out, 0x85);
        break;
      case '_':
        AppendUtf8(out, 0xA0);
        break;
      case 'L':
        AppendUtf8(out, 0x2028);
        break;
      case 'P':
        AppendUtf8(out, 0x2029);
        break;
      case 'x':
        hex_digits = 2;
        break;
      case 'u':
        hex_digits = 4;
        break;
      case 'U':
        hex_digits = 8;
        break;
      default:
        return LineError(line, absl::StrCat("unknown escape \"\\", std::string(1, e), "\""));
    }
    if (hex_digits > 0) {
      uint32_t cp = 0;
      auto [end, ec] =
          std::from_chars(s.data() + i, s.data() + std::min(s.size(), i + hex_digits), cp, 16);
      if (ec != std::errc() || end != s.data() + i + hex_digits || cp > 0x10FFFF) {
        return LineError(line, "malformed hexadecimal escape in double-quoted scalar");
      }
      AppendUtf8(out, cp);
      i += hex_digits;
    }
  }
  return LineError(line,
                   "unterminated quoted scalar (quoted scalars spanning lines are not "
                   "supported)");
}

bool AllOf(std::string_view s, std::size_t from, bool (*pred)(char)) {
  if (from >= s.size()) return false;
  for (std::size_t i = from; i < s.size(); ++i) {
    if (!pred(s[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctal(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool LooksLikeFloat(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    return AllOf(s, i, IsDigit);
  }
  return i == s.size();
}

// YAML 1.2 core schema resolution of a plain scalar.
Json ResolvePlain(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (AllOf(s, sign, IsDigit)) {
    std::string_view digits = s.substr(s[0] == '+' ? 1 : 0);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc() && end == digits.data() + digits.size()) return v;
    uint64_t u = 0;
    auto [uend, uec] = std::from_chars(digits.data(), digits.data() + digits.size(), u);
    if (uec == std::errc() && uend == digits.data() + digits.size()) return u;
    return std::string(s);  // too large for JSON integers: keep the text
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    bool hex = s[1] == 'x';
    if (AllOf(s, 2, hex ? IsHex : IsOctal)) {
      uint64_t u = 0;
      auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), u, hex ? 16 : 8);
      if (ec == std::errc() && end == s.data() + s.size()) return u;
    }
    return std::string(s);
  }
  if (LooksLikeFloat(s)) {
    double d = 0;
    auto [end, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), d);
    if (ec == std::errc() && end == s.data() + s.size()) return d;
  }
  return std::string(s);
}

// Indicators that start constructs outside the subset.
std::string_view UnsupportedIndicator(char c) {
  switch (c) {
    case '&':
      return "anchors are not supported";
    case '*':
      return "aliases are not supported";
    case '!':
      return "tags are not supported";
    case '%':
      return "directives are not supported";
    case '@':
    case '`':
      return "reserved indicator at the start of a scalar";
    default:
      return {};
  }
}

// One-line flow collection parser ("[a, b]", "{k: v}").
class FlowParser {
 public:
  FlowParser(std::string_view s, int line) : s_(s), line_(line) {}

  StatusOr<Json> ParseAll() {
    auto node = ParseNode();
    if (!node.ok()) return node.status();
    SkipSpaces();
    if (i_ != s_.size()) return LineError(line_, "unexpected text after flow collection");
    return node;
  }

 private:
  void SkipSpaces() {
    while (i_ < s_.size() && IsBlankChar(s_[i_])) ++i_;
  }
  bool AtEnd() const { return i_ >= s_.size(); }
  Status Unterminated() const {
    return LineError(line_,
                     "unterminated flow collection (flow collections spanning lines are "
                     "not supported)");
  }

  // A ':' that separates a key from its value inside a flow collection.
  bool AtValueIndicator() const {
    if (AtEnd() || s_[i_] != ':') return false;
    if (i_ + 1 >= s_.size()) return true;
    char n = s_[i_ + 1];
    return IsBlankChar(n) || n == ',' || n == ']' || n == '}';
  }

  StatusOr<std::string> PlainText() {
    std::size_t start = i_;
    while (!AtEnd()) {
      char c = s_[i_];
      if (c == ',' || c == '[' || c == ']' || c == '{' || c == '}' || AtValueIndicator()) break;
      ++i_;
    }
    return std::string(TrimRight(s_.substr(start, i_ - start)));
  }

  StatusOr<Json> ParseNode() {
    SkipSpaces();
    if (AtEnd()) return Unterminated();
    char c = s_[i_];
    if (c == '[') return ParseSequence();
    if (c == '{') return ParseMapping();
    if (c == '"' || c == '\'') {
      auto text = ParseQuoted(s_, &i_, line_);
      if (!text.ok()) return text.status();
      return Json(*text);
    }
    if (auto why = UnsupportedIndicator(c); !why.empty()) return LineError(line_, why);
    auto text = PlainText();
    if (!text.ok()) return text.status();
    return ResolvePlain(*text);
  }

  StatusOr<Json> ParseSequence() {
    ++i_;  // '['
    Json out = Json::array();
    while (true) {
      SkipSpaces();
      if (AtEnd()) return Unterminated();
      if (s_[i_] == ']') {
        ++i_;
        return out;
      }
      auto item = ParseNode();
      if (!item.ok()) return item.status();
      SkipSpaces();
      if (AtValueIndicator()) {
        return LineError(line_, "single-pair mappings inside flow sequences are not supported");
      }
      out.push_back(*std::move(item));
      SkipSpaces();
      if (AtEnd()) return Unterminated();
      if (s_[i_] == ',') {
        ++i_;
      } else if (s_[i_] != ']') {
        return LineError(line_, "expected ',' or ']' in flow sequence");
      }
    }
  }

  StatusOr<Json> ParseMapping() {
    ++i_;  // '{'
    Json out = Json::object();
    while (true) {
      SkipSpaces();
      if (AtEnd()) return Unterminated();
      if (s_[i_] == '}') {
        ++i_;
        return out;
      }
      std::string key;
      char c = s_[i_];
      if (c == '"' || c == '\'') {
        auto text = ParseQuoted(s_, &i_, line_);
        if (!text.ok()) return text.status();
        key = *std::move(text);
      } else if (c == '[' || c == '{' || c == '?') {
        return LineError(line_, "complex mapping keys are not supported");
      } else if (auto why = UnsupportedIndicator(c); !why.empty()) {
        return LineError(line_, why);
      } else {
        auto text = PlainText();
        if (!text.ok()) return text.status();
        key = *std::move(text);
      }
      if (out.contains(key)) return LineError(line_, absl::StrCat("duplicate key \"", key, "\""));
      SkipSpaces();
      Json value = nullptr;
      if (AtValueIndicator()) {
        ++i_;
        SkipSpaces();
        if (!AtEnd() && s_[i_] != ',' && s_[i_] != '}') {
          auto v = ParseNode();
          if (!v.ok()) return v.status();
          value = *std::move(v);
        }
      }
      out[key] = std::move(value);
      SkipSpaces();
      if (AtEnd()) return Unterminated();
      if (s_[i_] == ',') {
        ++i_;
      } else if (s_[i_] != '}') {
        return LineError(line_, "expected ',' or '}' in flow mapping");
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int line_;
};

struct Line {
  int number = 0;         // 1-based, for messages
  std::string_view raw;   // without the line break
  int indent = 0;         // leading spaces
  std::string_view text;  // after the indentation, without comment and trailing blanks
  bool blank = true;      // nothing but whitespace and/or a comment
};

class Parser {
 public:
  explicit Parser(std::string_view yaml) { Split(yaml); }

  StatusOr<Json> ParseDocument() {
    SkipBlank();
    if (!AtEnd() && Current().text.front() == '%') {
      return LineError(Current().number, "directives are not supported");
    }
    if (!AtEnd() && IsDocumentMarker(Current()) && Current().text.substr(0, 3) == "---") {
      if (Current().text != "---") {
        return LineError(Current().number, "content on the \"---\" line is not supported");
      }
      ++pos_;
    }
    SkipBlank();
    Json root = nullptr;
    if (!AtEnd() && !IsDocumentMarker(Current())) {
      auto node = ParseBlockNode(-1);
      if (!node.ok()) return node.status();
      root = *std::move(node);
    }
    SkipBlank();
    if (!AtEnd() && Current().text == "...") {
      ++pos_;
      SkipBlank();
    }
    if (!AtEnd()) {
      if (IsDocumentMarker(Current())) {
        return LineError(Current().number, "multiple documents are not supported");
      }
      return LineError(Current().number, "unexpected content (inconsistent indentation?)");
    }
    return root;
  }

 private:
  void Split(std::string_view yaml) {
    if (yaml.substr(0, 3) == "\xEF\xBB\xBF") yaml.remove_prefix(3);  // UTF-8 byte order mark
    int number = 0;
    while (!yaml.empty()) {
      std::size_t nl = yaml.find('\n');
      std::string_view raw = yaml.substr(0, nl);
      yaml = nl == std::string_view::npos ? std::string_view() : yaml.substr(nl + 1);
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      Line line;
      line.number = ++number;
      line.raw = raw;
      while (line.indent < static_cast<int>(raw.size()) && raw[line.indent] == ' ') ++line.indent;
      line.text = TrimRight(StripComment(raw.substr(line.indent)));
      line.blank = Trim(line.text).empty();
      lines_.push_back(line);
    }
  }

  bool AtEnd() const { return pos_ >= lines_.size(); }
  Line& Current() { return lines_[pos_]; }

  void SkipBlank() {
    while (!AtEnd() && Current().blank) ++pos_;
  }

  static bool IsDocumentMarker(const Line& line) {
    return line.indent == 0 && (line.text == "..." || line.text.substr(0, 3) == "---") &&
           (line.text.size() == 3 || IsBlankChar(line.text[3]));
  }

  static bool IsSequenceItem(std::string_view text) {
    return text == "-" || (text.size() > 1 && text[0] == '-' && IsBlankChar(text[1]));
  }

  // Position of the ':' that ends a block mapping key on this line, or npos.
  static std::size_t FindKeyColon(std::string_view text) {
    if (text.empty() || text[0] == '[' || text[0] == '{') return std::string_view::npos;
    std::size_t i = 0;
    if (text[0] == '"' || text[0] == '\'') {
      auto quoted = ParseQuoted(text, &i, 0);
      if (!quoted.ok()) return std::string_view::npos;
      while (i < text.size() && IsBlankChar(text[i])) ++i;
      if (i < text.size() && text[i] == ':' && (i + 1 == text.size() || IsBlankChar(text[i + 1]))) {
        return i;
      }
      return std::string_view::npos;
    }
    for (; i < text.size(); ++i) {
      if (text[i] == ':' && (i + 1 == text.size() || IsBlankChar(text[i + 1]))) return i;
    }
    return std::string_view::npos;
  }

  Status CheckStructureLine(const Line& line) {
    if (!line.text.empty() && line.text.front() == '\t') {
      return LineError(line.number, "tabs are not allowed in indentation");
    }
    return absl::OkStatus();
  }

  // The node whose first line is the next content line, indented deeper than `parent_indent`;
  // null when there is none.
  StatusOr<Json> ParseBlockNode(int parent_indent) {
    SkipBlank();
    if (AtEnd() || Current().indent <= parent_indent || IsDocumentMarker(Current())) {
      return Json(nullptr);
    }
    Line& line = Current();
    RETURN_IF_ERROR(CheckStructureLine(line));
    if (line.text.front() == '?' && (line.text.size() == 1 || IsBlankChar(line.text[1]))) {
      return LineError(line.number, "complex mapping keys are not supported");
    }
    if (IsSequenceItem(line.text)) return ParseSequence(line.indent);
    if (FindKeyColon(line.text) != std::string_view::npos) return ParseMapping(line.indent);
    if (line.text.front() == '|' || line.text.front() == '>') {
      return LineError(line.number, "a block scalar must follow a key or \"- \"");
    }
    // A lone scalar, e.g. the value of "key:" written on the next line.
    const int number = line.number;
    auto value = ParseInlineValue(line.text, number);
    if (!value.ok()) return value.status();
    ++pos_;
    SkipBlank();
    if (!AtEnd() && Current().indent > parent_indent && !IsDocumentMarker(Current())) {
      return LineError(Current().number, "plain scalars spanning lines are not supported");
    }
    return value;
  }

  StatusOr<Json> ParseSequence(int indent) {
    Json out = Json::array();
    while (true) {
      SkipBlank();
      if (AtEnd() || Current().indent < indent || IsDocumentMarker(Current())) break;
      Line& line = Current();
      if (line.indent > indent) {
        return LineError(line.number,
                         "unexpected indentation (scalars spanning lines are not "
                         "supported)");
      }
      RETURN_IF_ERROR(CheckStructureLine(line));
      if (!IsSequenceItem(line.text)) break;
      std::size_t k = 1;
      while (k < line.text.size() && IsBlankChar(line.text[k])) ++k;
      std::string_view rest = line.text.substr(k);
      const int number = line.number;
      Json item = nullptr;
      if (rest.empty()) {
        ++pos_;
        auto node = ParseBlockNode(indent);
        if (!node.ok()) return node.status();
        item = *std::move(node);
      } else if (IsSequenceItem(rest) || FindKeyColon(rest) != std::string_view::npos) {
        // "- key: value" or "- - x": a nested block node that starts on this very line, at
        // the column of `rest`; following lines of that node are indented to that column.
        if (line.text.substr(1, k - 1).find('\t') != std::string_view::npos) {
          return LineError(number, "tabs are not allowed in indentation");
        }
        line.indent = indent + static_cast<int>(k);
        line.text = rest;
        auto node = ParseBlockNode(indent);
        if (!node.ok()) return node.status();
        item = *std::move(node);
      } else if (rest.front() == '|' || rest.front() == '>') {
        auto block = ParseBlockScalar(rest, indent, number);
        if (!block.ok()) return block.status();
        item = *std::move(block);
      } else {
        auto value = ParseInlineValue(rest, number);
        if (!value.ok()) return value.status();
        item = *std::move(value);
        ++pos_;
      }
      out.push_back(std::move(item));
    }
    return out;
  }

  StatusOr<Json> ParseMapping(int indent) {
    Json out = Json::object();
    while (true) {
      SkipBlank();
      if (AtEnd() || Current().indent < indent || IsDocumentMarker(Current())) break;
      Line& line = Current();
      const int number = line.number;
      if (line.indent > indent) {
        return LineError(number,
                         "unexpected indentation (scalars spanning lines are not "
                         "supported)");
      }
      RETURN_IF_ERROR(CheckStructureLine(line));
      if (IsSequenceItem(line.text)) {
        return LineError(number, "sequence item where a mapping key was expected");
      }
      if (line.text.front() == '?' && (line.text.size() == 1 || IsBlankChar(line.text[1]))) {
        return LineError(number, "complex mapping keys are not supported");
      }
      std::size_t colon = FindKeyColon(line.text);
      if (colon == std::string_view::npos) {
        return LineError(number, "expected \"key: value\"");
      }
      auto key = ParseKey(Trim(line.text.substr(0, colon)), number);
      if (!key.ok()) return key.status();
      if (out.contains(*key)) {
        return LineError(number, absl::StrCat("duplicate key \"", *key, "\""));
      }
      std::string_view rest = Trim(line.text.substr(colon + 1));
      Json value = nullptr;
      if (rest.empty()) {
        ++pos_;
        SkipBlank();
        if (!AtEnd() && Current().indent == indent && IsSequenceItem(Current().text)) {
          // YAML lets a sequence value sit at its key's indentation.
          auto seq = ParseSequence(indent);
          if (!seq.ok()) return seq.status();
          value = *std::move(seq);
        } else {
          auto node = ParseBlockNode(indent);
          if (!node.ok()) return node.status();
          value = *std::move(node);
        }
      } else if (rest.front() == '|' || rest.front() == '>') {
        auto block = ParseBlockScalar(rest, indent, number);
        if (!block.ok()) return block.status();
        value = *std::move(block);
      } else {
        auto inline_value = ParseInlineValue(rest, number);
        if (!inline_value.ok()) return inline_value.status();
        value = *std::move(inline_value);
        ++pos_;
      }
      out[*key] = std::move(value);
    }
    return out;
  }

  // A block mapping key: JSON keys are strings, so plain keys keep their text ("1" stays "1").
  static StatusOr<std::string> ParseKey(std::string_view text, int line) {
    if (text.empty()) return std::string();
    if (text[0] == '"' || text[0] == '\'') {
      std::size_t i = 0;
      return ParseQuoted(text, &i, line);
    }
    if (auto why = UnsupportedIndicator(text[0]); !why.empty()) return LineError(line, why);
    return std::string(text);
  }

  // A value written on the key's (or "- "'s) line.
  static StatusOr<Json> ParseInlineValue(std::string_view text, int line) {
    char c = text.front();
    if (c == '"' || c == '\'') {
      std::size_t i = 0;
      auto quoted = ParseQuoted(text, &i, line);
      if (!quoted.ok()) return quoted.status();
      if (!Trim(text.substr(i)).empty()) {
        return LineError(line, "unexpected text after quoted scalar");
      }
      return Json(*std::move(quoted));
    }
    if (c == '[' || c == '{') return FlowParser(text, line).ParseAll();
    if (auto why = UnsupportedIndicator(c); !why.empty()) return LineError(line, why);
    if (IsSequenceItem(text)) {
      return LineError(line, "a sequence cannot start on the line of a key");
    }
    if (FindKeyColon(text) != std::string_view::npos) {
      return LineError(line, "a mapping cannot start on the line of another key");
    }
    return ResolvePlain(text);
  }

  // Literal (|) or folded (>) block scalar; `header` is the indicator text, the content is on
  // the following lines, indented deeper than `parent_indent`.
  StatusOr<Json> ParseBlockScalar(std::string_view header, int parent_indent, int line) {
    const bool folded = header.front() == '>';
    char chomp = 'c';  // clip
    std::string_view mods = Trim(header.substr(1));
    if (mods == "-") {
      chomp = 's';
    } else if (mods == "+") {
      chomp = 'k';
    } else if (!mods.empty()) {
      return LineError(line, absl::StrCat("unsupported block scalar header \"", std::string(header),
                                          "\" (indentation indicators are not supported)"));
    }
    ++pos_;
    // The first non-empty line fixes the content indentation.
    int content_indent = -1;
    for (std::size_t i = pos_; i < lines_.size(); ++i) {
      if (!Trim(lines_[i].raw).empty()) {
        content_indent = lines_[i].indent;
        break;
      }
    }
    std::vector<std::string_view> body;
    if (content_indent > parent_indent) {
      while (!AtEnd()) {
        const Line& l = Current();
        if (Trim(l.raw).empty()) {
          body.push_back(l.indent > content_indent ? l.raw.substr(content_indent)
                                                   : std::string_view());
        } else if (l.indent >= content_indent) {
          body.push_back(l.raw.substr(content_indent));
        } else {
          break;
        }
        ++pos_;
      }
    }
    std::size_t trailing_empty = 0;
    while (!body.empty() && Trim(body.back()).empty()) {
      body.pop_back();
      ++trailing_empty;
    }
    std::string text = folded ? Fold(body) : Join(body);
    if (!body.empty() && chomp != 's') text += '\n';
    if (chomp == 'k') text.append(trailing_empty, '\n');
    return Json(std::move(text));
  }

  static std::string Join(const std::vector<std::string_view>& body) {
    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (i > 0) out += '\n';
      out += body[i];
    }
    return out;
  }

  // Folding: adjacent lines join with a space, empty lines become line breaks, and lines that
  // are indented further than the block keep their breaks.
  static std::string Fold(const std::vector<std::string_view>& body) {
    std::string out;
    bool any = false;
    bool prev_normal = false;
    std::size_t empties = 0;
    for (std::string_view l : body) {
      if (Trim(l).empty()) {
        ++empties;
        continue;
      }
      const bool more_indented = IsBlankChar(l.front());
      if (!any) {
        out.append(empties, '\n');
      } else if (prev_normal && !more_indented) {
        if (empties == 0) {
          out += ' ';
        } else {
          out.append(empties, '\n');
        }
      } else {
        out.append(empties + 1, '\n');
      }
      out += l;
      prev_normal = !more_indented;
      empties = 0;
      any = true;
    }
    return out;
  }

  std::vector<Line> lines_;
  std::size_t pos_ = 0;
};

}  // namespace

StatusOr<std::string> YamlToJson(std::string_view yaml) {
  Parser parser(yaml);
  auto root = parser.ParseDocument();
  if (!root.ok()) return root.status();
  return root->dump();
}

}  // namespace crioctl
