#include "image/www_authenticate.h"

#include <cctype>

namespace crio::image {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  size_t pos() const { return pos_; }
  void Reset(size_t pos) { pos_ = pos; }
  void Advance() { ++pos_; }

  void SkipSpaces() {
    while (!AtEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  void SkipSpacesAndCommas() {
    while (!AtEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == ',')) ++pos_;
  }

  // RFC 7230 tchar run.
  std::string Token() {
    size_t start = pos_;
    while (!AtEnd() && IsTokenChar(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  // Unquoted value: lenient, up to the next ',' or blank (registries may put ':' in it).
  std::string Bare() {
    size_t start = pos_;
    while (!AtEnd() && s_[pos_] != ',' && s_[pos_] != ' ' && s_[pos_] != '\t') ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  // Quoted string with backslash escapes; the opening quote is current.
  std::string Quoted() {
    std::string out;
    ++pos_;
    while (!AtEnd() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    if (!AtEnd()) ++pos_;  // closing quote
    return out;
  }

 private:
  static bool IsTokenChar(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    switch (c) {
      case '!':
      case '#':
      case '$':
      case '%':
      case '&':
      case '\'':
      case '*':
      case '+':
      case '-':
      case '.':
      case '^':
      case '_':
      case '`':
      case '|':
      case '~':
      case '/':
        return true;
      default:
        return false;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads "name = value" at the current position. Returns false (position restored) when the
// text there is not a parameter, i.e. it starts the next challenge.
bool ReadParam(Scanner& sc, AuthChallenge& challenge) {
  size_t start = sc.pos();
  std::string name = sc.Token();
  sc.SkipSpaces();
  if (name.empty() || sc.Peek() != '=') {
    sc.Reset(start);
    return false;
  }
  sc.Advance();
  sc.SkipSpaces();
  std::string value = sc.Peek() == '"' ? sc.Quoted() : sc.Bare();
  challenge.params[Lower(name)] = value;
  return true;
}

}  // namespace

std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  Scanner sc(header);
  while (true) {
    sc.SkipSpacesAndCommas();
    if (sc.AtEnd()) break;
    std::string scheme = sc.Token();
    if (scheme.empty()) {
      sc.Advance();  // stray character: resynchronise on the next token
      continue;
    }
    AuthChallenge challenge;
    challenge.scheme = Lower(scheme);
    sc.SkipSpaces();
    while (!sc.AtEnd()) {
      // Not "name=value": the next challenge starts here (token68 forms are not used by
      // registries and end up ignored).
      if (!ReadParam(sc, challenge)) break;
      sc.SkipSpaces();
      if (sc.Peek() != ',') break;
      size_t comma = sc.pos();
      sc.SkipSpacesAndCommas();
      size_t next = sc.pos();
      AuthChallenge probe;
      if (!ReadParam(sc, probe)) {
        sc.Reset(comma);
        break;
      }
      sc.Reset(next);
    }
    out.push_back(std::move(challenge));
  }
  return out;
}

}  // namespace crio::image
