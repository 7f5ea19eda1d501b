// A WebSocket client of the gateway (DESIGN.md section 5) for tools, tests and benchmarks: one
// connection, either encoding, a blocking request/response API and an inbox of server pushes. A
// background thread owns the socket; every method may be called from any thread.
//
//   im::client::ImClient client;
//   if (absl::Status s = client.Connect("127.0.0.1", 8080, im::client::Encoding::kBinary); !s.ok())
//     ...
//   absl::StatusOr<ConnAck> ack = client.Handshake("alice", "t", "d1", DEVICE_FLAG_APP);
//   absl::StatusOr<SendAck> sent = client.Send(PersonChannel("bob"), "m1", "hello");
//   std::optional<Frame> push = client.NextPush(absl::Seconds(5));  // RECV, DISCONNECT, ...
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/client/v1/client.pb.h"
#include "im/client/v1/frame_codec.h"

namespace im::client {

using im::client::v1::CmdAckResponse;
using im::client::v1::CmdSyncResponse;
using im::client::v1::ConnAck;
using im::client::v1::ConversationStateResponse;
using im::client::v1::ExtensionSetRequest;
using im::client::v1::ExtensionSetResponse;
using im::client::v1::ExtensionSyncRequest;
using im::client::v1::ExtensionSyncResponse;
using im::client::v1::Frame;
using im::client::v1::SendAck;
using im::client::v1::SeqSnapshotResponse;
using im::client::v1::SeqSubscribeMode;
using im::client::v1::SeqSubscribeResponse;
using im::client::v1::SyncChannelMessagesRequest;
using im::client::v1::SyncChannelMessagesResponse;
using im::client::v1::SyncConversationsRequest;
using im::client::v1::SyncConversationsResponse;

// Binary WebSocket frames carrying protobuf, or text frames carrying canonical protobuf JSON.
using im::Encoding;

// {id: peer, type: PERSON} and {id: group_id, type: GROUP}.
im::common::v1::Channel PersonChannel(const std::string& peer_uid);
im::common::v1::Channel GroupChannel(const std::string& group_id);

using im::EncodeFrame;

class ImClient {
 public:
  // Called on the client's thread for every answer of an asynchronous request: the response frame,
  // or UNAVAILABLE when the connection closed first.
  using ResponseCallback = std::function<void(absl::StatusOr<Frame>)>;
  // Called on the client's thread for every server push instead of queueing it for NextPush; must
  // not block.
  using PushHandler = std::function<void(const Frame&)>;

  ImClient();
  // Closes the connection if still open.
  ~ImClient();
  ImClient(const ImClient&) = delete;
  ImClient& operator=(const ImClient&) = delete;

  // Opens ws://host:port/ and starts the reader; UNAVAILABLE when it cannot. Call once.
  absl::Status Connect(const std::string& host, int port, Encoding encoding,
                       absl::Duration timeout = absl::Seconds(5));

  // CONNECT and its CONNACK (whatever its reason; the server closes after a failed one).
  absl::StatusOr<ConnAck> Handshake(const std::string& uid, const std::string& token,
                                    const std::string& device_id,
                                    im::common::v1::DeviceFlag device_flag,
                                    uint32_t protocol_version = 1,
                                    absl::Duration timeout = absl::Seconds(10));

  // SEND and its SENDACK (whatever its reason). DEADLINE_EXCEEDED when no answer came in time,
  // UNAVAILABLE when the connection closed first.
  absl::StatusOr<SendAck> Send(const im::common::v1::Channel& channel,
                               const std::string& client_msg_no, const std::string& payload,
                               const im::common::v1::MessageFlags& flags = {},
                               absl::Duration timeout = absl::Seconds(10));

  // Pipelined SEND: returns at once; `on_ack` gets the SENDACK frame (or the failure) later.
  void SendAsync(const im::common::v1::Channel& channel, const std::string& client_msg_no,
                 const std::string& payload, const im::common::v1::MessageFlags& flags,
                 ResponseCallback on_ack);

  absl::StatusOr<SyncChannelMessagesResponse> SyncChannelMessages(
      const SyncChannelMessagesRequest& request, absl::Duration timeout = absl::Seconds(10));

