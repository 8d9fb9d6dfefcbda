#pragma once
// YAML config files for crioctl: crictl accepts pod and container configs in YAML as well as
// JSON. The YAML is read with yaml-cpp and handed on as JSON, which the protobuf parser takes.

#include <string>
#include <string_view>

#include "util/status.h"

namespace crioctl {

// Converts one YAML document to compact JSON text, mapping keys in file order. An empty
// document gives "null". Plain scalars are typed by YAML 1.2's core schema (null, true/false,
// decimal, 0x and 0o integers, floats; integers beyond 64 bits stay text); quoted and block
// scalars and "!!str" stay strings, so `version: "2"` is a string and `version: 2` a number.
// Errors: InvalidArgument "yaml line N: <what>" for malformed YAML, several documents,
// duplicate or complex (collection) keys, and recursive aliases.
crio::StatusOr<std::string> YamlToJson(std::string_view yaml);

}  // namespace crioctl
