// The history checker fed known-good and known-bad histories: it must
// accept every linearizable one and flag stale reads, lost writes,
// duplicated or invented appends, and histories it cannot decide.
#include "tests/faults/checker.h"

#include <gtest/gtest.h>

#include <random>

namespace paxosfs::faults {
namespace {

constexpr int64_t kMs = 1'000'000;

Op W(const std::string& v, int64_t from_ms, int64_t to_ms, int client = 1,
     Outcome outcome = Outcome::kOk) {
  return {client,
          client,
          OpKind::kWrite,
          "r",
          v,
          from_ms * kMs,
          outcome == Outcome::kUnknown ? kNever : to_ms * kMs,
          outcome};
}
Op R(const std::string& v, int64_t from_ms, int64_t to_ms, int client = 2) {
  return {client, client,        OpKind::kRead, "r",
          v,      from_ms * kMs, to_ms * kMs,   Outcome::kOk};
}
Op A(const std::string& v, int64_t from_ms, int64_t to_ms,
     Outcome outcome = Outcome::kOk) {
  return {1,
          1,
          OpKind::kAppend,
          "log",
          v,
          from_ms * kMs,
          outcome == Outcome::kUnknown ? kNever : to_ms * kMs,
          outcome};
}

bool Linearizable(const std::vector<Op>& ops, int64_t max_steps = 1'000'000) {
  RegisterReport report = CheckRegisters(ops, {{"r", "init"}}, max_steps);
  for (const auto& a : report.anomalies) std::cout << a;
  return report.anomalies.empty();
}

TEST(CheckRegisters, EmptyAndSequential_Linearizable) {
  EXPECT_TRUE(Linearizable({}));
  EXPECT_TRUE(Linearizable({R("init", 0, 1), W("a", 2, 3), R("a", 4, 5),
                            W("b", 6, 7), R("b", 8, 9)}));
}

TEST(CheckRegisters, StaleRead_Flagged) {
  EXPECT_FALSE(Linearizable({W("a", 0, 10), R("init", 20, 30)}));
  EXPECT_FALSE(Linearizable({W("a", 0, 10), W("b", 20, 30), R("a", 40, 50)}));
}

TEST(CheckRegisters, LostWrite_FinalReadFlagged) {
  // The acknowledged write is gone in the read made after recovery.
  EXPECT_FALSE(Linearizable(
      {W("a", 0, 10), R("a", 11, 12), W("b", 20, 30), R("a", 1000, 1001, 3)}));
}

TEST(CheckRegisters, ConcurrentReadMaySeeEitherValue) {
  EXPECT_TRUE(Linearizable({W("a", 0, 100), R("init", 10, 20)}));
  EXPECT_TRUE(Linearizable({W("a", 0, 100), R("a", 10, 20)}));
  EXPECT_TRUE(Linearizable({W("a", 0, 100, 1), W("b", 0, 100, 3),
                            R("b", 110, 120), R("b", 130, 140)}));
}

TEST(CheckRegisters, ValuesGoingBackwards_Flagged) {
  EXPECT_FALSE(Linearizable({W("a", 0, 100, 1), W("b", 0, 100, 3),
                             R("a", 110, 120), R("b", 130, 140)}));
  EXPECT_FALSE(Linearizable({W("a", 0, 100, 1), W("b", 0, 100, 3),
                             R("a", 10, 20), R("b", 30, 40), R("a", 50, 60)}));
}

TEST(CheckRegisters, UnknownWrite_MayApplyLateOrNever) {
  // Never observed: as if it did not happen.
  EXPECT_TRUE(Linearizable({W("a", 0, 0, 1, Outcome::kUnknown),
                            R("init", 500, 501), W("b", 600, 610)}));
  // Observed long after it failed: it took effect late.
  EXPECT_TRUE(Linearizable({W("a", 0, 0, 1, Outcome::kUnknown),
                            R("init", 500, 501), R("a", 900, 901)}));
  // Once observed, it cannot be undone.
  EXPECT_FALSE(Linearizable({W("a", 0, 0, 1, Outcome::kUnknown),
                             R("a", 500, 501), R("init", 900, 901)}));
  // It cannot apply before it was invoked.
  EXPECT_FALSE(
      Linearizable({R("a", 0, 5), W("a", 10, 0, 1, Outcome::kUnknown)}));
}

TEST(CheckRegisters, ReadOfUnwrittenValue_Flagged) {
  EXPECT_FALSE(Linearizable({W("a", 0, 10), R("garbage", 20, 30)}));
}

TEST(CheckRegisters, FailedReadsIgnored) {
  Op failed = R("", 20, 30);
  failed.outcome = Outcome::kFail;
  EXPECT_TRUE(Linearizable({W("a", 0, 10), failed}));
}

TEST(CheckRegisters, SearchBoundHit_Flagged) {
  std::vector<Op> ops;
  for (int i = 0; i < 30; ++i)
    ops.push_back(W("w" + std::to_string(i), 0, 100, i));
  ops.push_back(R("w7", 200, 210));
  RegisterReport report = CheckRegisters(ops, {{"r", "init"}}, 3);
  ASSERT_EQ(report.anomalies.size(), 1u);
  EXPECT_NE(report.anomalies[0].find("search bound"), std::string::npos);
}

// A real register driven by random concurrent clients: every operation
// takes effect at a random instant inside its interval, so the history is
// linearizable by construction; the check must pass, and fast.
TEST(CheckRegisters, RandomLinearizableHistory_PassesWithinBound) {
  std::mt19937 rng(42);
  struct Pending {
    Op op;
    int64_t effect_ms;
  };
  std::vector<Pending> planned;
  for (int client = 0; client < 6; ++client) {
    int64_t t = 0;
    for (int i = 0; i < 150; ++i) {
      int64_t start = t + static_cast<int64_t>(rng() % 5);
      int64_t end = start + 1 + static_cast<int64_t>(rng() % 40);
      bool write = rng() % 2 == 0;
      Op op = write ? W("c" + std::to_string(client) + "-" + std::to_string(i),
                        start, end, client)
                    : R("", start, end, client);
      bool unknown = write && rng() % 10 == 0;
      if (unknown) {
        op.outcome = Outcome::kUnknown;
        op.complete_ns = kNever;
      }
      int64_t effect = start + static_cast<int64_t>(rng() % (end - start));
      if (unknown && rng() % 2 == 0) effect = end + 1000 * 1000;  // Never.
      planned.push_back({op, effect});
      t = end;
    }
  }
  std::stable_sort(planned.begin(), planned.end(),
                   [](const Pending& a, const Pending& b) {
                     return a.effect_ms < b.effect_ms;
                   });
  std::string value = "init";
  std::vector<Op> ops;
  for (Pending& p : planned) {
    if (p.op.kind == OpKind::kWrite) value = p.op.value;
    if (p.op.kind == OpKind::kRead) p.op.value = value;
    ops.push_back(p.op);
  }
  RegisterReport report = CheckRegisters(ops, {{"r", "init"}}, 5'000'000);
  for (const auto& a : report.anomalies) std::cout << a.substr(0, 300);
  EXPECT_TRUE(report.anomalies.empty());
  EXPECT_EQ(report.ops_checked,
            report.reads_ok + report.writes_ok + report.writes_unknown);
  std::cout << "search steps: " << report.search_steps << "\n";
}

TEST(History, SerializeThenParse_SameOps) {
  std::vector<Op> ops = {W("tab\there", 1, 2), R("new\nline\\", 3, 4),
                         W("u", 5, 0, 3, Outcome::kUnknown)};
  std::map<std::string, std::string> initial = {{"r", "init"}};
  std::vector<Op> parsed;
  std::map<std::string, std::string> parsed_initial;
  ASSERT_TRUE(Parse(Serialize(ops, initial), &parsed, &parsed_initial));
  ASSERT_EQ(parsed.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(Describe(parsed[i]), Describe(ops[i]));
    EXPECT_EQ(parsed[i].value, ops[i].value);
  }
  EXPECT_EQ(parsed_initial, initial);
  EXPECT_FALSE(Parse("garbage\n", &parsed, &parsed_initial));
}

AppendReport Appends(const std::vector<Op>& ops,
                     const std::map<int, std::string>& contents) {
  std::map<int, std::map<std::string, std::string>> files;
  for (const auto& [node, text] : contents) files[node]["log"] = text;
  AppendReport report = CheckAppends(ops, files);
  for (const auto& a : report.anomalies) std::cout << a << "\n";
  return report;
}

TEST(CheckAppends, AllPresentEverywhere_Ok) {
  std::vector<Op> ops = {A("a", 0, 10), A("b", 5, 15), A("c", 20, 30),
                         A("d", 40, 0, Outcome::kUnknown)};
  AppendReport report =
      Appends(ops, {{1, "b\na\nc\nd\n"}, {2, "b\na\nc\nd\n"}});
  EXPECT_TRUE(report.anomalies.empty());
  EXPECT_EQ(report.acknowledged, 3);
  EXPECT_EQ(report.present, 3);
  EXPECT_EQ(report.unknown_present, 1);
}

TEST(CheckAppends, LostAcknowledgedAppend_Flagged) {
  std::vector<Op> ops = {A("a", 0, 10), A("b", 20, 30)};
  AppendReport report = Appends(ops, {{1, "a\nb\n"}, {2, "a\n"}});
  EXPECT_FALSE(report.anomalies.empty());
  EXPECT_EQ(report.acknowledged, 2);
  EXPECT_EQ(report.present, 1);
}

TEST(CheckAppends, DuplicateForeignTornOrDiverged_Flagged) {
  std::vector<Op> ops = {A("a", 0, 10), A("b", 20, 0, Outcome::kUnknown)};
  EXPECT_FALSE(Appends(ops, {{1, "a\na\n"}}).anomalies.empty());
  EXPECT_FALSE(Appends(ops, {{1, "a\nzz\n"}}).anomalies.empty());
  EXPECT_FALSE(Appends(ops, {{1, "a\nb"}}).anomalies.empty());
  EXPECT_FALSE(Appends(ops, {{1, "a\nb\n"}, {2, "a\n"}}).anomalies.empty());
  EXPECT_TRUE(Appends(ops, {{1, "a\n"}, {2, "a\n"}}).anomalies.empty());
}

TEST(CheckAppends, RealTimeOrderViolated_Flagged) {
  std::vector<Op> ops = {A("a", 0, 10), A("b", 20, 30)};
  EXPECT_FALSE(Appends(ops, {{1, "b\na\n"}}).anomalies.empty());
  std::vector<Op> concurrent = {A("a", 0, 30), A("b", 20, 40)};
  EXPECT_TRUE(Appends(concurrent, {{1, "b\na\n"}}).anomalies.empty());
}

}  // namespace
}  // namespace paxosfs::faults
