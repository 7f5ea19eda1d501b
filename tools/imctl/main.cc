// imctl: try the suite by hand with scripts/run.sh running. Connects to a gateway over WebSocket as
// a user (listen, send, sync) or calls the business-server gRPC APIs (tokens, groups, system
// sends), so a chat can be played end to end without grpcurl. `imctl --help` lists everything.
//
//   imctl set-token --uid alice --token ta
//   imctl --uid alice --token ta listen &
//   imctl --uid bob --token tb send --to alice "hi alice"
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tools/client/im_client.h"

namespace {

namespace common = im::common::v1;
namespace gw = im::gateway::v1;
namespace msg = im::message::v1;
using im::client::Frame;
using im::client::ImClient;

constexpr char kUsage[] = R"(usage: imctl [options] COMMAND [ARGS]

As a user, over the gateway's WebSocket (needs --uid and --token):
  listen                                  print every push until the server closes (Ctrl-C stops)
  send (--to UID | --group GID) TEXT      send a message; prints the SENDACK
  sync (--to UID | --group GID)           print a channel's messages [--from SEQ] [--limit N]

As a business server, over gRPC:
  set-token --uid UID --token TOKEN       register a token [--device-flag F] [--ttl SECONDS]
  online UID...                           connected devices of users
  kick UID                                disconnect a user's devices [--reason TEXT]
  create-group GID [UID...]               create a group with its first members
  add-members GID UID...                  add members to a group
  remove-members GID UID...               remove members from a group
  api-send --from UID (--to UID | --group GID) TEXT
                                          send as any uid (e.g. "system"), members or not
                                          [--no-persist] [--sync-once]

Options (also --opt=value; _ and - are the same):
  --ws HOST:PORT            gateway WebSocket            (127.0.0.1:8080)
  --grpc-gateway HOST:PORT  gateway gRPC (UserService)   (127.0.0.1:7002)
  --grpc-message HOST:PORT  message gRPC                 (127.0.0.1:7003)
  --uid UID --token TOKEN   who connects
  --device ID               device id                    (imctl)
  --device-flag FLAG        app, web or desktop          (app)
  --json                    speak JSON text frames instead of binary protobuf
  --client-msg-no ID        idempotency key of a send    (random)
  --timeout SECONDS         per request                  (10)
)";

const std::set<std::string> kValueOptions = {
    "ws",    "grpc-gateway", "grpc-message", "uid", "token",         "device", "device-flag", "to",
    "group", "from",         "limit",        "ttl", "client-msg-no", "reason", "timeout"};
const std::set<std::string> kBoolOptions = {"json", "no-persist", "sync-once", "help"};

struct Args {
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;

  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  bool Has(const std::string& name) const { return options.count(name) > 0; }
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "imctl: %s\n", message.c_str());
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      args.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    std::replace(name.begin(), name.end(), '_', '-');
    if (kBoolOptions.count(name) > 0) {
      args.options[name] = has_value ? value : "true";
    } else if (kValueOptions.count(name) > 0) {
      if (!has_value) {
        if (i + 1 >= argc) Fail(absl::StrCat("--", name, " needs a value"));
        value = argv[++i];
      }
      args.options[name] = value;
    } else {
      Fail(absl::StrCat("unknown option --", name, " (imctl --help lists them)"));
    }
  }
  return args;
}

absl::Duration Timeout(const Args& args) {
  double seconds = 10;
  if (args.Has("timeout") && !absl::SimpleAtod(args.Get("timeout"), &seconds)) {
    Fail("--timeout must be a number of seconds");
  }
  return absl::Seconds(seconds);
}

int64_t IntOption(const Args& args, const std::string& name, int64_t fallback) {
  int64_t value = fallback;
  if (args.Has(name) && !absl::SimpleAtoi(args.Get(name), &value)) {
    Fail(absl::StrCat("--", name, " must be a number"));
  }
  return value;
}

common::DeviceFlag DeviceFlagOption(const Args& args) {
  const std::string flag = args.Get("device-flag", "app");
  if (flag == "app") return common::DEVICE_FLAG_APP;
  if (flag == "web") return common::DEVICE_FLAG_WEB;
  if (flag == "desktop") return common::DEVICE_FLAG_DESKTOP;
  Fail(absl::StrCat("--device-flag must be app, web or desktop, not ", flag));
}

common::Channel ChannelOption(const Args& args) {
  if (args.Has("to") == args.Has("group")) Fail("name the channel with --to UID or --group GID");
  return args.Has("to") ? im::client::PersonChannel(args.Get("to"))
                        : im::client::GroupChannel(args.Get("group"));
}

