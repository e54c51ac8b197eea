// FetchAndInstall against a SnapshotSource served on 127.0.0.1: digests,
// corruption in transit, resumption, refusals and pacing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "snapshot/page_checksums.h"
#include "tests/snapshot/snapshot_test_util.h"

namespace paxosfs::snapshot::testing {
namespace {

constexpr size_t kChunkBytes = 256 << 10;

class SnapshotStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_dir_ = tmp_.path() + "/src";
    joiner_dir_ = tmp_.path() + "/joiner";
    ASSERT_EQ(::mkdir(src_dir_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(joiner_dir_.c_str(), 0755), 0);
    source_ = std::make_unique<Harness>(src_dir_ + "/store.db");
    Populate(source_.get(), 8, 512 << 10);
    auto digest = source_->fs().Digest();
    ASSERT_TRUE(digest.ok());
    source_digest_ = *digest;
  }

  SourceOptions Options() {
    SourceOptions o;
    o.cluster_id = "c1";
    o.store_path = src_dir_ + "/store.db";
    o.dir = src_dir_ + "/snapshots";
    o.chunk_bytes = kChunkBytes;
    o.rate_bytes_per_s = 0;
    return o;
  }

  StatusOr<InstallResult> Fetch(const SourceServer& server,
                                const FetchOptions& options = {},
                                const std::string& cluster = "c1") {
    return FetchAndInstall(
        server.address(), cluster, joiner_dir_, JoinerStore(),
        [this](const FetchProgress& p) {
          last_ = p;
          if (!p.note.empty()) notes_ += p.note + "\n";
        },
        options);
  }

  std::string JoinerStore() const { return joiner_dir_ + "/store.db"; }

  uint64_t JoinerDigest() {
    auto fs = fsm::Filesystem::Open(JoinerStore(), fsm::Options());
    EXPECT_TRUE(fs.ok()) << fs.status().ToString();
    if (!fs.ok()) return 0;
    auto digest = (*fs)->Digest();
    EXPECT_TRUE(digest.ok());
    return digest.ok() ? *digest : 0;
  }

  TempDir tmp_;
  std::string src_dir_, joiner_dir_;
  std::unique_ptr<Harness> source_;
  uint64_t source_digest_ = 0;
  FetchProgress last_;
  std::string notes_;
};

TEST_F(SnapshotStreamTest, FetchAndInstall_DigestMatchesSource) {
  SourceServer server(Options());
  auto result = Fetch(server);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->applied_index, source_->slot());
  EXPECT_EQ(result->bytes_received, result->total_bytes);
  EXPECT_FALSE(result->resumed);
  // Half of every file is one repeated byte: zstd must pay for itself.
  EXPECT_LT(result->wire_bytes, result->bytes_received * 3 / 4);
  EXPECT_EQ(last_.bytes_done, last_.total_bytes);
  EXPECT_EQ(JoinerDigest(), source_digest_);
  EXPECT_TRUE(*HasPageChecksums(JoinerStore())) << "a page copy keeps them";
  EXPECT_FALSE(Exists(joiner_dir_ + "/snapshot.partial"));
  EXPECT_FALSE(Exists(joiner_dir_ + "/snapshot.progress"));
}

TEST_F(SnapshotStreamTest, FetchAndInstall_StoreLargerThanTheCopysCache) {
  // The copy spills pages to its file before it writes page 1 (its cache is
  // 2 MiB); every one of them must still get its checksum.
  source_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    ::unlink((src_dir_ + "/store.db" + suffix).c_str());
  }
  source_ = std::make_unique<Harness>(src_dir_ + "/store.db");
  Populate(source_.get(), 6, 2 << 20);
  auto digest = source_->fs().Digest();
  ASSERT_TRUE(digest.ok());
  SourceServer server(Options());
  auto result = Fetch(server);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT(result->total_bytes, uint64_t{12} << 20);
  EXPECT_EQ(JoinerDigest(), *digest);
}

TEST_F(SnapshotStreamTest, Fetch_SourcePageFailingItsChecksumIsNotShipped) {
  source_.reset();  // Its last connection folds the WAL into the file.
  const std::string store = src_dir_ + "/store.db";
  struct stat st;
  ASSERT_EQ(::stat(store.c_str(), &st), 0);
  int fd = ::open(store.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  // One byte in the middle of the file: file data, which SQLite alone
  // would copy and serve without noticing.
  ASSERT_EQ(::pwrite(fd, "!", 1, st.st_size / 2 + 100), 1);
  ::close(fd);
  SourceServer server(Options());
  auto result = Fetch(server);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().ToString().find("checksum mismatch"),
            std::string::npos)
      << result.status().ToString();
  EXPECT_FALSE(Exists(JoinerStore()));
}

