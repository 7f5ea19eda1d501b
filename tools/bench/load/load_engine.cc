#include "tools/bench/load/load_engine.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace im::load {

namespace net = boost::asio;
namespace common = im::common::v1;
using im::client::v1::Frame;

namespace {

constexpr auto kSendTick = std::chrono::milliseconds(2);
constexpr auto kPingTick = std::chrono::seconds(1);
constexpr uint32_t kSyncPage = 1000;
constexpr size_t kMaxCloseSamples = 10;
// Sender's send time (steady ns), user index, message number; the rest is padding.
constexpr size_t kPayloadHeader = 20;

std::string ViewKey(const common::Channel& channel) {
  return absl::StrCat(static_cast<int>(channel.type()), ":", channel.id());
}

}  // namespace

struct LoadEngine::View {
  uint32_t channel = 0;
  common::Channel seen;
  bool sends = false;
  bool receives = false;
  // Highest seq handed to the app; what a reconnect syncs from.
  int64_t last_seq = 0;
  // The catch-up in progress: the max seq SeqSnapshot reported (0 = nothing to do), and the end of
  // the ranges synced so far (pushes at or below it were already fetched).
  int64_t catchup_target = 0;
  int64_t synced_to = 0;
  // Seqs the last catch-up fetched by sync: their live push may still arrive afterwards (fan-out
  // runs after the commit the snapshot saw), and an app drops it as already shown. Any other
  // repeat stays a duplicate for the verifier.
  absl::flat_hash_set<int64_t> synced_seqs;
  int64_t next_number = 0;
  int in_flight = 0;
  // Where in each sending period (0..1) this view's messages fall at a fixed rate, so the views'
  // sends are spread evenly over time: all leaving on one tick would make every period a burst
  // as large as the number of views, and latency would measure the burst.
  double phase = 0;
};

struct LoadEngine::Pending {
  enum Kind { kSend, kConnect, kSnapshot, kSync, kPing };
  Kind kind = kSend;
  int view = -1;
  int64_t number = 0;
  int64_t sent_ns = 0;
};

struct LoadEngine::User {
  struct Buffered {
    int view;
    int64_t seq;
    int64_t sent_ns;
  };

  uint32_t index = 0;
  std::string uid;
  int thread = 0;
  std::shared_ptr<LoadConnection> conn;
  bool online = false;
  // Set while a deliberate drop and its reconnect run: the close is expected, and unacked SENDs
  // are kept for resending.
  bool dropping = false;
  std::vector<View> views;
  absl::flat_hash_map<std::string, int> view_by_key;
  std::vector<int> send_views;
  uint64_t next_request = 1;
  absl::flat_hash_map<uint64_t, Pending> pending;
  std::vector<Pending> retries;
  std::function<void(bool)> on_connected;
  int64_t next_ping_ns = 0;

  bool catching_up = false;
  int64_t reconnect_start_ns = 0;
  std::vector<Buffered> buffered;

  // The logs the verifier reads after Shutdown: (channel, seq).
  std::vector<std::pair<uint32_t, int64_t>> deliveries;
  std::vector<std::pair<uint32_t, int64_t>> acks;
  std::vector<uint32_t> unsettled;
};

int64_t LoadEngine::NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

LoadEngine::LoadEngine(EngineOptions options) : options_(std::move(options)) {
  server_ = net::ip::tcp::endpoint(net::ip::make_address(options_.ws_host),
                                   static_cast<uint16_t>(options_.ws_port));
  const int threads = std::max(1, options_.io_threads);
  users_by_thread_.resize(threads);
  for (int t = 0; t < threads; ++t) {
    ios_.push_back(std::make_unique<net::io_context>(1));
  }
  for (int t = 0; t < threads; ++t) {
    threads_.emplace_back([this, t] {
      net::io_context& io = *ios_[t];
      auto guard = net::make_work_guard(io);
      net::steady_timer send_timer(io), ping_timer(io);
      std::function<void()> send_tick = [&] {
        send_timer.expires_after(kSendTick);
        send_timer.async_wait([&](boost::system::error_code ec) {
          if (ec || stopping_) return;
          Tick(t);
          send_tick();
        });
      };
      std::function<void()> ping_tick = [&] {
        ping_timer.expires_after(kPingTick);
        ping_timer.async_wait([&](boost::system::error_code ec) {
          if (ec || stopping_) return;
          PingTick(t);
          ping_tick();
        });
      };
      send_tick();
      ping_tick();
      io.run();
    });
  }
}

