// Loading crio.conf: TOML text onto a Config through the option table (ApplyToml), and the main
// file plus its drop-in directory merged in order (LoadFiles).

#include "config/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <sstream>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "config/options.h"

namespace crio::config::config_internal {

StatusOr<toml::table> ParseToml(std::string_view text, std::string_view file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(absl::StrCat(std::string(file), ":", e.source().begin.line, ":",
                                        e.source().begin.column,
                                        ": parse error: ", std::string(e.description())));
  }
}

namespace {

// ---------------------------------------------------------------------------------------------
// Reading TOML values.
// ---------------------------------------------------------------------------------------------

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

Status TypeMismatch(std::string_view expected, const toml::node& node) {
  return InvalidArgument(
      absl::StrCat("expected ", std::string(expected), ", got ", std::string(TypeName(node))));
}

// "got an array containing an integer": the first element of the wrong type.
Status ElementMismatch(std::string_view expected, std::string_view container,
                       const toml::node& element) {
  return InvalidArgument(absl::StrCat("expected ", std::string(expected), ", got ",
                                      std::string(container), " containing ",
                                      std::string(TypeName(element))));
}

Status ReadStringList(const toml::node& node, std::vector<std::string>& out) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    return TypeMismatch("an array of strings", node);
  }
  std::vector<std::string> values;
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) {
      return ElementMismatch("an array of strings", "an array", element);
    }
    values.push_back(text->get());
  }
  out = std::move(values);
  return absl::OkStatus();
}

Status ReadStringMap(const toml::node& node, std::vector<std::string>& out) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return TypeMismatch("a table of strings", node);
  }
  std::vector<std::string> entries;
  for (auto&& [key, value] : *table) {
    const auto* text = value.as_string();
    if (text == nullptr) {
      return ElementMismatch("a table of strings", "a table", value);
    }
    entries.push_back(absl::StrCat(std::string(key.str()), "=", text->get()));
  }
  out = std::move(entries);  // toml::table iterates in key order
  return absl::OkStatus();
}

// Stores `node` into `field`; on a type mismatch the message is what follows "KEY: ".
Status ReadValue(const toml::node& node, Kind kind, const FieldRef& field) {
  switch (kind) {
    case Kind::kString: {
      const auto* value = node.as_string();
      if (value == nullptr) {
        return TypeMismatch("a string", node);
      }
      Get<std::string>(field) = value->get();
      return absl::OkStatus();
    }
    case Kind::kBool: {
      const auto* value = node.as_boolean();
      if (value == nullptr) {
        return TypeMismatch("a boolean", node);
      }
      Get<bool>(field) = value->get();
      return absl::OkStatus();
    }
    case Kind::kInt64: {
      const auto* value = node.as_integer();
      if (value == nullptr) {
        return TypeMismatch("an integer", node);
      }
      Get<int64_t>(field) = value->get();
      return absl::OkStatus();
    }
    case Kind::kStringList:
      return ReadStringList(node, Get<std::vector<std::string>>(field));
    case Kind::kStringMap:
      return ReadStringMap(node, Get<std::vector<std::string>>(field));
  }
  return absl::OkStatus();
}

struct ApplyContext {
  std::string_view file;
  Config& config;
  std::vector<Warning>& warnings;
};

int LineOf(const toml::key& key, const toml::node& node) {
  uint32_t line = key.source().begin.line;
  return static_cast<int>(line != 0 ? line : node.source().begin.line);
}

// "FILE:LINE: KEY: message"
Status AtLocation(const Status& status, std::string_view file, int line, std::string_view key) {
  return Annotate(status, absl::StrCat(std::string(file), ":", line, ": ", std::string(key)));
}

void WarnUnknown(ApplyContext& ctx, int line, std::string_view key) {
  ctx.warnings.push_back(
      Warning{std::string(ctx.file), line, absl::StrCat("unknown option ", std::string(key))});
}

template <typename Owner>
Status ApplyOption(const OptionT<Owner>& option, const toml::node& node, std::string_view key,
                   int line, ApplyContext& ctx, Owner& owner) {
  FieldRef field = option.field(owner);
  Status status = ReadValue(node, option.kind, field);
  if (status.ok()) {
    status = CheckValue(option, field);
  }
  return status.ok() ? status : AtLocation(status, ctx.file, line, key);
}

