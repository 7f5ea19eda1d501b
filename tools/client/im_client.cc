#include "tools/client/im_client.h"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"

namespace im::client {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// The `has` / `get` body of an answer to `name`; INTERNAL when the server answered otherwise
// (e.g. an ErrorResponse).
template <typename Response>
absl::StatusOr<Response> Expect(absl::StatusOr<Frame> answer, bool (Frame::*has)() const,
                                const Response& (Frame::*get)() const, const char* name) {
  if (!answer.ok()) return answer.status();
  if (!((*answer).*has)()) {
    return absl::InternalError(absl::StrCat(name, " answered by ", answer->ShortDebugString()));
  }
  return ((*answer).*get)();
}

}  // namespace

im::common::v1::Channel PersonChannel(const std::string& peer_uid) {
  im::common::v1::Channel channel;
  channel.set_id(peer_uid);
  channel.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
  return channel;
}

im::common::v1::Channel GroupChannel(const std::string& group_id) {
  im::common::v1::Channel channel;
  channel.set_id(group_id);
  channel.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
  return channel;
}

// All socket work runs on one thread (`thread_`), which is the implicit strand of the stream;
// callers reach it by posting. Handlers capture `this`: Close joins the thread before the Impl
// goes.
class ImClient::Impl {
 public:
  absl::Status Connect(const std::string& host, int port, Encoding encoding,
                       absl::Duration timeout) {
    if (thread_.joinable()) return absl::FailedPreconditionError("Connect was already called");
    encoding_ = encoding;
    host_ = absl::StrCat(host, ":", port);
    thread_ = std::thread([this] { io_.run(); });
    auto done = std::make_shared<std::promise<beast::error_code>>();
    net::post(io_, [this, host, port, timeout, done] {
      resolver_.async_resolve(
          host, absl::StrCat(port),
          [this, timeout, done](beast::error_code ec, tcp::resolver::results_type endpoints) {
            if (ec) return done->set_value(ec);
            beast::get_lowest_layer(ws_).expires_after(ToChrono(timeout));
            beast::get_lowest_layer(ws_).async_connect(
                endpoints, [this, done](beast::error_code ec, const tcp::endpoint&) {
                  if (ec) return done->set_value(ec);
                  ws_.async_handshake(host_, "/", [this, done](beast::error_code ec) {
                    beast::get_lowest_layer(ws_).expires_never();
                    ws_.set_option(
                        websocket::stream_base::timeout::suggested(beast::role_type::client));
                    if (!ec) Read();
                    done->set_value(ec);
                  });
                });
          });
    });
    std::future<beast::error_code> result = done->get_future();
    if (result.wait_for(ToChrono(timeout + absl::Seconds(1))) != std::future_status::ready) {
      Finish("connect timed out");
      return absl::DeadlineExceededError(absl::StrCat("connecting to ", host_, " timed out"));
    }
    if (beast::error_code ec = result.get()) {
      Finish(ec.message());
      return absl::UnavailableError(absl::StrCat("ws://", host_, "/: ", ec.message()));
    }
    return absl::OkStatus();
  }