  // The conversation and seq requests and their typed responses (whatever their reason), as
  // SyncChannelMessages. Each acts as the connection's uid; SyncConversations sends `request`'s
  // uid as set, so a test can name another one.
  absl::StatusOr<SyncConversationsResponse> SyncConversations(
      const SyncConversationsRequest& request, absl::Duration timeout = absl::Seconds(10));
  // read_seq 0 = everything.
  absl::StatusOr<ConversationStateResponse> ClearUnread(const im::common::v1::Channel& channel,
                                                        int64_t read_seq,
                                                        absl::Duration timeout = absl::Seconds(10));
  absl::StatusOr<ConversationStateResponse> SetUnread(const im::common::v1::Channel& channel,
                                                      uint32_t unread,
                                                      absl::Duration timeout = absl::Seconds(10));
  absl::StatusOr<ConversationStateResponse> DeleteConversation(
      const im::common::v1::Channel& channel, absl::Duration timeout = absl::Seconds(10));
  absl::StatusOr<ConversationStateResponse> SetPinned(const im::common::v1::Channel& channel,
                                                      bool pinned,
                                                      absl::Duration timeout = absl::Seconds(10));
  absl::StatusOr<ConversationStateResponse> SetMuted(const im::common::v1::Channel& channel,
                                                     bool muted,
                                                     absl::Duration timeout = absl::Seconds(10));
  // Empty `channels` = every conversation.
  absl::StatusOr<SeqSnapshotResponse> SeqSnapshot(
      const std::vector<im::common::v1::Channel>& channels = {},
      absl::Duration timeout = absl::Seconds(10));
  absl::StatusOr<SeqSubscribeResponse> SeqSubscribe(SeqSubscribeMode mode,
                                                    absl::Duration timeout = absl::Seconds(10));

  // CMD_SYNC (this device's cmds with cmd_seq > after; limit 0 = server default) and CMD_ACK
  // (this device consumed everything up to up_to), with their typed responses whatever the reason.
  absl::StatusOr<CmdSyncResponse> CmdSync(int64_t after, uint32_t limit = 0,
                                          absl::Duration timeout = absl::Seconds(10));
  absl::StatusOr<CmdAckResponse> CmdAck(int64_t up_to, absl::Duration timeout = absl::Seconds(10));

  // EXTENSION_SET / EXTENSION_SYNC and their typed responses (whatever their reason), as the
  // connection's uid.
  absl::StatusOr<ExtensionSetResponse> ExtensionSet(const ExtensionSetRequest& request,
                                                    absl::Duration timeout = absl::Seconds(10));
  absl::StatusOr<ExtensionSyncResponse> ExtensionSync(const ExtensionSyncRequest& request,
                                                      absl::Duration timeout = absl::Seconds(10));

  // PING and its PONG's server time.
  absl::StatusOr<int64_t> Ping(absl::Duration timeout = absl::Seconds(10));

  // RECVACK for a message this connection received; there is no answer.
  absl::Status RecvAck(const im::common::v1::Message& message);

  // Sends `request` with a fresh request_id (any set one is replaced) and waits for the frame that
  // echoes it; the generic form of the calls above.
  absl::StatusOr<Frame> Call(Frame request, absl::Duration timeout = absl::Seconds(10));
  // As Call, without waiting: the answer goes to `on_response`.
  void CallAsync(Frame request, ResponseCallback on_response);

  // The next frame no request was waiting for (pushes, and DISCONNECT/ERROR frames that echo no
  // pending request_id), oldest first; nullopt after `timeout`.
  std::optional<Frame> NextPush(absl::Duration timeout);
  // Routes pushes to `handler` from now on instead of the inbox.
  void SetPushHandler(PushHandler handler);

  // Writes a frame as is (its request_id is kept), or arbitrary bytes as a binary or text message.
  absl::Status SendFrame(const Frame& frame);
  absl::Status SendRawBinary(const std::string& bytes);
  absl::Status SendRawText(const std::string& bytes);

  // True once the connection is closed (by the server, an error or Close); false after `timeout`.
  bool WaitClosed(absl::Duration timeout);
  bool closed() const;
  // Why the connection ended: the server's close reason or the read error; empty while open.
  std::string close_reason() const;

  // Sends a WebSocket close and stops the reader; idempotent.
  void Close();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace im::client