std::string Text(const Args& args, size_t index) {
  if (args.positional.size() != index + 1) Fail("give the message text as one argument");
  return args.positional[index];
}

std::string ClientMsgNo(const Args& args) {
  if (args.Has("client-msg-no")) return args.Get("client-msg-no");
  return absl::StrCat("imctl-", absl::ToUnixNanos(absl::Now()), "-", std::random_device{}());
}

std::string Reason(common::ReasonCode reason) {
  std::string name = common::ReasonCode_Name(reason);
  const std::string prefix = "REASON_CODE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::string ChannelText(const common::Channel& channel) {
  return absl::StrCat(channel.type() == common::CHANNEL_TYPE_GROUP ? "group " : "person ",
                      channel.id());
}

std::string MessageText(const common::Message& message) {
  return absl::StrCat("[", ChannelText(message.channel()), "] #", message.message_seq(), " ",
                      message.from_uid(), " ",
                      absl::FormatTime("%H:%M:%E3S", absl::FromUnixMillis(message.timestamp()),
                                       absl::LocalTimeZone()),
                      " (id ", message.message_id(), "): ", message.payload());
}

std::pair<std::string, int> HostPort(const std::string& address) {
  std::vector<std::string> parts = absl::StrSplit(address, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) {
    Fail(absl::StrCat("expected HOST:PORT, got ", address));
  }
  return {parts[0], port};
}

// Connects and authenticates as --uid; exits with a message when either fails.
std::unique_ptr<ImClient> Connect(const Args& args) {
  if (!args.Has("uid") || !args.Has("token")) Fail("this command needs --uid and --token");
  const std::string ws = args.Get("ws", "127.0.0.1:8080");
  auto [host, port] = HostPort(ws);
  auto client = std::make_unique<ImClient>();
  const im::client::Encoding encoding =
      args.Has("json") ? im::client::Encoding::kJson : im::client::Encoding::kBinary;
  if (absl::Status status = client->Connect(host, port, encoding, Timeout(args)); !status.ok()) {
    Fail(absl::StrCat("cannot connect to ", ws, ": ", status.message()));
  }
  absl::StatusOr<im::client::ConnAck> ack =
      client->Handshake(args.Get("uid"), args.Get("token"), args.Get("device", "imctl"),
                        DeviceFlagOption(args), 1, Timeout(args));
  if (!ack.ok()) Fail(absl::StrCat("CONNECT failed: ", ack.status().message()));
  if (ack->reason() != common::REASON_CODE_SUCCESS) {
    Fail(absl::StrCat("CONNECT refused: ", Reason(ack->reason()), " ", ack->message()));
  }
  return client;
}

int Listen(const Args& args) {
  std::unique_ptr<ImClient> client = Connect(args);
  std::printf("connected as %s; waiting (Ctrl-C stops)\n", args.Get("uid").c_str());
  std::fflush(stdout);
  auto last_ping = std::chrono::steady_clock::now();
  while (true) {
    std::optional<Frame> frame = client->NextPush(absl::Seconds(1));
    if (frame.has_value()) {
      if (frame->has_recv()) {
        std::printf("%s\n", MessageText(frame->recv().message()).c_str());
        (void)client->RecvAck(frame->recv().message());
      } else if (frame->has_disconnect()) {
        std::printf("DISCONNECT %s %s\n", Reason(frame->disconnect().reason()).c_str(),
                    frame->disconnect().message().c_str());
      } else {
        std::printf("%s\n", im::client::EncodeFrame(*frame, im::client::Encoding::kJson).c_str());
      }
      std::fflush(stdout);
    }
    if (client->closed()) {
      std::printf("connection closed: %s\n", client->close_reason().c_str());
      return 1;
    }
    // Well inside any idle timeout a gateway would set.
    if (std::chrono::steady_clock::now() - last_ping > std::chrono::seconds(15)) {
      (void)client->Ping(Timeout(args));
      last_ping = std::chrono::steady_clock::now();
    }
  }
}

