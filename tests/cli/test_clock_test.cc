#include "cli/test_clock.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace paxosfs::cli {
namespace {

class TestClockTest : public ::testing::Test {
 protected:
  TestClockTest() {
    char dir[] = "/tmp/paxosfs-test-clock.XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/rate";
  }
  ~TestClockTest() override {
    unsetenv(kTestClockRateFileVariable);
    std::filesystem::remove_all(dir_);
  }
  void WriteRate(const std::string& text) { std::ofstream(path_) << text; }
  void Point() { setenv(kTestClockRateFileVariable, path_.c_str(), 1); }

  std::string dir_, path_;
};

TEST_F(TestClockTest, FromEnvironment_UnsetIsNoClock) {
  unsetenv(kTestClockRateFileVariable);
  auto clock = TestClock::FromEnvironment();
  ASSERT_TRUE(clock.ok());
  EXPECT_EQ(clock->get(), nullptr);
}

TEST_F(TestClockTest, FromEnvironment_MissingFileIsAnError) {
  Point();
  auto clock = TestClock::FromEnvironment();
  ASSERT_FALSE(clock.ok());
  EXPECT_NE(clock.status().ToString().find("cannot be read"),
            std::string::npos);
}

TEST_F(TestClockTest, FromEnvironment_NotARateIsAnError) {
  Point();
  for (const char* text : {"fast", "0", "-1", "1.5x", "5000", ""}) {
    WriteRate(text);
    EXPECT_FALSE(TestClock::FromEnvironment().ok()) << "\"" << text << "\"";
  }
}

TEST_F(TestClockTest, Poll_AppliesANewRateAndKeepsItOnABadFile) {
  Point();
  WriteRate("0.992\n");
  auto clock = TestClock::FromEnvironment();
  ASSERT_TRUE(clock.ok());
  ASSERT_NE(clock->get(), nullptr);
  const auto* rate = dynamic_cast<const RateClock*>((*clock)->clock());
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->rate_ppm(), 992'000);
  WriteRate("2");
  (*clock)->Poll();
  EXPECT_EQ(rate->rate_ppm(), 2'000'000);
  WriteRate("garbage");
  (*clock)->Poll();
  EXPECT_EQ(rate->rate_ppm(), 2'000'000);
}

}  // namespace
}  // namespace paxosfs::cli
