// fsm_bench: apply throughput of the filesystem state machine and read
// throughput from its store, next to the same operations on the local disk,
// printed as ratios (median of 3 runs each). One command per slot, the worst
// case for grouping (the 4 KiB writes run again with kBatchSlots slots per
// ApplyBatch, as the node's applier groups slots queued behind a busy
// store, against the same local-disk figure); the store checkpoints with its
// default policy and is checkpointed once more at the end of each phase, as the
// local side is fsynced once at the end of each phase.
//
// Usage: fsm_bench [DIR]   (default: the system temp dir; use the disk the
// store will live on.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fsm/commands.h"
#include "fsm/filesystem.h"

namespace paxosfs::fsm {
namespace {

constexpr int kReps = 3;
constexpr int kSmallWrites = 5000;
constexpr uint64_t kSmallFileBytes = 16 << 20;
constexpr int kCreates = 5000;
constexpr int kBigWrites = 256;  // 1 MiB each.
constexpr size_t kBatchSlots = 8;
constexpr uint64_t kMiB = 1 << 20;

void Die(const std::string& what) {
  std::fprintf(stderr, "fsm_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(const std::function<void()>& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// A scratch directory removed after each run.
struct Scratch {
  explicit Scratch(const std::string& parent) {
    std::string tmpl = parent + "/fsm-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp in " + parent);
    path = tmpl;
  }
  ~Scratch() { std::filesystem::remove_all(path); }
  std::string path;
};

class FsmSide {
 public:
  explicit FsmSide(const std::string& dir) {
    auto fs = Filesystem::Open(dir + "/store.db", Options());
    if (!fs.ok()) Die(fs.status().ToString());
    fs_ = std::move(*fs);
  }
  proto::Result Do(proto::Command c) {
    c.set_time_ns(int64_t(fs_->AppliedIndex() + 1));
    auto r = fs_->Apply(fs_->AppliedIndex() + 1, {c.SerializeAsString()});
    if (!r.ok()) Die(r.status().ToString());
    proto::Result out;
    out.ParseFromString(r->at(0));
    if (out.error() != 0)
      Die("apply failed: errno " + std::to_string(out.error()));
    return out;
  }
  uint64_t CreateFile(const std::string& name) {
    proto::Command c;
    c.mutable_create()->set_parent(kRootIno);
    c.mutable_create()->set_name(name);
    c.mutable_create()->set_mode(0100644);
    c.mutable_create()->set_exclusive(true);
    return Do(c).attr().ino();
  }
  void Write(uint64_t ino, uint64_t offset, const std::string& data) {
    proto::Command c;
    SetWrite(ino, offset, data, &c);
    Do(c);
  }
  // One slot per write, kBatchSlots slots per transaction.
  void WriteBatched(uint64_t ino, const std::vector<uint64_t>& offsets,
                    const std::string& data) {
    for (size_t i = 0; i < offsets.size(); i += kBatchSlots) {
      std::vector<std::vector<std::string>> slots;
      for (size_t j = i; j < std::min(offsets.size(), i + kBatchSlots); ++j) {
        proto::Command c;
        SetWrite(ino, offsets[j], data, &c);
        c.set_time_ns(int64_t(fs_->AppliedIndex() + 1 + slots.size()));
        slots.push_back({c.SerializeAsString()});
      }
      std::vector<const std::vector<std::string>*> batch;
      for (const auto& slot : slots) batch.push_back(&slot);
      auto r = fs_->ApplyBatch(fs_->AppliedIndex() + 1, batch);
      if (!r.status.ok()) Die(r.status.ToString());
    }
  }
  void Sync() {
    if (!fs_->Checkpoint().ok()) Die("checkpoint failed");
  }
  Filesystem& fs() { return *fs_; }

 private:
  std::unique_ptr<Filesystem> fs_;
};

std::vector<uint64_t> RandomOffsets() {
  std::mt19937_64 rng(1);
  std::vector<uint64_t> offsets(kSmallWrites);
  for (uint64_t& o : offsets) o = (rng() % (kSmallFileBytes / 4096)) * 4096;
  return offsets;
}

struct Rates {
  double small_writes_per_s, batched_writes_per_s, creates_per_s,
      big_write_mb_s, read_mb_s;
};

Rates RunFsm(const std::string& parent) {
  Scratch scratch(parent);
  FsmSide fsm(scratch.path);
  Rates r{};
  const std::string small(4096, 's');
  const std::vector<uint64_t> offsets = RandomOffsets();
  uint64_t ino = fsm.CreateFile("small");
  r.small_writes_per_s = kSmallWrites / Seconds([&] {
                           for (uint64_t o : offsets) fsm.Write(ino, o, small);
                           fsm.Sync();
                         });
  uint64_t batched_ino = fsm.CreateFile("batched");
  r.batched_writes_per_s = kSmallWrites / Seconds([&] {
                             fsm.WriteBatched(batched_ino, offsets, small);
                             fsm.Sync();
                           });
  r.creates_per_s = kCreates / Seconds([&] {
                      for (int i = 0; i < kCreates; ++i) {
                        fsm.CreateFile("f" + std::to_string(i));
                      }
                      fsm.Sync();
                    });
  const std::string big(kMiB, 'b');
  uint64_t big_ino = fsm.CreateFile("big");
  r.big_write_mb_s = kBigWrites / Seconds([&] {
                       for (int i = 0; i < kBigWrites; ++i) {
                         fsm.Write(big_ino, i * kMiB, big);
                       }
                       fsm.Sync();
                     });
  auto reader = fsm.fs().NewReader();
  if (!reader.ok()) Die(reader.status().ToString());
  r.read_mb_s = kBigWrites / Seconds([&] {
                  for (int i = 0; i < kBigWrites; ++i) {
                    auto got = (*reader)->Read(big_ino, i * kMiB, kMiB);
                    if (!got.ok() || got->data().size() != kMiB) Die("read");
                  }
                });
  return r;
}

Rates RunDisk(const std::string& parent) {
  Scratch scratch(parent);
  Rates r{};
  const std::string small(4096, 's');
  const std::vector<uint64_t> offsets = RandomOffsets();
  std::string small_path = scratch.path + "/small";
  int fd = ::open(small_path.c_str(), O_CREAT | O_RDWR, 0644);
  r.small_writes_per_s = kSmallWrites / Seconds([&] {
                           for (uint64_t o : offsets) {
                             if (::pwrite(fd, small.data(), 4096, o) != 4096) {
                               Die("pwrite");
                             }
                           }
                           ::fsync(fd);
                         });
  ::close(fd);
  r.creates_per_s =
      kCreates / Seconds([&] {
        for (int i = 0; i < kCreates; ++i) {
          std::string p = scratch.path + "/f" + std::to_string(i);
          int f = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
          if (f < 0) Die("create");
          ::close(f);
        }
        // The directory's fsync makes the new entries durable; sync(2)
        // would flush the whole machine.
        int dir = ::open(scratch.path.c_str(), O_RDONLY);
        ::fsync(dir);
        ::close(dir);
      });
  const std::string big(kMiB, 'b');
  std::string big_path = scratch.path + "/big";
  fd = ::open(big_path.c_str(), O_CREAT | O_RDWR, 0644);
  r.big_write_mb_s =
      kBigWrites / Seconds([&] {
        for (int i = 0; i < kBigWrites; ++i) {
          if (::pwrite(fd, big.data(), kMiB, i * kMiB) != ssize_t(kMiB)) {
            Die("pwrite");
          }
        }
        ::fsync(fd);
      });
  std::string buf(kMiB, '\0');
  r.read_mb_s =
      kBigWrites / Seconds([&] {
        for (int i = 0; i < kBigWrites; ++i) {
          if (::pread(fd, buf.data(), kMiB, i * kMiB) != ssize_t(kMiB)) {
            Die("pread");
          }
        }
      });
  ::close(fd);
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Print(const char* what, const char* unit, std::vector<double> fsm,
           std::vector<double> disk) {
  double f = Median(std::move(fsm));
  double d = Median(std::move(disk));
  std::printf("%-26s %12.1f %12.1f %-9s %8.3f\n", what, f, d, unit, f / d);
}

}  // namespace
}  // namespace paxosfs::fsm

int main(int argc, char** argv) {
  using namespace paxosfs::fsm;
  std::string parent =
      argc > 1 ? argv[1] : std::filesystem::temp_directory_path().string();
  std::vector<double> fw, fwb, fc, fb, fr, dw, dc, db, dr;
  for (int rep = 0; rep < kReps; ++rep) {
    Rates f = RunFsm(parent);
    Rates d = RunDisk(parent);
    fw.push_back(f.small_writes_per_s);
    fwb.push_back(f.batched_writes_per_s);
    fc.push_back(f.creates_per_s);
    fb.push_back(f.big_write_mb_s);
    fr.push_back(f.read_mb_s);
    dw.push_back(d.small_writes_per_s);
    dc.push_back(d.creates_per_s);
    db.push_back(d.big_write_mb_s);
    dr.push_back(d.read_mb_s);
  }
  std::printf("fsm_bench in %s, median of %d runs, one command per slot\n",
              parent.c_str(), kReps);
  std::printf("%-26s %12s %12s %-9s %8s\n", "operation", "fsm", "local disk",
              "unit", "fsm/disk");
  Print("4 KiB random writes", "ops/s", fw, dw);
  Print("  same, 8 slots per batch", "ops/s", fwb, dw);
  Print("creates", "ops/s", fc, dc);
  Print("1 MiB sequential writes", "MB/s", fb, db);
  Print("1 MiB sequential reads", "MB/s", fr, dr);
  return 0;
}
