#pragma once
// Container Device Interface (CDI, cncf-tags/container-device-interface SPEC.md): devices named
// "<vendor>/<class>=<name>" (e.g. "vendor.com/gpu=0"), described by spec files in `cdi_spec_dirs`
// ([crio.runtime], default /etc/cdi then /var/run/cdi):
//
//   {"cdiVersion": "0.6.0", "kind": "vendor.com/gpu",
//    "devices": [{"name": "0", "containerEdits": {...}}],
//    "containerEdits": {...}}
//
// containerEdits: env ["K=V"], deviceNodes [{path, hostPath, type, major, minor, fileMode,
// permissions, uid, gid}], mounts [{hostPath, containerPath, type, options}], hooks [{hookName,
// path, args, env, timeout}], additionalGids [N].
//
// Spec files are `*.json` (YAML files are skipped with a warning: no YAML parser in our
// dependency set). A device in a later directory replaces the same-named device of an earlier
// one; within one directory the first file (by name) wins and the clash is warned about.
// Invalid files are skipped with a warning naming the file and the reason.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::container {

// Annotation prefix whose values list CDI devices, comma separated (CRI-O, k8s device plugins).
inline constexpr char kCdiAnnotationPrefix[] = "cdi.k8s.io/";

struct CdiDevice {
  std::string qualified_name;   // "vendor.com/class=name"
  std::string spec_file;        // where it came from
  nlohmann::json spec_edits;    // the spec-level containerEdits (object, may be empty)
  nlohmann::json device_edits;  // the device's containerEdits
};

// Qualified device name -> device.
struct CdiRegistry {
  std::map<std::string, CdiDevice> devices;
};

// Whether `name` is "<vendor>/<class>=<device>" with a valid vendor (DNS-like, letters/digits,
// '-', '_', '.'), class (letters/digits, '-', '_') and device name (letters/digits, '-', '_',
// '.', ':').
bool IsQualifiedDeviceName(const std::string& name);

// Parses one spec file's text into `out` (devices keyed by qualified name).
// Errors: InvalidArgument naming the reason: malformed JSON, missing cdiVersion, kind not
// "<vendor>/<class>", no devices, a device without a valid name, malformed containerEdits.
Status ParseCdiSpec(const std::string& file, const std::string& text,
                    std::map<std::string, CdiDevice>* out);

// Reads every spec file in `dirs`. Never fails: bad files are logged and skipped.
CdiRegistry LoadCdiSpecs(const std::vector<std::string>& dirs);

// The devices a container asks for: `cdi_devices` in order, then the names listed in
// `cdi.k8s.io/*` annotations, without duplicates.
std::vector<std::string> RequestedCdiDevices(const std::vector<std::string>& cdi_devices,
                                             const std::map<std::string, std::string>& annotations);

// Applies the containerEdits of `names` to `spec`: for each device its spec's edits (once per
// spec file) then the device's own. env replaces same-named variables; device nodes replace
// same-path devices, get type/major/minor from the host node when missing and an allow rule in
// linux.resources.devices; mounts replace same-destination mounts; hooks are appended to their
// stage; additionalGids extend process.user.additionalGids.
// Errors: InvalidArgument "unresolvable CDI device <name>" for a name not in `registry` (or not
// qualified); InvalidArgument for a device node whose host path cannot be stat()ed or is not a
// device.
Status ApplyCdiDevices(nlohmann::json& spec, const CdiRegistry& registry,
                       const std::vector<std::string>& names);

}  // namespace crio::container
