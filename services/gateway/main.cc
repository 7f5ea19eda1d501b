// The gateway binary: WebSocket connections for clients, UserService for business servers and
// GatewayService for the message service and other gateways. Started in order: stores and clients,
// the logic, the WebSocket listener, then the gRPC server; on SIGTERM every client gets
// DISCONNECT(SERVER_SHUTDOWN) and the presence entries are removed before the gRPC drain.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "common/service_runtime.h"
#include "im/conversation/v1/conversation.grpc.pb.h"
#include "im/extension/v1/extension.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "services/gateway/authenticator.h"
#include "services/gateway/deliverer.h"
#include "services/gateway/gateway_grpc.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/gateway_options.h"
#include "services/gateway/kicker.h"
#include "services/gateway/presence_keeper.h"
#include "services/gateway/public/presence_store.h"
#include "services/gateway/request_handler.h"
#include "services/gateway/send_batcher.h"
#include "services/gateway/session_hub.h"
#include "services/gateway/token_store.h"
#include "services/gateway/ws_listener.h"

ABSL_FLAG(int, ws_port, 8080, "WebSocket port for clients; 0 picks a free one (logged).");
ABSL_FLAG(int, ws_threads, 0, "WebSocket I/O threads, one io_context each; 0 = one per core.");
ABSL_FLAG(std::string, message_addr, "", "host:port of the message service. Required.");
ABSL_FLAG(std::string, conversation_addr, "",
          "host:port of the conversation service (conversation and seq requests). Required.");
ABSL_FLAG(std::string, advertise_addr, "",
          "The gRPC host:port other services reach this gateway at (stored in presence); "
          "default listen_host:grpc_port.");
ABSL_FLAG(std::string, jwt_secret, "",
          "HS256 secret for JWT CONNECT tokens (claims: sub = uid, optional exp, device_flag); "
          "empty = JWTs off, only tokens from UserService.SetToken.");
ABSL_FLAG(std::string, multi_device, "kick_same_flag",
          "kick_same_flag: a new device replaces the user's other devices with the same flag on "
          "every gateway; allow: devices of one flag coexist.");
ABSL_FLAG(int, max_frame_bytes, 64 * 1024,
          "Largest client frame; a larger one closes the connection with TOO_LARGE.");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(120),
          "A connection without a frame for this long is closed with IDLE_TIMEOUT.");
ABSL_FLAG(double, rate_limit_per_sec, 100, "Frames per second per connection (token bucket).");
ABSL_FLAG(double, rate_limit_burst, 200,
          "Token bucket size; frames over the limit get RATE_LIMITED, 2x this many in a row "
          "close the connection.");
ABSL_FLAG(int, write_queue_max_frames, 4096,
          "Frames waiting to be written to one connection; beyond it: SLOW_CONSUMER.");
ABSL_FLAG(int, write_queue_max_bytes, 8 * 1024 * 1024,
          "Bytes waiting to be written to one connection; beyond it: SLOW_CONSUMER.");
ABSL_FLAG(absl::Duration, close_timeout, absl::Seconds(5),
          "How long a closing connection may take to flush its last frame before it is cut.");
ABSL_FLAG(absl::Duration, presence_ttl, absl::Seconds(60),
          "Presence entries expire this long after the last refresh (every ttl/3).");
ABSL_FLAG(absl::Duration, message_timeout, absl::Seconds(5),
          "Deadline of calls to the message service and to other gateways.");
ABSL_FLAG(absl::Duration, conversation_timeout, absl::Seconds(5),
          "Deadline of calls to the conversation service.");
ABSL_FLAG(std::string, extension_addr, "",
          "host:port of the extension service (extension set and sync requests); empty = those "
          "requests answer UNAVAILABLE.");
ABSL_FLAG(absl::Duration, extension_timeout, absl::Seconds(5),
          "Deadline of calls to the extension service.");
ABSL_FLAG(bool, client_cmds, false,
          "Accept sync_once (cmd) SENDs from clients; otherwise they get PERMISSION_DENIED.");
