#include "services/gateway/ws_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/reason_codes.h"
#include "services/gateway/frames.h"
#include "services/message/public/channel_key.h"

namespace im::gateway {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using im::client::v1::Frame;
using im::common::v1::ReasonCode;

constexpr uint32_t kProtocolVersion = 1;
// What is read at a time once a connection is closing and its frames are only discarded.
constexpr size_t kDiscardChunk = 16 * 1024;
// How long the WebSocket upgrade may take.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

}  // namespace

WsSession::WsSession(IoSocket&& socket, const SessionDeps* deps)
    : deps_(deps),
      ws_(std::move(socket)),
      timer_(ws_.get_executor()),
      limiter_(deps->options->rate_limit_per_sec, deps->options->rate_limit_burst) {}

void WsSession::Run() {
  net::dispatch(ws_.get_executor(), [self = shared_from_this()] {
    self->ws_.next_layer().SetOwner(self);
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout = kHandshakeTimeout;
    // Idleness is the client protocol's business (IDLE_TIMEOUT with a DISCONNECT), not Beast's.
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    self->ws_.set_option(timeout);
    // The frame size limit is enforced while reading (OnRead), so an oversized frame gets a
    // DISCONNECT(TOO_LARGE) rather than Beast's bare protocol failure.
    self->ws_.read_message_max(0);
    self->ws_.async_accept([self](beast::error_code ec) { self->OnAccept(ec); });
  });
}

void WsSession::OnAccept(beast::error_code ec) {
  if (ec) return;
  state_ = State::kAwaitConnect;
  counted_ = true;
  deps_->metrics->connections->Increment();
  last_frame_ = Clock::now();
  ArmTimer(last_frame_ + absl::ToChronoNanoseconds(deps_->options->idle_timeout));
  DoRead();
}

void WsSession::DoRead() {
  size_t limit = kDiscardChunk;
  if (state_ == State::kClosing || state_ == State::kClosed) {
    buffer_.consume(buffer_.size());
  } else {
    // One byte past the limit is enough to know a frame is too large.
    limit = deps_->options->max_frame_bytes + 1 - buffer_.size();
  }
  ws_.async_read_some(
      buffer_, limit,
      [self = shared_from_this()](beast::error_code ec, size_t bytes) { self->OnRead(ec, bytes); });
}

void WsSession::OnRead(beast::error_code ec, size_t) {
  if (ec) {
    Finish();
    return;
  }
  if (state_ == State::kClosing) {
    DoRead();
    return;
  }
  if (buffer_.size() > deps_->options->max_frame_bytes) {
    deps_->metrics->too_large_closes->Increment();
    CloseWithDisconnect(im::common::v1::REASON_CODE_TOO_LARGE,
                        absl::StrCat("frame over ", deps_->options->max_frame_bytes, " bytes"),
                        ws_.got_text() ? Encoding::kJson : Encoding::kBinary);
    DoRead();
    return;
  }
  if (!ws_.is_message_done()) {
    DoRead();
    return;
  }
  last_frame_ = Clock::now();
  OnMessage(ws_.got_text());
  buffer_.consume(buffer_.size());
  // While CONNECT is being checked nothing more is read, so frames pipelined behind it wait in
  // the socket, in order, instead of in memory.
  if (state_ != State::kAuthenticating) DoRead();
}