int SendCommand(const Args& args) {
  const common::Channel channel = ChannelOption(args);
  const std::string text = Text(args, 1);
  std::unique_ptr<ImClient> client = Connect(args);
  absl::StatusOr<im::client::SendAck> ack =
      client->Send(channel, ClientMsgNo(args), text, {}, Timeout(args));
  if (!ack.ok()) Fail(absl::StrCat("SEND failed: ", ack.status().message()));
  if (ack->reason() != common::REASON_CODE_SUCCESS) {
    std::printf("refused: %s %s\n", Reason(ack->reason()).c_str(), ack->message().c_str());
    return 1;
  }
  std::printf("sent to %s: seq %lld, id %llu\n", ChannelText(channel).c_str(),
              static_cast<long long>(ack->message_seq()),
              static_cast<unsigned long long>(ack->message_id()));
  return 0;
}

int SyncCommand(const Args& args) {
  im::client::SyncChannelMessagesRequest request;
  *request.mutable_channel() = ChannelOption(args);
  request.set_start_seq(IntOption(args, "from", 0));
  request.set_limit(static_cast<uint32_t>(IntOption(args, "limit", 100)));
  std::unique_ptr<ImClient> client = Connect(args);
  absl::StatusOr<im::client::SyncChannelMessagesResponse> response =
      client->SyncChannelMessages(request, Timeout(args));
  if (!response.ok()) Fail(absl::StrCat("sync failed: ", response.status().message()));
  if (response->reason() != common::REASON_CODE_SUCCESS) {
    std::printf("refused: %s %s\n", Reason(response->reason()).c_str(),
                response->message().c_str());
    return 1;
  }
  for (const common::Message& message : response->messages()) {
    std::printf("%s\n", MessageText(message).c_str());
  }
  std::printf("covered seqs %lld..%lld%s\n",
              static_cast<long long>(response->covered().start_seq()),
              static_cast<long long>(response->covered().end_seq()),
              response->has_more() ? ", more after (use --from)" : "");
  return 0;
}

// Runs one unary call with the --timeout deadline; exits with the gRPC error when it fails.
template <typename Call>
void Rpc(const Args& args, const char* what, Call call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::ToInt64Milliseconds(Timeout(args))));
  grpc::Status status = call(&context);
  if (!status.ok()) {
    std::fprintf(stderr, "imctl: %s failed: %s: %s\n", what,
                 absl::StrCat(status.error_code()).c_str(), status.error_message().c_str());
    std::exit(1);
  }
}

std::shared_ptr<grpc::Channel> GrpcChannel(const Args& args, const std::string& option,
                                           const std::string& fallback) {
  return grpc::CreateChannel(args.Get(option, fallback), grpc::InsecureChannelCredentials());
}

std::unique_ptr<gw::UserService::Stub> Users(const Args& args) {
  return gw::UserService::NewStub(GrpcChannel(args, "grpc-gateway", "127.0.0.1:7002"));
}

std::unique_ptr<msg::ChannelService::Stub> Channels(const Args& args) {
  return msg::ChannelService::NewStub(GrpcChannel(args, "grpc-message", "127.0.0.1:7003"));
}

int SetToken(const Args& args) {
  if (!args.Has("uid") || !args.Has("token")) Fail("set-token needs --uid and --token");
  gw::SetTokenRequest request;
  request.set_uid(args.Get("uid"));
  request.set_token(args.Get("token"));
  request.set_device_flag(DeviceFlagOption(args));
  request.set_ttl_seconds(static_cast<uint32_t>(IntOption(args, "ttl", 0)));
  gw::SetTokenResponse response;
  Rpc(args, "SetToken",
      [&](grpc::ClientContext* c) { return Users(args)->SetToken(c, request, &response); });
  std::printf("token set for %s (%s)\n", request.uid().c_str(),
              args.Get("device-flag", "app").c_str());
  return 0;
}

int Online(const Args& args) {
  gw::GetOnlineStatusRequest request;
  for (size_t i = 1; i < args.positional.size(); ++i) request.add_uids(args.positional[i]);
  if (request.uids().empty()) Fail("online needs at least one UID");
  gw::GetOnlineStatusResponse response;
  Rpc(args, "GetOnlineStatus",
      [&](grpc::ClientContext* c) { return Users(args)->GetOnlineStatus(c, request, &response); });
  for (const gw::UserOnlineStatus& status : response.statuses()) {
    std::vector<std::string> devices;
    for (const gw::OnlineDevice& device : status.devices()) {
      devices.push_back(absl::StrCat(device.device_id(), " (",
                                     common::DeviceFlag_Name(device.device_flag()), ")"));
    }
    std::printf("%s: %s\n", status.uid().c_str(),
                devices.empty() ? "offline" : absl::StrJoin(devices, ", ").c_str());
  }
  return 0;
}