TEST_F(SnapshotStreamTest, Fetch_CorruptChunkIsRefetched) {
  SourceOptions options = Options();
  auto flips = std::make_shared<std::atomic<int>>(0);
  options.TEST_corrupt_chunk = [flips](uint64_t offset) {
    return offset == 2 * kChunkBytes && flips->fetch_add(1) == 0;
  };
  SourceServer server(options);
  auto result = Fetch(server);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(flips->load(), 2);  // Sent corrupt once, then intact.
  EXPECT_NE(notes_.find("checksum"), std::string::npos) << notes_;
  EXPECT_EQ(JoinerDigest(), source_digest_);
}

TEST_F(SnapshotStreamTest, Fetch_PersistentCorruptionIsReportedNotInstalled) {
  {
    Harness old_store(JoinerStore());
    old_store.Do(cmd::Mkdir(fsm::kRootIno, "old", 040755));
  }
  uint64_t old_digest = JoinerDigest();
  SourceOptions options = Options();
  options.TEST_corrupt_chunk = [](uint64_t offset) {
    return offset == kChunkBytes;
  };
  SourceServer server(options);
  auto result = Fetch(server);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCorruption);
  EXPECT_NE(result.status().message().find("checksum"), std::string::npos)
      << result.status().ToString();
  EXPECT_EQ(JoinerDigest(), old_digest);
}

TEST_F(SnapshotStreamTest, Fetch_KilledMidStreamResumesFromRecordedOffset) {
  SourceServer server(Options());
  FetchOptions first;
  first.sync_every_bytes = 0;
  first.TEST_stop_after_chunks = 3;
  auto killed = Fetch(server, first);
  ASSERT_EQ(killed.status().code(), StatusCode::kAborted);
  EXPECT_TRUE(Exists(joiner_dir_ + "/snapshot.progress"));

  auto result = Fetch(server);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->resumed);
  EXPECT_FALSE(result->started_over);
  EXPECT_EQ(result->bytes_received, result->total_bytes - 3 * kChunkBytes);
  EXPECT_NE(notes_.find("resuming"), std::string::npos) << notes_;
  EXPECT_EQ(JoinerDigest(), source_digest_);
}

TEST_F(SnapshotStreamTest, Fetch_SenderRestartedStartsOver) {
  SourceServer server(Options());
  FetchOptions first;
  first.sync_every_bytes = 0;
  first.TEST_stop_after_chunks = 3;
  ASSERT_EQ(Fetch(server, first).status().code(), StatusCode::kAborted);
  server.Stop();
  server.Start();  // Same port, no memory of the snapshot.

  auto result = Fetch(server);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->started_over);
  EXPECT_FALSE(result->resumed);
  EXPECT_EQ(result->bytes_received, result->total_bytes);
  EXPECT_NE(notes_.find("starting over"), std::string::npos) << notes_;
  EXPECT_EQ(JoinerDigest(), source_digest_);
}

TEST_F(SnapshotStreamTest, Fetch_WrongClusterRefused) {
  SourceServer server(Options());
  auto result = Fetch(server, {}, "other-cluster");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("cluster 'c1'"), std::string::npos)
      << result.status().ToString();
  EXPECT_NE(result.status().message().find("other-cluster"), std::string::npos);
  EXPECT_EQ(server.source().stats().fetches_refused, 1u);
  EXPECT_FALSE(Exists(JoinerStore()));
}

TEST_F(SnapshotStreamTest, Fetch_PeerDownIsUnavailable) {
  SourceServer server(Options());
  std::string address = server.address();
  server.Stop();
  FetchOptions options;
  options.timeout_ms = 2000;
  auto result = FetchAndInstall(address, "c1", joiner_dir_, JoinerStore(),
                                nullptr, options);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().code() == StatusCode::kUnavailable ||
              result.status().code() == StatusCode::kTimedOut)
      << result.status().ToString();
}

TEST_F(SnapshotStreamTest, Fetch_RateLimitPacesTheStream) {
  SourceOptions options = Options();
  options.rate_bytes_per_s = 8 << 20;
  SourceServer server(options);
  auto start = std::chrono::steady_clock::now();
  auto result = Fetch(server);
  double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // The first chunk-sized burst is free; the rest goes at the rate.
  double floor_s = static_cast<double>(result->wire_bytes - kChunkBytes) /
                   static_cast<double>(options.rate_bytes_per_s);
  EXPECT_GE(elapsed_s, floor_s * 0.9);
  EXPECT_EQ(JoinerDigest(), source_digest_);
}

}  // namespace
}  // namespace paxosfs::snapshot::testing
