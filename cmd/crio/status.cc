#include "status.h"

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "http/client.h"

namespace crio::cmd {
namespace {

// GET `target` from the daemon; a non-200 answer is an error carrying the daemon's message.
StatusOr<std::string> Get(const StatusCommand& command, const std::string& target) {
  ASSIGN_OR_RETURN(http::Reply reply, http::GetOverUnixSocket(command.socket, target));
  if (reply.code == 200) return reply.body;
  std::string message = reply.body;
  while (!message.empty() && message.back() == '\n') message.pop_back();
  if (reply.code == 404) return NotFound(message);
  return Internal(absl::StrCat("GET ", target, ": HTTP ", reply.code, ": ", message));
}

StatusOr<nlohmann::json> GetJson(const StatusCommand& command, const std::string& target) {
  ASSIGN_OR_RETURN(std::string body, Get(command, target));
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Internal(absl::StrCat("GET ", target, ": the daemon's answer is not a JSON object"));
  }
  return parsed;
}

std::string Str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// "  key: value" lines of a JSON object of strings, sorted by key.
void PrintStringMap(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_object()) return;
  std::map<std::string, std::string> sorted;
  for (const auto& [k, v] : j[key].items()) sorted[k] = v.is_string() ? v.get<std::string>() : "";
  for (const auto& [k, v] : sorted) std::cout << "  " << k << ": " << v << "\n";
}

void PrintMappings(const nlohmann::json& mappings, const char* key) {
  if (!mappings.contains(key) || !mappings[key].is_array()) return;
  for (const auto& m : mappings[key]) {
    std::cout << "  " << m.value("container_id", 0ULL) << ":" << m.value("host_id", 0ULL) << ":"
              << m.value("size", 0ULL) << "\n";
  }
}

Status PrintInfo(const StatusCommand& command) {
  ASSIGN_OR_RETURN(nlohmann::json info, GetJson(command, "/info"));
  std::cout << "cgroup driver: " << Str(info, "cgroup_driver") << "\n"
            << "storage driver: " << Str(info, "storage_driver") << "\n"
            << "storage graph root: " << Str(info, "storage_root") << "\n"
            << "storage image: " << Str(info, "storage_image") << "\n";
  nlohmann::json mappings = info.value("default_id_mappings", nlohmann::json::object());
  std::cout << "default GID mappings (format <container>:<host>:<size>):\n";
  PrintMappings(mappings, "gids");
  std::cout << "default UID mappings (format <container>:<host>:<size>):\n";
  PrintMappings(mappings, "uids");
  return absl::OkStatus();
}

Status PrintContainer(const StatusCommand& command) {
  if (command.id.empty()) return InvalidArgument("the argument --id cannot be empty");
  ASSIGN_OR_RETURN(nlohmann::json c, GetJson(command, "/containers/" + command.id));
  std::cout << "name: " << Str(c, "name") << "\n"
            << "pid: " << c.value("pid", 0) << "\n"
            << "image: " << Str(c, "image") << "\n"
            << "image ref: " << Str(c, "image_ref") << "\n"
            << "created: " << c.value("created_time", int64_t{0}) << "\n"
            << "labels:\n";
  PrintStringMap(c, "labels");
  std::cout << "annotations:\n";
  PrintStringMap(c, "annotations");
  std::cout << "CRI-O annotations:\n";
  PrintStringMap(c, "crio_annotations");
  std::string ips;
  if (c.contains("ip_addresses") && c["ip_addresses"].is_array()) {
    for (const auto& ip : c["ip_addresses"]) {
      if (!ips.empty()) ips += ", ";
      ips += ip.is_string() ? ip.get<std::string>() : "";
    }
  }
  std::cout << "log path: " << Str(c, "log_path") << "\n"
            << "graph root: " << Str(c, "root") << "\n"
            << "sandbox: " << Str(c, "sandbox") << "\n"
            << "ips: " << ips << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddStatusCommand(CLI::App& app, StatusCommand& command) {
  command.app = app.add_subcommand("status", "Display status information");
  command.app->add_option("--socket,-s", command.socket, "absolute path to the unix socket")
      ->capture_default_str();
  command.app->require_subcommand(1);
  command.config =
      command.app->add_subcommand("config", "Show the configuration of CRI-O as a TOML string.");
  command.config->alias("c");
  command.containers = command.app->add_subcommand(
      "containers", "Display detailed information about the provided container ID.");
  command.containers->alias("container")->alias("cs")->alias("s");
  command.containers->add_option("--id,-i", command.id, "the container ID");
  command.info = command.app->add_subcommand(
      "info", "Retrieve generic information about CRI-O, such as the cgroup and storage driver.");
  command.info->alias("i");
}

Status RunStatusCommand(const StatusCommand& command) {
  if (command.config->parsed()) {
    ASSIGN_OR_RETURN(std::string toml, Get(command, "/config"));
    std::cout << toml;
    return absl::OkStatus();
  }
  if (command.containers->parsed()) return PrintContainer(command);
  return PrintInfo(command);
}

}  // namespace crio::cmd
