#include "tls/token.h"

#include <gtest/gtest.h>

#include "tls/certs.h"

namespace paxosfs::tls {
namespace {

constexpr int64_t kNow = 1'800'000'000;

class TokenTest : public ::testing::Test {
 protected:
  Ca ca_ = NewCa("prod").value();
  Token Make(uint64_t issuer = 1, int64_t ttl_s = 3600) {
    return NewToken(ca_.key_pem, ca_.cert_pem, issuer, ttl_s, kNow).value();
  }
  Status Check(const Token& t, uint64_t self = 1, int64_t now = kNow) {
    return CheckToken(t, ca_.key_pem, ca_.cert_pem, self, now);
  }
};

TEST_F(TokenTest, FormatParse_RoundTripAndValid) {
  Token t = Make();
  auto parsed = ParseToken(FormatToken(t));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->id, t.id);
  EXPECT_EQ(parsed->issuer, 1u);
  EXPECT_EQ(parsed->expires_unix_s, kNow + 3600);
  EXPECT_EQ(parsed->ca_fingerprint, Fingerprint(ca_.cert_pem).value());
  EXPECT_TRUE(Check(*parsed).ok());
}

TEST_F(TokenTest, CheckToken_Expired_SaysExpiredAndWhatToDo) {
  Status s = Check(Make(1, 60), 1, kNow + 61);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("expired"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("paxosfs token create"), std::string::npos);
}

TEST_F(TokenTest, CheckToken_AtAnotherNode_NamesTheIssuer) {
  Status s = Check(Make(2), /*self=*/1);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("made by node 2"), std::string::npos)
      << s.message();
}

TEST_F(TokenTest, CheckToken_ForgedMac_Refused) {
  Token t = Make();
  t.mac[0] = t.mac[0] == '0' ? '1' : '0';
  EXPECT_NE(Check(t).message().find("forged"), std::string::npos);
  Token longer = Make();
  longer.expires_unix_s += 86400;  // Extending the expiry breaks the MAC.
  EXPECT_EQ(Check(longer).code(), StatusCode::kPermissionDenied);
}

TEST_F(TokenTest, CheckToken_OfAnotherCluster_Refused) {
  Ca other = NewCa("prod").value();
  Token t = NewToken(other.key_pem, other.cert_pem, 1, 3600, kNow).value();
  Status s = Check(t);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("another cluster"), std::string::npos)
      << s.message();
}

TEST_F(TokenTest, ParseToken_Malformed_SaysHowToGetOne) {
  for (const char* bad :
       {"", "hello", "pxt1.1.zz.1.2.3", "pxt2.1.0123456789abcdef.5.x.y"}) {
    auto t = ParseToken(bad);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(t.status().message().find("paxosfs token create"),
              std::string::npos);
  }
  std::string good = FormatToken(Make());
  EXPECT_FALSE(ParseToken(good + "0").ok());
}

TEST(TtlTest, ParseTtl_UnitsAndBounds) {
  EXPECT_EQ(ParseTtl("30m").value(), 1800);
  EXPECT_EQ(ParseTtl("1h").value(), 3600);
  EXPECT_EQ(ParseTtl("2d").value(), 172800);
  EXPECT_EQ(ParseTtl("600").value(), 600);
  for (const char* bad : {"", "0", "59s", "31d", "1x", "h", "-5m"}) {
    EXPECT_FALSE(ParseTtl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace paxosfs::tls
