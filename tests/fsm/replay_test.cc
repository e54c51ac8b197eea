// Determinism and crash recovery: stores fed the same slots end with the same
// digest whatever their checkpoint policy, and a store whose applier is
// SIGKILLed at random moments reopens at a consistent applied index (its
// digest equals the reference's at that index) and, replayed from there,
// ends with the reference's digest.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <vector>

#include "fsm/commands.h"
#include "fsm/filesystem.h"
#include "gtest/gtest.h"
#include "tests/fsm/fsm_harness.h"

namespace paxosfs::fsm::testing {
namespace {

using Slot = std::vector<std::string>;

// A deterministic workload of encoded commands on blind inode numbers and a
// small name pool: many fail, which is as much part of the state as success.
std::vector<Slot> MakeWorkload(uint64_t seed, int slots) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return rng() % n; };
  const char* kNames[] = {"a", "b", "c", "d", "e", "f"};
  std::vector<Slot> out;
  uint64_t sequence = 0;
  std::string previous;
  for (int s = 1; s <= slots; ++s) {
    Slot slot;
    int n = int(pick(4));  // Empty slots happen too (no-ops, membership).
    for (int i = 0; i < n; ++i) {
      if (!previous.empty() && pick(15) == 0) {
        slot.push_back(previous);  // A re-proposed duplicate.
        continue;
      }
      uint64_t parent = 1 + pick(12);
      std::string name = kNames[pick(6)];
      proto::Command c;
      switch (pick(10)) {
        case 0:
          c = cmd::Mkdir(parent, name, 0755);
          break;
        case 1:
        case 2:
          c = cmd::Create(parent, name, 0644);
          break;
        case 3:
          c = cmd::Unlink(parent, name);
          break;
        case 4:
          c = cmd::Rename(parent, name, 1 + pick(12), kNames[pick(6)],
                          uint32_t(pick(3)));
          break;
        case 5:
          c = cmd::Truncate(1 + pick(30), pick(300000));
          break;
        case 6:
          c = cmd::SetXattr(1 + pick(30), "user.x", std::to_string(s));
          break;
        default:
          c = cmd::Write(1 + pick(30), pick(200000),
                         std::string(1 + pick(150000), char('a' + s % 26)));
          break;
      }
      c.mutable_request_id()->set_node(1 + pick(2));
      c.mutable_request_id()->set_session(7);
      c.mutable_request_id()->set_sequence(++sequence);
      c.set_time_ns(int64_t(s) * 1000);
      previous = c.SerializeAsString();
      slot.push_back(previous);
    }
    out.push_back(std::move(slot));
  }
  return out;
}

// Applies slots [AppliedIndex() + 1, end] to `fs`.
void ApplyUpTo(Filesystem& fs, const std::vector<Slot>& slots, uint64_t end) {
  for (uint64_t s = fs.AppliedIndex() + 1; s <= end; ++s) {
    auto r = fs.Apply(s, slots[s - 1]);
    PAXOSFS_CHECK_MSG(r.ok(), r.status().ToString().c_str());
  }
}

std::unique_ptr<Filesystem> OpenFs(const std::string& path, Options o = {}) {
  auto fs = Filesystem::Open(path, o);
  PAXOSFS_CHECK_MSG(fs.ok(), fs.status().ToString().c_str());
  return std::move(*fs);
}

constexpr int kSlots = 300;

TEST(ReplayTest, SameSlotsSameDigest_AnyCheckpointPolicy) {
  TempDir dir;
  std::vector<Slot> slots = MakeWorkload(42, kSlots);
  Options every_slot;
  every_slot.checkpoint_every_slots = 1;
  Options rarely;
  rarely.checkpoint_every_slots = 100000;
  auto a = OpenFs(dir.path() + "/a.db", every_slot);
  auto b = OpenFs(dir.path() + "/b.db", rarely);
  ApplyUpTo(*a, slots, kSlots);
  // b stops halfway, is closed and reopened, then finishes.
  ApplyUpTo(*b, slots, kSlots / 2);
  b.reset();
  b = OpenFs(dir.path() + "/b.db", rarely);
  ApplyUpTo(*b, slots, kSlots);
  EXPECT_EQ(*a->Digest(), *b->Digest());
  std::unique_ptr<Reader> reader = a->NewReader().value();
  EXPECT_EQ(*reader->Digest(), *a->Digest());
  // The workload must build real state, not only collect errors.
  proto::StatFs fs = Ok(reader->StatFs()).statfs();
  EXPECT_GT(Options().capacity_inodes - fs.files_free(), 20u);
  EXPECT_GT(fs.blocks() - fs.blocks_free(), 20u);
  // A different workload must give a different digest.
  auto c = OpenFs(dir.path() + "/c.db");
  ApplyUpTo(*c, MakeWorkload(43, kSlots), kSlots);
  EXPECT_NE(*a->Digest(), *c->Digest());
}

