// The conversation service binary: each user's conversation list, read positions and seq snapshots
// over gRPC (seeds 000, 002, 003).
#include "absl/flags/flag.h"
#include "common/config.h"
#include "common/service_runtime.h"
#include "migrations_embedded.h"
#include "services/conversation/conversation_grpc.h"
#include "services/conversation/conversation_store.h"
#include "services/conversation/conversations.h"
#include "services/conversation/message_client.h"

ABSL_FLAG(std::string, message_addr, "", "host:port of the message service. Required.");
ABSL_FLAG(absl::Duration, message_timeout, absl::Seconds(3),
          "Deadline of each call to the message service.");
ABSL_FLAG(int, sync_limit_default, 100, "Conversations per Sync page when limit is 0.");
ABSL_FLAG(int, sync_limit_max, 1000, "Most conversations per Sync page.");
ABSL_FLAG(int, sync_msg_count_max, 20, "Most recent messages per conversation in a Sync page.");
ABSL_FLAG(absl::Duration, activity_margin, absl::Seconds(5),
          "How long after its clock reading a message commit may become visible; an incremental "
          "sync re-checks heads this recent (raise it if commits can take longer).");

int main(int argc, char** argv) {
  im::ServiceRuntime runtime(im::InitProcess(argc, argv, "conversation"));
  const int limit_default = im::PositiveFlag(FLAGS_sync_limit_default);
  const int limit_max =
      im::FlagAtLeast(FLAGS_sync_limit_max, limit_default, "--sync_limit_default");
  const int msg_count_max = im::FlagAtLeast(FLAGS_sync_msg_count_max, 0);
  const absl::Duration margin = im::FlagAtLeast(FLAGS_activity_margin, absl::ZeroDuration());
  if (int code = runtime.Migrate(im::conversation::EmbeddedMigrations()); code >= 0) return code;
  // Checked after the migrations, so a migration job needs nothing but the stores.
  const std::string message_addr = im::RequiredFlag(FLAGS_message_addr);

  im::conversation::ConversationStore store(&runtime.postgres());
  im::conversation::GrpcMessageClient messages(
      grpc::CreateChannel(message_addr, grpc::InsecureChannelCredentials()),
      absl::GetFlag(FLAGS_message_timeout));
  im::conversation::Conversations conversations(
      &store, &messages,
      {.default_limit = static_cast<uint32_t>(limit_default),
       .max_limit = static_cast<uint32_t>(limit_max),
       .max_msg_count = static_cast<uint32_t>(msg_count_max),
       .activity_margin = margin});
  im::conversation::ConversationGrpcService service(&conversations, &runtime.workers());
  return runtime.Serve({&service});
}
