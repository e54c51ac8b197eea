// Mutual TLS through real gRPC on loopback: which callers a node's server
// accepts, for a closed method (the admin API) and an open one (join).
#include "tls/credentials.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>

#include "proto/admin.grpc.pb.h"
#include "proto/join.grpc.pb.h"
#include "tls/certs.h"

namespace paxosfs::tls {
namespace {

class FakeAdmin final : public proto::Admin::CallbackService {
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* ctx,
                                      const proto::StatusRequest*,
                                      proto::NodeStatus* reply) override {
    reply->set_node_id(7);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class FakeJoin final : public proto::Join::CallbackService {
  grpc::ServerUnaryReactor* GetCa(grpc::CallbackServerContext* ctx,
                                  const proto::CaRequest*,
                                  proto::CaReply* reply) override {
    reply->set_ca_cert("ca");
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

Material NodeMaterial(const Ca& ca, const std::string& cluster, uint64_t id) {
  Material m;
  m.ca_pem = ca.cert_pem;
  m.key_pem = NewPrivateKey().value();
  m.cert_pem =
      SignNodeCert(ca, cluster, id, PublicKeyOf(m.key_pem).value()).value();
  return m;
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerPolicy policy;
    policy.cluster_id = "prod";
    policy.open_methods = {"/paxosfs.proto.Join/GetCa"};
    policy.removed = [this](uint64_t node) { return node == removed_.load(); };
    grpc::ServerBuilder builder;
    builder.AddListeningPort(
        "127.0.0.1:0", ServerCredentials(NodeMaterial(ca_, "prod", 1), policy),
        &port_);
    builder.RegisterService(&admin_);
    builder.RegisterService(&join_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  std::shared_ptr<grpc::Channel> Dial(
      std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    SetServerName(&args);
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                     creds, args);
  }
  grpc::Status Status(const Material& m) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    proto::NodeStatus reply;
    return proto::Admin::NewStub(Dial(ClientCredentials(m)))
        ->GetStatus(&ctx, proto::StatusRequest(), &reply);
  }
  grpc::Status GetCa(std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    proto::CaReply reply;
    return proto::Join::NewStub(Dial(creds))
        ->GetCa(&ctx, proto::CaRequest(), &reply);
  }

  Ca ca_ = NewCa("prod").value();
  std::atomic<uint64_t> removed_{0};
  FakeAdmin admin_;
  FakeJoin join_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CredentialsTest, NodeOfThisCluster_Served) {
  grpc::Status s = Status(NodeMaterial(ca_, "prod", 2));
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(CredentialsTest, NoClientCertificate_AdminRefusedJoinServed) {
  grpc::Status s = Status(Material{ca_.cert_pem, "", ""});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("no client certificate"), std::string::npos)
      << s.error_message();
  EXPECT_TRUE(GetCa(ClientCredentials({ca_.cert_pem, "", ""})).ok());
}

TEST_F(CredentialsTest, UnverifiedCredentials_ReachTheOpenMethodOnly) {
  EXPECT_TRUE(GetCa(UnverifiedCredentials()).ok());
}

TEST_F(CredentialsTest, NodeOfAnotherCa_RefusedWithAClearReason) {
  Ca other = NewCa("prod").value();  // Same cluster id, another CA.
  grpc::Status s = Status(NodeMaterial(other, "prod", 2));
  EXPECT_FALSE(s.ok());
  std::string why =
      ExplainTlsFailure(static_cast<int>(s.error_code()), s.error_message());
  EXPECT_NE(why.find("not signed by this cluster's CA"), std::string::npos)
      << s.error_message();
}

TEST_F(CredentialsTest, ClientCertOfAnotherCaTrustingOurs_HandshakeRefused) {
  // A client that trusts our CA but presents a certificate of another one:
  // the server's handshake refuses it.
  Ca other = NewCa("prod").value();
  Material m = NodeMaterial(other, "prod", 2);
  m.ca_pem = ca_.cert_pem;
  grpc::Status s = Status(m);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error_code(), grpc::StatusCode::OK);
}

TEST_F(CredentialsTest, RemovedNode_RefusedThoughItsCertificateIsValid) {
  removed_ = 2;
  grpc::Status s = Status(NodeMaterial(ca_, "prod", 2));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("node 2 was removed"), std::string::npos)
      << s.error_message();
  EXPECT_TRUE(Status(NodeMaterial(ca_, "prod", 3)).ok());
}

}  // namespace
}  // namespace paxosfs::tls
