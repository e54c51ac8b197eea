// Damaged disks with real processes: a follower whose log record or SQLite
// store was corrupted while it was down refuses to start, naming what is
// corrupt and the fix; `paxosfs rebuild` moves the damage aside, and the
// node comes back from its peers' snapshot, converges and votes again. A
// running node whose store is damaged under it stops taking part and
// answers EIO, while the other two carry on; so does a node whose log
// records are damaged under it, once a lagging peer needs them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "tests/cluster/cluster.h"
#include "tests/cluster/files.h"

namespace paxosfs::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr size_t kPageBytes = 16 * 1024;  // The store's SQLite page size.

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Overwrites `length` bytes of `path` at `offset`: XOR 0xFF if `flip`, else
// 0xFF bytes. False if the file is shorter.
bool Damage(const std::string& path, uint64_t offset, size_t length,
            bool flip) {
  int fd = open(path.c_str(), O_RDWR);
  if (fd < 0) return false;
  std::string bytes(length, '\xff');
  bool ok =
      pread(fd, bytes.data(), length, offset) == static_cast<ssize_t>(length);
  for (char& b : bytes) b = flip ? static_cast<char>(b ^ 0xff) : '\xff';
  ok = ok &&
       pwrite(fd, bytes.data(), length, offset) == static_cast<ssize_t>(length);
  close(fd);
  return ok;
}

// The node's largest log segment (it holds the writes of the test).
std::string LargestSegment(const std::string& data_dir) {
  std::string best;
  uintmax_t best_size = 0;
  for (const auto& e : fs::directory_iterator(data_dir + "/log")) {
    if (e.path().extension() != ".log") continue;
    if (e.file_size() > best_size) {
      best = e.path().string();
      best_size = e.file_size();
    }
  }
  return best;
}

// Where the records of a log segment end: a node writes zeros ahead of its
// appends (log/README.md, "Zeros ahead"), so the file's size says less.
uint64_t RecordsEnd(const std::string& segment) {
  std::ifstream in(segment, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  size_t last = bytes.find_last_not_of('\0');
  return last == std::string::npos ? 0 : last + 1;
}

// Reads `path` whole: true if it holds `expected`; false with *eio set if a
// read failed with EIO. Any other outcome (other bytes, another error) is a
// test failure: a damaged node must never serve wrong bytes.
bool ReadsBackOrEio(const std::string& path, const std::string& expected,
                    bool* eio) {
  *eio = false;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    *eio = errno == EIO;
    EXPECT_EQ(errno, EIO) << path << ": " << std::strerror(errno);
    return false;
  }
  std::string got(expected.size() + 1, '\0');
  size_t done = 0;
  while (done < got.size()) {
    ssize_t n = read(fd, got.data() + done, got.size() - done);
    if (n < 0) {
      *eio = errno == EIO;
      EXPECT_EQ(errno, EIO) << path << ": " << std::strerror(errno);
      close(fd);
      return false;
    }
    if (n == 0) break;
    done += n;
  }
  close(fd);
  got.resize(done);
  EXPECT_EQ(got.size(), expected.size()) << path << " served other bytes";
  EXPECT_TRUE(got == expected) << path << " served other bytes";
  return got == expected;
}

// True once a file system other than the parent's is mounted at `path`.
bool Mounted(const std::string& path) {
  struct stat at, parent;
  return stat(path.c_str(), &at) == 0 &&
         stat((path + "/..").c_str(), &parent) == 0 &&
         at.st_dev != parent.st_dev;
}

// "node N: applied A, chosen C" for every node that answers, for failures.
std::string Applied(const Cluster& c) {
  std::string out;
  for (int n = 1; n <= c.size(); ++n) {
    auto s = c.Status(n);
    out += "node " + std::to_string(n) + ": " +
           (s ? "applied " + std::to_string(s->applied_index()) + ", chosen " +
                    std::to_string(s->chosen_index())
              : std::string("no answer")) +
           "\n";
  }
  return out;
}

// Writes `count` files of `bytes` through `node`'s mount.
void WriteFiles(const Cluster& c, int node, const std::string& prefix,
                int count, size_t bytes) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(WriteFile(c.mount(node) + "/" + prefix + std::to_string(i),
                          Pattern(bytes, i)));
  }
}

