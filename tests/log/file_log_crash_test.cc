// Recovery at every crash point: a small workload runs with the simulated
// machine dying after its N-th disk operation, for every N; the log reopened
// after the crash must open cleanly and hold everything that was reported
// durable (and nothing that was never written). A fixed workload, and seeded
// random ones (more seeds: edit the loop; 1000 seeds pass in ~5 s).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "log_test_util.h"

namespace paxosfs::log {
namespace {

const FileLogOptions kOptions{.segment_bytes_max = 1024};

// Every version written per slot and metadata, and how far each was
// acknowledged (a Sync or TruncatePrefix returned OK after it).
struct History {
  std::map<uint64_t, std::vector<Entry>> versions;
  std::map<uint64_t, size_t> acked;  // Slot -> versions acknowledged.
  std::vector<std::string> metadata;
  size_t acked_metadata = 0;
  uint64_t first_slot = 1;
  uint64_t acked_first_slot = 1;

  void Ack() {
    for (const auto& [slot, v] : versions) acked[slot] = v.size();
    acked_metadata = metadata.size();
    acked_first_slot = first_slot;
  }
};

// Runs until the first failure (the crash); returns what was acknowledged.
void RunWorkload(FaultInjectionEnv* env, History* h) {
  StatusOr<std::unique_ptr<Log>> opened = OpenFileLog(env, kDir, kOptions);
  if (!opened.ok()) return;
  Log& log = **opened;
  for (uint64_t round = 1; round <= 6; ++round) {
    std::vector<Entry> batch;
    for (uint64_t s = round * 3 - 2; s <= round * 3; ++s) {
      batch.push_back(MakeEntry(s, round, false, 300));
    }
    if (round <= 3) batch.push_back(MakeEntry(1, 10 + round, false, 50));
    // The previous round's slots learned chosen: mostly at the ballot they
    // were accepted in (chosen marks), one in three at a higher ballot
    // (written in full). Slot 1 is re-accepted above, so it is left out.
    for (uint64_t s = round * 3 - 5; round >= 2 && s <= round * 3 - 3; ++s) {
      if (s == 1) continue;
      Entry chosen = h->versions[s].back();
      chosen.chosen = true;
      if (s % 3 == 0) chosen.ballot_round += 100;
      batch.push_back(chosen);
    }
    for (const Entry& e : batch) h->versions[e.slot].push_back(e);
    if (!log.Append(batch).ok()) return;
    if (round == 2 || round == 5) {
      h->metadata.push_back("promise " + std::to_string(round));
      if (!log.SetMetadata(h->metadata.back()).ok()) return;
    }
    if (!log.Sync().ok()) return;
    h->Ack();
    if (round == 4) {
      h->first_slot = 7;
      if (!log.TruncatePrefix(7).ok()) return;
      h->Ack();
    }
  }
}

// A seeded mix of appends (re-accepts of the same slots, some chosen, some
// marked chosen at the ballot they hold, values of many sizes so records
// straddle the small segments), metadata, syncs and truncations.
void RunRandomWorkload(FaultInjectionEnv* env, uint64_t seed, History* h) {
  StatusOr<std::unique_ptr<Log>> opened = OpenFileLog(env, kDir, kOptions);
  if (!opened.ok()) return;
  Log& log = **opened;
  std::mt19937_64 rng(seed);
  auto pick = [&rng](uint64_t n) { return rng() % n; };
  uint64_t round = 0;
  for (int step = 0; step < 30; ++step) {
    uint64_t op = pick(6);
    if (op <= 2) {
      std::vector<Entry> batch;
      for (uint64_t n = 1 + pick(3); n > 0; --n) {
        uint64_t slot = h->first_slot + pick(20);
        std::vector<Entry>& versions = h->versions[slot];
        if (!versions.empty() && versions.back().chosen) continue;
        if (!versions.empty() && pick(3) == 0) {
          batch.push_back(versions.back());  // Learned chosen: a mark.
          batch.back().chosen = true;
        } else {
          batch.push_back(
              MakeEntry(slot, ++round, pick(4) == 0, 10 + pick(600)));
        }
        versions.push_back(batch.back());
      }
      if (!log.Append(batch).ok()) return;
    } else if (op == 3) {
      h->metadata.push_back("promise " + std::to_string(++round));
      if (!log.SetMetadata(h->metadata.back()).ok()) return;
    } else if (op == 4) {
      if (!log.Sync().ok()) return;
      h->Ack();
    } else {
      h->first_slot = std::max(h->first_slot, h->first_slot + pick(4));
      if (!log.TruncatePrefix(h->first_slot).ok()) return;
      h->Ack();
    }
  }
}

std::string NewestSegment(Env* env) {
  StatusOr<std::vector<std::string>> children = env->GetChildren(kDir);
  if (!children.ok() || children->empty()) return "";
  return std::string(kDir) + "/" +
         *std::max_element(children->begin(), children->end());
}

void CheckRecovered(Env* env, const History& h) {
  RecoveryReport report;
  StatusOr<std::unique_ptr<Log>> opened =
      OpenFileLog(env, kDir, kOptions, &report);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Log& log = **opened;
  EXPECT_GE(log.FirstSlot(), h.acked_first_slot);
  EXPECT_LE(log.FirstSlot(), h.first_slot);
  for (const auto& [slot, versions] : h.versions) {
    if (slot < log.FirstSlot()) continue;
    size_t acked = h.acked.contains(slot) ? h.acked.at(slot) : 0;
    StatusOr<Entry> got = log.Get(slot);
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
      EXPECT_EQ(acked, 0u) << "acknowledged slot " << slot << " lost";
      continue;
    }
    // The latest acknowledged version, or a later one that made it anyway.
    auto it = std::find(versions.begin(), versions.end(), *got);
    ASSERT_NE(it, versions.end()) << "slot " << slot << " holds garbage";
    EXPECT_GE(static_cast<size_t>(it - versions.begin()) + 1, acked)
        << "slot " << slot << " went back to an older version";
  }
  std::string m = log.Metadata();
  if (h.acked_metadata > 0 || !m.empty()) {
    auto it = std::find(h.metadata.begin(), h.metadata.end(), m);
    ASSERT_NE(it, h.metadata.end()) << "metadata '" << m << "'";
    EXPECT_GE(static_cast<size_t>(it - h.metadata.begin()) + 1,
              h.acked_metadata);
  }
  // The repaired log takes appends, and they survive the next open.
  const Entry after = MakeEntry(std::max<uint64_t>(log.FirstSlot(), 1000));
  ASSERT_TRUE(AppendOne(log, after).ok());
  ASSERT_TRUE(log.Sync().ok());
  opened->reset();
  opened = OpenFileLog(env, kDir, kOptions);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*(*opened)->Get(after.slot), after);
}

