// The sequence service binary: per-channel counters over gRPC.
#include "absl/flags/flag.h"
#include "common/config.h"
#include "common/service_runtime.h"
#include "migrations_embedded.h"
#include "services/sequence/counter_cache.h"
#include "services/sequence/sequence_grpc.h"
#include "services/sequence/sequence_store.h"
#include "services/sequence/sequencer.h"

ABSL_FLAG(int64_t, seq_block_size, 1000,
          "Values reserved in Postgres per round trip; after Redis loses its data a counter jumps "
          "by at most this much.");
ABSL_FLAG(int64_t, seq_max_count, 10000, "Most values one Allocate item may ask for.");
ABSL_FLAG(int, seq_max_batch, 4096, "Most items in one AllocateBatch call.");

int main(int argc, char** argv) {
  im::ServiceRuntime runtime(im::InitProcess(argc, argv, "sequence"));
  const int64_t block_size = im::PositiveFlag(FLAGS_seq_block_size);
  const int64_t max_count = im::PositiveFlag(FLAGS_seq_max_count);
  const int max_batch = im::PositiveFlag(FLAGS_seq_max_batch);
  if (int code = runtime.Migrate(im::sequence::EmbeddedMigrations()); code >= 0) return code;

  im::sequence::SequenceStore store(&runtime.postgres());
  im::sequence::CounterCache cache(&runtime.redis());
  im::sequence::Sequencer sequencer(&store, &cache,
                                    {.block_size = block_size,
                                     .max_count = max_count,
                                     .max_batch = static_cast<size_t>(max_batch)});
  im::sequence::SequenceGrpcService service(&sequencer, &runtime.workers());
  return runtime.Serve({&service});
}