// The common second half of the start-time cases: `victim` (stopped, its
// damage made by the caller) must refuse to start with a message holding
// every one of `expected`; then rebuild, restart, converge and vote again.
void RefusedThenRebuilt(Cluster& c, int victim, int writer,
                        const std::vector<std::string>& expected,
                        const std::string& damaged_file) {
  auto started = Clock::now();
  const std::string evidence = Slurp(damaged_file);
  // Written while the victim is down: it must come back with them.
  WriteFiles(c, writer, "meanwhile-", 5, 256 << 10);

  c.Start(victim);
  EXPECT_EQ(c.WaitExit(victim, seconds(30)), 1) << c.LogTail(victim);
  std::string refused = c.Log(victim);
  for (const std::string& text : expected) {
    EXPECT_NE(refused.find(text), std::string::npos)
        << "missing '" << text << "' in:\n"
        << refused;
  }
  EXPECT_EQ(Slurp(damaged_file), evidence) << "the damage was cut or changed";
  std::cout << "refused to start:\n" << refused;

  std::string out;
  ASSERT_EQ(c.Run({"rebuild", "--data", c.data_dir(victim)}, &out), 0) << out;
  EXPECT_NE(out.find("moved the log and store"), std::string::npos) << out;
  EXPECT_NE(out.find("re-admit it"), std::string::npos) << out;
  // The damaged file is kept, byte for byte, under DIR/corrupt-<time>/.
  std::string kept;
  for (const auto& e : fs::directory_iterator(c.data_dir(victim))) {
    if (e.path().filename().string().rfind("corrupt-", 0) == 0) {
      kept = e.path().string();
    }
  }
  ASSERT_FALSE(kept.empty()) << out;
  std::string relative =
      fs::relative(damaged_file, c.data_dir(victim)).string();
  EXPECT_EQ(Slurp(kept + "/" + relative), evidence);
  std::cout << "refused and rebuilt in " << MsSince(started) << " ms\n";

  auto restarted = Clock::now();
  c.Start(victim);
  EXPECT_TRUE(c.WaitForLog(victim, "installed the snapshot", seconds(60)))
      << c.LogTail(victim);
  EXPECT_TRUE(c.WaitConverged()) << c.LogTail(victim);
  EXPECT_TRUE(Eventually([&] { return c.Voting(victim); }, seconds(40)))
      << c.LogTail(victim);
  auto status = c.Status(victim);
  ASSERT_TRUE(status);
  // A founder's first disk id is its node id.
  EXPECT_NE(status->disk_id(), static_cast<uint64_t>(victim))
      << "a rebuilt node must vote with a new disk id";
  EXPECT_TRUE(Eventually(
      [&] { return !fs::exists(c.data_dir(victim) + "/revote"); }, seconds(10)))
      << "the re-admission mark outlived the re-admission";
  std::cout << "caught up and voting again " << MsSince(restarted)
            << " ms after the restart\n";
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(ReadFile(c.mount(victim) + "/meanwhile-" + std::to_string(i)) ==
                Pattern(256 << 10, i))
        << "meanwhile-" << i << " differs on the rebuilt node";
  }
  // A write needs the rebuilt voter's quorum membership to hold.
  EXPECT_TRUE(WriteFile(c.mount(victim) + "/after", "after", true));
  EXPECT_EQ(ReadFile(c.mount(writer) + "/after"), "after");
}

// Three nodes with `count` files of `bytes` written through the leader
// and applied everywhere; the victim is a follower.
class CorruptionTest : public ::testing::Test {
 protected:
  void StartWith(int count, size_t bytes) {
    c_ = std::make_unique<Cluster>(3);
    leader_ = c_->WaitReady();
    ASSERT_NE(leader_, 0) << c_->LogTail(1);
    victim_ = leader_ == 3 ? 2 : 3;
    WriteFiles(*c_, leader_, "before-", count, bytes);
    ASSERT_TRUE(c_->WaitConverged());
  }
  // Writes 4 MiB, then stops the victim: its store has far more pages than
  // the schema's, so the middle ones hold file data.
  void StopVictimWithData(std::string* store, uint64_t* pages) {
    ASSERT_NO_FATAL_FAILURE(StartWith(8, 512 << 10));
    c_->Stop(victim_);
    *store = c_->data_dir(victim_) + "/state.db";
    *pages = fs::file_size(*store) / kPageBytes;
    ASSERT_GT(*pages, 16u) << "the store is too small to damage its middle";
  }

  const Clock::time_point start_ = Clock::now();
  std::unique_ptr<Cluster> c_;
  int leader_ = 0;
  int victim_ = 0;
};

TEST_F(CorruptionTest, LogRecordCorruptAtStart_RefusedRebuiltVotesAgain) {
  ASSERT_NO_FATAL_FAILURE(StartWith(30, 16 << 10));
  Cluster& c = *c_;
  c.Stop(victim_);
  std::string segment = LargestSegment(c.data_dir(victim_));
  ASSERT_FALSE(segment.empty());
  // Inside a record in the middle of the segment, far from its tail.
  uint64_t offset = RecordsEnd(segment) / 2;
  ASSERT_TRUE(Damage(segment, offset, 8, /*flip=*/true));
  RefusedThenRebuilt(c, victim_, leader_,
                     {"refusing to start", "log", segment, "at offset",
                      "paxosfs rebuild --data " + c.data_dir(victim_)},
                     segment);
  std::cout << "log case: " << MsSince(start_) << " ms in all\n";
}

