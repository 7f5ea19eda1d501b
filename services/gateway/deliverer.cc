#include "services/gateway/deliverer.h"

#include <array>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "services/message/public/channel_key.h"

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

// The frame `recipient` gets for a message item in FULL mode.
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

// The SEQ_UPDATE `recipient` gets for a stored message in SEQ_ONLY mode.
Frame SeqUpdateFrame(const im::common::v1::Message& message, const Recipient& recipient) {
  Frame frame;
  im::conversation::v1::SeqUpdate* update = frame.mutable_seq_update();
  *update->mutable_channel() =
      ChannelAsSeenBy(message.channel(), message.from_uid(), recipient.uid());
  update->set_max_seq(message.message_seq());
  update->set_last_message_time(message.timestamp());
  return frame;
}

// The frame of an item that is not a message, the same for every recipient.
Frame PassThroughFrame(const DeliverItem& item) {
  Frame frame;
  switch (item.body_case()) {
    case DeliverItem::kExtensionChanged:
      *frame.mutable_extension_changed() = item.extension_changed();
      break;
    case DeliverItem::kSeqUpdate:
      *frame.mutable_seq_update() = item.seq_update();
      break;
    case DeliverItem::kMessage:
    case DeliverItem::BODY_NOT_SET:
      break;
  }
  return frame;
}

// What one connection gets for an item, by its mode.
enum class Form {
  kFull,     // RECV / CMD, or the item's own frame when it is not a message.
  kSeqOnly,  // SEQ_UPDATE for a stored message.
  kNothing,  // A no_persist message for a SEQ_ONLY connection.
};

Form FormFor(const DeliverItem& item, bool seq_only) {
  if (!seq_only || item.body_case() != DeliverItem::kMessage) return Form::kFull;
  const im::common::v1::Message& message = item.message();
  if (message.flags().sync_once()) return Form::kFull;
  return message.message_seq() > 0 ? Form::kSeqOnly : Form::kNothing;
}

// The frames of one item in one form: built and encoded at most once for the whole item when all
// recipients see the same frame, otherwise once per recipient.
class ItemFrames {
 public:
  using Build = Frame (*)(const im::common::v1::Message&, const Recipient&);

  ItemFrames(const DeliverItem& item, bool per_recipient, Build build)
      : item_(item), per_recipient_(per_recipient), build_(build) {}

  // The frame for `recipient`; recipients come one after another, never interleaved.
  PresentedFrame& For(const Recipient& recipient) {
    if (!frame_.has_value() || (per_recipient_ && recipient_ != &recipient)) {
      recipient_ = &recipient;
      frame_.emplace(item_.body_case() == DeliverItem::kMessage ? build_(item_.message(), recipient)
                                                                : PassThroughFrame(item_));
    }
    return *frame_;
  }

 private:
  const DeliverItem& item_;
  const bool per_recipient_;
  const Build build_;
  const Recipient* recipient_ = nullptr;
  std::optional<PresentedFrame> frame_;
};

bool IsPerson(const DeliverItem& item) {
  return item.message().channel().type() == im::common::v1::CHANNEL_TYPE_PERSON;
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
    const bool is_message = item.body_case() == DeliverItem::kMessage;
    // A cmd carries each recipient's cmd_seq; a PERSON channel looks different from each side.
    ItemFrames full(item, is_message && (item.message().flags().sync_once() || IsPerson(item)),
                    MessageFrame);
    ItemFrames seq_only(item, is_message && IsPerson(item), SeqUpdateFrame);
    const im::common::v1::DeviceRef& exclude = item.exclude_device();

    for (const Recipient& recipient : item.recipients()) {
      bool had = false;
      for (std::shared_ptr<Connection>& conn : hub_->Find(recipient.uid())) {
        const ConnectionInfo& info = conn->info();
        if (info.uid == exclude.uid() && info.device_id == exclude.device_id()) continue;
        PresentedFrame* frame = nullptr;
        switch (FormFor(item, conn->seq_only())) {
          case Form::kFull:
            frame = &full.For(recipient);
            break;
          case Form::kSeqOnly:
            frame = &seq_only.For(recipient);
            break;
          case Form::kNothing:
            continue;
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