  void CallAsync(Frame request, ResponseCallback on_response) {
    request.set_request_id(absl::StrCat("r", next_id_.fetch_add(1)));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_) {
        pending_.emplace(request.request_id(), std::move(on_response));
        on_response = nullptr;
      }
    }
    if (on_response) {
      on_response(absl::UnavailableError("connection is closed"));
      return;
    }
    // A close after the request was registered fails it through Finish.
    (void)Write(EncodeFrame(request, encoding_), encoding_ == Encoding::kBinary);
  }

  absl::StatusOr<Frame> Call(Frame request, absl::Duration timeout) {
    auto answer = std::make_shared<std::promise<absl::StatusOr<Frame>>>();
    std::future<absl::StatusOr<Frame>> result = answer->get_future();
    request.set_request_id(absl::StrCat("r", next_id_.fetch_add(1)));
    const std::string id = request.request_id();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return absl::UnavailableError("connection is closed");
      pending_.emplace(
          id, [answer](absl::StatusOr<Frame> frame) { answer->set_value(std::move(frame)); });
    }
    // A close after the request was registered fails it through Finish.
    (void)Write(EncodeFrame(request, encoding_), encoding_ == Encoding::kBinary);
    if (result.wait_for(ToChrono(timeout)) != std::future_status::ready) {
      std::lock_guard<std::mutex> lock(mu_);
      // The answer may have won the race for the lock; then it is ready now.
      if (pending_.erase(id) > 0) {
        const auto* body = Frame::GetDescriptor()->FindFieldByNumber(request.body_case());
        return absl::DeadlineExceededError(absl::StrCat("no answer to ",
                                                        body == nullptr ? "a frame" : body->name(),
                                                        " within ", absl::FormatDuration(timeout)));
      }
    }
    return result.get();
  }

  std::optional<Frame> NextPush(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, ToChrono(timeout), [this] { return !inbox_.empty(); })) {
      return std::nullopt;
    }
    Frame frame = std::move(inbox_.front());
    inbox_.pop_front();
    return frame;
  }

  void SetPushHandler(PushHandler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    push_handler_ = std::make_shared<PushHandler>(std::move(handler));
  }

  absl::Status Write(std::string bytes, bool binary) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return absl::UnavailableError("connection is closed");
    }
    net::post(io_, [this, bytes = std::move(bytes), binary]() mutable {
      writes_.emplace_back(std::move(bytes), binary);
      if (writes_.size() == 1) WriteNext();
    });
    return absl::OkStatus();
  }

  bool WaitClosed(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, ToChrono(timeout), [this] { return closed_; });
  }

  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  std::string close_reason() const {
    std::lock_guard<std::mutex> lock(mu_);
    return close_reason_;
  }

  void Close() {
    if (!thread_.joinable()) return;
    net::post(io_, [this] {
      if (!ws_.is_open()) return;
      ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
    });
    WaitClosed(absl::Seconds(2));
    work_.reset();
    io_.stop();
    thread_.join();
    Finish("closed by the client");
  }

  Encoding encoding() const { return encoding_; }

 private:
  void Read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
      if (ec) {
        const websocket::close_reason& reason = ws_.reason();
        Finish(ec == websocket::error::closed
                   ? absl::StrCat("closed by the server (code ", reason.code, ") ",
                                  std::string(reason.reason.data(), reason.reason.size()))
                   : ec.message());
        return;
      }
      std::string data = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      absl::StatusOr<Frame> frame =
          DecodeFrame(data, ws_.got_text() ? Encoding::kJson : Encoding::kBinary,
                      std::numeric_limits<size_t>::max(), UnknownJsonFields::kIgnore);
      // A frame this client cannot decode answers nothing it waits for; the caller notices the
      // missing answer by its timeout.
      if (frame.ok()) Dispatch(std::move(*frame));
      Read();
    });
  }

  void Dispatch(Frame frame) {
    ResponseCallback waiter;
    std::shared_ptr<PushHandler> handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = frame.request_id().empty() ? pending_.end() : pending_.find(frame.request_id());
      if (it != pending_.end()) {
        waiter = std::move(it->second);
        pending_.erase(it);
      } else if (push_handler_ == nullptr) {
        inbox_.push_back(std::move(frame));
        cv_.notify_all();
        return;
      } else {
        handler = push_handler_;
      }
    }
    if (waiter) {
      waiter(std::move(frame));
    } else {
      (*handler)(frame);
    }
  }

  void WriteNext() {
    auto& [bytes, binary] = writes_.front();
    ws_.binary(binary);
    ws_.async_write(net::buffer(bytes), [this](beast::error_code ec, size_t) {
      if (ec) {
        writes_.clear();
        return;  // The read fails too and ends the connection.
      }
      writes_.pop_front();
      if (!writes_.empty()) WriteNext();
    });
  }

  // Marks the connection closed and fails every request still waiting.
  void Finish(const std::string& reason) {
    std::unordered_map<std::string, ResponseCallback> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      close_reason_ = reason;
      pending.swap(pending_);
      cv_.notify_all();
    }
    for (auto& [id, callback] : pending) {
      callback(absl::UnavailableError(absl::StrCat("connection closed: ", reason)));
    }
  }

  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
  tcp::resolver resolver_{io_};
  websocket::stream<beast::tcp_stream> ws_{io_};
  beast::flat_buffer buffer_;
  std::thread thread_;
  Encoding encoding_ = Encoding::kBinary;
  std::string host_;
  std::atomic<uint64_t> next_id_{1};
  // Only touched on the socket thread.
  std::deque<std::pair<std::string, bool>> writes_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, ResponseCallback> pending_;
  std::deque<Frame> inbox_;
  std::shared_ptr<PushHandler> push_handler_;
  bool closed_ = false;
  std::string close_reason_;
};

ImClient::ImClient() : impl_(std::make_unique<Impl>()) {}

ImClient::~ImClient() { impl_->Close(); }

absl::Status ImClient::Connect(const std::string& host, int port, Encoding encoding,
                               absl::Duration timeout) {
  return impl_->Connect(host, port, encoding, timeout);
}

absl::StatusOr<ConnAck> ImClient::Handshake(const std::string& uid, const std::string& token,
                                            const std::string& device_id,
                                            im::common::v1::DeviceFlag device_flag,
                                            uint32_t protocol_version, absl::Duration timeout) {
  Frame request;
  im::client::v1::Connect* connect = request.mutable_connect();
  connect->set_uid(uid);
  connect->set_token(token);
  connect->set_device_id(device_id);
  connect->set_device_flag(device_flag);
  connect->set_protocol_version(protocol_version);
  absl::StatusOr<Frame> answer = Call(std::move(request), timeout);
  if (!answer.ok()) return answer.status();
  if (!answer->has_connack()) {
    return absl::InternalError(absl::StrCat("CONNECT answered by ", answer->ShortDebugString()));
  }
  return answer->connack();
}