TEST_F(CorruptionTest, StoreCorruptAtStart_RefusedRebuiltVotesAgain) {
  std::string store;
  uint64_t pages = 0;
  ASSERT_NO_FATAL_FAILURE(StopVictimWithData(&store, &pages));
  Cluster& c = *c_;
  // A few pages in the middle, so one in use is surely hit.
  ASSERT_TRUE(Damage(store, pages / 2 * kPageBytes, 4 * kPageBytes,
                     /*flip=*/false));
  RefusedThenRebuilt(c, victim_, leader_,
                     {"refusing to start", "store", store,
                      "paxosfs rebuild --data " + c.data_dir(victim_)},
                     store);
  std::cout << "store case: " << MsSince(start_) << " ms in all\n";
}

TEST_F(CorruptionTest, StoreByteOfFileDataFlipped_RefusedNamingThePage) {
  std::string store;
  uint64_t pages = 0;
  ASSERT_NO_FATAL_FAILURE(StopVictimWithData(&store, &pages));
  Cluster& c = *c_;
  // One bit pattern inside a page of file data: a valid b-tree still, so
  // only the page's checksum can tell.
  ASSERT_TRUE(Damage(store, pages / 2 * kPageBytes + 1000, 1, /*flip=*/true));
  RefusedThenRebuilt(c, victim_, leader_,
                     {"refusing to start", store, "checksum mismatch",
                      "paxosfs rebuild --data " + c.data_dir(victim_)},
                     store);
}

TEST_F(CorruptionTest, StoreCorruptWhileRunning_NodeStopsOthersGoOn) {
  const size_t kBytes = 2 << 20;
  ASSERT_NO_FATAL_FAILURE(StartWith(4, kBytes));
  Cluster& c = *c_;
  const int leader = leader_;
  const int victim = victim_;
  const int third = 6 - leader - victim;
  // Every page but the header, in the store and its WAL: whatever SQLite
  // reads from disk next is damaged (pages it cached before are intact).
  std::string store = c.data_dir(victim) + "/state.db";
  for (const std::string& file : {store, store + "-wal"}) {
    if (!fs::exists(file) || fs::file_size(file) <= kPageBytes) continue;
    ASSERT_TRUE(Damage(file, kPageBytes, fs::file_size(file) - kPageBytes,
                       /*flip=*/false));
  }
  auto damaged = Clock::now();
  int eio = 0;
  for (int i = 0; i < 4; ++i) {
    bool failed = false;
    ReadsBackOrEio(c.mount(victim) + "/before-" + std::to_string(i),
                   Pattern(kBytes, i), &failed);
    eio += failed;
  }
  EXPECT_GT(eio, 0) << "no read noticed the damage";
  EXPECT_TRUE(c.WaitForLog(victim, "no longer votes or serves", seconds(10)))
      << c.LogTail(victim);
  EXPECT_NE(c.Log(victim).find("paxosfs rebuild --data " + c.data_dir(victim)),
            std::string::npos);
  std::cout << "node stopped taking part " << MsSince(damaged)
            << " ms after its store was damaged\n";
  EXPECT_FALSE(c.Voting(victim));

  // The other two carry on; the halted node serves nothing, not even what
  // it had cached.
  ASSERT_TRUE(WriteFile(c.mount(leader) + "/later", "later", true));
  EXPECT_EQ(ReadFile(c.mount(third) + "/later"), "later");
  bool failed = false;
  EXPECT_FALSE(ReadsBackOrEio(c.mount(victim) + "/later", "later", &failed));
  EXPECT_TRUE(failed);
  EXPECT_FALSE(
      WriteFile(c.mount(victim) + "/refused", "a halted node takes no write"));
  std::cout << "running case: " << MsSince(start_) << " ms in all\n";
}

