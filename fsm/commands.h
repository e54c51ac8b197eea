// Limits of the filesystem and helpers that build Commands for it: the FUSE
// layer and the tests use these so that a write is split into chunk pieces
// exactly the way apply expects them.
//
// Thread safety: pure functions and constants.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/command.pb.h"

namespace paxosfs::fsm {

inline constexpr uint64_t kRootIno = 1;
// File data is stored in chunks of this size (see fsm/README.md for why).
inline constexpr uint32_t kChunkSize = 64 * 1024;
// Removing or emptying a file holding more than this hands its chunks to
// garbage instead of deleting them in the same slot (SQLite walks every
// overflow page it frees: ~0.1 ms per chunk, so 1 GiB stalled every
// replica's applier for seconds). Each Collect command frees up to
// kCollectChunks of them: a few milliseconds of work per slot.
inline constexpr uint64_t kFreeAtOnceBytes = 16 * kChunkSize;
inline constexpr uint32_t kCollectChunks = 16;
inline constexpr size_t kNameMax = 255;
inline constexpr size_t kSymlinkMax = 4095;
inline constexpr size_t kXattrNameMax = 255;
inline constexpr size_t kXattrValueMax = 64 * 1024;
// Linux's values, repeated because fsm/ must not include FUSE or xattr
// headers that may differ between hosts.
inline constexpr uint32_t kXattrCreate = 1;
inline constexpr uint32_t kXattrReplace = 2;
inline constexpr uint32_t kRenameNoReplace = 1;
inline constexpr uint32_t kRenameExchange = 2;
inline constexpr uint32_t kFallocKeepSize = 1;
// The file capabilities xattr, dropped on every write as Linux does.
inline constexpr char kCapabilityXattr[] = "security.capability";

// Sets `command`'s write op: `data` at `offset` of `ino`, split into pieces
// that never cross a chunk boundary.
void SetWrite(uint64_t ino, uint64_t offset, std::string_view data,
              proto::Command* command);

}  // namespace paxosfs::fsm
