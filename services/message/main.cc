// The message service binary: channels and groups, the batched send path with fan-out to
// gateways, channel history, and the cmd inboxes (expanded after the send ack, synced and acked
// per device) over gRPC.
#include <cstdint>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/presence.h"
#include "common/service_runtime.h"
#include "migrations_embedded.h"
#include "prometheus/registry.h"
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
  const int lanes = absl::GetFlag(FLAGS_send_lanes);
  const int max_batch = absl::GetFlag(FLAGS_send_max_batch);
  const int max_queue = absl::GetFlag(FLAGS_send_max_queue);
  const int64_t max_queue_bytes = absl::GetFlag(FLAGS_send_max_queue_bytes);
  const int max_payload = absl::GetFlag(FLAGS_max_payload_bytes);
  const int sync_default = absl::GetFlag(FLAGS_sync_limit_default);
  const int sync_max = absl::GetFlag(FLAGS_sync_limit_max);
  const int fanout_queue = absl::GetFlag(FLAGS_fanout_max_queue);
  const int64_t fanout_queue_bytes = absl::GetFlag(FLAGS_fanout_max_queue_bytes);
  const absl::Duration lease_ttl = absl::GetFlag(FLAGS_node_lease_ttl);
  const int cmd_batch = absl::GetFlag(FLAGS_cmd_expand_batch);
  const absl::Duration cmd_poll = absl::GetFlag(FLAGS_cmd_expand_poll);
  const absl::Duration cmd_retention = absl::GetFlag(FLAGS_cmd_retention);
  const absl::Duration cmd_sweep = absl::GetFlag(FLAGS_cmd_sweep_interval);
  if (cmd_batch < 1 || cmd_poll <= absl::ZeroDuration() || cmd_retention < absl::Minutes(1) ||
      cmd_sweep <= absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "message: --cmd_expand_batch, --cmd_expand_poll and --cmd_sweep_interval must be "
                 "positive, --cmd_retention at least 1m\n");
    return 2;
  }
  if (lanes < 1 || max_batch < 1 || max_queue < 1 || max_queue_bytes < 1 || max_payload < 1 ||
      sync_default < 1 || sync_max < sync_default || fanout_queue < 1 || fanout_queue_bytes < 1 ||
      lease_ttl < absl::Seconds(3) || absl::GetFlag(FLAGS_sequence_addr).empty()) {
    std::fprintf(stderr,
                 "message: --send_lanes, --send_max_batch, --send_max_queue, "
                 "--send_max_queue_bytes, --max_payload_bytes, --sync_limit_default, "
                 "--fanout_max_queue and --fanout_max_queue_bytes must be positive, "
                 "--sync_limit_max >= --sync_limit_default, --node_lease_ttl >= 3s, "
                 "--sequence_addr set\n");
    return 2;
  }
  if (int code = runtime.Migrate(im::message::EmbeddedMigrations()); code >= 0) return code;
  // Only serving needs it: a --migrate_only Job (Helm hook, run.sh) has no peers.
  if (absl::GetFlag(FLAGS_conversation_addr).empty()) {
    std::fprintf(stderr, "message: --conversation_addr (IM_CONVERSATION_ADDR) is required\n");
    return 2;
  }

  absl::StatusOr<std::unique_ptr<im::message::NodeLease>> lease =
      im::message::NodeLease::Acquire(&runtime.postgres(), {.ttl = lease_ttl});
  if (!lease.ok()) {
    std::fprintf(stderr, "message: no node id: %s\n",
                 std::string(lease.status().message()).c_str());
    return 1;
  }
  im::message::IdGenerator ids(lease->get());
  im::message::ChannelStore channel_store(&runtime.postgres());
  im::message::MessageStore message_store(&runtime.postgres());
  im::message::CmdStore cmd_store(&runtime.postgres(), &channel_store);
  im::message::SequenceClient sequence(
      grpc::CreateChannel(absl::GetFlag(FLAGS_sequence_addr), grpc::InsecureChannelCredentials()),
      absl::GetFlag(FLAGS_sequence_timeout));
  // Presence entries are written (and their ttl chosen) by the gateways; reading needs no ttl.
  im::PresenceStore presence(runtime.redis(), absl::ZeroDuration());
  im::message::GatewayClients gateways(absl::GetFlag(FLAGS_deliver_timeout));
  auto registry = std::make_shared<prometheus::Registry>();
  runtime.AddMetrics(registry);
  im::message::ConversationClient conversations(
      grpc::CreateChannel(absl::GetFlag(FLAGS_conversation_addr),
                          grpc::InsecureChannelCredentials()),
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