void WsSession::OnMessage(bool text) {
  deps_->metrics->frames_in->Increment();
  const Encoding encoding = text ? Encoding::kJson : Encoding::kBinary;
  const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  absl::StatusOr<Frame> frame = DecodeFrame(data, encoding, deps_->options->max_frame_bytes);

  if (state_ == State::kAwaitConnect) {
    if (!frame.ok()) {
      CloseWithDisconnect(im::common::v1::REASON_CODE_BAD_FRAME,
                          std::string(frame.status().message()), encoding);
    } else if (frame->body_case() != Frame::kConnect) {
      CloseWithDisconnect(im::common::v1::REASON_CODE_CONNECT_REQUIRED,
                          "the first frame must be CONNECT", encoding);
    } else {
      OnConnect(*frame, encoding);
    }
    return;
  }
  if (state_ != State::kConnected) return;

  switch (limiter_.Check(absl::Now())) {
    case RateLimiter::Verdict::kAllow:
      break;
    case RateLimiter::Verdict::kReject:
      deps_->metrics->rate_limited_frames->Increment();
      if (!frame.ok()) {
        Enqueue(MakeOutFrame(
            ErrorFrame("", im::common::v1::REASON_CODE_RATE_LIMITED, "rate limited"), encoding));
      } else if (frame->body_case() != Frame::kRecvack) {
        Enqueue(MakeOutFrame(RequestHandler::RefusalFor(
                                 *frame, im::common::v1::REASON_CODE_RATE_LIMITED, "rate limited"),
                             encoding));
      }
      return;
    case RateLimiter::Verdict::kDisconnect:
      deps_->metrics->rate_limited_closes->Increment();
      CloseWithDisconnect(im::common::v1::REASON_CODE_RATE_LIMITED,
                          "too many frames over the rate limit", encoding);
      return;
  }
  if (!frame.ok()) {
    Enqueue(MakeOutFrame(ErrorFrame("", im::common::v1::REASON_CODE_BAD_FRAME,
                                    std::string(frame.status().message())),
                         encoding));
    return;
  }
  if (frame->body_case() == Frame::kDisconnect) {
    // The client's goodbye: close the WebSocket without a DISCONNECT of our own.
    state_ = State::kClosing;
    StartClosingTimer();
    if (!writing_) DoWrite();
    return;
  }
  deps_->handler->Handle(shared_from_this(), *std::move(frame), encoding);
}

void WsSession::OnConnect(const Frame& frame, Encoding encoding) {
  const im::client::v1::Connect& connect = frame.connect();
  info_.encoding = encoding;
  if (connect.protocol_version() != kProtocolVersion) {
    RefuseConnect(frame.request_id(), im::common::v1::REASON_CODE_UNSUPPORTED_VERSION,
                  absl::StrCat("protocol_version must be ", kProtocolVersion));
    return;
  }
  absl::Status valid = ValidateId(connect.uid(), "uid");
  if (valid.ok()) valid = ValidateId(connect.device_id(), "device_id");
  if (valid.ok()) valid = ValidateDeviceFlag(connect.device_flag());
  if (!valid.ok()) {
    RefuseConnect(frame.request_id(), ReasonFor(valid), std::string(valid.message()));
    return;
  }
  info_.uid = connect.uid();
  info_.device_id = connect.device_id();
  info_.device_flag = connect.device_flag();
  state_ = State::kAuthenticating;
  const bool queued = deps_->workers->TrySubmit(
      [self = shared_from_this(), token = connect.token(), request_id = frame.request_id()] {
        absl::Status status =
            self->deps_->authenticator->Check(self->info_.uid, self->info_.device_flag, token);
        net::post(self->ws_.get_executor(), [self, status = std::move(status), request_id] {
          self->OnAuthenticated(status, request_id);
        });
      });
  if (!queued) {
    state_ = State::kAwaitConnect;
    RefuseConnect(frame.request_id(), im::common::v1::REASON_CODE_UNAVAILABLE,
                  "server busy; retry later");
  }
}

void WsSession::OnAuthenticated(const absl::Status& status, const std::string& request_id) {
  if (state_ != State::kAuthenticating) {
    DoRead();
    return;
  }
  if (!status.ok()) {
    deps_->metrics->auth_failures->Increment();
    state_ = State::kAwaitConnect;
    RefuseConnect(request_id, ReasonFor(status), std::string(status.message()));
    DoRead();
    return;
  }
  info_.connected_at_ms = absl::ToUnixMillis(absl::Now());
  const MultiDevicePolicy policy = deps_->options->multi_device;
  std::vector<std::shared_ptr<Connection>> replaced = deps_->hub->Add(shared_from_this(), policy);
  in_hub_ = true;
  deps_->metrics->authenticated->Increment();
  for (const std::shared_ptr<Connection>& old : replaced) {
    const bool same_device = old->info().device_id == info_.device_id;
    old->Close(im::common::v1::REASON_CODE_KICKED,
               same_device ? "this device connected again"
                           : absl::StrCat("replaced by device ", info_.device_id));
    // The replaced connection is out of the hub already, so its own close will not unregister it.
    if (!same_device) deps_->presence->Unregister(old->info().uid, old->info().device_id);
  }
  deps_->metrics->kicks->Increment(static_cast<double>(replaced.size()));
  // CONNACK waits for the presence write: a peer may send the moment the client sees it, and
  // that message must find this device live, not only by the next sync. The write itself waits
  // for the kicker's presence read, which it would hide the device's old gateway from.
  deps_->kicker->ReplaceElsewhere(info_, policy, [self = shared_from_this(), request_id] {
    self->deps_->presence->Register(self, [self, request_id](absl::Status status) {
      net::post(self->ws_.get_executor(), [self, request_id, status = std::move(status)] {
        self->OnRegistered(request_id, status);
      });
    });
  });
}

