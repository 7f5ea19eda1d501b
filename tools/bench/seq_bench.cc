// Allocate throughput of a running sequence service, over gRPC as the message service will call
// it. Four shapes: one hot channel or 10k channels, one value per call or batches. Bounded by
// --seconds per shape; prints one line per shape.
//
//   scripts/run.sh &   # then:
//   build/tools/bench/seq_bench --seconds 10 --threads 8   # the stack in .local/run
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "im/sequence/v1/sequence.grpc.pb.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(std::string, target, "", "Sequence service gRPC address; default: the stack's.");
ABSL_FLAG(double, seconds, 10, "Duration of each shape.");
ABSL_FLAG(int, threads, 8, "Concurrent callers (each with its own channel to the server).");
ABSL_FLAG(int, batch, 100, "Items per AllocateBatch call in the batched shapes.");
ABSL_FLAG(int, channels, 10000, "Distinct channels in the many-channel shapes.");
ABSL_FLAG(std::string, prefix, "",
          "Channel name prefix; empty = a new one per run (cold counters). Repeat a prefix to "
          "measure counters that already hold a block (warm).");

namespace {

namespace seq = im::sequence::v1;
using im::bench::Clock;

struct Shape {
  const char* name;
  bool many_channels;
  bool batched;
};

struct Result {
  int64_t calls = 0;
  int64_t values = 0;
  int64_t errors = 0;
  std::vector<double> latencies_us;
};

Result RunCaller(const std::string& target, const Shape& shape, const std::string& prefix,
                 int thread, Clock::time_point end) {
  auto stub = seq::SequenceService::NewStub(
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), [&] {
        grpc::ChannelArguments args;
        args.SetInt("grpc.channel_id", thread);  // a separate connection per caller
        return args;
      }()));
  const int batch = absl::GetFlag(FLAGS_batch);
  const int channels = absl::GetFlag(FLAGS_channels);
  std::mt19937 rng(thread);
  std::uniform_int_distribution<int> pick(0, channels - 1);
  const auto channel_name = [&] {
    return shape.many_channels ? absl::StrCat(prefix, pick(rng)) : prefix;
  };
  Result result;
  while (Clock::now() < end) {
    grpc::ClientContext context;
    const auto start = Clock::now();
    grpc::Status status;
    if (shape.batched) {
      seq::AllocateBatchRequest request;
      for (int i = 0; i < batch; ++i) {
        seq::AllocateRequest* item = request.add_items();
        item->set_channel(channel_name());
        item->set_count(1);
      }
      seq::AllocateBatchResponse response;
      status = stub->AllocateBatch(&context, request, &response);
      if (status.ok()) result.values += batch;
    } else {
      seq::AllocateRequest request;
      request.set_channel(channel_name());
      request.set_count(1);
      seq::AllocateResponse response;
      status = stub->Allocate(&context, request, &response);
      if (status.ok()) result.values += 1;
    }
    result.latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    ++result.calls;
    if (!status.ok()) ++result.errors;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const Shape shapes[] = {{"1 channel, 1 per call", false, false},
                          {"1 channel, batched", false, true},
                          {"10k channels, 1 per call", true, false},
                          {"10k channels, batched", true, true}};
  const std::string target = im::bench::GrpcAddress(FLAGS_target, "sequence");
  const int threads = absl::GetFlag(FLAGS_threads);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf("%-26s %12s %12s %10s %10s %8s\n", "shape", "seqs/s", "calls/s", "p50 us", "p99 us",
              "errors");
  std::string run = absl::GetFlag(FLAGS_prefix);
  if (run.empty()) run = absl::StrCat("bench-", std::random_device{}(), "-");
  for (const Shape& shape : shapes) {
    const std::string prefix =
        absl::StrCat(run, shape.many_channels ? "m" : "s", shape.batched ? "b" : "u", "-");
    const auto start = Clock::now();
    const auto end = start + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    std::vector<Result> results(threads);
    std::vector<std::thread> callers;
    for (int t = 0; t < threads; ++t) {
      callers.emplace_back([&, t] { results[t] = RunCaller(target, shape, prefix, t, end); });
    }
    for (auto& caller : callers) caller.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    Result total;
    for (Result& r : results) {
      total.calls += r.calls;
      total.values += r.values;
      total.errors += r.errors;
      total.latencies_us.insert(total.latencies_us.end(), r.latencies_us.begin(),
                                r.latencies_us.end());
    }
    std::printf("%-26s %12.0f %12.0f %10.0f %10.0f %8lld\n", shape.name, total.values / elapsed,
                total.calls / elapsed, im::bench::Percentile(total.latencies_us, 0.5),
                im::bench::Percentile(total.latencies_us, 0.99),
                static_cast<long long>(total.errors));
  }
  return 0;
}
