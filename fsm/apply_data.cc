// setattr, chunk writes, fallocate and extended attributes.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fsm/applier.h"
#include "fsm/commands.h"

namespace paxosfs::fsm {
namespace {

bool Has(uint32_t valid, proto::SetAttrBits bit) { return (valid & bit) != 0; }

// Namespaces Linux filesystems accept without ACL support. POSIX ACLs
// (system.posix_acl_*) are not stored: the kernel gets EOPNOTSUPP.
bool KnownXattrNamespace(const std::string& name) {
  for (const char* prefix : {"user.", "trusted.", "security."}) {
    size_t n = std::strlen(prefix);
    if (name.size() > n && name.compare(0, n, prefix) == 0) return true;
  }
  return false;
}

}  // namespace

Status Applier::ReleaseChunks(const InodeRow& row) {
  if (row.stored <= kFreeAtOnceBytes) {
    return store_->DeleteChunksFrom(row.data_key(), 0).status();
  }
  return store_->AddGarbage(row.data_key(), row.stored);
}

StatusOr<proto::Result> Applier::Collect() {
  StatusOr<bool> left = store_->FreeGarbage(kCollectChunks);
  if (!left.ok()) return left.status();
  return proto::Result();
}

Status Applier::Truncate(InodeRow& row, uint64_t size) {
  if (size == 0 && row.stored > kFreeAtOnceBytes) {
    // A fresh key for the (now empty) file; the old chunks become garbage.
    PAXOSFS_RETURN_IF_ERROR(store_->AddGarbage(row.data_key(), row.stored));
    StatusOr<uint64_t> key = store_->NewDataKey();
    if (!key.ok()) return key.status();
    row.data = *key;
    row.stored = 0;
  } else if (size < row.size) {
    // Invariant: no chunk holds bytes at or past the file size, so a later
    // extension reads zeros there without rewriting anything.
    uint64_t first_gone = (size + kChunkSize - 1) / kChunkSize;
    StatusOr<uint64_t> freed =
        store_->DeleteChunksFrom(row.data_key(), first_gone);
    if (!freed.ok()) return freed.status();
    row.stored -= *freed;
    if (size % kChunkSize != 0) {
      uint64_t index = size / kChunkSize;
      auto chunk = store_->GetChunk(row.data_key(), index);
      if (!chunk.ok()) return chunk.status();
      size_t keep = size % kChunkSize;
      if (chunk->has_value() && (*chunk)->size() > keep) {
        row.stored -= (*chunk)->size() - keep;
        PAXOSFS_RETURN_IF_ERROR(store_->PutChunk(
            row.data_key(), index, std::string_view(**chunk).substr(0, keep)));
      }
    }
  }
  row.size = size;
  return Status::Ok();
}

StatusOr<proto::Result> Applier::SetAttr(const proto::Command& c) {
  const proto::SetAttr& op = c.setattr();
  const uint32_t v = op.valid();
  InodeRow row;
  StatusOr<int> e = Load(op.inode(), &row);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  if (Has(v, proto::SETATTR_MODE) && (op.mode() & ~(S_IFMT | 07777))) {
    return Err(EINVAL);
  }
  if (Has(v, proto::SETATTR_SIZE)) {
    if (S_ISDIR(row.mode)) return Err(EISDIR);
    if (!S_ISREG(row.mode)) return Err(EINVAL);
    if (op.size() > options_.max_file_size) return Err(EFBIG);
  }
  const int64_t t = c.time_ns();
  if (Has(v, proto::SETATTR_MODE)) {
    row.mode = (row.mode & S_IFMT) | (op.mode() & 07777);
  }
  if (Has(v, proto::SETATTR_UID)) row.uid = op.uid();
  if (Has(v, proto::SETATTR_GID)) row.gid = op.gid();
  if (Has(v, proto::SETATTR_SIZE)) {
    PAXOSFS_RETURN_IF_ERROR(Truncate(row, op.size()));
    row.mtime_ns = t;  // truncate(2) updates mtime even at the same size.
  }
  if (Has(v, proto::SETATTR_ATIME)) {
    row.atime_ns = Has(v, proto::SETATTR_ATIME_NOW) ? t : op.atime_ns();
  }
  if (Has(v, proto::SETATTR_MTIME)) {
    row.mtime_ns = Has(v, proto::SETATTR_MTIME_NOW) ? t : op.mtime_ns();
  }
  row.ctime_ns = Has(v, proto::SETATTR_CTIME) ? op.ctime_ns() : t;
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  return EntryResult(row);
}

StatusOr<proto::Result> Applier::Write(const proto::Command& c) {
  InodeRow row;
  StatusOr<int> e = Load(c.write().inode(), &row);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  proto::Command retiled;
  if (c.write().append() && c.write().offset() != row.size) {
    std::string data;
    for (const proto::ChunkWrite& p : c.write().pieces()) data += p.data();
    SetWrite(row.ino, row.size, data, &retiled);
  }
  const proto::Write& op = retiled.has_write() ? retiled.write() : c.write();
  if (S_ISDIR(row.mode)) return Err(EISDIR);
  if (!S_ISREG(row.mode)) return Err(EINVAL);
  if (!op.pieces().empty() && op.offset() >= options_.max_file_size) {
    return Err(EFBIG);
  }
  // The pieces must tile [offset, end) chunk by chunk, as SetWrite makes them.
  uint64_t end = op.offset();
  for (const proto::ChunkWrite& p : op.pieces()) {
    if (p.data().empty() || p.offset_in_chunk() >= kChunkSize ||
        p.data().size() > kChunkSize - p.offset_in_chunk() ||
        p.chunk_index() > options_.max_file_size / kChunkSize ||
        p.chunk_index() * kChunkSize + p.offset_in_chunk() != end) {
      return Err(EINVAL);
    }
    end += p.data().size();
  }
  if (end > options_.max_file_size) return Err(EFBIG);
  proto::Result r;
  if (op.pieces().empty()) {
    ToAttr(row, r.mutable_attr());
    return r;
  }
  for (const proto::ChunkWrite& p : op.pieces()) {
    const std::string& data = p.data();
    if (p.offset_in_chunk() == 0 && data.size() == kChunkSize) {
      // A whole chunk: no need to read the old bytes, only their length.
      StatusOr<uint64_t> old =
          store_->ChunkLength(row.data_key(), p.chunk_index());
      if (!old.ok()) return old.status();
      row.stored = row.stored - *old + data.size();
      PAXOSFS_RETURN_IF_ERROR(
          store_->PutChunk(row.data_key(), p.chunk_index(), data));
      continue;
    }
    // Inside an existing chunk: change only the pages the piece touches
    // (a 4 KiB write rewrote all 64 KiB of its chunk, and freed and
    // reallocated its pages).
    StatusOr<bool> in_place = store_->OverwriteChunk(
        row.data_key(), p.chunk_index(), p.offset_in_chunk(), data);
    if (!in_place.ok()) return in_place.status();
    if (*in_place) continue;
    // A partial chunk: read, modify, write. The gap before the piece, if
    // the chunk was shorter, reads as zeros as a hole would. A chunk that
    // grows at least doubles (zeros past the end of the file read as the
    // hole they stand for), so appends rewrite it a few times, not at
    // every write; a chunk written once stays exact, as small files are.
    auto old = store_->GetChunk(row.data_key(), p.chunk_index());
    if (!old.ok()) return old.status();
    std::string chunk = old->has_value() ? std::move(**old) : std::string();
    row.stored -= chunk.size();
    size_t need = p.offset_in_chunk() + data.size();
    if (chunk.size() < need) {
      size_t grown = old->has_value() ? 2 * chunk.size() : 0;
      chunk.resize(std::min<size_t>(kChunkSize, std::max(need, grown)), '\0');
    }
    std::memcpy(chunk.data() + p.offset_in_chunk(), data.data(), data.size());
    row.stored += chunk.size();
    PAXOSFS_RETURN_IF_ERROR(
        store_->PutChunk(row.data_key(), p.chunk_index(), chunk));
  }
  row.size = std::max(row.size, end);
  row.mtime_ns = row.ctime_ns = c.time_ns();
  // As Linux's file_remove_privs: a writer without CAP_FSETID (taken as
  // anyone but root) clears setuid, and setgid where it means "run as the
  // group" (group-executable). The kernel leaves it to us with direct_io.
  if (c.caller().uid() != 0) {
    row.mode &= ~static_cast<uint32_t>(S_ISUID);
    if (row.mode & S_IXGRP) row.mode &= ~static_cast<uint32_t>(S_ISGID);
  }
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  // Linux drops file capabilities on every write (file_remove_privs). Done
  // here, at apply, so it holds on every node whatever the kernel of the
  // writing node saw when it probed for them. Skipping it while the store
  // holds no capability at all keeps replicas identical: the delete would
  // change nothing, and the flag only errs towards running it.
  if (may_hold_capability_->load()) {
    StatusOr<bool> dropped = store_->DeleteXattr(row.ino, kCapabilityXattr);
    if (!dropped.ok()) return dropped.status();
  }
  r.set_written(end - op.offset());
  ToAttr(row, r.mutable_attr());
  return r;
}

StatusOr<proto::Result> Applier::Fallocate(const proto::Command& c) {
  const proto::Fallocate& op = c.fallocate();
  if (op.mode() & ~kFallocKeepSize) return Err(EOPNOTSUPP);
  InodeRow row;
  StatusOr<int> e = Load(op.inode(), &row);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  if (op.length() == 0) return Err(EINVAL);
  if (S_ISDIR(row.mode)) return Err(EISDIR);
  if (S_ISFIFO(row.mode)) return Err(ESPIPE);
  if (!S_ISREG(row.mode)) return Err(ENODEV);
  uint64_t end = op.offset() + op.length();
  if (end < op.offset() || end > options_.max_file_size) return Err(EFBIG);
  // Space is not reserved: chunks are written on demand and the store has
  // no per-file quota, so mode 0 only moves the size (see README).
  if (!(op.mode() & kFallocKeepSize) && end > row.size) {
    row.size = end;
    row.mtime_ns = row.ctime_ns = c.time_ns();
    PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  }
  return EntryResult(row);
}

StatusOr<proto::Result> Applier::SetXattr(const proto::Command& c) {
  const proto::SetXattr& op = c.setxattr();
  if (op.flags() & ~(kXattrCreate | kXattrReplace)) return Err(EINVAL);
  if (op.name().empty() || op.name().size() > kXattrNameMax) {
    return Err(ERANGE);
  }
  if (op.value().size() > kXattrValueMax) return Err(E2BIG);
  if (!KnownXattrNamespace(op.name())) return Err(EOPNOTSUPP);
  InodeRow row;
  StatusOr<int> e = Load(op.inode(), &row);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  auto old = store_->GetXattr(row.ino, op.name());
  if (!old.ok()) return old.status();
  if ((op.flags() & kXattrCreate) && old->has_value()) return Err(EEXIST);
  if ((op.flags() & kXattrReplace) && !old->has_value()) return Err(ENODATA);
  // Raised before the write commits, so no reader can see the capability
  // while the flag still says there is none; kept if the slot rolls back.
  if (op.name() == kCapabilityXattr) may_hold_capability_->store(true);
  PAXOSFS_RETURN_IF_ERROR(store_->PutXattr(row.ino, op.name(), op.value()));
  row.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  return EntryResult(row);
}

StatusOr<proto::Result> Applier::RemoveXattr(const proto::Command& c) {
  const proto::RemoveXattr& op = c.removexattr();
  if (op.name().empty() || op.name().size() > kXattrNameMax) {
    return Err(ERANGE);
  }
  if (!KnownXattrNamespace(op.name())) return Err(EOPNOTSUPP);
  InodeRow row;
  StatusOr<int> e = Load(op.inode(), &row);
  if (!e.ok()) return e.status();
  if (*e != 0) return Err(*e);
  StatusOr<bool> existed = store_->DeleteXattr(row.ino, op.name());
  if (!existed.ok()) return existed.status();
  if (!*existed) return Err(ENODATA);
  row.ctime_ns = c.time_ns();
  PAXOSFS_RETURN_IF_ERROR(store_->PutInode(row));
  return EntryResult(row);
}

}  // namespace paxosfs::fsm
