#include "services/message/channels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/message/public/channel_key.h"

namespace im::message {

namespace v1 = im::message::v1;

namespace {

v1::Group ToProto(const GroupRow& row) {
  v1::Group group;
  group.set_group_id(row.group_id);
  group.set_name(row.name);
  group.set_extra(row.extra);
  group.set_subscriber_count(row.subscriber_count);
  group.set_created_at(row.created_ms);
  group.set_updated_at(row.updated_ms);
  return group;
}

}  // namespace

absl::StatusOr<std::string> Channels::GroupIdOf(const im::common::v1::Channel& channel) const {
  if (channel.type() != im::common::v1::CHANNEL_TYPE_GROUP) {
    return absl::InvalidArgumentError("only GROUP channels have subscribers to manage");
  }
  if (absl::Status s = ValidateId(channel.id(), "group id"); !s.ok()) return s;
  return channel.id();
}

template <typename Request>
absl::Status Channels::CheckGroupFields(const Request& request) const {
  if (absl::Status s = ValidateId(request.group_id(), "group_id"); !s.ok()) return s;
  if (request.name().size() > options_.max_name_bytes ||
      request.extra().size() > options_.max_extra_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("name is limited to ", options_.max_name_bytes,
                                                   " bytes and extra to ",
                                                   options_.max_extra_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Channels::Uids(
    const google::protobuf::RepeatedPtrField<std::string>& uids) const {
  if (static_cast<size_t>(uids.size()) > options_.max_uids) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", options_.max_uids, " uids per call"));
  }
  for (const std::string& uid : uids) {
    if (absl::Status s = ValidateId(uid, "uid"); !s.ok()) return s;
  }
  return std::vector<std::string>(uids.begin(), uids.end());
}

absl::Status Channels::EnsureConversations(const std::string& group_id,
                                           const std::vector<std::string>& uids,
                                           const char* retry_hint) {
  absl::Status status;
  if (absl::StatusOr<std::vector<PositionRead>> heads =
          messages_->HeadPositions(ChannelKey::Group(group_id)->str(), uids);
      !heads.ok()) {
    status = heads.status();
  } else {
    std::vector<im::conversation::v1::EnsureItem> items(uids.size());
    for (size_t i = 0; i < uids.size(); ++i) {
      items[i].set_uid(uids[i]);
      items[i].mutable_channel()->set_type(im::common::v1::CHANNEL_TYPE_GROUP);
      items[i].mutable_channel()->set_id(group_id);
      items[i].set_read_seq((*heads)[i].read_seq);
      items[i].set_red_dots((*heads)[i].red_dots);
      items[i].set_own_red_dots((*heads)[i].own_red_dots);
    }
    status = conversations_->Ensure(std::move(items));
  }
  if (status.ok()) return status;
  return absl::UnavailableError(absl::StrCat(retry_hint, ", but their conversations could not be ",
                                             "made (", status.message(),
                                             "); call AddSubscribers with them again"));
}

absl::StatusOr<v1::Group> Channels::CreateGroup(const v1::CreateGroupRequest& request) {
  if (absl::Status s = CheckGroupFields(request); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> uids = Uids(request.subscriber_uids());
  if (!uids.ok()) return uids.status();
  absl::StatusOr<GroupRow> row =
      store_->CreateGroup(request.group_id(), request.name(), request.extra(), *uids);
  if (!row.ok()) return row.status();
  if (absl::Status s = EnsureConversations(request.group_id(), *uids, "the group was created");
      !s.ok()) {
    return s;
  }
  return ToProto(*row);
}

absl::StatusOr<v1::Group> Channels::UpdateGroup(const v1::UpdateGroupRequest& request) {
  if (absl::Status s = CheckGroupFields(request); !s.ok()) return s;
  absl::StatusOr<GroupRow> row = store_->UpdateGroup(
      request.group_id(),
      request.has_name() ? std::optional<std::string>(request.name()) : std::nullopt,
      request.has_extra() ? std::optional<std::string>(request.extra()) : std::nullopt);
  if (!row.ok()) return row.status();
  return ToProto(*row);
}

absl::Status Channels::DeleteGroup(const v1::DeleteGroupRequest& request) {
  if (absl::Status s = ValidateId(request.group_id(), "group_id"); !s.ok()) return s;
  return store_->DeleteGroup(request.group_id());
}

absl::StatusOr<uint32_t> Channels::AddSubscribers(const v1::AddSubscribersRequest& request) {
  absl::StatusOr<std::string> group_id = GroupIdOf(request.channel());
  if (!group_id.ok()) return group_id.status();
  absl::StatusOr<std::vector<std::string>> uids = Uids(request.uids());
  if (!uids.ok()) return uids.status();
  absl::StatusOr<uint32_t> added = store_->AddSubscribers(*group_id, *uids);
  if (!added.ok()) return added.status();
  if (absl::Status s = EnsureConversations(*group_id, *uids, "the subscribers were added");
      !s.ok()) {
    return s;
  }
  return added;
}

absl::StatusOr<uint32_t> Channels::RemoveSubscribers(const v1::RemoveSubscribersRequest& request) {
  absl::StatusOr<std::string> group_id = GroupIdOf(request.channel());
  if (!group_id.ok()) return group_id.status();
  absl::StatusOr<std::vector<std::string>> uids = Uids(request.uids());
  if (!uids.ok()) return uids.status();
  return store_->RemoveSubscribers(*group_id, *uids);
}

absl::StatusOr<v1::ListSubscribersResponse> Channels::ListSubscribers(
    const v1::ListSubscribersRequest& request) {
  absl::StatusOr<std::string> group_id = GroupIdOf(request.channel());
  if (!group_id.ok()) return group_id.status();
  // The page token is the last uid of the previous page.
  if (!request.page_token().empty()) {
    if (absl::Status s = ValidateId(request.page_token(), "page_token"); !s.ok()) return s;
  }
  const uint32_t size = request.page_size() == 0
                            ? options_.default_page_size
                            : std::min(request.page_size(), options_.max_page_size);
  absl::StatusOr<std::vector<std::string>> uids =
      store_->ListSubscribers(*group_id, request.page_token(), size + 1);
  if (!uids.ok()) return uids.status();
  v1::ListSubscribersResponse response;
  const bool more = uids->size() > size;
  if (more) uids->pop_back();
  for (std::string& uid : *uids) response.add_uids(std::move(uid));
  if (more) response.set_next_page_token(response.uids(response.uids_size() - 1));
  return response;
}

absl::StatusOr<std::vector<bool>> Channels::CheckSubscribers(
    const v1::CheckSubscribersRequest& request) {
  absl::StatusOr<std::vector<std::string>> uids = Uids(request.uids());
  if (!uids.ok()) return uids.status();
  if (request.channel().type() == im::common::v1::CHANNEL_TYPE_PERSON) {
    if (absl::Status s = ValidateId(request.channel().id(), "channel id"); !s.ok()) return s;
    std::vector<bool> out;
    for (const std::string& uid : *uids) out.push_back(uid != request.channel().id());
    return out;
  }
  absl::StatusOr<std::string> group_id = GroupIdOf(request.channel());
  if (!group_id.ok()) return group_id.status();
  // One probe for the group itself, so an unknown group is NOT_FOUND even with no uids.
  std::vector<std::string> group_ids(uids->size() + 1, *group_id);
  std::vector<std::string> probe = *uids;
  probe.push_back("");
  absl::StatusOr<std::vector<GroupAccess>> access = store_->CheckAccess(group_ids, probe);
  if (!access.ok()) return access.status();
  if (access->back() == GroupAccess::kNoGroup) {
    return absl::NotFoundError(absl::StrCat("group ", *group_id, " does not exist"));
  }
  access->pop_back();
  std::vector<bool> out;
  for (GroupAccess a : *access) out.push_back(a == GroupAccess::kSubscriber);
  return out;
}

}  // namespace im::message
