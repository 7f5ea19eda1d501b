// gRPC faces of the gateway, thin translations onto the logic classes: GatewayService (Deliver,
// Disconnect; called by the message service and other gateways) and UserService (SetToken, Kick,
// GetOnlineStatus; called by business servers).
#pragma once

#include "common/worker_pool.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/deliverer.h"
#include "services/gateway/kicker.h"
#include "services/gateway/public/presence_store.h"
#include "services/gateway/token_store.h"

namespace im::gateway {

class GatewayGrpcService final : public im::gateway::v1::GatewayService::CallbackService {
 public:
  GatewayGrpcService(Deliverer* deliverer, Kicker* kicker)
      : deliverer_(deliverer), kicker_(kicker) {}

  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context,
                                    const v1::DeliverRequest* request,
                                    v1::DeliverResponse* response) override;
  grpc::ServerUnaryReactor* Disconnect(grpc::CallbackServerContext* context,
                                       const v1::DisconnectRequest* request,
                                       v1::DisconnectResponse* response) override;

 private:
  Deliverer* deliverer_;
  Kicker* kicker_;
};

class UserGrpcService final : public im::gateway::v1::UserService::CallbackService {
 public:
  // Most uids one GetOnlineStatus may ask about.
  static constexpr int kMaxStatusUids = 1000;
  // Longest token SetToken accepts.
  static constexpr size_t kMaxTokenBytes = 4096;

  UserGrpcService(TokenStore* tokens, PresenceStore* presence, Kicker* kicker, WorkerPool* workers)
      : tokens_(tokens), presence_(presence), kicker_(kicker), workers_(workers) {}

  grpc::ServerUnaryReactor* SetToken(grpc::CallbackServerContext* context,
                                     const v1::SetTokenRequest* request,
                                     v1::SetTokenResponse* response) override;
  grpc::ServerUnaryReactor* Kick(grpc::CallbackServerContext* context,
                                 const v1::KickRequest* request,
                                 v1::KickResponse* response) override;
  grpc::ServerUnaryReactor* GetOnlineStatus(grpc::CallbackServerContext* context,
                                            const v1::GetOnlineStatusRequest* request,
                                            v1::GetOnlineStatusResponse* response) override;

 private:
  TokenStore* tokens_;
  PresenceStore* presence_;
  Kicker* kicker_;
  WorkerPool* workers_;
};

}  // namespace im::gateway
