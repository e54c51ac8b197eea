// Linked into every unit test that runs real gRPC servers or channels.
//
// gRPC finishes tearing down channels and TLS handshakes on its executor
// threads after the objects that started them are gone. A test binary that
// exits while one still runs leaves LeakSanitizer an OpenSSL error state
// that thread allocated (CI: 904 bytes from ERR_clear_error, about one run
// in 80 under load). Holding a library reference for the whole run and
// dropping it with grpc_shutdown_blocking joins those threads before exit
// (the pattern gRPC's issue 20303 recommends).
#include <grpc/grpc.h>
#include <gtest/gtest.h>

namespace {

class GrpcLibrary final : public ::testing::Environment {
 public:
  void SetUp() override { grpc_init(); }
  void TearDown() override { grpc_shutdown_blocking(); }
};

[[maybe_unused]] const ::testing::Environment* const kGrpcLibrary =
    ::testing::AddGlobalTestEnvironment(new GrpcLibrary);

}  // namespace
