// The extension service binary: message extensions (seed 001) - versioned per channel, last
// writer wins or compare-and-set, an operation log, Get and Sync for readers, and EXTENSION_CHANGED
// pushes through the message service's fan-out.
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/service_runtime.h"
#include "migrations_embedded.h"
#include "services/extension/extension_grpc.h"
#include "services/extension/extension_store.h"
#include "services/extension/extensions.h"
#include "services/extension/message_client.h"
#include "services/extension/oplog_sweeper.h"
#include "services/extension/set_pipeline.h"
#include "services/extension/version_client.h"

ABSL_FLAG(std::string, message_addr, "",
          "host:port of the message service (message lookups, membership, notifications). "
          "Required.");
ABSL_FLAG(absl::Duration, message_timeout, absl::Seconds(3),
          "Deadline of each call to the message service.");
ABSL_FLAG(std::string, sequence_addr, "",
          "host:port of the sequence service (channel extension versions). Required.");
ABSL_FLAG(absl::Duration, sequence_timeout, absl::Seconds(3),
          "Deadline of each call to the sequence service.");
ABSL_FLAG(int, ext_max_bytes, 16 * 1024,
          "Largest ext JSON object, as given and after a merge; larger is INVALID_ARGUMENT.");
ABSL_FLAG(std::string, client_channel_types, "",
          "Channel types on which clients (WebSocket) may set extensions: a comma-separated list "
          "of person, group. Empty = clients may set nothing.");
ABSL_FLAG(bool, client_status, false, "Whether clients may set an extension's status.");
ABSL_FLAG(std::vector<std::string>, client_ext_fields, {},
          "Top-level ext members clients may change (comma-separated); a client change touching "
          "any other is PERMISSION_DENIED.");
ABSL_FLAG(int, set_lanes, 4, "Set lanes (threads); a channel's Sets are decided in order on one.");
ABSL_FLAG(int, set_max_batch, 256, "Most Sets one lane commits as one transaction.");
ABSL_FLAG(int, set_max_queue, 20000,
          "Sets waiting per lane; beyond it Set answers RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, sync_limit_default, 100, "Extensions per Sync page when limit is 0.");
ABSL_FLAG(int, sync_limit_max, 1000, "Most extensions per Sync page.");
ABSL_FLAG(int, get_max, 1000, "Most message ids per Get.");
ABSL_FLAG(absl::Duration, oplog_retention, absl::Hours(24 * 30),
          "How long operation log entries are kept.");
ABSL_FLAG(absl::Duration, oplog_sweep_interval, absl::Minutes(10),
          "How often expired operation log entries are deleted.");

int main(int argc, char** argv) {
  im::ServiceRuntime runtime(im::InitProcess(argc, argv, "extension"));
  im::extension::Extensions::Options options;
  // The smallest ext is "{}".
  const int ext_max_bytes = im::FlagAtLeast(FLAGS_ext_max_bytes, 2);
  const int sync_default = im::PositiveFlag(FLAGS_sync_limit_default);
  const int sync_max = im::FlagAtLeast(FLAGS_sync_limit_max, sync_default, "--sync_limit_default");
  const int get_max = im::PositiveFlag(FLAGS_get_max);
  const int lanes = im::PositiveFlag(FLAGS_set_lanes);
  const int max_batch = im::PositiveFlag(FLAGS_set_max_batch);
  const int max_queue = im::PositiveFlag(FLAGS_set_max_queue);
  const absl::Duration retention = im::PositiveFlag(FLAGS_oplog_retention);
  const absl::Duration sweep_interval = im::PositiveFlag(FLAGS_oplog_sweep_interval);
  absl::StatusOr<absl::flat_hash_set<int>> client_types =
      im::extension::ParseChannelTypes(absl::GetFlag(FLAGS_client_channel_types));
  if (!client_types.ok()) {
    im::ExitAtStartup(absl::StrCat(
        "--client_channel_types (IM_CLIENT_CHANNEL_TYPES): ", client_types.status().message(),
        ", got \"", absl::GetFlag(FLAGS_client_channel_types), "\""));
  }
  options.max_ext_bytes = static_cast<size_t>(ext_max_bytes);
  options.client.channel_types = *std::move(client_types);
  options.client.status = absl::GetFlag(FLAGS_client_status);
  for (const std::string& field : absl::GetFlag(FLAGS_client_ext_fields)) {
    if (!field.empty()) options.client.ext_fields.insert(field);
  }
  options.sync_default_limit = static_cast<uint32_t>(sync_default);
  options.sync_max_limit = static_cast<uint32_t>(sync_max);
  options.max_get = static_cast<size_t>(get_max);

  if (int code = runtime.Migrate(im::extension::EmbeddedMigrations()); code >= 0) return code;
  // Checked after the migrations, so a migration job needs nothing but the stores.
  const std::string message_addr = im::RequiredFlag(FLAGS_message_addr);
  const std::string sequence_addr = im::RequiredFlag(FLAGS_sequence_addr);

  im::extension::ExtensionStore store(&runtime.postgres());
  im::extension::GrpcMessageClient messages(
      grpc::CreateChannel(message_addr, grpc::InsecureChannelCredentials()),
      {.timeout = absl::GetFlag(FLAGS_message_timeout),
       .notify_lanes = static_cast<size_t>(lanes)});
  im::extension::VersionClient versions(
      grpc::CreateChannel(sequence_addr, grpc::InsecureChannelCredentials()),
      absl::GetFlag(FLAGS_sequence_timeout));
  im::extension::Extensions extensions(&store, &messages, &versions, std::move(options));
  im::extension::SetPipeline pipeline(&extensions, &messages,
                                      {.lanes = lanes,
                                       .max_batch = static_cast<size_t>(max_batch),
                                       .max_queue = static_cast<size_t>(max_queue)});
  im::extension::OplogSweeper sweeper(&store, {.retention = retention, .interval = sweep_interval});
  im::extension::ExtensionGrpcService service(&extensions, &pipeline, &runtime.workers());
  return runtime.Serve({&service});
}
