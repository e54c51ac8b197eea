// Differential test: random operation sequences applied both to the state
// machine and to a real directory through syscalls; every result and, after
// every operation, the whole tree (names, types, modes, owners, link counts,
// sizes, contents, symlink targets, xattrs, hard-link structure) must agree.
// Known exceptions are listed in fsm/README.md; the generator avoids them.
//
// Knobs: PAXOSFS_DIFF_SEQUENCES (how many; default 2000, 200 under a
// sanitizer), PAXOSFS_DIFF_SEED (first seed; a failure prints the command
// that replays it alone). Runs as root on the temp dir's filesystem (ext4).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fsm/fsm_harness.h"
#include "tests/fsm/posix_sides.h"

namespace paxosfs::fsm::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kDefaultSequences = 200;
#else
constexpr int kDefaultSequences = 2000;
#endif
constexpr int kOpsPerSequence = 40;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Op Next() {
    Op op;
    op.kind = static_cast<OpKind>(Pick(int(OpKind::kCount)));
    op.path = Path();
    switch (op.kind) {
      case OpKind::kCreate:
        op.mode = OneOf({0644, 0600, 0755, 04755, 02755, 0});
        op.flags = Pick(2);
        if (Pick(20) == 0) op.path = std::string(256, 'n');
        break;
      case OpKind::kMkfifo:
        op.mode = OneOf({0644, 0600});
        break;
      case OpKind::kMkdir:
        op.mode = OneOf({0755, 0700, 01777, 02775});
        if (Pick(20) == 0) op.path = std::string(256, 'n');
        break;
      case OpKind::kRename:
        op.path2 = Path();
        op.flags = OneOf({0, 0, 0, 1, 2});  // NOREPLACE, EXCHANGE.
        break;
      case OpKind::kLink:
        op.path2 = Path();
        break;
      case OpKind::kSymlink:
        op.path2 = "/nonexistent-paxosfs/" + std::to_string(Pick(1000));
        break;
      case OpKind::kTruncate:
        op.length = OneOf({0, 1, 100, 65535, 65536, 65537, 200000, 1 << 20});
        if (Pick(30) == 0) op.length = uint64_t{1} << 45;  // EFBIG.
        break;
      case OpKind::kWrite:
        op.offset = OneOf({0, 1, 4096, 65530, 65536, 131000, 300000});
        op.data = Bytes(OneOf({0, 1, 100, 4096, 65536, 70000}));
        break;
      case OpKind::kChmod:
        op.mode = OneOf({0644, 0755, 0600, 04755, 02755, 01777, 0});
        break;
      case OpKind::kChown:
        op.uid = OneOf({0, 1000, 65534});
        op.gid = OneOf({0, 1000, 65534});
        break;
      case OpKind::kSetXattr:
        op.data = OneOf({"user.a", "user.b", "trusted.t", "bogus.x"});
        op.value = Bytes(Pick(40));
        op.flags = OneOf({0, 0, 1, 2});
        break;
      case OpKind::kRemoveXattr:
        op.data = OneOf({"user.a", "user.b", "trusted.t"});
        break;
      case OpKind::kFallocate:
        op.flags = OneOf({0, 1});
        op.offset = OneOf({0, 100, 65536});
        op.length = OneOf({0, 1, 5000, 100000});
        break;
      default:
        break;
    }
    return op;
  }

  uint32_t Pick(uint32_t n) { return rng_() % n; }
  template <typename T>
  T OneOf(std::initializer_list<T> xs) {
    return xs.begin()[Pick(uint32_t(xs.size()))];
  }
  uint64_t OneOf(std::initializer_list<uint64_t> xs) {
    return xs.begin()[Pick(uint32_t(xs.size()))];
  }
  std::string OneOf(std::initializer_list<const char*> xs) {
    return xs.begin()[Pick(uint32_t(xs.size()))];
  }
  // Remembers paths that exist, so later operations often hit them.
  void Feedback(const Op& op, const Outcome& outcome) {
    if (outcome.error != 0) return;
    if (op.kind == OpKind::kCreate || op.kind == OpKind::kMkdir ||
        op.kind == OpKind::kMkfifo || op.kind == OpKind::kSymlink) {
      known_.push_back(op.path);
    } else if (op.kind == OpKind::kRename || op.kind == OpKind::kLink) {
      known_.push_back(op.path2);
    }
  }

 private:
  // Few names and shallow trees, so operations often collide; half the
  // time a path that existed at some point.
  std::string Path() {
    if (!known_.empty() && Pick(2) == 0) return known_[Pick(known_.size())];
    static const char* kNames[] = {"a", "b", "c", "d"};
    int depth = 1 + Pick(3);
    std::string p;
    for (int i = 0; i < depth; ++i) {
      if (i > 0) p += '/';
      p += kNames[Pick(4)];
    }
    return p;
  }
  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    char c = char('A' + Pick(26));
    for (size_t i = 0; i < n; ++i) s[i] = char(c + (i % 7));
    return s;
  }

  std::mt19937_64 rng_;
  std::vector<std::string> known_;
};

