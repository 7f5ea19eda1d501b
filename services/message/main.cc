// The message service binary: channels and groups, the batched send path with fan-out to
// gateways, channel history, and the cmd inboxes (expanded after the send ack, synced and acked
// per device) over gRPC.
#include <cstdint>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/service_runtime.h"
#include "migrations_embedded.h"
#include "prometheus/registry.h"
#include "services/gateway/public/presence_store.h"
#include "services/message/channel_grpc.h"
#include "services/message/channel_store.h"
#include "services/message/channels.h"
#include "services/message/cmd_expander.h"
#include "services/message/cmd_grpc.h"
#include "services/message/cmd_inbox.h"
#include "services/message/cmd_store.h"
#include "services/message/cmd_sweeper.h"
#include "services/message/conversation_client.h"
#include "services/message/fanout.h"
#include "services/message/gateway_clients.h"
#include "services/message/heads_reader.h"
#include "services/message/id_generator.h"
#include "services/message/message_grpc.h"
#include "services/message/message_reader.h"
#include "services/message/message_store.h"
#include "services/message/node_lease.h"
#include "services/message/send_pipeline.h"
#include "services/message/send_processor.h"
#include "services/message/sequence_client.h"

ABSL_FLAG(std::string, sequence_addr, "127.0.0.1:7001",
          "host:port of the sequence service (seq allocation for every send batch).");
ABSL_FLAG(absl::Duration, sequence_timeout, absl::Seconds(3),
          "Deadline of one AllocateBatch call; past it the batch fails with UNAVAILABLE.");
ABSL_FLAG(std::string, conversation_addr, "",
          "host:port of the conversation service (conversations of new chats and group members, "
          "senders' read positions). Required.");
ABSL_FLAG(absl::Duration, conversation_timeout, absl::Seconds(3),
          "Deadline of one Ensure or AdvanceReads call; a failed Ensure fails what needed it with "
          "UNAVAILABLE.");
ABSL_FLAG(int, send_lanes, 2,
          "Send lanes: threads that each batch the sends of their share of the channels (and as "
          "many fan-out workers). Fewer lanes make larger batches and cost less CPU per message. "
          "Every Send answer carries it, and the gateways keep one send shard per lane.");
ABSL_FLAG(int, send_max_batch, 512, "Most messages one lane commits as one batch.");
ABSL_FLAG(int, send_max_queue, 100000,
          "Messages waiting per lane; beyond it sends fail at once with UNAVAILABLE.");
ABSL_FLAG(int64_t, send_max_queue_bytes, int64_t{64} << 20,
          "Payload bytes waiting per lane; beyond it sends fail at once with UNAVAILABLE.");
ABSL_FLAG(int, max_payload_bytes, 64 * 1024, "Largest message payload; larger is TOO_LARGE.");
ABSL_FLAG(int, sync_limit_default, 100, "Messages per SyncChannelMessages page when limit is 0.");
ABSL_FLAG(int, sync_limit_max, 1000, "Most messages per SyncChannelMessages page.");
ABSL_FLAG(absl::Duration, deliver_timeout, absl::Seconds(2),
          "Deadline of one GatewayService.Deliver call; a missed push is caught up by sync.");
ABSL_FLAG(int, fanout_max_queue, 100000,
          "Pushes waiting per fan-out lane; beyond it pushes are dropped and counted.");
ABSL_FLAG(int64_t, fanout_max_queue_bytes, int64_t{64} << 20,
          "Payload bytes of the pushes waiting per fan-out lane; beyond it pushes are dropped and "
          "counted.");
ABSL_FLAG(int, cmd_expand_batch, 2000,
          "Most cmd recipients given their inbox entry per expansion round (one transaction).");
ABSL_FLAG(absl::Duration, cmd_expand_poll, absl::Seconds(1),
          "How often the cmd expander looks for cmds left pending by a crash or another replica.");
ABSL_FLAG(absl::Duration, cmd_retention, absl::Hours(7 * 24),
          "Cmd inbox entries older than this are deleted even if unacked, and devices not seen "
          "for this long are forgotten.");
ABSL_FLAG(absl::Duration, cmd_sweep_interval, absl::Minutes(1),
          "How often expired cmd inbox entries and devices are deleted.");
ABSL_FLAG(absl::Duration, node_lease_ttl, absl::Seconds(30),
          "Lease of this process's message-id node id; a crashed process's id is free after it.");

