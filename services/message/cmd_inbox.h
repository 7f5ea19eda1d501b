// CmdService's logic (seed 004): a device reads its uid's cmd inbox from its own cursor and acks
// up to a cmd_seq; one device reading or acking never hides a cmd from another.
//
// "Known devices" are the devices that ever synced or acked (and were seen within the retention):
// an entry is trimmed once every known device of its uid acked it, or when it is older than the
// retention. A device is protected from trimming only from its first Sync or Ack on; a brand-new
// device starts at cursor 0 and gets every entry still kept. Trimmed or acked entries never come
// back to a device.
//
//   CmdInbox inbox(&cmd_store, {.retention = absl::Hours(168)});
//   absl::StatusOr<CmdSyncResponse> page = inbox.Sync(request);
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/message/v1/message.pb.h"
#include "services/message/cmd_store.h"

namespace im::message {

class CmdInbox {
 public:
  struct Options {
    uint32_t default_limit = 100;
    uint32_t max_limit = 1000;
    // Largest page (payload bytes), well under gRPC's default 4 MiB receive limit.
    size_t max_page_bytes = 2 << 20;
    // How long an entry is kept unacked (its expires_at is the cmd's time plus this).
    absl::Duration retention = absl::Hours(7 * 24);
  };

  CmdInbox(CmdStore* store, Options options) : store_(store), options_(options) {}

  // Registers the device (or marks it seen) and returns its entries with cmd_seq above both
  // `after` and its acked position, ascending, each message as the uid sees its channel (as the
  // CMD push shows it). limit 0 = default_limit; larger than max_limit is capped. A page stops
  // before passing max_page_bytes of payload (at least one entry); has_more says more follow.
  // INVALID_ARGUMENT for an empty or bad uid or device_id, or a negative `after`.
  absl::StatusOr<im::message::v1::CmdSyncResponse> Sync(
      const im::message::v1::CmdSyncRequest& request);

  // Moves the device's acked position forward to up_to (a lower up_to changes nothing) and trims
  // what every known device acked. INVALID_ARGUMENT for a bad uid or device_id, a negative up_to,
  // or an up_to above the uid's last cmd_seq.
  absl::Status Ack(const im::message::v1::CmdAckRequest& request);

 private:
  CmdStore* store_;
  const Options options_;
};

}  // namespace im::message