TEST(ReplayTest, Batches_SameDigestAndResultsAsSlotBySlot) {
  TempDir dir;
  std::vector<Slot> slots = MakeWorkload(5, kSlots);
  auto one = OpenFs(dir.path() + "/one.db");
  auto batched = OpenFs(dir.path() + "/batched.db");
  std::vector<std::vector<std::string>> expected;
  for (uint64_t s = 1; s <= kSlots; ++s) {
    expected.push_back(one->Apply(s, slots[s - 1]).value());
  }
  std::mt19937_64 rng(5);
  std::vector<std::vector<std::string>> got;
  while (batched->AppliedIndex() < kSlots) {
    uint64_t first = batched->AppliedIndex() + 1;
    size_t n = std::min<uint64_t>(1 + rng() % 20, kSlots - first + 1);
    std::vector<const Slot*> batch;
    for (size_t i = 0; i < n; ++i) batch.push_back(&slots[first + i - 1]);
    auto r = batched->ApplyBatch(first, batch);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    ASSERT_EQ(r.results.size(), n);
    EXPECT_EQ(batched->AppliedIndex(), first + n - 1);
    for (auto& results : r.results) got.push_back(std::move(results));
  }
  // Exactly-once and every errno work across slots of one transaction.
  EXPECT_EQ(got, expected);
  EXPECT_EQ(*batched->Digest(), *one->Digest());
}

TEST(ReplayTest, Batch_VisibleAtOnceAndKeptAcrossCrash) {
  TempDir dir;
  std::vector<Slot> slots = MakeWorkload(13, 60);
  auto ref = OpenFs(dir.path() + "/ref.db");
  ApplyUpTo(*ref, slots, 20);
  const uint64_t digest_at_20 = *ref->Digest();
  auto fs = OpenFs(dir.path() + "/a.db");
  ApplyUpTo(*fs, slots, 20);
  std::vector<const Slot*> batch;
  for (uint64_t s = 21; s <= 40; ++s) batch.push_back(&slots[s - 1]);
  // A reader opened before the batch sees all of it once ApplyBatch returns.
  std::unique_ptr<Reader> reader = fs->NewReader().value();
  ASSERT_TRUE(fs->ApplyBatch(21, batch).status.ok());
  EXPECT_EQ(*reader->AppliedIndex(), 40u);
  batch.clear();
  for (uint64_t s = 41; s <= 60; ++s) batch.push_back(&slots[s - 1]);
  ASSERT_TRUE(fs->ApplyBatch(41, batch).status.ok());
  fs->TEST_Crash();
  fs.reset();
  reader.reset();
  // A process crash keeps committed batches: whole, not slot by slot.
  fs = OpenFs(dir.path() + "/a.db");
  EXPECT_EQ(fs->AppliedIndex(), 60u);
  ApplyUpTo(*ref, slots, 60);
  EXPECT_EQ(*fs->Digest(), *ref->Digest());
  EXPECT_NE(*fs->Digest(), digest_at_20);
}

// What a killed child had applied: the end of the last batch it reported
// as applied, and the end of the batch it had announced before applying.
struct ChildProgress {
  uint64_t acked = 0;
  uint64_t announced = 0;
};

