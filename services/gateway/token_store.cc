#include "services/gateway/token_store.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "im/common/v1/common.pb.h"

namespace im::gateway {
namespace {

std::string TokenKey(const std::string& uid, int device_flag) {
  return absl::StrCat("gw:tok:{", uid, "}:", device_flag);
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::Status TokenStore::Set(const std::string& uid, int device_flag, std::string_view token,
                             absl::Duration ttl) {
  RedisCommand command = {"SET", TokenKey(uid, device_flag), Sha256Hex(token)};
  if (ttl > absl::ZeroDuration()) {
    command.push_back("PX");
    command.push_back(absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl))));
  }
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline({command});
  if (!replies.ok()) return replies.status();
  if (replies->front().is_error()) return RedisErrorStatus(replies->front());
  return absl::OkStatus();
}

absl::Status TokenStore::Check(const std::string& uid, int device_flag, std::string_view token) {
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_.Pipeline({{"GET", TokenKey(uid, device_flag)}});
  if (!replies.ok()) return replies.status();
  const RedisReply& reply = replies->front();
  if (reply.is_error()) return RedisErrorStatus(reply);
  if (reply.type != RedisReply::Type::kString) {
    return absl::UnauthenticatedError("no token registered for this uid and device flag");
  }
  const std::string presented = Sha256Hex(token);
  if (reply.str.size() != presented.size() ||
      CRYPTO_memcmp(reply.str.data(), presented.data(), presented.size()) != 0) {
    return absl::UnauthenticatedError("wrong token");
  }
  return absl::OkStatus();
}

absl::Status TokenStore::Revoke(const std::string& uid, int device_flag) {
  RedisCommand command = {"DEL"};
  if (device_flag != 0) {
    command.push_back(TokenKey(uid, device_flag));
  } else {
    for (int flag = 1; flag <= im::common::v1::DeviceFlag_MAX; ++flag) {
      command.push_back(TokenKey(uid, flag));
    }
  }
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline({command});
  if (!replies.ok()) return replies.status();
  if (replies->front().is_error()) return RedisErrorStatus(replies->front());
  return absl::OkStatus();
}

}  // namespace im::gateway
