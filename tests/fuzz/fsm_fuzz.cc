// The state machine applies whatever a proposer put in the log. Any Command
// must get a Result (an errno at worst), never a crash or a store error, and
// leave a tree that still holds the fsm's invariants (fsm/README.md) and a
// store that reopens clean.
//
// Input: a list of `length:u16le bytes` commands, each applied in its own
// slot to a fresh store; bytes that do not parse as a Command are skipped.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/check.h"
#include "fsm/commands.h"
#include "fsm/filesystem.h"

namespace paxosfs::fsm {
namespace {

constexpr size_t kCommandsMax = 64;

// Stores live on tmpfs when there is one: the target is about decoding and
// apply, and fsyncs to a disk would make each input cost milliseconds. The
// name is never freed: the exit hook that removes the directory runs after
// static destructors would have.
const std::string& StoreDir() {
  static const std::string* dir = [] {
    std::string base = ::access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : std::filesystem::temp_directory_path().string();
    auto* made = new std::string(base + "/paxosfs-fsm-fuzz-XXXXXX");
    PAXOSFS_CHECK(mkdtemp(made->data()) != nullptr);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(StoreDir(), ignored);
    });
    return made;
  }();
  return *dir;
}

std::string StorePath() { return StoreDir() + "/store.db"; }

void RemoveStore() {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(StorePath() + suffix);
  }
}

proto::Result Ok(StatusOr<proto::Result> r) {
  PAXOSFS_CHECK_MSG(r.ok(), r.status().ToString().c_str());
  return std::move(*r);
}

// Walks the tree from the root and checks the link counts and types the
// README promises: a directory's nlink is 2 plus its subdirectories, every
// other inode's is its number of names, and every name leads to an inode.
void CheckTree(Reader& reader) {
  std::map<uint64_t, uint64_t> names;  // Non-directory inode -> names seen.
  std::set<uint64_t> dirs_seen;
  std::vector<uint64_t> todo = {kRootIno};
  while (!todo.empty()) {
    uint64_t dir = todo.back();
    todo.pop_back();
    PAXOSFS_CHECK_MSG(dirs_seen.insert(dir).second, "directory reached twice");
    proto::Result attr = Ok(reader.GetAttr(dir));
    PAXOSFS_CHECK(attr.error() == 0);
    PAXOSFS_CHECK(S_ISDIR(attr.attr().mode()));
    uint64_t subdirs = 0;
    uint64_t offset = 0;
    for (;;) {
      proto::Result page = Ok(reader.ReadDir(dir, offset, 64));
      PAXOSFS_CHECK(page.error() == 0);
      if (page.entries_size() == 0) break;
      for (const proto::DirEntry& e : page.entries()) {
        offset = e.offset();
        if (e.name() == "." || e.name() == "..") continue;
        proto::Result child = Ok(reader.GetAttr(e.ino()));
        PAXOSFS_CHECK_MSG(child.error() == 0, "name of a missing inode");
        PAXOSFS_CHECK((child.attr().mode() & S_IFMT) == (e.mode() & S_IFMT));
        if (S_ISDIR(e.mode())) {
          ++subdirs;
          todo.push_back(e.ino());
        } else {
          ++names[e.ino()];
        }
      }
    }
    PAXOSFS_CHECK(attr.attr().nlink() == 2 + subdirs);
  }
  for (const auto& [ino, count] : names) {
    PAXOSFS_CHECK(Ok(reader.GetAttr(ino)).attr().nlink() == count);
  }
}

void Run(std::string_view input) {
  RemoveStore();
  Options options;
  options.check_on_open = false;
  options.checkpoint_every_slots = kCommandsMax + 1;
  options.checkpoint_every_ms = 1 << 30;
  auto fs = Filesystem::Open(StorePath(), options);
  PAXOSFS_CHECK_MSG(fs.ok(), fs.status().ToString().c_str());
  auto reader = (*fs)->NewReader();
  PAXOSFS_CHECK(reader.ok());
  uint64_t slot = 0;
  size_t pos = 0;
  while (pos + 2 <= input.size() && slot < kCommandsMax) {
    size_t length = static_cast<uint8_t>(input[pos]) |
                    static_cast<size_t>(static_cast<uint8_t>(input[pos + 1]))
                        << 8;
    std::string_view bytes = input.substr(pos + 2, length);
    pos += 2 + bytes.size();
    proto::Command command;
    if (!command.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      continue;
    }
    auto results = (*fs)->Apply(++slot, {std::string(bytes)});
    PAXOSFS_CHECK_MSG(results.ok(), results.status().ToString().c_str());
    PAXOSFS_CHECK(results->size() == 1);
    PAXOSFS_CHECK(proto::Result().ParseFromString(results->front()));
    PAXOSFS_CHECK((*fs)->Digest().ok());
    CheckTree(**reader);
  }
  StatusOr<uint64_t> digest = (*fs)->Digest();
  PAXOSFS_CHECK(digest.ok());
  reader->reset();
  fs->reset();
  // A full check on reopen: SQLite's quick_check and the meta row checksum.
  options.check_on_open = true;
  auto reopened = Filesystem::Open(StorePath(), options);
  PAXOSFS_CHECK_MSG(reopened.ok(), reopened.status().ToString().c_str());
  PAXOSFS_CHECK((*reopened)->AppliedIndex() == slot);
  PAXOSFS_CHECK(*(*reopened)->Digest() == *digest);
}

}  // namespace
}  // namespace paxosfs::fsm

// Each input opens SQLite connections afresh; with ASan's default 256 MiB
// quarantine every allocation lands on new pages, and page faults then take
// most of the time (2.5x fewer executions per second).
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=16";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  paxosfs::fsm::Run(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