ABSL_FLAG(int, send_batch_max, 256,
          "Most SENDs in one MessageService.Send call; 1..1000, the message service's limit.");
ABSL_FLAG(int, send_queue_max, 8192,
          "SENDs waiting per send shard (one per send lane of the message service, as its Send "
          "answers say); beyond it they are answered UNAVAILABLE.");

namespace {

using im::gateway::GatewayOptions;

GatewayOptions LoadOptions() {
  GatewayOptions options;
  const int max_frame = im::FlagInRange(FLAGS_max_frame_bytes, 256, 64 * 1024 * 1024);
  options.max_frame_bytes = static_cast<size_t>(max_frame);
  options.idle_timeout = im::FlagAtLeast(FLAGS_idle_timeout, absl::Seconds(1));
  options.rate_limit_per_sec = im::PositiveFlag(FLAGS_rate_limit_per_sec);
  options.rate_limit_burst = im::FlagAtLeast(FLAGS_rate_limit_burst, 1.0);
  options.write_queue_max_frames =
      static_cast<size_t>(im::PositiveFlag(FLAGS_write_queue_max_frames));
  options.write_queue_max_bytes = static_cast<size_t>(
      im::FlagAtLeast(FLAGS_write_queue_max_bytes, max_frame, "--max_frame_bytes"));
  options.close_timeout = im::PositiveFlag(FLAGS_close_timeout);
  const std::string policy = im::CheckedFlag(
      FLAGS_multi_device,
      [](const std::string& value) { return value == "kick_same_flag" || value == "allow"; },
      "must be kick_same_flag or allow");
  options.multi_device = policy == "allow" ? im::gateway::MultiDevicePolicy::kAllow
                                           : im::gateway::MultiDevicePolicy::kKickSameFlag;
  options.message_timeout = im::PositiveFlag(FLAGS_message_timeout);
  options.conversation_timeout = im::PositiveFlag(FLAGS_conversation_timeout);
  options.extension_timeout = im::PositiveFlag(FLAGS_extension_timeout);
  options.client_cmds = absl::GetFlag(FLAGS_client_cmds);
  return options;
}

std::string AdvertiseAddress(const im::CommonConfig& config) {
  std::string address = absl::GetFlag(FLAGS_advertise_addr);
  if (!address.empty()) return address;
  if (config.listen_host == "0.0.0.0" || config.listen_host == "::") {
    im::ExitAtStartup("--advertise_addr is required when --listen_host is a wildcard address");
  }
  if (config.grpc_port == 0)
    im::ExitAtStartup("--advertise_addr is required when --grpc_port is 0");
  return absl::StrCat(config.listen_host, ":", config.grpc_port);
}

}  // namespace

