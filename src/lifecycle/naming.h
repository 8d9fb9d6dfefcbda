#pragma once
// Names, ids, signals and label selectors: the small pure functions the parts of the lifecycle
// and the CRI converters share.
#include "api.pb.h"

#include <map>
#include <string>

namespace crio::lifecycle {

namespace v1 = ::runtime::v1;

// CRI-O's names: k8s_POD_<name>_<ns>_<uid>_<attempt> and k8s_<ctr>_<pod>_<ns>_<uid>_<attempt>.
std::string PodName(const v1::PodSandboxMetadata& m);
std::string ContainerName(const v1::ContainerMetadata& c, const v1::PodSandboxMetadata& p);
// CRI Signal enum value for a signal number (RUNTIME_DEFAULT when unknown).
v1::Signal SignalEnum(int number);
// Signal number from a CRI/OCI name ("SIGINT", "INT", "2", "SIGRTMIN+3", "SIGRTMAX_MINUS_2");
// 0 when unknown.
int SignalNumber(const std::string& name);
// A random 64-hex-digit id.
std::string NewId();
// Whether every selector label is present with the same value.
bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& selector);

}  // namespace crio::lifecycle