using Workload = std::function<void(FaultInjectionEnv*, History*)>;

// Runs `workload` once to count its disk operations, then again for every
// crash point, with and without a torn tail on the newest segment (keeping
// 1/4, 2/4 or 3/4 of its unsynced bytes). With `zeros_ahead`, files keep
// that many zeros past their end, as PosixEnv's do, and a torn write over
// them keeps whole sectors.
void CrashAtEveryPoint(const Workload& workload, uint64_t zeros_ahead = 0) {
  int64_t total_ops = 0;
  {
    FaultInjectionEnv env;
    env.WriteZerosAhead(zeros_ahead);
    History h;
    workload(&env, &h);
    total_ops = env.mutating_ops();
  }
  ASSERT_GT(total_ops, 10);
  for (int64_t n = 0; n <= total_ops; ++n) {
    for (int quarters : {0, 1, 2, 3}) {
      SCOPED_TRACE("crash after op " + std::to_string(n) + ", torn tail " +
                   std::to_string(quarters) + "/4");
      FaultInjectionEnv env;
      env.WriteZerosAhead(zeros_ahead);
      History h;
      env.CrashAfterOps(n);
      workload(&env, &h);
      std::string torn = quarters > 0 ? NewestSegment(&env) : "";
      uint64_t keep = torn.empty() ? 0 : env.UnsyncedBytes(torn) * quarters / 4;
      env.SimulateCrash(torn, keep);
      CheckRecovered(&env, h);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(FileLogCrashTest, Recovery_AtEveryCrashPoint) {
  {
    FaultInjectionEnv env;
    History h;
    RunWorkload(&env, &h);
    ASSERT_EQ(h.acked_first_slot, 7u);  // The workload runs to its end.
  }
  CrashAtEveryPoint(RunWorkload);
}

TEST(FileLogCrashTest, Recovery_AtEveryCrashPoint_RandomWorkloads) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CrashAtEveryPoint([seed](FaultInjectionEnv* env, History* h) {
      RunRandomWorkload(env, seed, h);
    });
    if (HasFatalFailure()) return;
  }
}

// Zeros written ahead: a crash leaves them after the records, and a torn
// record over them is complete but for whole sectors of zeros.
TEST(FileLogCrashTest, Recovery_AtEveryCrashPoint_ZerosAhead) {
  for (uint64_t zeros : {512u, 1000u, 4096u}) {
    SCOPED_TRACE("zeros ahead " + std::to_string(zeros));
    CrashAtEveryPoint(RunWorkload, zeros);
    if (HasFatalFailure()) return;
  }
}

TEST(FileLogCrashTest, Recovery_AtEveryCrashPoint_RandomWorkloadsZerosAhead) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CrashAtEveryPoint([seed](FaultInjectionEnv* env,
                             History* h) { RunRandomWorkload(env, seed, h); },
                      1000);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace paxosfs::log