// Runs the applier in a child that applies batches of 1 to `batch_max`
// slots, announcing each batch's last slot on a pipe before applying it and
// reporting it after, and kills it with SIGKILL once it has reported
// `kill_after` slots plus a random pause.
ChildProgress ApplyInChildAndKill(const std::string& path,
                                  const std::vector<Slot>& slots,
                                  uint64_t kill_after, uint32_t pause_us,
                                  size_t batch_max) {
  constexpr uint64_t kAnnounce = uint64_t{1} << 63;
  int fds[2];
  PAXOSFS_CHECK(::pipe(fds) == 0);
  pid_t pid = ::fork();
  PAXOSFS_CHECK(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    Options o;
    o.checkpoint_every_slots = 25;
    auto fs = Filesystem::Open(path, o);
    if (!fs.ok()) ::_exit(3);
    std::mt19937_64 rng(pause_us);
    while ((*fs)->AppliedIndex() < slots.size()) {
      uint64_t first = (*fs)->AppliedIndex() + 1;
      size_t n =
          std::min<uint64_t>(1 + rng() % batch_max, slots.size() - first + 1);
      std::vector<const Slot*> batch;
      for (size_t i = 0; i < n; ++i) batch.push_back(&slots[first + i - 1]);
      uint64_t last = first + n - 1;
      uint64_t announce = last | kAnnounce;
      if (::write(fds[1], &announce, sizeof(announce)) != sizeof(announce)) {
        ::_exit(5);
      }
      if (!(*fs)->ApplyBatch(first, batch).status.ok()) ::_exit(4);
      if (::write(fds[1], &last, sizeof(last)) != sizeof(last)) ::_exit(5);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildProgress progress;
  uint64_t s = 0;
  bool killed = false;
  while (::read(fds[0], &s, sizeof(s)) == sizeof(s)) {
    if (s & kAnnounce) {
      progress.announced = s & ~kAnnounce;
      continue;
    }
    progress.acked = s;
    if (!killed && s >= kill_after) {
      ::usleep(pause_us);
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  PAXOSFS_CHECK(killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
  return progress;
}

// Kills an applier of batches of up to `batch_max` slots again and again
// until it has applied everything; each reopen must land exactly on a state
// the reference passed through, at the end of a batch.
void KillAndReplay(size_t batch_max) {
  TempDir dir;
  std::vector<Slot> slots = MakeWorkload(7, kSlots);
  // The reference never crashes; its digest is recorded after every slot.
  auto ref = OpenFs(dir.path() + "/ref.db");
  std::vector<uint64_t> digests = {*ref->Digest()};
  for (uint64_t s = 1; s <= kSlots; ++s) {
    ApplyUpTo(*ref, slots, s);
    digests.push_back(*ref->Digest());
  }
  std::mt19937_64 rng(99);
  const std::string path = dir.path() + "/crashy.db";
  int crashes = 0;
  while (true) {
    uint64_t at = 0;
    {
      auto fs = OpenFs(path);
      at = fs->AppliedIndex();
      ASSERT_EQ(*fs->Digest(), digests[at]) << "after crash " << crashes;
    }
    if (at == kSlots) break;
    uint64_t kill_after = at + 1 + rng() % 40;
    ChildProgress p = ApplyInChildAndKill(path, slots, kill_after,
                                          uint32_t(rng() % 3000), batch_max);
    ++crashes;
    auto fs = OpenFs(path);
    // A process crash loses nothing committed: every batch the child
    // reported is there, and perhaps the whole next one, never part of it.
    if (fs->AppliedIndex() != p.acked) {
      EXPECT_EQ(fs->AppliedIndex(), p.announced) << "after crash " << crashes;
    }
  }
  EXPECT_GE(crashes, 3);
  std::printf("  %d crashes, each reopened consistent and replayed\n", crashes);
}

TEST(ReplayTest, KilledApplier_ReopensConsistentAndReplaysToSameDigest) {
  KillAndReplay(1);
}

TEST(ReplayTest, KilledBatchApplier_ReopensAtABatchEnd) { KillAndReplay(16); }

TEST(ReplayTest, AbandonedSlot_RolledBackThenReplayed) {
  TempDir dir;
  std::vector<Slot> slots = MakeWorkload(11, 50);
  auto ref = OpenFs(dir.path() + "/ref.db");
  ApplyUpTo(*ref, slots, 50);
  auto fs = OpenFs(dir.path() + "/a.db");
  ApplyUpTo(*fs, slots, 20);
  fs->TEST_Crash();
  fs.reset();
  fs = OpenFs(dir.path() + "/a.db");
  EXPECT_EQ(fs->AppliedIndex(), 20u);
  ApplyUpTo(*fs, slots, 50);
  EXPECT_EQ(*fs->Digest(), *ref->Digest());
}

}  // namespace
}  // namespace paxosfs::fsm::testing