LoadEngine::~LoadEngine() { Shutdown(); }

uint32_t LoadEngine::AddUser(const std::string& uid) {
  auto user = std::make_unique<User>();
  user->index = static_cast<uint32_t>(users_.size());
  user->uid = uid;
  user->thread = static_cast<int>(user->index % users_by_thread_.size());
  users_by_thread_[user->thread].push_back(user->index);
  users_.push_back(std::move(user));
  return users_.back()->index;
}

uint32_t LoadEngine::AddChannel() { return channels_++; }

void LoadEngine::AddView(uint32_t user, uint32_t channel, const common::Channel& seen, bool sends,
                         bool receives) {
  User& u = *users_[user];
  View view;
  view.channel = channel;
  view.seen = seen;
  view.sends = sends;
  view.receives = receives;
  u.view_by_key[ViewKey(seen)] = static_cast<int>(u.views.size());
  if (sends) u.send_views.push_back(static_cast<int>(u.views.size()));
  u.views.push_back(std::move(view));
}

const std::string& LoadEngine::uid(uint32_t user) const { return users_[user]->uid; }

size_t LoadEngine::user_count() const { return users_.size(); }

net::io_context& LoadEngine::IoOf(const User& user) { return *ios_[user.thread]; }

uint64_t LoadEngine::Request(User& user, Frame& frame, Pending pending) {
  const uint64_t id = user.next_request++;
  frame.set_request_id(absl::StrCat(id));
  user.pending.emplace(id, pending);
  user.conn->Write(frame);
  return id;
}

