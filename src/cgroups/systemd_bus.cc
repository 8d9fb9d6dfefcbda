#include "cgroups/systemd_bus.h"

#include <systemd/sd-bus.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace crio::cgroups {
namespace {

constexpr char kDestination[] = "org.freedesktop.systemd1";
constexpr char kManagerPath[] = "/org/freedesktop/systemd1";
constexpr char kManagerInterface[] = "org.freedesktop.systemd1.Manager";
constexpr char kUnitInterface[] = "org.freedesktop.systemd1.Unit";
constexpr uint64_t kCallTimeoutUsec = 25 * 1000 * 1000;  // systemd's own default for clients

// RAII for the sd-bus objects and the error struct.
struct BusUnref {
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

class BusError {
 public:
  ~BusError() { sd_bus_error_free(&error_); }
  sd_bus_error* get() { return &error_; }
  bool Has(const char* name) const { return sd_bus_error_has_name(&error_, name); }
  std::string Text() const {
    return error_.message != nullptr ? error_.message : (error_.name ? error_.name : "");
  }

 private:
  sd_bus_error error_ = SD_BUS_ERROR_NULL;
};

Status CallError(std::string_view what, int r, const BusError& error) {
  std::string text = error.Text();
  if (text.empty()) text = std::strerror(-r);
  std::string message = absl::StrCat("systemd ", std::string(what), ": ", text);
  if (error.Has("org.freedesktop.systemd1.UnitExists")) return AlreadyExists(message);
  if (error.Has("org.freedesktop.systemd1.NoSuchUnit")) return NotFound(message);
  if (error.Has(SD_BUS_ERROR_INVALID_ARGS) ||
      error.Has("org.freedesktop.DBus.Error.PropertyReadOnly")) {
    return InvalidArgument(message);
  }
  if (r == -ENOTCONN || r == -ECONNRESET || r == -ENOENT || r == -ECONNREFUSED) {
    return Unavailable(message);
  }
  return Internal(message);
}

// Appends one "(sv)" entry.
int AppendProperty(sd_bus_message* m, const UnitProperty& property) {
  int r = sd_bus_message_open_container(m, 'r', "sv");
  if (r < 0) return r;
  r = sd_bus_message_append(m, "s", property.name.c_str());
  if (r < 0) return r;
  struct Appender {
    sd_bus_message* m;
    int operator()(bool v) const { return sd_bus_message_append(m, "v", "b", v ? 1 : 0); }
    int operator()(int32_t v) const { return sd_bus_message_append(m, "v", "i", v); }
    int operator()(uint64_t v) const { return sd_bus_message_append(m, "v", "t", v); }
    int operator()(const std::string& v) const {
      return sd_bus_message_append(m, "v", "s", v.c_str());
    }
    int operator()(const std::vector<std::string>& v) const {
      int r = sd_bus_message_open_container(m, 'v', "as");
      if (r < 0) return r;
      r = sd_bus_message_open_container(m, 'a', "s");
      for (size_t i = 0; r >= 0 && i < v.size(); ++i)
        r = sd_bus_message_append(m, "s", v[i].c_str());
      if (r >= 0) r = sd_bus_message_close_container(m);
      if (r >= 0) r = sd_bus_message_close_container(m);
      return r;
    }
    int operator()(const std::vector<uint32_t>& v) const {
      int r = sd_bus_message_open_container(m, 'v', "au");
      if (r >= 0) r = sd_bus_message_append_array(m, 'u', v.data(), v.size() * sizeof(uint32_t));
      if (r >= 0) r = sd_bus_message_close_container(m);
      return r;
    }
    int operator()(const std::vector<uint8_t>& v) const {
      int r = sd_bus_message_open_container(m, 'v', "ay");
      if (r >= 0) r = sd_bus_message_append_array(m, 'y', v.data(), v.size());
      if (r >= 0) r = sd_bus_message_close_container(m);
      return r;
    }
  };
  r = std::visit(Appender{m}, property.value);
  if (r < 0) return r;
  return sd_bus_message_close_container(m);
}

int AppendProperties(sd_bus_message* m, const UnitProperties& properties) {
  int r = sd_bus_message_open_container(m, 'a', "(sv)");
  for (size_t i = 0; r >= 0 && i < properties.size(); ++i) r = AppendProperty(m, properties[i]);
  if (r >= 0) r = sd_bus_message_close_container(m);
  return r;
}

class SdBus final : public SystemdBus {
 public:
  explicit SdBus(BusPtr bus) : bus_(std::move(bus)) {}

  Status StartTransientUnit(const std::string& name, const UnitProperties& properties) override {
    return Call("StartTransientUnit " + name, "StartTransientUnit", [&](sd_bus_message* m) {
      int r = sd_bus_message_append(m, "ss", name.c_str(), "fail");
      if (r >= 0) r = AppendProperties(m, properties);
      if (r >= 0) r = sd_bus_message_append(m, "a(sa(sv))", 0);
      return r;
    });
  }

