// The extension service binary. Until its issue lands it serves only what every service shares:
// gRPC health (tracking Postgres and Redis), reflection, /metrics and its (empty) migrations.
#include "common/service_runtime.h"

int main(int argc, char** argv) {
  im::ServiceRuntime runtime(im::InitProcess(argc, argv, "extension"));
  if (int code = runtime.Migrate({}); code >= 0) return code;
  return runtime.Serve({});
}
