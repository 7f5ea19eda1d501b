// Starts a gRPC server for a fake service on a free 127.0.0.1 port.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace im::testing {

// The running server; `address` gets its host:port.
inline std::unique_ptr<grpc::Server> StartLoopbackServer(grpc::Service* service,
                                                         std::string* address) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  *address = absl::StrCat("127.0.0.1:", port);
  return server;
}

}  // namespace im::testing
