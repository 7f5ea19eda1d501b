// The stream under a WebSocket (the gateway's sessions, the load generator's connections): writes
// go to a pending buffer and leave the socket in as few sends as possible. Beast writes one message
// per async_write and waits for it, so without this layer every frame costs a sendmsg; with it, the
// frames a session writes while corked (its queue holds more) and those written while a send is in
// flight leave together in one send.
//
// - Cork() holds writes in the buffer; Uncork() sends what is pending. Uncorked, a write is sent
//   at once (or right after the send in flight), so Beast's own frames (handshake answer, pong,
//   close) are never held.
// - A write completes once its bytes are copied. The buffer is bounded: a write that finds
//   kMaxPendingBytes pending waits until the send in flight ends (pending data is sent then even
//   while corked), so a slow reader still backs up into the session's bounded write queue.
// - Order is the order of the writes; one send at a time.
// - A failed send closes the socket, as a failed write always did, and fails every later write.
// - The WebSocket teardown (close handshake) first sends what is pending.
// - Reads pass through.
//
//   boost::beast::websocket::stream<CoalescingStream> ws(IoSocket(io_context));
//   ws.next_layer().SetOwner(session);  // a send in flight keeps its owner alive
//   ws.next_layer().Cork(); ...writes...; ws.next_layer().Uncork();
#pragma once

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace im {

// A socket and a timer bound to their io_context's own executor type instead of the type-erased
// any_io_executor: every asynchronous operation copies its executor a few times, and those copies
// were ~10% of the gateway's perf samples in group fan-out. The io_context must be run by one
// thread, which is then the connection's implicit strand.
using IoSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using IoTimer =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                      boost::asio::wait_traits<std::chrono::steady_clock>,
                                      boost::asio::io_context::executor_type>;

class CoalescingStream {
 public:
  using next_layer_type =
      boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
  using executor_type = next_layer_type::executor_type;

  // Copied ahead of the socket at most (plus one write); beyond it writes wait for the socket.
  static constexpr size_t kMaxPendingBytes = 64 * 1024;
  // A buffer larger than this is freed once sent, so a burst does not stay in every idle
  // connection's memory.
  static constexpr size_t kKeptBufferBytes = 4 * 1024;

  explicit CoalescingStream(IoSocket&& socket)
      : next_(std::move(socket)), drained_(next_.get_executor()) {
    // Never expires: cancel() is the signal that a send ended.
    drained_.expires_at(IoTimer::time_point::max());
  }

  next_layer_type& next_layer() { return next_; }
  executor_type get_executor() { return next_.get_executor(); }

  // Sends run after the writes that queued them have completed, so they must keep the object
  // owning this stream alive themselves.
  void SetOwner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

  void Cork() { corked_ = true; }
  void Uncork() {
    corked_ = false;
    MaybeSend();
  }

  // Socket sends started so far (for tests: fewer than the frames written means coalescing).
  uint64_t sends() const { return sends_; }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return boost::asio::async_compose<WriteHandler, void(boost::beast::error_code, size_t)>(
        WriteOp<ConstBufferSequence>{*this, buffers}, handler, *this);
  }

 private:
  template <class Handler>
  friend void async_teardown(boost::beast::role_type role, CoalescingStream& stream,
                             Handler&& handler);

  // Copies the buffers once there is room, then completes (never inline).
  template <class ConstBufferSequence>
  struct WriteOp {
    CoalescingStream& stream;
    ConstBufferSequence buffers;
    bool copied = false;
    size_t bytes = 0;

    template <class Self>
    void operator()(Self& self, boost::beast::error_code = {}) {
      if (copied) {
        self.complete(bytes == 0 ? stream.error_ : boost::beast::error_code(), bytes);
        return;
      }
      if (!stream.error_ && stream.pending_.size() >= kMaxPendingBytes) {
        stream.drained_.async_wait(std::move(self));
        return;
      }
      copied = true;
      if (!stream.error_) bytes = stream.Append(buffers);
      boost::asio::post(stream.get_executor(), std::move(self));
    }
  };

  // Sends what is pending, waits for the socket to take it, then tears the WebSocket down.
  struct TeardownOp {
    CoalescingStream& stream;
    boost::beast::role_type role;
    bool drained = false;

    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec = {}) {
      if (drained) {
        self.complete(ec);
        return;
      }
      stream.Uncork();
      if (!stream.error_ && (stream.sending_active_ || stream.pending_.size() > 0)) {
        stream.drained_.async_wait(std::move(self));
        return;
      }
      drained = true;
      using boost::beast::websocket::async_teardown;
      async_teardown(role, stream.next_, std::move(self));
    }
  };

  template <class ConstBufferSequence>
  size_t Append(const ConstBufferSequence& buffers) {
    const size_t size = boost::asio::buffer_size(buffers);
    pending_.commit(boost::asio::buffer_copy(pending_.prepare(size), buffers));
    MaybeSend();
    return size;
  }

  void MaybeSend() {
    if (sending_active_ || error_ || pending_.size() == 0) return;
    if (corked_ && pending_.size() < kMaxPendingBytes) return;
    sending_active_ = true;
    ++sends_;
    swap(sending_, pending_);
    boost::asio::async_write(
        next_, sending_.data(),
        [this, owner = owner_.lock()](boost::beast::error_code ec, size_t) { OnSent(ec); });
  }

  void OnSent(boost::beast::error_code ec) {
    sending_active_ = false;
    sending_.clear();
    if (sending_.capacity() > kKeptBufferBytes) sending_.shrink_to_fit();
    if (ec && !error_) {
      error_ = ec;
      next_.close();
    }
    drained_.cancel();
    MaybeSend();
  }

  next_layer_type next_;
  IoTimer drained_;
  std::weak_ptr<void> owner_;
  boost::beast::flat_buffer pending_;
  boost::beast::flat_buffer sending_;
  bool sending_active_ = false;
  bool corked_ = false;
  boost::beast::error_code error_;
  uint64_t sends_ = 0;
};

// Found by argument-dependent lookup from Beast's close handshake.
template <class Handler>
void async_teardown(boost::beast::role_type role, CoalescingStream& stream, Handler&& handler) {
  boost::asio::async_compose<Handler, void(boost::beast::error_code)>(
      CoalescingStream::TeardownOp{stream, role}, handler, stream);
}

}  // namespace im