int main(int argc, char** argv) {
  const im::CommonConfig config = im::InitProcess(argc, argv, "gateway");
  const GatewayOptions options = LoadOptions();
  const absl::Duration presence_ttl = im::FlagAtLeast(FLAGS_presence_ttl, absl::Seconds(3));
  // The message service refuses a Send of more items than this, which would fail whole batches.
  constexpr int kMaxSendBatch = 1000;
  const int send_batch = im::FlagInRange(FLAGS_send_batch_max, 1, kMaxSendBatch);
  const int send_queue = im::PositiveFlag(FLAGS_send_queue_max);
  int ws_threads = im::FlagAtLeast(FLAGS_ws_threads, 0);
  if (ws_threads == 0) ws_threads = std::max(1u, std::thread::hardware_concurrency());

  im::ServiceRuntime runtime(config);
  if (int code = runtime.Migrate({}); code >= 0) return code;
  // Only serving needs these: a --migrate_only Job (Helm hook, run.sh) has no ports or peers.
  const std::string advertise = AdvertiseAddress(config);
  const std::string message_addr = im::RequiredFlag(FLAGS_message_addr);
  const std::string conversation_addr = im::RequiredFlag(FLAGS_conversation_addr);

  im::gateway::GatewayMetrics metrics;
  runtime.AddMetrics(metrics.registry);
  // Declared before everything sessions use, so it is destroyed (and its io_contexts with the
  // handlers they still hold) after them.
  im::gateway::WsListener listener(ws_threads);
  im::gateway::SessionHub hub;
  im::gateway::PresenceStore presence(runtime.redis(), presence_ttl);
  im::gateway::TokenStore tokens(runtime.redis());
  im::gateway::Authenticator authenticator(&tokens, absl::GetFlag(FLAGS_jwt_secret));
  const std::shared_ptr<grpc::Channel> message_channel =
      grpc::CreateChannel(message_addr, grpc::InsecureChannelCredentials());
  std::shared_ptr<im::message::v1::MessageService::StubInterface> messages =
      im::message::v1::MessageService::NewStub(message_channel);
  std::shared_ptr<im::message::v1::CmdService::StubInterface> cmds =
      im::message::v1::CmdService::NewStub(message_channel);
  im::gateway::SendBatcher batcher(messages, {.max_batch = static_cast<size_t>(send_batch),
                                              .max_queue = static_cast<size_t>(send_queue),
                                              .timeout = options.message_timeout});
  std::shared_ptr<im::conversation::v1::ConversationService::StubInterface> conversations =
      im::conversation::v1::ConversationService::NewStub(
          grpc::CreateChannel(conversation_addr, grpc::InsecureChannelCredentials()));
  std::shared_ptr<im::extension::v1::ExtensionService::StubInterface> extensions;
  if (const std::string extension_addr = absl::GetFlag(FLAGS_extension_addr);
      !extension_addr.empty()) {
    extensions = im::extension::v1::ExtensionService::NewStub(
        grpc::CreateChannel(extension_addr, grpc::InsecureChannelCredentials()));
  }
  im::gateway::RequestHandler handler(&batcher, messages, cmds, conversations, extensions, &metrics,
                                      options);
  im::gateway::PresenceKeeper keeper(&presence, &runtime.workers(), &hub, advertise);
  im::gateway::Kicker kicker(&hub, &presence, &tokens, &runtime.workers(), &metrics, advertise,
                             options.message_timeout);
  im::gateway::Deliverer deliverer(&hub, &metrics);
  im::gateway::GatewayGrpcService gateway_service(&deliverer, &kicker);
  im::gateway::UserGrpcService user_service(&tokens, &presence, &kicker, &runtime.workers());
  const im::gateway::SessionDeps deps{.options = &options,
                                      .hub = &hub,
                                      .authenticator = &authenticator,
                                      .workers = &runtime.workers(),
                                      .presence = &keeper,
                                      .kicker = &kicker,
                                      .handler = &handler,
                                      .metrics = &metrics};

  keeper.Start();
  absl::StatusOr<int> ws_port =
      listener.Listen(config.listen_host, absl::GetFlag(FLAGS_ws_port), &deps);
  if (!ws_port.ok()) {
    im::log::Error("ws_listen_failed", {{"error", std::string(ws_port.status().message())}});
    return 1;
  }
  im::log::Info("ws_listening", {{"ws", absl::StrCat(config.listen_host, ":", *ws_port)},
                                 {"advertise", advertise},
                                 {"threads", absl::StrCat(ws_threads)}});

  runtime.OnDrain([&] {
    listener.StopAccepting();
    const std::vector<std::shared_ptr<im::gateway::Connection>> open = hub.All();
    for (const auto& conn : open) {
      conn->Close(im::common::v1::REASON_CODE_SERVER_SHUTDOWN, "server shutting down; reconnect");
    }
    keeper.Stop();
    if (absl::Status removed = keeper.UnregisterAll(); !removed.ok()) {
      im::log::Warning("presence_unregister_failed", {{"error", std::string(removed.message())}});
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          absl::ToChronoNanoseconds(options.close_timeout) +
                          std::chrono::milliseconds(500);
    while (hub.size() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    im::log::Info("ws_closed", {{"connections", absl::StrCat(open.size())},
                                {"left_open", absl::StrCat(hub.size())}});
  });
  const int code = runtime.Serve({&gateway_service, &user_service});
  keeper.Stop();
  listener.Stop();
  return code;
}
