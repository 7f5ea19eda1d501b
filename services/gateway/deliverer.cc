#include "services/gateway/deliverer.h"

#include <array>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/channel_key.h"

namespace im::gateway {
namespace {

using im::client::v1::Frame;
using im::gateway::v1::DeliverItem;
using im::gateway::v1::Recipient;

// The frame one recipient gets for `item`, lazily encoded per encoding.
class PresentedFrame {
 public:
  explicit PresentedFrame(Frame frame) : frame_(std::move(frame)) {}

  const OutFrame& In(Encoding encoding) {
    OutFrame& out = encoded_[encoding == Encoding::kBinary ? 0 : 1];
    if (out.data == nullptr) out = MakeOutFrame(frame_, encoding);
    return out;
  }

 private:
  Frame frame_;
  std::array<OutFrame, 2> encoded_;
};

// The frame `recipient` gets for a message item.
Frame MessageFrame(const im::common::v1::Message& message, const Recipient& recipient) {
  Frame frame;
  im::common::v1::Message* presented;
  if (message.flags().sync_once()) {
    im::message::v1::CmdEntry* cmd = frame.mutable_cmd();
    cmd->set_cmd_seq(recipient.cmd_seq());
    presented = cmd->mutable_message();
  } else {
    presented = frame.mutable_recv()->mutable_message();
  }
  *presented = message;
  *presented->mutable_channel() =
      ChannelAsSeenBy(message.channel(), message.from_uid(), recipient.uid());
  return frame;
}

// Whether every recipient of `item` sees the same frame, so it is built and encoded once.
bool SameForAll(const DeliverItem& item) {
  if (item.body_case() != DeliverItem::kMessage) return true;
  const im::common::v1::Message& message = item.message();
  return !message.flags().sync_once() &&
         message.channel().type() != im::common::v1::CHANNEL_TYPE_PERSON;
}

Frame SharedFrame(const DeliverItem& item) {
  Frame frame;
  switch (item.body_case()) {
    case DeliverItem::kMessage:
      *frame.mutable_recv()->mutable_message() = item.message();
      break;
    case DeliverItem::kExtensionChanged:
      *frame.mutable_extension_changed() = item.extension_changed();
      break;
    case DeliverItem::kSeqUpdate:
      *frame.mutable_seq_update() = item.seq_update();
      break;
    case DeliverItem::BODY_NOT_SET:
      break;
  }
  return frame;
}

}  // namespace

void Deliverer::Deliver(const im::gateway::v1::DeliverRequest& request,
                        im::gateway::v1::DeliverResponse* response) {
  // Frames per connection, in request order; connections in first-seen order.
  std::unordered_map<Connection*, size_t> slot;
  std::vector<std::pair<std::shared_ptr<Connection>, std::vector<OutFrame>>> outbox;
  size_t pushes = 0;

  for (const DeliverItem& item : request.items()) {
    im::gateway::v1::DeliverResult* result = response->add_results();
    if (item.body_case() == DeliverItem::BODY_NOT_SET) continue;
    const bool same_for_all = SameForAll(item);
    std::optional<PresentedFrame> shared;
    if (same_for_all) shared.emplace(SharedFrame(item));
    const im::common::v1::DeviceRef& exclude = item.exclude_device();

    for (const Recipient& recipient : item.recipients()) {
      std::optional<PresentedFrame> own;
      bool had = false;
      for (std::shared_ptr<Connection>& conn : hub_->Find(recipient.uid())) {
        const ConnectionInfo& info = conn->info();
        if (info.uid == exclude.uid() && info.device_id == exclude.device_id()) continue;
        PresentedFrame* frame = same_for_all ? &*shared : nullptr;
        if (!same_for_all) {
          if (!own.has_value()) own.emplace(MessageFrame(item.message(), recipient));
          frame = &*own;
        }
        auto [it, inserted] = slot.emplace(conn.get(), outbox.size());
        if (inserted) outbox.emplace_back(std::move(conn), std::vector<OutFrame>());
        outbox[it->second].second.push_back(frame->In(info.encoding));
        had = true;
        ++pushes;
      }
      if (had) result->add_online_uids(recipient.uid());
    }
  }
  for (auto& [conn, frames] : outbox) conn->Push(std::move(frames));
  metrics_->pushes->Increment(static_cast<double>(pushes));
}

}  // namespace im::gateway