absl::StatusOr<SendAck> ImClient::Send(const im::common::v1::Channel& channel,
                                       const std::string& client_msg_no, const std::string& payload,
                                       const im::common::v1::MessageFlags& flags,
                                       absl::Duration timeout) {
  Frame request;
  im::client::v1::Send* send = request.mutable_send();
  *send->mutable_channel() = channel;
  send->set_client_msg_no(client_msg_no);
  send->set_payload(payload);
  *send->mutable_flags() = flags;
  absl::StatusOr<Frame> answer = Call(std::move(request), timeout);
  if (!answer.ok()) return answer.status();
  if (!answer->has_sendack()) {
    return absl::InternalError(absl::StrCat("SEND answered by ", answer->ShortDebugString()));
  }
  return answer->sendack();
}

void ImClient::SendAsync(const im::common::v1::Channel& channel, const std::string& client_msg_no,
                         const std::string& payload, const im::common::v1::MessageFlags& flags,
                         ResponseCallback on_ack) {
  Frame request;
  im::client::v1::Send* send = request.mutable_send();
  *send->mutable_channel() = channel;
  send->set_client_msg_no(client_msg_no);
  send->set_payload(payload);
  *send->mutable_flags() = flags;
  impl_->CallAsync(std::move(request), std::move(on_ack));
}

absl::StatusOr<SyncChannelMessagesResponse> ImClient::SyncChannelMessages(
    const SyncChannelMessagesRequest& request, absl::Duration timeout) {
  Frame frame;
  *frame.mutable_sync_channel_messages_request() = request;
  absl::StatusOr<Frame> answer = Call(std::move(frame), timeout);
  if (!answer.ok()) return answer.status();
  if (!answer->has_sync_channel_messages_response()) {
    return absl::InternalError(
        absl::StrCat("SyncChannelMessages answered by ", answer->ShortDebugString()));
  }
  return answer->sync_channel_messages_response();
}

absl::StatusOr<SyncConversationsResponse> ImClient::SyncConversations(
    const SyncConversationsRequest& request, absl::Duration timeout) {
  Frame frame;
  *frame.mutable_sync_conversations_request() = request;
  return Expect(Call(std::move(frame), timeout), &Frame::has_sync_conversations_response,
                &Frame::sync_conversations_response, "SyncConversations");
}

absl::StatusOr<ConversationStateResponse> ImClient::ClearUnread(
    const im::common::v1::Channel& channel, int64_t read_seq, absl::Duration timeout) {
  Frame frame;
  *frame.mutable_clear_unread_request()->mutable_channel() = channel;
  frame.mutable_clear_unread_request()->set_read_seq(read_seq);
  return Expect(Call(std::move(frame), timeout), &Frame::has_clear_unread_response,
                &Frame::clear_unread_response, "ClearUnread");
}

absl::StatusOr<ConversationStateResponse> ImClient::SetUnread(
    const im::common::v1::Channel& channel, uint32_t unread, absl::Duration timeout) {
  Frame frame;
  *frame.mutable_set_unread_request()->mutable_channel() = channel;
  frame.mutable_set_unread_request()->set_unread(unread);
  return Expect(Call(std::move(frame), timeout), &Frame::has_set_unread_response,
                &Frame::set_unread_response, "SetUnread");
}

absl::StatusOr<ConversationStateResponse> ImClient::DeleteConversation(
    const im::common::v1::Channel& channel, absl::Duration timeout) {
  Frame frame;
  *frame.mutable_delete_conversation_request()->mutable_channel() = channel;
  return Expect(Call(std::move(frame), timeout), &Frame::has_delete_conversation_response,
                &Frame::delete_conversation_response, "DeleteConversation");
}

absl::StatusOr<ConversationStateResponse> ImClient::SetPinned(
    const im::common::v1::Channel& channel, bool pinned, absl::Duration timeout) {
  Frame frame;
  *frame.mutable_set_pinned_request()->mutable_channel() = channel;
  frame.mutable_set_pinned_request()->set_pinned(pinned);
  return Expect(Call(std::move(frame), timeout), &Frame::has_set_pinned_response,
                &Frame::set_pinned_response, "SetPinned");
}

absl::StatusOr<ConversationStateResponse> ImClient::SetMuted(const im::common::v1::Channel& channel,
                                                             bool muted, absl::Duration timeout) {
  Frame frame;
  *frame.mutable_set_muted_request()->mutable_channel() = channel;
  frame.mutable_set_muted_request()->set_muted(muted);
  return Expect(Call(std::move(frame), timeout), &Frame::has_set_muted_response,
                &Frame::set_muted_response, "SetMuted");
}

