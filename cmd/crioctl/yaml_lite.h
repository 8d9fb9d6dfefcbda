#pragma once
// A deliberately small YAML reader for crioctl's pod and container config files (crictl accepts
// YAML as well as JSON; no YAML library is in our dependency set).
//
// Supported, which covers crictl's example configs and hand-written variants of them:
//   - one document, optionally opened by "---" and closed by "...";
//   - block mappings ("key: value", "key:" followed by a nested block);
//   - block sequences ("- item"), of scalars, of mappings ("- name: x\n  value: y") and of
//     sequences; a sequence may sit at its parent key's indentation;
//   - plain, 'single-quoted' and "double-quoted" scalars on one line;
//   - literal (|, |-, |+) and folded (>, >-, >+) block scalars;
//   - flow collections written on one line ("{}", "[]", "[a, 'b', 1]", "{k: v}");
//   - comments ("# ..." at a line start or after whitespace).
// Plain scalars are resolved as in YAML 1.2's core schema: null/~/empty, true/false, decimal
// and 0x/0o integers, floats; everything else is a string.
//
// Refused with an error naming the line: anchors and aliases, tags, directives, complex ("?")
// keys, multi-line flow collections and quoted or plain scalars spanning lines, tabs used for
// indentation, several documents, duplicate keys and inconsistent indentation.

#include <string>
#include <string_view>

#include "util/status.h"

namespace crioctl {

// Converts a YAML document to compact JSON text. An empty document gives "null".
// Errors: InvalidArgument "yaml line N: <what>" for anything outside the subset above.
crio::StatusOr<std::string> YamlToJson(std::string_view yaml);

}  // namespace crioctl
