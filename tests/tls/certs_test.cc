#include "tls/certs.h"

#include <gtest/gtest.h>

namespace paxosfs::tls {
namespace {

struct Node {
  std::string key, cert;
};

Node MakeNode(const Ca& ca, const std::string& cluster, uint64_t id) {
  Node n;
  n.key = NewPrivateKey().value();
  n.cert = SignNodeCert(ca, cluster, id, PublicKeyOf(n.key).value()).value();
  return n;
}

TEST(CertsTest, SignNodeCert_NamesNodeAndClusterAndVerifies) {
  Ca ca = NewCa("prod").value();
  Node n = MakeNode(ca, "prod", 3);
  auto info = ParseNodeCert(n.cert);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->cluster_id, "prod");
  EXPECT_EQ(info->node_id, 3u);
  EXPECT_EQ(info->common_name, "node-3");
  EXPECT_TRUE(VerifySignedBy(n.cert, ca.cert_pem).ok());
  EXPECT_TRUE(CheckKeyMatches(n.cert, n.key).ok());
}

TEST(CertsTest, VerifySignedBy_CertOfAnotherCa_PermissionDenied) {
  Ca ours = NewCa("prod").value();
  Ca theirs = NewCa("prod").value();  // Same cluster name, another CA.
  Node stranger = MakeNode(theirs, "prod", 1);
  Status s = VerifySignedBy(stranger.cert, ours.cert_pem);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("not signed by this cluster's CA"),
            std::string::npos);
}

TEST(CertsTest, SignNodeCert_CaOfAnotherCluster_Refused) {
  Ca ca = NewCa("prod").value();
  auto key = NewPrivateKey().value();
  auto cert = SignNodeCert(ca, "staging", 1, PublicKeyOf(key).value());
  EXPECT_EQ(cert.status().code(), StatusCode::kInvalidArgument);
}

TEST(CertsTest, CheckKeyMatches_AnotherKey_Refused) {
  Ca ca = NewCa("prod").value();
  Node n = MakeNode(ca, "prod", 1);
  EXPECT_FALSE(CheckKeyMatches(n.cert, NewPrivateKey().value()).ok());
}

TEST(CertsTest, Fingerprint_StablePerCertAndDistinctPerCa) {
  Ca a = NewCa("prod").value();
  Ca b = NewCa("prod").value();
  auto fa = Fingerprint(a.cert_pem);
  ASSERT_TRUE(fa.ok());
  EXPECT_EQ(fa->size(), 64u);
  EXPECT_EQ(*fa, Fingerprint(a.cert_pem).value());
  EXPECT_NE(*fa, Fingerprint(b.cert_pem).value());
}

TEST(CertsTest, ParseNodeCert_Garbage_InvalidArgument) {
  EXPECT_EQ(ParseNodeCert("not a certificate").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CertsTest, NewPrivateKey_DistinctEachTime) {
  EXPECT_NE(NewPrivateKey().value(), NewPrivateKey().value());
  EXPECT_NE(RandomHex(8), RandomHex(8));
  EXPECT_EQ(RandomHex(8).size(), 16u);
}

}  // namespace
}  // namespace paxosfs::tls
