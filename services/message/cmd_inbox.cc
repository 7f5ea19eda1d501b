#include "services/message/cmd_inbox.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "services/message/message_view.h"
#include "services/message/public/channel_key.h"

namespace im::message {
namespace {

namespace v1 = im::message::v1;

absl::Status ValidateDevice(const std::string& uid, const std::string& device_id) {
  if (absl::Status s = ValidateId(uid, "uid"); !s.ok()) return s;
  return ValidateId(device_id, "device_id");
}

}  // namespace

absl::StatusOr<v1::CmdSyncResponse> CmdInbox::Sync(const v1::CmdSyncRequest& request) {
  if (absl::Status s = ValidateDevice(request.uid(), request.device_id()); !s.ok()) return s;
  if (request.after() < 0) return absl::InvalidArgumentError("after must not be negative");
  const uint32_t limit =
      request.limit() == 0 ? options_.default_limit : std::min(request.limit(), options_.max_limit);
  absl::StatusOr<CmdPage> page =
      store_->Read(request.uid(), request.device_id(), request.after(), limit,
                   options_.max_page_bytes, absl::ToUnixMillis(absl::Now()));
  if (!page.ok()) return page.status();
  v1::CmdSyncResponse response;
  const int64_t retention_ms = absl::ToInt64Milliseconds(options_.retention);
  for (const CmdInboxEntry& entry : page->entries) {
    v1::CmdEntry* out = response.add_entries();
    out->set_cmd_seq(entry.cmd_seq);
    *out->mutable_message() = CmdToMessage(entry.cmd, request.uid());
    out->set_expires_at(entry.cmd.created_ms + retention_ms);
  }
  response.set_has_more(page->has_more);
  return response;
}

absl::Status CmdInbox::Ack(const v1::CmdAckRequest& request) {
  if (absl::Status s = ValidateDevice(request.uid(), request.device_id()); !s.ok()) return s;
  if (request.up_to() < 0) return absl::InvalidArgumentError("up_to must not be negative");
  return store_->Ack(request.uid(), request.device_id(), request.up_to(),
                     absl::ToUnixMillis(absl::Now()));
}

}  // namespace im::message
