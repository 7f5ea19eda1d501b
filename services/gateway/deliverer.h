// GatewayService.Deliver: turns a batch of pushes into frames for this gateway's connections.
// A message becomes RECV (CMD with the recipient's cmd_seq for sync_once), its PERSON channel
// presented as each recipient sees it; for a connection in SEQ_ONLY mode a stored message becomes
// SEQ_UPDATE {channel, max_seq, last_message_time} instead and a no_persist one nothing (cmds stay
// CMD). Extension changes and seq updates pass through to every connection. Each connection gets
// one Push with its frames in request order; encodings are computed once per (presented frame,
// encoding) and shared. Never blocks on a connection.
//
//   Deliverer deliverer(&hub, &metrics);
//   deliverer.Deliver(request, &response);
#pragma once

#include "im/gateway/v1/gateway.pb.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/session_hub.h"

namespace im::gateway {

class Deliverer {
 public:
  Deliverer(SessionHub* hub, GatewayMetrics* metrics) : hub_(hub), metrics_(metrics) {}

  // Fills one result per item: the recipients that had a connection here it was queued to.
  void Deliver(const im::gateway::v1::DeliverRequest& request,
               im::gateway::v1::DeliverResponse* response);

 private:
  SessionHub* hub_;
  GatewayMetrics* metrics_;
};

}  // namespace im::gateway
