#include "network/cni_result.h"

#include "absl/strings/str_cat.h"
#include "network/cni_config.h"

namespace crio::network {

using nlohmann::json;

namespace {

std::string StringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

bool IsV6(const std::string& cidr) { return cidr.find(':') != std::string::npos; }

Status ParseLegacyIp(const json& obj, bool v6, CniResult& out) {
  if (!obj.is_object())
    return InvalidArgument(v6 ? "ip6 is not an object" : "ip4 is not an object");
  CniIp ip;
  ip.address = StringField(obj, "ip");
  if (ip.address.empty()) return InvalidArgument("ip4/ip6 without an \"ip\"");
  ip.gateway = StringField(obj, "gateway");
  ip.v6 = v6;
  out.ips.push_back(std::move(ip));
  if (auto r = obj.find("routes"); r != obj.end() && r->is_array()) {
    for (const auto& route : *r) out.routes.push_back(route);
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<CniResult> ParseResult(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("plugin output is not a JSON object");
  }
  CniResult out;
  out.cni_version = StringField(doc, "cniVersion");
  if (auto d = doc.find("dns"); d != doc.end() && d->is_object()) out.dns = *d;

  if (doc.contains("ip4") || doc.contains("ip6")) {  // 0.1.0 / 0.2.0
    if (doc.contains("ip4")) RETURN_IF_ERROR(ParseLegacyIp(doc["ip4"], false, out));
    if (doc.contains("ip6")) RETURN_IF_ERROR(ParseLegacyIp(doc["ip6"], true, out));
    return out;
  }
  if (auto it = doc.find("interfaces"); it != doc.end()) {
    if (!it->is_array()) return InvalidArgument("\"interfaces\" is not an array");
    for (const auto& i : *it) {
      if (!i.is_object()) return InvalidArgument("an interface is not an object");
      out.interfaces.push_back(
          {StringField(i, "name"), StringField(i, "mac"), StringField(i, "sandbox")});
    }
  }
  if (auto it = doc.find("ips"); it != doc.end()) {
    if (!it->is_array()) return InvalidArgument("\"ips\" is not an array");
    for (const auto& i : *it) {
      if (!i.is_object()) return InvalidArgument("an ips entry is not an object");
      CniIp ip;
      ip.address = StringField(i, "address");
      if (ip.address.empty()) return InvalidArgument("an ips entry has no address");
      ip.gateway = StringField(i, "gateway");
      if (auto idx = i.find("interface"); idx != i.end() && idx->is_number_integer()) {
        int n = idx->get<int>();
        if (n < 0 || n >= static_cast<int>(out.interfaces.size())) {
          return InvalidArgument(
              absl::StrCat("ips entry names interface ", n, " of ", out.interfaces.size()));
        }
        ip.interface = n;
      }
      ip.v6 = IsV6(ip.address);
      out.ips.push_back(std::move(ip));
    }
  }
  if (auto r = doc.find("routes"); r != doc.end() && r->is_array()) out.routes = *r;
  return out;
}

json ResultToJson(const CniResult& result, const std::string& version) {
  auto parsed = ParseCniVersion(version);
  CniVersion v = parsed.ok() ? *parsed : CniVersion{1, 0, 0};
  json out = {{"cniVersion", version}};
  if (v < CniVersion{0, 3, 0}) {
    for (bool v6 : {false, true}) {
      for (const auto& ip : result.ips) {
        if (ip.v6 != v6) continue;
        json entry = {{"ip", ip.address}};
        if (!ip.gateway.empty()) entry["gateway"] = ip.gateway;
        out[v6 ? "ip6" : "ip4"] = entry;
        break;
      }
    }
    if (!result.dns.empty()) out["dns"] = result.dns;
    return out;
  }
  json interfaces = json::array();
  for (const auto& i : result.interfaces) {
    json entry = {{"name", i.name}};
    if (!i.mac.empty()) entry["mac"] = i.mac;
    if (!i.sandbox.empty()) entry["sandbox"] = i.sandbox;
    interfaces.push_back(std::move(entry));
  }
  json ips = json::array();
  for (const auto& ip : result.ips) {
    json entry = {{"address", ip.address}};
    if (!ip.gateway.empty()) entry["gateway"] = ip.gateway;
    if (ip.interface) entry["interface"] = *ip.interface;
    if (v < CniVersion{1, 0, 0}) entry["version"] = ip.v6 ? "6" : "4";  // dropped in 1.0.0
    ips.push_back(std::move(entry));
  }
  if (!interfaces.empty()) out["interfaces"] = std::move(interfaces);
  if (!ips.empty()) out["ips"] = std::move(ips);
  if (!result.routes.empty()) out["routes"] = result.routes;
  if (!result.dns.empty()) out["dns"] = result.dns;
  return out;
}

std::vector<std::string> PodIps(const CniResult& result) {
  std::vector<std::string> v4, v6;
  for (const auto& ip : result.ips) {
    if (ip.interface && result.interfaces[*ip.interface].sandbox.empty()) continue;
    std::string addr = ip.address.substr(0, ip.address.find('/'));
    (ip.v6 ? v6 : v4).push_back(std::move(addr));
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

std::optional<CniError> ParseError(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto code = doc.find("code");
  if (code == doc.end() || !code->is_number_integer()) return std::nullopt;
  CniError err;
  err.code = code->get<int>();
  err.msg = StringField(doc, "msg");
  err.details = StringField(doc, "details");
  return err;
}

}  // namespace crio::network