int Kick(const Args& args) {
  if (args.positional.size() != 2) Fail("kick needs one UID");
  gw::KickRequest request;
  request.set_uid(args.positional[1]);
  request.set_reason(args.Get("reason", "kicked with imctl"));
  gw::KickResponse response;
  Rpc(args, "Kick",
      [&](grpc::ClientContext* c) { return Users(args)->Kick(c, request, &response); });
  std::printf("kicked %u device(s)\n", response.kicked_devices());
  return 0;
}

int CreateGroup(const Args& args) {
  if (args.positional.size() < 2) Fail("create-group needs a GID");
  msg::CreateGroupRequest request;
  request.set_group_id(args.positional[1]);
  for (size_t i = 2; i < args.positional.size(); ++i)
    request.add_subscriber_uids(args.positional[i]);
  msg::Group group;
  Rpc(args, "CreateGroup",
      [&](grpc::ClientContext* c) { return Channels(args)->CreateGroup(c, request, &group); });
  std::printf("group %s created with %u member(s)\n", group.group_id().c_str(),
              group.subscriber_count());
  return 0;
}

int ChangeMembers(const Args& args, bool add) {
  if (args.positional.size() < 3) Fail("needs a GID and at least one UID");
  const common::Channel channel = im::client::GroupChannel(args.positional[1]);
  std::vector<std::string> uids(args.positional.begin() + 2, args.positional.end());
  uint32_t changed = 0;
  if (add) {
    msg::AddSubscribersRequest request;
    *request.mutable_channel() = channel;
    for (const std::string& uid : uids) request.add_uids(uid);
    msg::AddSubscribersResponse response;
    Rpc(args, "AddSubscribers", [&](grpc::ClientContext* c) {
      return Channels(args)->AddSubscribers(c, request, &response);
    });
    changed = response.added();
  } else {
    msg::RemoveSubscribersRequest request;
    *request.mutable_channel() = channel;
    for (const std::string& uid : uids) request.add_uids(uid);
    msg::RemoveSubscribersResponse response;
    Rpc(args, "RemoveSubscribers", [&](grpc::ClientContext* c) {
      return Channels(args)->RemoveSubscribers(c, request, &response);
    });
    changed = response.removed();
  }
  std::printf("%s %u member(s)\n", add ? "added" : "removed", changed);
  return 0;
}

int ApiSend(const Args& args) {
  if (!args.Has("from")) Fail("api-send needs --from UID (e.g. --from system)");
  msg::SendRequest request;
  msg::SendItem* item = request.add_items();
  *item->mutable_channel() = ChannelOption(args);
  item->set_from_uid(args.Get("from"));
  item->set_client_msg_no(ClientMsgNo(args));
  item->set_payload(Text(args, 1));
  item->mutable_flags()->set_no_persist(args.Has("no-persist"));
  item->mutable_flags()->set_sync_once(args.Has("sync-once"));
  item->set_skip_subscriber_check(true);
  msg::SendResponse response;
  Rpc(args, "Send", [&](grpc::ClientContext* c) {
    return msg::MessageService::NewStub(GrpcChannel(args, "grpc-message", "127.0.0.1:7003"))
        ->Send(c, request, &response);
  });
  if (response.results_size() != 1) Fail("Send answered without a result");
  const msg::SendResult& result = response.results(0);
  if (result.reason() != common::REASON_CODE_SUCCESS) {
    std::printf("refused: %s %s\n", Reason(result.reason()).c_str(), result.message().c_str());
    return 1;
  }
  std::printf("sent to %s as %s: seq %lld, id %llu%s\n", ChannelText(item->channel()).c_str(),
              item->from_uid().c_str(), static_cast<long long>(result.message_seq()),
              static_cast<unsigned long long>(result.message_id()),
              result.duplicate() ? " (duplicate)" : "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  if (args.Has("help") || args.positional.empty()) {
    std::fputs(kUsage, args.Has("help") ? stdout : stderr);
    return args.Has("help") ? 0 : 2;
  }
  const std::string& command = args.positional[0];
  if (command == "listen") return Listen(args);
  if (command == "send") return SendCommand(args);
  if (command == "sync") return SyncCommand(args);
  if (command == "set-token") return SetToken(args);
  if (command == "online") return Online(args);
  if (command == "kick") return Kick(args);
  if (command == "create-group") return CreateGroup(args);
  if (command == "add-members") return ChangeMembers(args, true);
  if (command == "remove-members") return ChangeMembers(args, false);
  if (command == "api-send") return ApiSend(args);
  Fail(absl::StrCat("unknown command ", command, " (imctl --help lists them)"));
}
