// The load generator's clients: users, each with one WebSocket connection (LoadConnection) on one
// of a few I/O threads, that send into their channels (closed loop with a window of SENDs in
// flight, or at a fixed rate), log every message they get, RECVACK it, ping, and after a drop
// reconnect and catch up by seq (SeqSnapshot, then SyncChannelMessages from the last seq seen),
// resending unacked SENDs with the same client_msg_no. A scenario (scenarios.h) builds the users
// and channels, then drives the phases from its own thread:
//
//   LoadEngine engine(options);
//   uint32_t a = engine.AddUser("a"), b = engine.AddUser("b");
//   uint32_t c = engine.AddChannel();
//   engine.AddView(a, c, PersonChannel("b"), /*sends=*/true, /*receives=*/true);
//   engine.ConnectAll(...);  engine.StartSending(...);  ...  engine.Shutdown();
//   engine.FeedVerifier(verifier);
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "im/client/v1/client.pb.h"
#include "tools/bench/load/delivery_verifier.h"
#include "tools/bench/load/latency_histogram.h"
#include "tools/bench/load/load_connection.h"

namespace im::load {

struct EngineOptions {
  std::string ws_host = "127.0.0.1";
  int ws_port = 8080;
  // Source addresses 127.0.0.1 .. 127.0.0.N, round robin (each has its own ephemeral ports).
  int source_addrs = 1;
  int io_threads = 2;
  std::string token = "bench";
  std::string device_id = "load";
  int payload_bytes = 64;
  // Binary protobuf frames, or the protocol's JSON text frames.
  Encoding encoding = Encoding::kBinary;
  bool recvack = true;
  // SENDs in flight per sending channel; in rate mode, sends beyond it wait.
  int window = 64;
  absl::Duration ping_interval = absl::Seconds(30);
};

// Live counts, updated by the I/O threads.
struct Counters {
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> send_failed{0};
  std::atomic<int64_t> resent{0};
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> catchup_delivered{0};
  std::atomic<int64_t> overlap_dropped{0};
  std::atomic<int64_t> online{0};
  std::atomic<int64_t> connect_failed{0};
  std::atomic<int64_t> closed_unexpectedly{0};
  std::atomic<int64_t> pings{0};
  std::atomic<int64_t> pongs{0};
  std::atomic<int64_t> catchups_done{0};
  std::atomic<int64_t> catchups_failed{0};
  std::atomic<int64_t> connects_in_flight{0};
};

struct Histograms {
  LatencyHistogram send_ack;
  // Live pushes only; messages fetched by catch-up sync are counted, not timed.
  LatencyHistogram send_recv;
  LatencyHistogram connect;
  // From a reconnect's start to its catch-up being complete.
  LatencyHistogram catchup;
};

class LoadEngine {
 public:
  explicit LoadEngine(EngineOptions options);
  // Stops the I/O threads (connections still open are reset).
  ~LoadEngine();
  LoadEngine(const LoadEngine&) = delete;
  LoadEngine& operator=(const LoadEngine&) = delete;

  // Set-up, before ConnectAll: users, channels (dense indexes, as the verifier uses), and what each
  // user sees of a channel (`seen`: the Channel as it addresses and receives it).
  uint32_t AddUser(const std::string& uid);
  uint32_t AddChannel();
  void AddView(uint32_t user, uint32_t channel, const im::common::v1::Channel& seen, bool sends,
               bool receives);

  const std::string& uid(uint32_t user) const;
  size_t user_count() const;

  // Connects `users` (CONNECT with the token), at most `concurrency` handshakes at a time; returns
  // when all are answered or `timeout` passed. The number connected.
  int64_t Connect(const std::vector<uint32_t>& users, int concurrency, absl::Duration timeout);

  // Sending: `rate` messages/s over all sending views (0 = as fast as the window allows) until
  // `until` (steady clock) or `max_per_view` messages per view (0 = no bound).
  void StartSending(double rate, absl::Duration duration, int64_t max_per_view);
  void StopSending();
  // Waits until no SEND is in flight or waiting to be resent, or `timeout`; true when none is.
  bool WaitAcked(absl::Duration timeout);
  // Waits until deliveries stop growing for `quiet` (or `timeout`); true if they settled.
  bool WaitDelivered(absl::Duration quiet, absl::Duration timeout);

  // Resets `users`' connections (as a lost network) and reconnects them at once; each catches up
  // by seq and resends what was not acked. Returns at once; WaitCaughtUp waits for the catch-ups.
  void DropAndReconnect(const std::vector<uint32_t>& users);
  bool WaitCaughtUp(int64_t expected_catchups, absl::Duration timeout);

  // Resets every connection and stops the I/O threads; the logs stay for FeedVerifier.
  void Shutdown();

  // Everything the users logged: subscriptions, acks, unsettled sends, deliveries in order.
  void FeedVerifier(DeliveryVerifier& verifier) const;

  const Counters& counters() const { return counters_; }
  const Histograms& histograms() const { return histograms_; }
  // Sends still waiting for an ack (in flight or to be resent), summed over users.
  int64_t InFlight() const;
  // Close reasons of connections that ended without being dropped, first few.
  std::vector<std::string> CloseSamples() const;

 private:
  struct View;
  struct User;
  struct Pending;

  static int64_t NowNs();
  boost::asio::io_context& IoOf(const User& user);
  void ConnectUser(User& user, std::function<void(bool)> done);
  void OnFrame(User& user, im::client::v1::Frame& frame);
  void OnClose(User& user, const std::string& reason);
  void OnRecv(User& user, const im::common::v1::Message& message);
  void Deliver(User& user, View& view, int64_t seq, int64_t sent_ns, bool live);
  void SendNext(User& user, int slot, int64_t now_ns);
  void SendMessage(User& user, int slot, int64_t number, int64_t sent_ns);
  void OnSendAck(User& user, const Pending& pending, const im::client::v1::SendAck& ack);
  void FillWindows(User& user);
  void StartCatchUp(User& user);
  void SyncNext(User& user, size_t view_index);
  void FinishCatchUp(User& user);
  void Tick(int thread);
  void PingTick(int thread);
  uint64_t Request(User& user, im::client::v1::Frame& frame, Pending pending);

  EngineOptions options_;
  boost::asio::ip::tcp::endpoint server_;
  std::vector<std::unique_ptr<boost::asio::io_context>> ios_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<User>> users_;
  std::vector<std::vector<uint32_t>> users_by_thread_;
  uint32_t channels_ = 0;
  bool stopped_ = false;

  // Read by the I/O threads' ticks.
  std::atomic<bool> sending_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> send_start_ns_{0};
  std::atomic<int64_t> send_end_ns_{0};
  std::atomic<double> rate_per_view_{0};
  std::atomic<int64_t> max_per_view_{0};

  Counters counters_;
  Histograms histograms_;
  // SENDs waiting for an ack or a resend.
  std::atomic<int64_t> outstanding_{0};
  mutable std::mutex close_mu_;
  std::vector<std::string> close_samples_;
};

}  // namespace im::load