TEST_F(CorruptionTest, LogCorruptWhileRunning_NodeStopsWhenALaggardNeedsIt) {
  ASSERT_NO_FATAL_FAILURE(StartWith(4, 16 << 10));
  Cluster& c = *c_;
  const int damaged = leader_;
  const int laggard = victim_;
  const int third = 6 - damaged - laggard;
  c.Stop(laggard);
  std::string segment = LargestSegment(c.data_dir(damaged));
  ASSERT_FALSE(segment.empty());
  uint64_t from = RecordsEnd(segment);
  WriteFiles(c, damaged, "missed-", 40, 16 << 10);
  ASSERT_TRUE(c.WaitConverged());
  // With the third node down, the damaged one is the laggard's only
  // source for what it missed.
  c.Stop(third);
  // One byte in every KiB of what the laggard missed, clear of the tail:
  // whichever of those slots is read back for the laggard is damaged.
  uint64_t to = RecordsEnd(segment) - 1024;
  ASSERT_GT(to, from + 4096);
  for (uint64_t at = from + 512; at < to; at += 1024) {
    ASSERT_TRUE(Damage(segment, at, 1, /*flip=*/true));
  }
  auto damaged_at = Clock::now();
  c.Start(laggard);
  EXPECT_TRUE(c.WaitForLog(damaged, "no longer votes or serves", seconds(30)))
      << c.LogTail(damaged);
  std::string log = c.Log(damaged);
  EXPECT_NE(log.find("the log is corrupt"), std::string::npos) << log;
  EXPECT_NE(log.find(segment), std::string::npos) << log;
  EXPECT_NE(log.find("paxosfs rebuild --data " + c.data_dir(damaged)),
            std::string::npos);
  std::cout << "the damaged node stopped " << MsSince(damaged_at)
            << " ms after the laggard restarted\n";
  EXPECT_FALSE(c.Voting(damaged));

  // With the third back, the other two elect a leader and take writes (a
  // write needs both: the damaged node no longer votes), and nothing the
  // damaged node holds is served from its mount; the laggard catches up
  // from the third (through a snapshot where the third cannot vouch for a
  // slot it applied: SurvivorLostChosenMarks_LaggardStillCatchesUp).
  c.Start(third);
  ASSERT_TRUE(Eventually([&] { return Mounted(c.mount(third)); }, seconds(30)))
      << c.LogTail(third);
  bool written = Eventually(
      [&] { return WriteFile(c.mount(third) + "/later", "later", true); },
      seconds(45));
  ASSERT_TRUE(written) << Applied(c) << c.LogTail(third);
  EXPECT_EQ(ReadFile(c.mount(third) + "/later"), "later");
  EXPECT_TRUE(Eventually(
      [&] {
        auto a = c.Status(laggard);
        auto b = c.Status(third);
        return a && b && a->applied_index() == b->applied_index();
      },
      seconds(60)))
      << Applied(c) << c.LogTail(laggard);
  for (int i = 0; i < 40; i += 13) {
    EXPECT_TRUE(ReadFile(c.mount(third) + "/missed-" + std::to_string(i)) ==
                Pattern(16 << 10, i))
        << "missed-" << i << " differs on node " << third;
  }
  bool failed = false;
  EXPECT_FALSE(ReadsBackOrEio(c.mount(damaged) + "/missed-0",
                              Pattern(16 << 10, 0), &failed));
  EXPECT_TRUE(failed);
  std::cout << "running log case: " << MsSince(start_) << " ms in all\n";
}

// Not corruption, but the same fixture: the survivor dies (kill -9; a
// clean stop syncs them) after applying slots whose chosen marks were
// still buffered, so after its restart it holds them only in its store. The
// laggard whose only other source died must still converge (it used to ask the
// survivor for them thousands of times a second, forever, and never catch up).
TEST_F(CorruptionTest, SurvivorLostChosenMarks_LaggardStillCatchesUp) {
  ASSERT_NO_FATAL_FAILURE(StartWith(4, 16 << 10));
  Cluster& c = *c_;
  const int source = leader_;
  const int laggard = victim_;
  const int survivor = 6 - source - laggard;
  c.Stop(laggard);
  WriteFiles(c, source, "missed-", 40, 16 << 10);
  ASSERT_TRUE(c.WaitConverged());
  c.Kill9(survivor);
  c.Start(laggard);
  ASSERT_TRUE(
      Eventually([&] { return Mounted(c.mount(laggard)); }, seconds(30)))
      << c.LogTail(laggard);
  c.Kill9(source);
  c.Start(survivor);
  ASSERT_TRUE(
      Eventually([&] { return Mounted(c.mount(survivor)); }, seconds(30)))
      << c.LogTail(survivor);
  ASSERT_TRUE(Eventually(
      [&] { return WriteFile(c.mount(survivor) + "/later", "later", true); },
      seconds(45)))
      << Applied(c) << c.LogTail(survivor);
  EXPECT_TRUE(Eventually(
      [&] {
        auto a = c.Status(laggard);
        auto b = c.Status(survivor);
        return a && b && a->applied_index() == b->applied_index() &&
               a->applied_index() > 0;
      },
      seconds(60)))
      << Applied(c) << c.LogTail(laggard);
  EXPECT_EQ(ReadFile(c.mount(laggard) + "/later"), "later");
  EXPECT_TRUE(ReadFile(c.mount(laggard) + "/missed-39") ==
              Pattern(16 << 10, 39));
}

}  // namespace
}  // namespace paxosfs::testing