int64_t LoadEngine::Connect(const std::vector<uint32_t>& users, int concurrency,
                            absl::Duration timeout) {
  struct State {
    std::atomic<int64_t> answered{0};
    std::atomic<int64_t> connected{0};
  };
  auto state = std::make_shared<State>();
  const absl::Time deadline = absl::Now() + timeout;
  for (uint32_t index : users) {
    while (counters_.connects_in_flight.load() >= concurrency && absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (absl::Now() >= deadline) break;
    counters_.connects_in_flight.fetch_add(1);
    User& user = *users_[index];
    net::post(IoOf(user), [this, &user, state] {
      ConnectUser(user, [this, state](bool ok) {
        counters_.connects_in_flight.fetch_sub(1);
        if (ok) state->connected.fetch_add(1);
        state->answered.fetch_add(1);
      });
    });
  }
  while (state->answered.load() < static_cast<int64_t>(users.size()) && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return state->connected.load();
}

void LoadEngine::ConnectUser(User& user, std::function<void(bool)> done) {
  user.conn = LoadConnection::Create(IoOf(user), options_.encoding);
  user.on_connected = std::move(done);
  const auto source = net::ip::make_address_v4(
      static_cast<uint32_t>((127u << 24) + 1 + user.index % std::max(1, options_.source_addrs)));
  const int64_t start = NowNs();
  user.conn->Open(
      server_, source,
      [this, &user, start](const std::string& error) {
        if (!error.empty()) {
          counters_.connect_failed.fetch_add(1);
          {
            std::lock_guard<std::mutex> lock(close_mu_);
            if (close_samples_.size() < kMaxCloseSamples) close_samples_.push_back(error);
          }
          if (auto done = std::move(user.on_connected)) done(false);
          return;
        }
        Frame frame;
        im::client::v1::Connect* connect = frame.mutable_connect();
        connect->set_uid(user.uid);
        connect->set_token(options_.token);
        connect->set_device_id(options_.device_id);
        connect->set_device_flag(common::DEVICE_FLAG_APP);
        connect->set_protocol_version(1);
        Pending pending;
        pending.kind = Pending::kConnect;
        pending.sent_ns = start;
        Request(user, frame, pending);
      },
      [this, &user](Frame& frame) { OnFrame(user, frame); },
      [this, &user](const std::string& reason) { OnClose(user, reason); });
}

void LoadEngine::OnFrame(User& user, Frame& frame) {
  if (frame.request_id().empty()) {
    if (frame.has_recv()) OnRecv(user, frame.recv().message());
    return;
  }
  uint64_t id = 0;
  if (!absl::SimpleAtoi(frame.request_id(), &id)) return;
  auto it = user.pending.find(id);
  if (it == user.pending.end()) return;
  const Pending pending = it->second;
  user.pending.erase(it);
  const int64_t now = NowNs();
  switch (pending.kind) {
    case Pending::kConnect: {
      const bool ok =
          frame.has_connack() && frame.connack().reason() == common::REASON_CODE_SUCCESS;
      if (ok) {
        user.online = true;
        counters_.online.fetch_add(1);
        histograms_.connect.Record((now - pending.sent_ns) / 1000);
        const int64_t interval = absl::ToInt64Nanoseconds(options_.ping_interval);
        user.next_ping_ns = now + interval / 2 + (interval / 2) * (user.index % 1000) / 1000;
        // What a dropped connection had in flight goes again, with the same client_msg_no: the
        // server answers a retry of a stored message with its original seq.
        std::vector<Pending> retries = std::move(user.retries);
        user.retries.clear();
        for (const Pending& retry : retries) {
          counters_.resent.fetch_add(1);
          View& view = user.views[retry.view];
          ++view.in_flight;
          Frame send;
          im::client::v1::Send* body = send.mutable_send();
          *body->mutable_channel() = view.seen;
          body->set_client_msg_no(absl::StrCat(retry.view, "-", retry.number));
          std::string payload(std::max<size_t>(kPayloadHeader, options_.payload_bytes), 'x');
          std::memcpy(payload.data(), &retry.sent_ns, 8);
          std::memcpy(payload.data() + 8, &user.index, 4);
          std::memcpy(payload.data() + 12, &retry.number, 8);
          body->set_payload(std::move(payload));
          Request(user, send, retry);
        }
      } else {
        counters_.connect_failed.fetch_add(1);
        std::lock_guard<std::mutex> lock(close_mu_);
        if (close_samples_.size() < kMaxCloseSamples) {
          close_samples_.push_back(
              absl::StrCat("CONNECT ", user.uid, ": ", frame.ShortDebugString()));
        }
      }
      if (auto done = std::move(user.on_connected)) done(ok);
      if (ok && sending_ && rate_per_view_.load() == 0) FillWindows(user);
      return;
    }
    case Pending::kSend: {
      if (frame.has_sendack()) {
        OnSendAck(user, pending, frame.sendack());
      } else {
        im::client::v1::SendAck failed;
        failed.set_reason(common::REASON_CODE_INTERNAL);
        failed.set_message(frame.ShortDebugString());
        OnSendAck(user, pending, failed);
      }
      return;
    }
    case Pending::kPing:
      counters_.pongs.fetch_add(1);
      return;
    case Pending::kSnapshot: {
      if (!frame.has_seq_snapshot_response() ||
          frame.seq_snapshot_response().reason() != common::REASON_CODE_SUCCESS) {
        counters_.catchups_failed.fetch_add(1);
        FinishCatchUp(user);
        return;
      }
      for (const auto& seq : frame.seq_snapshot_response().seqs()) {
        auto view = user.view_by_key.find(ViewKey(seq.channel()));
        if (view != user.view_by_key.end()) {
          user.views[view->second].catchup_target = seq.max_seq();
        }
      }
      SyncNext(user, 0);
      return;
    }
    case Pending::kSync: {
      View& view = user.views[pending.view];
      if (!frame.has_sync_channel_messages_response() ||
          frame.sync_channel_messages_response().reason() != common::REASON_CODE_SUCCESS) {
        counters_.catchups_failed.fetch_add(1);
        view.catchup_target = 0;
        SyncNext(user, pending.view + 1);
        return;
      }
      const auto& response = frame.sync_channel_messages_response();
      for (const common::Message& message : response.messages()) {
        // History holds the user's own messages too; they were never due to it as deliveries.
        if (message.from_uid() == user.uid) {
          view.last_seq = std::max(view.last_seq, message.message_seq());
          continue;
        }
        int64_t sent_ns = 0;
        if (message.payload().size() >= 8) std::memcpy(&sent_ns, message.payload().data(), 8);
        Deliver(user, view, message.message_seq(), sent_ns, /*live=*/false);
        view.synced_seqs.insert(message.message_seq());
      }
      const int64_t before = view.synced_to;
      view.synced_to = std::max(view.synced_to, response.covered().end_seq());
      if (!response.has_more() || view.synced_to <= before) view.catchup_target = 0;
      SyncNext(user, pending.view);
      return;
    }
  }
}

void LoadEngine::OnClose(User& user, const std::string& reason) {
  if (user.online) counters_.online.fetch_sub(1);
  user.online = false;
  if (!user.dropping && !stopping_) {
    counters_.closed_unexpectedly.fetch_add(1);
    std::lock_guard<std::mutex> lock(close_mu_);
    if (close_samples_.size() < kMaxCloseSamples) {
      close_samples_.push_back(absl::StrCat(user.uid, ": ", reason));
    }
  }
  for (const auto& [id, pending] : user.pending) {
    if (pending.kind == Pending::kSend) {
      --user.views[pending.view].in_flight;
      if (user.dropping) {
        user.retries.push_back(pending);
      } else {
        counters_.send_failed.fetch_add(1);
        user.unsettled.push_back(user.views[pending.view].channel);
        outstanding_.fetch_sub(1);
      }
    } else if (pending.kind == Pending::kSnapshot || pending.kind == Pending::kSync) {
      counters_.catchups_failed.fetch_add(1);
    }
  }
  user.pending.clear();
  user.catching_up = false;
  if (auto done = std::move(user.on_connected)) done(false);
}

void LoadEngine::OnRecv(User& user, const common::Message& message) {
  if (options_.recvack) {
    Frame ack;
    im::client::v1::RecvAck* body = ack.mutable_recvack();
    *body->mutable_channel() = message.channel();
    body->set_message_id(message.message_id());
    body->set_message_seq(message.message_seq());
    user.conn->Write(ack);
  }
  int64_t sent_ns = 0;
  if (message.payload().size() >= 8) std::memcpy(&sent_ns, message.payload().data(), 8);
  auto it = user.view_by_key.find(ViewKey(message.channel()));
  if (it == user.view_by_key.end()) {
    // Not a channel of this user: the verifier counts it as unexpected.
    user.deliveries.emplace_back(UINT32_MAX, message.message_seq());
    counters_.delivered.fetch_add(1);
    return;
  }
  if (user.catching_up) {
    user.buffered.push_back({it->second, message.message_seq(), sent_ns});
    return;
  }
  View& view = user.views[it->second];
  if (view.synced_seqs.erase(message.message_seq()) > 0) {
    counters_.overlap_dropped.fetch_add(1);
    return;
  }
  Deliver(user, view, message.message_seq(), sent_ns, /*live=*/true);
}

void LoadEngine::Deliver(User& user, View& view, int64_t seq, int64_t sent_ns, bool live) {
  user.deliveries.emplace_back(view.channel, seq);
  view.last_seq = std::max(view.last_seq, seq);
  if (live) {
    counters_.delivered.fetch_add(1, std::memory_order_relaxed);
    if (sent_ns > 0) histograms_.send_recv.Record((NowNs() - sent_ns) / 1000);
  } else {
    counters_.catchup_delivered.fetch_add(1, std::memory_order_relaxed);
  }
}

void LoadEngine::SendMessage(User& user, int slot, int64_t number, int64_t sent_ns) {
  View& view = user.views[slot];
  ++view.in_flight;
  Frame frame;
  im::client::v1::Send* send = frame.mutable_send();
  *send->mutable_channel() = view.seen;
  send->set_client_msg_no(absl::StrCat(slot, "-", number));
  std::string payload(std::max<size_t>(kPayloadHeader, options_.payload_bytes), 'x');
  std::memcpy(payload.data(), &sent_ns, 8);
  std::memcpy(payload.data() + 8, &user.index, 4);
  std::memcpy(payload.data() + 12, &number, 8);
  send->set_payload(std::move(payload));
  Pending pending;
  pending.kind = Pending::kSend;
  pending.view = slot;
  pending.number = number;
  pending.sent_ns = sent_ns;
  Request(user, frame, pending);
}

void LoadEngine::SendNext(User& user, int slot, int64_t now_ns) {
  View& view = user.views[slot];
  const int64_t number = view.next_number++;
  counters_.sent.fetch_add(1, std::memory_order_relaxed);
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  SendMessage(user, slot, number, now_ns);
}

void LoadEngine::OnSendAck(User& user, const Pending& pending, const im::client::v1::SendAck& ack) {
  View& view = user.views[pending.view];
  --view.in_flight;
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  if (ack.reason() == common::REASON_CODE_SUCCESS) {
    counters_.acked.fetch_add(1, std::memory_order_relaxed);
    histograms_.send_ack.Record((NowNs() - pending.sent_ns) / 1000);
    user.acks.emplace_back(view.channel, ack.message_seq());
  } else {
    counters_.send_failed.fetch_add(1);
    user.unsettled.push_back(view.channel);
    std::lock_guard<std::mutex> lock(close_mu_);
    if (close_samples_.size() < kMaxCloseSamples) {
      close_samples_.push_back(absl::StrCat(
          "SENDACK ", user.uid, ": ", common::ReasonCode_Name(ack.reason()), " ", ack.message()));
    }
  }
  if (sending_ && rate_per_view_.load() == 0) FillWindows(user);
}

void LoadEngine::FillWindows(User& user) {
  if (!user.online || !sending_) return;
  const int64_t now = NowNs();
  if (now >= send_end_ns_.load()) return;
  const int64_t max = max_per_view_.load();
  for (int slot : user.send_views) {
    View& view = user.views[slot];
    while (view.in_flight < options_.window && (max == 0 || view.next_number < max)) {
      SendNext(user, slot, now);
    }
  }
}

void LoadEngine::Tick(int thread) {
  const double rate = rate_per_view_.load();
  if (!sending_ || rate == 0) return;
  const int64_t now = NowNs();
  if (now >= send_end_ns_.load()) return;
  const double periods = rate * static_cast<double>(now - send_start_ns_.load()) / 1e9;
  const int64_t max = max_per_view_.load();
  for (uint32_t index : users_by_thread_[thread]) {
    User& user = *users_[index];
    if (!user.online) continue;
    for (int slot : user.send_views) {
      View& view = user.views[slot];
      const int64_t due = static_cast<int64_t>(periods + view.phase);
      const int64_t limit = max == 0 ? due : std::min(due, max);
      while (view.next_number < limit && view.in_flight < options_.window) {
        SendNext(user, slot, now);
      }
    }
  }
}

void LoadEngine::PingTick(int thread) {
  const int64_t now = NowNs();
  const int64_t interval = absl::ToInt64Nanoseconds(options_.ping_interval);
  for (uint32_t index : users_by_thread_[thread]) {
    User& user = *users_[index];
    if (!user.online || now < user.next_ping_ns) continue;
    user.next_ping_ns = now + interval;
    Frame ping;
    ping.mutable_ping();
    Pending pending;
    pending.kind = Pending::kPing;
    pending.sent_ns = now;
    counters_.pings.fetch_add(1);
    Request(user, ping, pending);
  }
}

void LoadEngine::StartSending(double rate, absl::Duration duration, int64_t max_per_view) {
  int64_t views = 0;
  for (const auto& user : users_) views += static_cast<int64_t>(user->send_views.size());
  int64_t ordinal = 0;
  for (const auto& user : users_) {
    for (int slot : user->send_views) {
      user->views[slot].phase = (static_cast<double>(ordinal++) + 0.5) / static_cast<double>(views);
    }
  }
  const int64_t now = NowNs();
  send_start_ns_ = now;
  send_end_ns_ = now + absl::ToInt64Nanoseconds(duration);
  max_per_view_ = max_per_view;
  rate_per_view_ = rate > 0 && views > 0 ? rate / static_cast<double>(views) : 0;
  sending_ = true;
  if (rate_per_view_.load() > 0) return;
  for (size_t t = 0; t < ios_.size(); ++t) {
    net::post(*ios_[t], [this, t] {
      for (uint32_t index : users_by_thread_[t]) FillWindows(*users_[index]);
    });
  }
}

void LoadEngine::StopSending() { sending_ = false; }

int64_t LoadEngine::InFlight() const { return outstanding_.load(); }

bool LoadEngine::WaitAcked(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (outstanding_.load() > 0 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return outstanding_.load() <= 0;
}

bool LoadEngine::WaitDelivered(absl::Duration quiet, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int64_t last = -1;
  absl::Time changed = absl::Now();
  while (absl::Now() < deadline) {
    const int64_t now_count = counters_.delivered.load() + counters_.catchup_delivered.load();
    if (now_count != last) {
      last = now_count;
      changed = absl::Now();
    } else if (absl::Now() - changed >= quiet) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void LoadEngine::DropAndReconnect(const std::vector<uint32_t>& users) {
  for (uint32_t index : users) {
    User& user = *users_[index];
    net::post(IoOf(user), [this, &user] {
      if (!user.online) return;
      user.dropping = true;
      user.reconnect_start_ns = NowNs();
      user.conn->Abort();
      ConnectUser(user, [this, &user](bool ok) {
        if (!ok) {
          user.dropping = false;
          counters_.catchups_failed.fetch_add(1);
          for (const Pending& retry : user.retries) {
            counters_.send_failed.fetch_add(1);
            user.unsettled.push_back(user.views[retry.view].channel);
            outstanding_.fetch_sub(1);
          }
          user.retries.clear();
          return;
        }
        StartCatchUp(user);
      });
    });
  }
}

void LoadEngine::StartCatchUp(User& user) {
  user.catching_up = true;
  Frame frame;
  im::client::v1::SeqSnapshotRequest* request = frame.mutable_seq_snapshot_request();
  for (View& view : user.views) {
    view.catchup_target = 0;
    view.synced_to = view.last_seq;
    view.synced_seqs.clear();
    if (view.receives) *request->add_channels() = view.seen;
  }
  Pending pending;
  pending.kind = Pending::kSnapshot;
  pending.sent_ns = NowNs();
  Request(user, frame, pending);
}

void LoadEngine::SyncNext(User& user, size_t view_index) {
  for (; view_index < user.views.size(); ++view_index) {
    View& view = user.views[view_index];
    if (!view.receives || view.catchup_target <= std::max(view.last_seq, view.synced_to)) {
      continue;
    }
    Frame frame;
    im::client::v1::SyncChannelMessagesRequest* request =
        frame.mutable_sync_channel_messages_request();
    *request->mutable_channel() = view.seen;
    request->set_start_seq(std::max(view.last_seq, view.synced_to) + 1);
    request->set_end_seq(view.catchup_target);
    request->set_limit(kSyncPage);
    request->set_direction(im::message::v1::SYNC_DIRECTION_NEWER);
    Pending pending;
    pending.kind = Pending::kSync;
    pending.view = static_cast<int>(view_index);
    pending.sent_ns = NowNs();
    Request(user, frame, pending);
    return;
  }
  FinishCatchUp(user);
}

void LoadEngine::FinishCatchUp(User& user) {
  user.catching_up = false;
  for (const User::Buffered& push : user.buffered) {
    View& view = user.views[push.view];
    // Pushes that raced with the sync and fall inside the synced range were fetched already.
    if (push.seq <= view.synced_to) {
      view.synced_seqs.erase(push.seq);
      counters_.overlap_dropped.fetch_add(1);
      continue;
    }
    Deliver(user, view, push.seq, push.sent_ns, /*live=*/true);
  }
  user.buffered.clear();
  user.dropping = false;
  counters_.catchups_done.fetch_add(1);
  histograms_.catchup.Record((NowNs() - user.reconnect_start_ns) / 1000);
}

bool LoadEngine::WaitCaughtUp(int64_t expected_catchups, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (counters_.catchups_done.load() + counters_.catchups_failed.load() < expected_catchups &&
         absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return counters_.catchups_done.load() >= expected_catchups;
}

void LoadEngine::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  sending_ = false;
  stopping_ = true;
  std::vector<std::future<void>> aborted;
  for (size_t t = 0; t < ios_.size(); ++t) {
    auto done = std::make_shared<std::promise<void>>();
    aborted.push_back(done->get_future());
    net::post(*ios_[t], [this, t, done] {
      for (uint32_t index : users_by_thread_[t]) {
        User& user = *users_[index];
        if (user.conn) user.conn->Abort();
      }
      done->set_value();
    });
  }
  for (auto& future : aborted) future.wait_for(std::chrono::seconds(30));
  for (auto& io : ios_) io->stop();
  for (std::thread& thread : threads_) thread.join();
}

void LoadEngine::FeedVerifier(DeliveryVerifier& verifier) const {
  for (const auto& user : users_) {
    for (const View& view : user->views) {
      if (view.receives) verifier.Subscribe(user->index, view.channel);
    }
    for (const auto& [channel, seq] : user->acks) verifier.Acked(channel, seq, user->index);
    for (uint32_t channel : user->unsettled) verifier.Unsettled(channel);
    for (const Pending& retry : user->retries) verifier.Unsettled(user->views[retry.view].channel);
  }
  for (const auto& user : users_) {
    for (const auto& [channel, seq] : user->deliveries) {
      verifier.Delivered(user->index, channel, seq);
    }
  }
}

std::vector<std::string> LoadEngine::CloseSamples() const {
  std::lock_guard<std::mutex> lock(close_mu_);
  return close_samples_;
}

}  // namespace im::load