// Compares the trees below `real` and `ino`, with `inodes` mapping real
// inode numbers to the state machine's so hard links must match too.
class TreeComparer {
 public:
  explicit TreeComparer(Harness* h) : h_(h) {}

  void Compare(const std::string& real, uint64_t ino, const std::string& rel) {
    std::vector<std::string> names = RealNames(real);
    // Small pages, so that readdir offsets are exercised too.
    std::vector<std::string> fsm_names;
    for (uint64_t offset = 0;;) {
      proto::Result page = Ok(h_->reader().ReadDir(ino, offset, 3));
      ASSERT_EQ(page.error(), 0);
      if (page.entries().empty()) break;
      for (const proto::DirEntry& e : page.entries()) {
        if (e.name() != "." && e.name() != "..") fsm_names.push_back(e.name());
        offset = e.offset();
      }
    }
    std::sort(fsm_names.begin(), fsm_names.end());
    ASSERT_EQ(names, fsm_names) << "listing of /" << rel;
    for (const std::string& name : names) {
      std::string path = real + "/" + name;
      std::string where = rel + "/" + name;
      struct stat st;
      ASSERT_EQ(::lstat(path.c_str(), &st), 0);
      proto::Result r = Ok(h_->reader().Lookup(ino, name));
      ASSERT_EQ(r.error(), 0) << where;
      CompareInode(path, st, r.attr(), where);
      if (::testing::Test::HasFatalFailure()) return;
      if (S_ISDIR(st.st_mode)) Compare(path, r.attr().ino(), where);
    }
  }

 private:
  static std::vector<std::string> RealNames(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    PAXOSFS_CHECK(d != nullptr);
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  void CompareInode(const std::string& path, const struct stat& st,
                    const proto::Attr& a, const std::string& where) {
    auto [it, fresh] = inodes_.emplace(st.st_ino, a.ino());
    ASSERT_EQ(it->second, a.ino()) << where << ": hard links differ";
    ASSERT_EQ(st.st_mode, a.mode()) << where;
    ASSERT_EQ(st.st_nlink, a.nlink()) << where;
    ASSERT_EQ(st.st_uid, a.uid()) << where;
    ASSERT_EQ(st.st_gid, a.gid()) << where;
    if (!S_ISDIR(st.st_mode)) {
      ASSERT_EQ(uint64_t(st.st_size), a.size()) << where;
    }
    if (S_ISREG(st.st_mode)) {
      std::string data(st.st_size, '\0');
      int fd = ::open(path.c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::pread(fd, data.data(), data.size(), 0), st.st_size);
      ::close(fd);
      ASSERT_TRUE(Ok(h_->reader().Read(a.ino(), 0, a.size())).data() == data)
          << where << ": contents differ";
      // Ranges across chunk boundaries and past the end.
      for (uint64_t off : {uint64_t{65530}, a.size() / 2, a.size() + 1}) {
        std::string want = off < data.size() ? data.substr(off, 20) : "";
        ASSERT_EQ(Ok(h_->reader().Read(a.ino(), off, 20)).data(), want)
            << where << ": range at " << off;
      }
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
      ASSERT_GT(n, 0);
      ASSERT_EQ(std::string(buf, n), Ok(h_->reader().ReadLink(a.ino())).data());
    }
    CompareXattrs(path, a.ino(), where);
  }

  void CompareXattrs(const std::string& path, uint64_t ino,
                     const std::string& where) {
    char buf[4096];
    ssize_t n = ::llistxattr(path.c_str(), buf, sizeof(buf));
    ASSERT_GE(n, 0);
    std::map<std::string, std::string> real;
    for (ssize_t i = 0; i < n;) {
      std::string name(buf + i);
      i += name.size() + 1;
      char value[4096];
      ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
      ASSERT_GE(v, 0);
      real[name] = std::string(value, v);
    }
    std::map<std::string, std::string> fsm;
    proto::Result list = Ok(h_->reader().ListXattr(ino));
    for (const std::string& name : list.names()) {
      fsm[name] = Ok(h_->reader().GetXattr(ino, name)).data();
    }
    ASSERT_EQ(real, fsm) << where << ": xattrs differ";
  }

  Harness* h_;
  std::map<ino_t, uint64_t> inodes_;
};

class DifferentialTest : public ::testing::Test {
 protected:
  DifferentialTest() {
    ::umask(0);  // The kernel applies the umask before FUSE sees a mode.
    Options o;
    // ext4's limit with 4 KiB blocks, so EFBIG agrees.
    o.max_file_size = 17592186040320ull;
    o.checkpoint_every_slots = 1u << 30;
    o.checkpoint_every_ms = int64_t{1} << 40;
    // The store lives on tmpfs when there is one: this test is about
    // semantics, and WAL checkpoint fsyncs would dominate its runtime.
    std::string store_dir =
        ::access("/dev/shm", W_OK) == 0 ? shm_dir_.path() : dir_.path();
    h_ = std::make_unique<Harness>(store_dir + "/store.db", o);
    real_root_ = dir_.path() + "/real";
    PAXOSFS_CHECK(::mkdir(real_root_.c_str(), 0755) == 0);
  }