void WsSession::OnRegistered(const std::string& request_id, const absl::Status& status) {
  if (state_ != State::kAuthenticating) {
    DoRead();
    return;
  }
  if (!status.ok()) {
    held_.clear();
    held_bytes_ = 0;
    LeaveHub();
    state_ = State::kAwaitConnect;
    RefuseConnect(request_id, ReasonFor(status), std::string(status.message()));
    DoRead();
    return;
  }
  state_ = State::kConnected;
  Frame frame;
  frame.set_request_id(request_id);
  im::client::v1::ConnAck* ack = frame.mutable_connack();
  ack->set_reason(im::common::v1::REASON_CODE_SUCCESS);
  ack->set_protocol_version(kProtocolVersion);
  ack->set_server_time(info_.connected_at_ms);
  ack->set_idle_timeout_seconds(
      static_cast<uint32_t>(absl::ToInt64Seconds(deps_->options->idle_timeout)));
  ack->set_max_frame_bytes(static_cast<uint32_t>(deps_->options->max_frame_bytes));
  ack->set_rate_limit_per_sec(deps_->options->rate_limit_per_sec);
  ack->set_rate_limit_burst(deps_->options->rate_limit_burst);
  Enqueue(MakeOutFrame(frame, info_.encoding));
  held_bytes_ = 0;
  for (OutFrame& held : std::exchange(held_, {})) Enqueue(std::move(held));
  DoRead();
}

void WsSession::RefuseConnect(const std::string& request_id, ReasonCode reason,
                              std::string message) {
  Frame frame;
  frame.set_request_id(request_id);
  im::client::v1::ConnAck* ack = frame.mutable_connack();
  ack->set_reason(reason);
  ack->set_message(std::move(message));
  ack->set_protocol_version(kProtocolVersion);
  ack->set_server_time(absl::ToUnixMillis(absl::Now()));
  CloseWith(frame, info_.encoding);
}

void WsSession::Push(std::vector<OutFrame> frames) {
  net::post(ws_.get_executor(), [self = shared_from_this(), frames = std::move(frames)]() mutable {
    for (OutFrame& frame : frames) {
      if (self->state_ == State::kConnected) {
        self->Enqueue(std::move(frame));
      } else if (self->state_ == State::kAuthenticating && self->in_hub_) {
        // Deliveries already find this connection while its presence write is on the way.
        self->Hold(std::move(frame));
      } else {
        return;
      }
    }
  });
}

void WsSession::Close(ReasonCode reason, std::string message) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), reason, message = std::move(message)]() mutable {
              self->CloseWithDisconnect(reason, std::move(message), self->info_.encoding);
            });
}

void WsSession::Enqueue(OutFrame frame, bool last) {
  if (state_ == State::kClosed || (state_ == State::kClosing && !last)) return;
  const GatewayOptions& options = *deps_->options;
  // One frame always fits an empty queue: a sync page may be larger than the byte bound.
  if (!last &&
      (queue_.size() >= options.write_queue_max_frames ||
       (!queue_.empty() && queued_bytes_ + frame.data->size() > options.write_queue_max_bytes))) {
    deps_->metrics->slow_consumer_closes->Increment();
    // What is queued will not be read in time anyway; only the frame being written stays.
    while (queue_.size() > (writing_ ? 1u : 0u)) {
      queued_bytes_ -= queue_.back().data->size();
      queue_.pop_back();
    }
    CloseWithDisconnect(im::common::v1::REASON_CODE_SLOW_CONSUMER,
                        "the connection could not keep up with its pushes", info_.encoding);
    return;
  }
  queued_bytes_ += frame.data->size();
  queue_.push_back(std::move(frame));
  if (!writing_) DoWrite();
}