  Status StopUnit(const std::string& name) override {
    return Call("StopUnit " + name, "StopUnit", [&](sd_bus_message* m) {
      return sd_bus_message_append(m, "ss", name.c_str(), "replace");
    });
  }

  Status SetUnitProperties(const std::string& name, const UnitProperties& properties) override {
    return Call("SetUnitProperties " + name, "SetUnitProperties", [&](sd_bus_message* m) {
      int r = sd_bus_message_append(m, "sb", name.c_str(), 1);
      if (r >= 0) r = AppendProperties(m, properties);
      return r;
    });
  }

  StatusOr<size_t> UnitProcessCount(const std::string& name) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(ReconnectIfClosed());
    BusError error;
    sd_bus_message* raw_reply = nullptr;
    int r = sd_bus_call_method(bus_.get(), kDestination, kManagerPath, kManagerInterface,
                               "GetUnitProcesses", error.get(), &raw_reply, "s", name.c_str());
    MessagePtr reply(raw_reply);
    if (r < 0) return CallError("GetUnitProcesses " + name, r, error);
    r = sd_bus_message_enter_container(reply.get(), 'a', "(sus)");
    size_t count = 0;
    while (r >= 0 && (r = sd_bus_message_skip(reply.get(), "(sus)")) > 0) ++count;
    if (r < 0) return ErrnoError(-r, "systemd GetUnitProcesses: read reply");
    return count;
  }

  StatusOr<std::optional<std::string>> UnitDescription(const std::string& name) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(ReconnectIfClosed());
    BusError error;
    sd_bus_message* raw_reply = nullptr;
    int r = sd_bus_call_method(bus_.get(), kDestination, kManagerPath, kManagerInterface, "GetUnit",
                               error.get(), &raw_reply, "s", name.c_str());
    MessagePtr reply(raw_reply);
    if (r < 0) {
      Status s = CallError("GetUnit " + name, r, error);
      if (absl::IsNotFound(s)) return std::optional<std::string>();
      return s;
    }
    const char* path = nullptr;
    r = sd_bus_message_read(reply.get(), "o", &path);
    if (r < 0) return ErrnoError(-r, "systemd GetUnit: read reply");
    BusError get_error;
    char* description = nullptr;
    r = sd_bus_get_property_string(bus_.get(), kDestination, path, kUnitInterface, "Description",
                                   get_error.get(), &description);
    if (r < 0) return CallError("Description of " + name, r, get_error);
    std::string out(description);
    free(description);
    return std::optional<std::string>(std::move(out));
  }

 private:
  template <typename Fill>
  Status Call(const std::string& what, const char* method, Fill fill) {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(ReconnectIfClosed());
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_.get(), &raw, kDestination, kManagerPath,
                                           kManagerInterface, method);
    MessagePtr m(raw);
    if (r >= 0) r = fill(m.get());
    if (r < 0) return ErrnoError(-r, absl::StrCat("systemd ", what, ": build message"));
    BusError error;
    sd_bus_message* raw_reply = nullptr;
    r = sd_bus_call(bus_.get(), m.get(), kCallTimeoutUsec, error.get(), &raw_reply);
    MessagePtr reply(raw_reply);
    if (r < 0) return CallError(what, r, error);
    return absl::OkStatus();
  }

  // dbus may have been restarted since the last call; the connection is then closed for good.
  Status ReconnectIfClosed() {
    if (bus_ && sd_bus_is_open(bus_.get()) > 0) return absl::OkStatus();
    sd_bus* raw = nullptr;
    int r = sd_bus_open_system(&raw);
    if (r < 0) return ErrnoError(-r, "connect to the system bus");
    bus_.reset(raw);
    return absl::OkStatus();
  }

  std::mutex mu_;
  BusPtr bus_;
};

}  // namespace

StatusOr<SystemdBusPtr> ConnectSystemBus() {
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  if (r < 0) {
    return Status(absl::StatusCode::kUnavailable,
                  absl::StrCat("connect to the system bus: ", std::strerror(-r)));
  }
  BusPtr bus(raw);
  // sd_bus_open_system connects lazily; a call proves systemd answers on it.
  BusError error;
  sd_bus_message* reply = nullptr;
  r = sd_bus_call_method(bus.get(), kDestination, kManagerPath, "org.freedesktop.DBus.Peer", "Ping",
                         error.get(), &reply, "");
  sd_bus_message_unref(reply);
  if (r < 0)
    return Unavailable(absl::StrCat("systemd on the system bus: ",
                                    error.Text().empty() ? std::strerror(-r) : error.Text()));
  return SystemdBusPtr(std::make_unique<SdBus>(std::move(bus)));
}

}  // namespace crio::cgroups