absl::StatusOr<SeqSnapshotResponse> ImClient::SeqSnapshot(
    const std::vector<im::common::v1::Channel>& channels, absl::Duration timeout) {
  Frame frame;
  im::client::v1::SeqSnapshotRequest* request = frame.mutable_seq_snapshot_request();
  for (const im::common::v1::Channel& channel : channels) *request->add_channels() = channel;
  return Expect(Call(std::move(frame), timeout), &Frame::has_seq_snapshot_response,
                &Frame::seq_snapshot_response, "SeqSnapshot");
}

absl::StatusOr<SeqSubscribeResponse> ImClient::SeqSubscribe(SeqSubscribeMode mode,
                                                            absl::Duration timeout) {
  Frame frame;
  frame.mutable_seq_subscribe_request()->set_mode(mode);
  return Expect(Call(std::move(frame), timeout), &Frame::has_seq_subscribe_response,
                &Frame::seq_subscribe_response, "SeqSubscribe");
}

absl::StatusOr<CmdSyncResponse> ImClient::CmdSync(int64_t after, uint32_t limit,
                                                  absl::Duration timeout) {
  Frame frame;
  frame.mutable_cmd_sync_request()->set_after(after);
  frame.mutable_cmd_sync_request()->set_limit(limit);
  return Expect(Call(std::move(frame), timeout), &Frame::has_cmd_sync_response,
                &Frame::cmd_sync_response, "CmdSync");
}

absl::StatusOr<CmdAckResponse> ImClient::CmdAck(int64_t up_to, absl::Duration timeout) {
  Frame frame;
  frame.mutable_cmd_ack_request()->set_up_to(up_to);
  return Expect(Call(std::move(frame), timeout), &Frame::has_cmd_ack_response,
                &Frame::cmd_ack_response, "CmdAck");
}

absl::StatusOr<ExtensionSetResponse> ImClient::ExtensionSet(const ExtensionSetRequest& request,
                                                            absl::Duration timeout) {
  Frame frame;
  *frame.mutable_extension_set_request() = request;
  return Expect(Call(std::move(frame), timeout), &Frame::has_extension_set_response,
                &Frame::extension_set_response, "ExtensionSet");
}

absl::StatusOr<ExtensionSyncResponse> ImClient::ExtensionSync(const ExtensionSyncRequest& request,
                                                              absl::Duration timeout) {
  Frame frame;
  *frame.mutable_extension_sync_request() = request;
  return Expect(Call(std::move(frame), timeout), &Frame::has_extension_sync_response,
                &Frame::extension_sync_response, "ExtensionSync");
}

absl::StatusOr<int64_t> ImClient::Ping(absl::Duration timeout) {
  Frame frame;
  frame.mutable_ping();
  absl::StatusOr<Frame> answer = Call(std::move(frame), timeout);
  if (!answer.ok()) return answer.status();
  if (!answer->has_pong()) {
    return absl::InternalError(absl::StrCat("PING answered by ", answer->ShortDebugString()));
  }
  return answer->pong().server_time();
}

absl::Status ImClient::RecvAck(const im::common::v1::Message& message) {
  Frame frame;
  im::client::v1::RecvAck* ack = frame.mutable_recvack();
  *ack->mutable_channel() = message.channel();
  ack->set_message_id(message.message_id());
  ack->set_message_seq(message.message_seq());
  return SendFrame(frame);
}

absl::StatusOr<Frame> ImClient::Call(Frame request, absl::Duration timeout) {
  return impl_->Call(std::move(request), timeout);
}

void ImClient::CallAsync(Frame request, ResponseCallback on_response) {
  impl_->CallAsync(std::move(request), std::move(on_response));
}

std::optional<Frame> ImClient::NextPush(absl::Duration timeout) { return impl_->NextPush(timeout); }

void ImClient::SetPushHandler(PushHandler handler) { impl_->SetPushHandler(std::move(handler)); }

absl::Status ImClient::SendFrame(const Frame& frame) {
  return impl_->Write(EncodeFrame(frame, impl_->encoding()),
                      impl_->encoding() == Encoding::kBinary);
}

absl::Status ImClient::SendRawBinary(const std::string& bytes) { return impl_->Write(bytes, true); }

absl::Status ImClient::SendRawText(const std::string& bytes) { return impl_->Write(bytes, false); }

bool ImClient::WaitClosed(absl::Duration timeout) { return impl_->WaitClosed(timeout); }

bool ImClient::closed() const { return impl_->closed(); }

std::string ImClient::close_reason() const { return impl_->close_reason(); }

void ImClient::Close() { impl_->Close(); }

}  // namespace im::client