// A handler table sets only the fields it names, so drop-ins can override single fields of a
// handler defined earlier (CRI-O decodes each file onto the existing handler the same way).
Status ApplyHandler(const std::string& name, const toml::node& node, int line, ApplyContext& ctx) {
  std::string path = absl::StrCat(std::string(kRuntimesTable), ".", name);
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return AtLocation(TypeMismatch("a table", node), ctx.file, line, path);
  }
  RuntimeHandler& handler = ctx.config.runtime.runtimes[name];
  for (auto&& [key, value] : *table) {
    std::string full = absl::StrCat(path, ".", std::string(key.str()));
    const HandlerOption* option = FindHandlerOption(key.str());
    if (option == nullptr) {
      WarnUnknown(ctx, LineOf(key, value), full);
      continue;
    }
    RETURN_IF_ERROR(ApplyOption(*option, value, full, LineOf(key, value), ctx, handler));
  }
  return absl::OkStatus();
}

// Workloads are not interpreted yet; the table is kept verbatim (re-serialised) and a later file
// defining the same workload replaces it as a whole.
Status ApplyWorkload(const std::string& name, const toml::node& node, int line, ApplyContext& ctx) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return AtLocation(TypeMismatch("a table", node), ctx.file, line,
                      absl::StrCat(std::string(kWorkloadsTable), ".", name));
  }
  std::ostringstream text;
  text << *table;
  ctx.config.runtime.workloads[name] = text.str();
  return absl::OkStatus();
}

Status ApplyTable(const toml::table& table, const std::string& path, ApplyContext& ctx) {
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    std::string full = path.empty() ? name : absl::StrCat(path, ".", name);
    int line = LineOf(key, node);
    if (path == kRuntimesTable) {
      RETURN_IF_ERROR(ApplyHandler(name, node, line, ctx));
    } else if (path == kWorkloadsTable) {
      RETURN_IF_ERROR(ApplyWorkload(name, node, line, ctx));
    } else if (const Option* option = FindOption(path, name); option != nullptr) {
      RETURN_IF_ERROR(ApplyOption(*option, node, full, line, ctx, ctx.config));
    } else if (IsKnownTable(full)) {
      const toml::table* sub = node.as_table();
      if (sub == nullptr) {
        return AtLocation(TypeMismatch("a table", node), ctx.file, line, full);
      }
      RETURN_IF_ERROR(ApplyTable(*sub, full, ctx));
    } else {
      WarnUnknown(ctx, line, full);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Files.
// ---------------------------------------------------------------------------------------------

StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("open ", path));
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  std::string data;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, absl::StrCat("read ", path));
    }
    if (n == 0) {
      return data;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
}

Status ApplyFile(const std::string& path, Config& config, std::vector<Warning>& warnings) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ApplyToml(text, path, config, warnings);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Regular files (or links to them) named *.conf directly in `dir`, sorted; none if `dir` is
// missing.
StatusOr<std::vector<std::string>> DropInFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) {
    return files;
  }
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (EndsWith(name, ".conf") && it->is_regular_file(type_ec)) {
      files.push_back(it->path().string());
    }
  }
  if (ec) {
    return ErrnoError(ec.value(), absl::StrCat("read drop-in directory ", dir));
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace
}  // namespace crio::config::config_internal

namespace crio::config {

Status ApplyToml(std::string_view toml_text, std::string_view file_name, Config& config,
                 std::vector<Warning>& warnings) {
  ASSIGN_OR_RETURN(toml::table root, config_internal::ParseToml(toml_text, file_name));
  Config scratch = config;
  std::vector<Warning> found;
  config_internal::ApplyContext ctx{file_name, scratch, found};
  RETURN_IF_ERROR(config_internal::ApplyTable(root, "", ctx));
  config = std::move(scratch);
  warnings.insert(warnings.end(), found.begin(), found.end());
  return absl::OkStatus();
}

Status LoadFiles(const std::string& main_file, const std::string& drop_in_dir, Config& config,
                 std::vector<Warning>& warnings) {
  Config scratch = config;
  std::vector<Warning> found;
  if (!main_file.empty()) {
    struct stat st;
    if (stat(main_file.c_str(), &st) == 0) {
      RETURN_IF_ERROR(config_internal::ApplyFile(main_file, scratch, found));
    } else if (errno != ENOENT) {
      return ErrnoError(errno, absl::StrCat("stat ", main_file));
    }
  }
  if (!drop_in_dir.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> files, config_internal::DropInFiles(drop_in_dir));
    for (const std::string& file : files) {
      RETURN_IF_ERROR(config_internal::ApplyFile(file, scratch, found));
    }
  }
  ResolveHandlers(scratch);
  config = std::move(scratch);
  warnings.insert(warnings.end(), found.begin(), found.end());
  return absl::OkStatus();
}

}  // namespace crio::config