int main(int argc, char** argv) {
  im::ServiceRuntime runtime(im::InitProcess(argc, argv, "message"));
  const int lanes = im::PositiveFlag(FLAGS_send_lanes);
  const int max_batch = im::PositiveFlag(FLAGS_send_max_batch);
  const int max_queue = im::PositiveFlag(FLAGS_send_max_queue);
  const int64_t max_queue_bytes = im::PositiveFlag(FLAGS_send_max_queue_bytes);
  const int max_payload = im::PositiveFlag(FLAGS_max_payload_bytes);
  const int sync_default = im::PositiveFlag(FLAGS_sync_limit_default);
  const int sync_max = im::FlagAtLeast(FLAGS_sync_limit_max, sync_default, "--sync_limit_default");
  const int fanout_queue = im::PositiveFlag(FLAGS_fanout_max_queue);
  const int64_t fanout_queue_bytes = im::PositiveFlag(FLAGS_fanout_max_queue_bytes);
  const absl::Duration lease_ttl = im::FlagAtLeast(FLAGS_node_lease_ttl, absl::Seconds(3));
  const int cmd_batch = im::PositiveFlag(FLAGS_cmd_expand_batch);
  const absl::Duration cmd_poll = im::PositiveFlag(FLAGS_cmd_expand_poll);
  const absl::Duration cmd_retention = im::FlagAtLeast(FLAGS_cmd_retention, absl::Minutes(1));
  const absl::Duration cmd_sweep = im::PositiveFlag(FLAGS_cmd_sweep_interval);
  const std::string sequence_addr = im::RequiredFlag(FLAGS_sequence_addr);
  if (int code = runtime.Migrate(im::message::EmbeddedMigrations()); code >= 0) return code;
  // Only serving needs it: a --migrate_only Job (Helm hook, run.sh) has no peers.
  const std::string conversation_addr = im::RequiredFlag(FLAGS_conversation_addr);

  absl::StatusOr<std::unique_ptr<im::message::NodeLease>> lease =
      im::message::NodeLease::Acquire(&runtime.postgres(), {.ttl = lease_ttl});
  if (!lease.ok()) im::ExitAtStartup(absl::StrCat("no node id: ", lease.status().message()));
  im::message::IdGenerator ids(lease->get());
  im::message::ChannelStore channel_store(&runtime.postgres());
  im::message::MessageStore message_store(&runtime.postgres());
  im::message::CmdStore cmd_store(&runtime.postgres(), &channel_store);
  im::message::SequenceClient sequence(
      grpc::CreateChannel(sequence_addr, grpc::InsecureChannelCredentials()),
      absl::GetFlag(FLAGS_sequence_timeout));
  // Presence entries are written (and their ttl chosen) by the gateways; reading needs no ttl.
  im::gateway::PresenceStore presence(runtime.redis(), absl::ZeroDuration());
  im::message::GatewayClients gateways(absl::GetFlag(FLAGS_deliver_timeout));
  auto registry = std::make_shared<prometheus::Registry>();
  runtime.AddMetrics(registry);
  im::message::ConversationClient conversations(
      grpc::CreateChannel(conversation_addr, grpc::InsecureChannelCredentials()),
      {.timeout = absl::GetFlag(FLAGS_conversation_timeout)}, *registry);

  im::message::Fanout fanout(&channel_store, &presence, &gateways,
                             {.lanes = lanes,
                              .max_queue = static_cast<size_t>(fanout_queue),
                              .max_queue_bytes = static_cast<size_t>(fanout_queue_bytes)},
                             *registry);
  im::message::CmdExpander expander(
      &cmd_store, &fanout, {.batch = static_cast<size_t>(cmd_batch), .poll = cmd_poll}, *registry);
  im::message::CmdSweeper sweeper(&cmd_store, {.retention = cmd_retention, .interval = cmd_sweep});
  im::message::SendProcessor processor(
      {&runtime.postgres(), &channel_store, &message_store, &cmd_store}, &sequence, &conversations,
      &ids, {.max_payload_bytes = static_cast<size_t>(max_payload)});
  im::message::SendPipeline pipeline(&processor, &fanout, &conversations,
                                     {.lanes = lanes,
                                      .max_batch = static_cast<size_t>(max_batch),
                                      .max_queue = static_cast<size_t>(max_queue),
                                      .max_queue_bytes = static_cast<size_t>(max_queue_bytes),
                                      .cmds_stored = [&expander] { expander.Wake(); }},
                                     *registry);
  im::message::MessageReader reader(&channel_store, &message_store,
                                    {.default_limit = static_cast<uint32_t>(sync_default),
                                     .max_limit = static_cast<uint32_t>(sync_max)});
  im::message::HeadsReader heads(&channel_store, &message_store, {});
  im::message::Channels channels(&channel_store, &message_store, &conversations, {});

  im::message::MessageGrpcService message_service(&pipeline, &reader, &heads, &runtime.workers(),
                                                  {});
  im::message::ChannelGrpcService channel_service(&channels, &runtime.workers());
  im::message::CmdInbox cmd_inbox(&cmd_store, {.default_limit = static_cast<uint32_t>(sync_default),
                                               .max_limit = static_cast<uint32_t>(sync_max),
                                               .retention = cmd_retention});
  im::message::CmdGrpcService cmd_service(&cmd_inbox, &runtime.workers());
  expander.Start();
  sweeper.Start();
  return runtime.Serve({&message_service, &channel_service, &cmd_service});
}
