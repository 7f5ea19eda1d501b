#include "services/gateway/jwt.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/reason_codes.h"
#include "common/string_view.h"

namespace im::gateway {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// Debian's Abseil has its own string_view type, distinct from std::string_view.

absl::Status Rejected(std::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid JWT: ", AbslView(why)));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &out_len);
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

absl::StatusOr<Struct> DecodeJsonPart(std::string_view part, std::string_view what) {
  std::string json;
  if (!absl::WebSafeBase64Unescape(AbslView(part), &json)) {
    return Rejected(absl::StrCat(AbslView(what), " is not base64url"));
  }
  Struct object;
  if (!google::protobuf::util::JsonStringToMessage(json, &object).ok()) {
    return Rejected(absl::StrCat(AbslView(what), " is not a JSON object"));
  }
  return object;
}

// A NumericDate claim: whole seconds (fractions are allowed by RFC 7519 and truncated).
absl::StatusOr<std::optional<int64_t>> NumericClaim(const Struct& claims, const std::string& name) {
  auto it = claims.fields().find(name);
  if (it == claims.fields().end()) return std::optional<int64_t>();
  if (it->second.kind_case() != Value::kNumberValue || !std::isfinite(it->second.number_value())) {
    return Rejected(absl::StrCat(name, " is not a number"));
  }
  return std::optional<int64_t>(static_cast<int64_t>(it->second.number_value()));
}

}  // namespace

bool LooksLikeJwt(std::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(token), '.');
  return parts.size() == 3 && !parts[0].empty() && !parts[1].empty() && !parts[2].empty();
}

absl::StatusOr<JwtClaims> VerifyHs256Jwt(std::string_view token, std::string_view secret,
                                         absl::Time now) {
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(token), '.');
  if (parts.size() != 3) return Rejected("not three dot-separated parts");
  absl::StatusOr<Struct> header = DecodeJsonPart({parts[0].data(), parts[0].size()}, "header");
  if (!header.ok()) return header.status();
  auto alg = header->fields().find("alg");
  // Checked before the signature so that "none" and asymmetric algorithms are never considered.
  if (alg == header->fields().end() || alg->second.string_value() != "HS256") {
    return Rejected("alg must be HS256");
  }
  std::string signature;
  if (!absl::WebSafeBase64Unescape(parts[2], &signature)) {
    return Rejected("signature is not base64url");
  }
  const size_t signed_len = parts[0].size() + 1 + parts[1].size();
  const std::string expected = HmacSha256(secret, std::string_view(token.data(), signed_len));
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return Rejected("bad signature");
  }
  absl::StatusOr<Struct> claims = DecodeJsonPart({parts[1].data(), parts[1].size()}, "payload");
  if (!claims.ok()) return claims.status();

  JwtClaims out;
  auto sub = claims->fields().find("sub");
  if (sub == claims->fields().end() || sub->second.kind_case() != Value::kStringValue ||
      sub->second.string_value().empty()) {
    return Rejected("sub missing");
  }
  out.sub = sub->second.string_value();
  absl::StatusOr<std::optional<int64_t>> flag = NumericClaim(*claims, "device_flag");
  if (!flag.ok()) return flag.status();
  out.device_flag = static_cast<int>(flag->value_or(0));
  absl::StatusOr<std::optional<int64_t>> nbf = NumericClaim(*claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && absl::ToUnixSeconds(now) < **nbf) return Rejected("not valid yet");
  absl::StatusOr<std::optional<int64_t>> exp = NumericClaim(*claims, "exp");
  if (!exp.ok()) return exp.status();
  out.exp = *exp;
  if (out.exp.has_value() && absl::ToUnixSeconds(now) >= *out.exp) {
    return WithReason(absl::UnauthenticatedError("token expired"),
                      im::common::v1::REASON_CODE_TOKEN_EXPIRED);
  }
  return out;
}

std::string SignHs256Jwt(std::string_view claims_json, std::string_view secret) {
  const std::string signing_input =
      absl::StrCat(absl::WebSafeBase64Escape(R"({"alg":"HS256","typ":"JWT"})"), ".",
                   absl::WebSafeBase64Escape(AbslView(claims_json)));
  return absl::StrCat(signing_input, ".",
                      absl::WebSafeBase64Escape(HmacSha256(secret, signing_input)));
}

}  // namespace im::gateway