  // Runs one sequence in its own directory on both sides.
  void RunSequence(uint64_t seed) {
    std::string name = "s" + std::to_string(seed);
    std::string real = real_root_ + "/" + name;
    PAXOSFS_CHECK(::mkdir(real.c_str(), 0755) == 0);
    proto::Result dir = h_->Do(cmd::Mkdir(kRootIno, name, 0755));
    PAXOSFS_CHECK(dir.error() == 0);
    RealSide real_side(real);
    FsmSide fsm_side(h_.get(), dir.attr().ino());
    Generator gen(seed);
    std::string trace;
    for (int i = 0; i < kOpsPerSequence; ++i) {
      Op op = gen.Next();
      trace += "  " + op.ToString() + "\n";
      Outcome want = real_side.Do(op);
      Outcome got = fsm_side.Do(op);
      gen.Feedback(op, want);
      ASSERT_EQ(want.error, got.error)
          << "errno differs (disk " << strerror(want.error) << ", fsm "
          << strerror(got.error) << ") at op " << i << " of seed " << seed
          << "; trace:\n"
          << trace << "replay: PAXOSFS_DIFF_SEED=" << seed
          << " PAXOSFS_DIFF_SEQUENCES=1 "
          << "fsm_differential_test";
      ASSERT_EQ(want.value, got.value) << "seed " << seed << "\n" << trace;
      auto& [tried, succeeded] = coverage_[int(op.kind)];
      ++tried;
      succeeded += want.error == 0;
      TreeComparer(h_.get()).Compare(real, dir.attr().ino(), name);
      ASSERT_FALSE(HasFatalFailure())
          << "state differs after op " << i << " of seed " << seed
          << "; trace:\n"
          << trace << "replay: PAXOSFS_DIFF_SEED=" << seed
          << " PAXOSFS_DIFF_SEQUENCES=1 fsm_differential_test";
    }
  }

  // Per kind: how many ran and how many succeeded, to show what the random
  // sequences exercised.
  void PrintCoverage() const {
    for (const auto& [kind, counts] : coverage_) {
      Op op;
      op.kind = OpKind(kind);
      std::string name = op.ToString();
      std::printf("  %-12s %7d run, %6d succeeded\n",
                  name.substr(0, name.find('(')).c_str(), counts.first,
                  counts.second);
    }
  }

  TempDir dir_;
  TempDir shm_dir_{"/dev/shm"};
  std::unique_ptr<Harness> h_;
  std::string real_root_;
  std::map<int, std::pair<int, int>> coverage_;
};

TEST_F(DifferentialTest, RandomSequencesMatchLocalDisk) {
  ASSERT_EQ(::geteuid(), 0u) << "the differential test compares root's view";
  const int first = EnvInt("PAXOSFS_DIFF_SEED", 1);
  const int count = EnvInt("PAXOSFS_DIFF_SEQUENCES", kDefaultSequences);
  for (int seed = first; seed < first + count; ++seed) {
    RunSequence(seed);
    if (HasFatalFailure()) return;
  }
  PrintCoverage();
}

}  // namespace
}  // namespace paxosfs::fsm::testing
