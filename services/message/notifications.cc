#include "services/message/notifications.h"

#include "absl/strings/str_cat.h"
#include "services/message/public/channel_key.h"

namespace im::message {

absl::StatusOr<std::vector<FanoutItem>> ToFanoutItems(const im::message::v1::NotifyRequest& request,
                                                      size_t max_uids) {
  std::vector<FanoutItem> out;
  out.reserve(request.items_size());
  for (int i = 0; i < request.items_size(); ++i) {
    const im::message::v1::NotifyItem& item = request.items(i);
    const auto invalid = [i](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("items[", i, "]: ", why));
    };
    FanoutItem fanout;
    switch (item.body_case()) {
      case im::message::v1::NotifyItem::kExtensionChanged:
        *fanout.item.mutable_extension_changed() = item.extension_changed();
        break;
      case im::message::v1::NotifyItem::kSeqUpdate:
        *fanout.item.mutable_seq_update() = item.seq_update();
        break;
      default:
        return invalid("no body");
    }
    if (item.has_exclude_device()) *fanout.item.mutable_exclude_device() = item.exclude_device();
    if (static_cast<size_t>(item.uids_size()) > max_uids) {
      return invalid(absl::StrCat("more than ", max_uids, " uids"));
    }
    for (const std::string& uid : item.uids()) {
      if (absl::Status s = ValidateId(uid, "uid"); !s.ok()) return invalid(s.message());
    }
    absl::StatusOr<ChannelKey> key = ChannelKey::For(item.exclude_device().uid(), item.channel());
    if (!item.uids().empty()) {
      fanout.explicit_uids = true;
      fanout.uids.assign(item.uids().begin(), item.uids().end());
      // The key only picks the lane (order with the channel's messages); any stable value works.
      fanout.channel_key = key.ok() ? key->str() : item.uids(0);
    } else {
      if (!key.ok()) return invalid(key.status().message());
      fanout.channel_key = key->str();
    }
    out.push_back(std::move(fanout));
  }
  return out;
}

}  // namespace im::message