void WsSession::Hold(OutFrame frame) {
  const GatewayOptions& options = *deps_->options;
  if (held_.size() >= options.write_queue_max_frames ||
      (!held_.empty() && held_bytes_ + frame.data->size() > options.write_queue_max_bytes)) {
    deps_->metrics->slow_consumer_closes->Increment();
    held_.clear();
    held_bytes_ = 0;
    CloseWithDisconnect(im::common::v1::REASON_CODE_SLOW_CONSUMER,
                        "the connection could not keep up with its pushes", info_.encoding);
    return;
  }
  held_bytes_ += frame.data->size();
  held_.push_back(std::move(frame));
}

void WsSession::DoWrite() {
  if (queue_.empty()) {
    ws_.next_layer().Uncork();
    if (state_ == State::kClosing && !close_started_) {
      close_started_ = true;
      ws_.async_close(websocket::close_code::normal,
                      [self = shared_from_this()](beast::error_code) {});
    }
    return;
  }
  writing_ = true;
  // Frames written until the queue runs empty go out together.
  ws_.next_layer().Cork();
  const OutFrame& frame = queue_.front();
  ws_.text(frame.encoding == Encoding::kJson);
  ws_.async_write(net::buffer(*frame.data),
                  [self = shared_from_this()](beast::error_code ec, size_t bytes) {
                    self->OnWrite(ec, bytes);
                  });
}

void WsSession::OnWrite(beast::error_code ec, size_t) {
  writing_ = false;
  queued_bytes_ -= queue_.front().data->size();
  queue_.pop_front();
  if (ec) {
    CutSocket();
    return;
  }
  deps_->metrics->frames_out->Increment();
  DoWrite();
}

void WsSession::CloseWith(const Frame& last, Encoding encoding) {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  state_ = State::kClosing;
  Enqueue(MakeOutFrame(last, encoding), /*last=*/true);
  StartClosingTimer();
}

void WsSession::CloseWithDisconnect(ReasonCode reason, std::string message, Encoding encoding) {
  if (reason == im::common::v1::REASON_CODE_IDLE_TIMEOUT) deps_->metrics->idle_closes->Increment();
  CloseWith(DisconnectFrame(reason, std::move(message)), encoding);
}

void WsSession::StartClosingTimer() {
  ArmTimer(Clock::now() + absl::ToChronoNanoseconds(deps_->options->close_timeout));
}

void WsSession::CutSocket() {
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

void WsSession::ArmTimer(Clock::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) { self->OnTimer(ec); });
}

void WsSession::OnTimer(beast::error_code ec) {
  if (ec == net::error::operation_aborted || state_ == State::kClosed) return;
  if (state_ == State::kClosing) {
    CutSocket();
    return;
  }
  const auto deadline = last_frame_ + absl::ToChronoNanoseconds(deps_->options->idle_timeout);
  if (Clock::now() < deadline) {
    ArmTimer(deadline);
    return;
  }
  CloseWithDisconnect(
      im::common::v1::REASON_CODE_IDLE_TIMEOUT,
      absl::StrCat("no frame for ", absl::FormatDuration(deps_->options->idle_timeout)),
      info_.encoding);
}

void WsSession::Finish() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  timer_.cancel();
  CutSocket();
  if (counted_) deps_->metrics->connections->Decrement();
  LeaveHub();
}

void WsSession::LeaveHub() {
  if (!in_hub_) return;
  in_hub_ = false;
  deps_->metrics->authenticated->Decrement();
  if (deps_->hub->Remove(*this)) deps_->presence->Unregister(info_.uid, info_.device_id);
}

}  // namespace im::gateway
