#include "image/digest.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"

namespace crio::image {
namespace {

const EVP_MD* Algorithm(std::string_view name) {
  if (name == "sha256") return EVP_sha256();
  if (name == "sha384") return EVP_sha384();
  if (name == "sha512") return EVP_sha512();
  return nullptr;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Status ValidateDigest(std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(absl::StrCat("invalid digest \"", std::string(digest),
                                        "\": missing \"algorithm:\" prefix"));
  }
  std::string_view algorithm = digest.substr(0, colon);
  std::string_view hex = digest.substr(colon + 1);
  const EVP_MD* md = Algorithm(algorithm);
  if (md == nullptr) {
    return InvalidArgument(absl::StrCat("invalid digest \"", std::string(digest),
                                        "\": unsupported algorithm \"", std::string(algorithm),
                                        "\""));
  }
  size_t want = static_cast<size_t>(EVP_MD_get_size(md)) * 2;
  if (hex.size() != want || !IsLowerHex(hex)) {
    return InvalidArgument(absl::StrCat("invalid digest \"", std::string(digest),
                                        "\": ", std::string(algorithm), " needs ", want,
                                        " lowercase hex characters"));
  }
  return absl::OkStatus();
}

struct DigestHasher::State {
  std::string algorithm;
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

DigestHasher::DigestHasher(std::unique_ptr<State> state) : state_(std::move(state)) {}
DigestHasher::DigestHasher(DigestHasher&&) noexcept = default;
DigestHasher& DigestHasher::operator=(DigestHasher&&) noexcept = default;
DigestHasher::~DigestHasher() = default;

StatusOr<DigestHasher> DigestHasher::Create(std::string_view algorithm) {
  const EVP_MD* md = Algorithm(algorithm);
  if (md == nullptr) {
    return InvalidArgument(
        absl::StrCat("unsupported digest algorithm \"", std::string(algorithm), "\""));
  }
  auto state = std::make_unique<State>();
  state->algorithm = std::string(algorithm);
  state->ctx = EVP_MD_CTX_new();
  CRIO_CHECK(state->ctx != nullptr, "EVP_MD_CTX_new failed (out of memory)");
  CRIO_CHECK(EVP_DigestInit_ex(state->ctx, md, nullptr) == 1, "EVP_DigestInit_ex failed");
  return DigestHasher(std::move(state));
}

StatusOr<DigestHasher> DigestHasher::ForDigest(std::string_view digest) {
  RETURN_IF_ERROR(ValidateDigest(digest));
  return Create(digest.substr(0, digest.find(':')));
}

void DigestHasher::Update(const void* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(state_->ctx, data, size);
}

std::string DigestHasher::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = state_->algorithm + ":";
  out.reserve(out.size() + len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

std::string Sha256Digest(std::string_view data) {
  StatusOr<DigestHasher> hasher = DigestHasher::Create("sha256");
  CRIO_CHECK(hasher.ok(), "sha256 must be available");
  hasher->Update(data);
  return hasher->Finish();
}

StatusOr<std::string> DigestLike(std::string_view like, std::string_view data) {
  ASSIGN_OR_RETURN(DigestHasher hasher, DigestHasher::ForDigest(like));
  hasher.Update(data);
  return hasher.Finish();
}

}  // namespace crio::image
