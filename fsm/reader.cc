// Reads for the FUSE layer, on a read-only connection of their own.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fsm/applier.h"
#include "fsm/commands.h"
#include "fsm/filesystem.h"
#include "snapshot/store.h"

namespace paxosfs::fsm {
namespace {

// readdir offsets: 1 and 2 follow "." and ".."; entries use their cookie,
// which the store hands out from 3 upward and never reuses.
constexpr uint64_t kDotOffset = 1;
constexpr uint64_t kDotDotOffset = 2;

// Runs `body` in one read transaction, so that reads spanning several
// statements see a single committed state.
template <typename F>
StatusOr<proto::Result> InSnapshot(snapshot::Store& store, F body) {
  PAXOSFS_RETURN_IF_ERROR(store.Begin());
  StatusOr<proto::Result> r = body();
  Status end = store.Commit();
  if (r.ok() && !end.ok()) return end;
  return r;
}

}  // namespace

Reader::Reader(std::unique_ptr<snapshot::Store> store, const Options& options,
               CapabilityFlag may_hold_capability)
    : store_(std::move(store)),
      options_(options),
      may_hold_capability_(std::move(may_hold_capability)) {}

Reader::~Reader() = default;

StatusOr<proto::Result> Reader::Lookup(uint64_t parent,
                                       const std::string& name) {
  if (name.size() > kNameMax) return Err(ENAMETOOLONG);
  return InSnapshot(*store_, [&]() -> StatusOr<proto::Result> {
    auto dir = store_->GetInode(parent);
    if (!dir.ok()) return dir.status();
    if (!dir->has_value()) return Err(ENOENT);
    if (!S_ISDIR((*dir)->mode)) return Err(ENOTDIR);
    auto entry = store_->GetDentry(parent, name);
    if (!entry.ok()) return entry.status();
    if (!entry->has_value()) return Err(ENOENT);
    auto row = store_->GetInode((*entry)->ino);
    if (!row.ok()) return row.status();
    PAXOSFS_CHECK_MSG(row->has_value(), "directory entry without inode");
    proto::Result r;
    ToAttr(**row, r.mutable_attr());
    return r;
  });
}

StatusOr<proto::Result> Reader::GetAttr(uint64_t ino) {
  // One statement: its own snapshot, no explicit transaction needed.
  auto row = store_->GetInode(ino);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Err(ENOENT);
  proto::Result r;
  ToAttr(**row, r.mutable_attr());
  return r;
}

StatusOr<proto::Result> Reader::ReadDir(uint64_t ino, uint64_t offset,
                                        uint32_t max_entries) {
  return InSnapshot(*store_, [&]() -> StatusOr<proto::Result> {
    auto dir = store_->GetInode(ino);
    if (!dir.ok()) return dir.status();
    if (!dir->has_value()) return Err(ENOENT);
    if (!S_ISDIR((*dir)->mode)) return Err(ENOTDIR);
    proto::Result r;
    auto add = [&](const std::string& name, uint64_t child, uint32_t type,
                   uint64_t next) {
      proto::DirEntry* e = r.add_entries();
      e->set_name(name);
      e->set_ino(child);
      e->set_mode(type);
      e->set_offset(next);
    };
    if (offset < kDotOffset && r.entries_size() < int(max_entries)) {
      add(".", ino, S_IFDIR, kDotOffset);
    }
    if (offset < kDotDotOffset && r.entries_size() < int(max_entries)) {
      add("..", (*dir)->parent, S_IFDIR, kDotDotOffset);
    }
    uint32_t left = max_entries - r.entries_size();
    if (left == 0) return r;
    auto rows =
        store_->ListDentries(ino, std::max(offset, kDotDotOffset), left);
    if (!rows.ok()) return rows.status();
    for (const snapshot::DentryRow& d : *rows) {
      add(d.name, d.ino, d.type, d.cookie);
    }
    return r;
  });
}

StatusOr<proto::Result> Reader::Read(uint64_t ino, uint64_t offset,
                                     uint64_t size) {
  return InSnapshot(*store_,
                    [&]() { return ReadInSnapshot(ino, offset, size); });
}

StatusOr<proto::Result> Reader::ReadInSnapshot(uint64_t ino, uint64_t offset,
                                               uint64_t size) {
  auto row = store_->GetInode(ino);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Err(ENOENT);
  if (S_ISDIR((*row)->mode)) return Err(EISDIR);
  if (!S_ISREG((*row)->mode)) return Err(EINVAL);
  const uint64_t file_size = (*row)->size;
  proto::Result r;
  if (offset >= file_size || size == 0) return r;
  const uint64_t end = std::min(file_size, offset + size);
  // Zeros first; stored chunks are copied over them, holes stay zero.
  std::string* out = r.mutable_data();
  out->assign(end - offset, '\0');
  auto chunks = store_->GetChunks((*row)->data_key(), offset / kChunkSize,
                                  (end - 1) / kChunkSize);
  if (!chunks.ok()) return chunks.status();
  for (const auto& [index, data] : *chunks) {
    const uint64_t chunk_start = index * kChunkSize;
    const uint64_t from = std::max(offset, chunk_start);
    const uint64_t to = std::min(end, chunk_start + data.size());
    if (from >= to) continue;
    std::memcpy(out->data() + (from - offset),
                data.data() + (from - chunk_start), to - from);
  }
  return r;
}

StatusOr<proto::Result> Reader::ReadLink(uint64_t ino) {
  auto row = store_->GetInode(ino);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Err(ENOENT);
  if (!S_ISLNK((*row)->mode)) return Err(EINVAL);
  proto::Result r;
  r.set_data((*row)->target);
  return r;
}

StatusOr<proto::Result> Reader::GetXattr(uint64_t ino,
                                         const std::string& name) {
  if (name.empty() || name.size() > kXattrNameMax) return Err(ERANGE);
  // The applier raises the flag before it writes a capability, and a read
  // that must see that write starts after its commit, so a false flag here
  // means the read would find none. The kernel asks before every write.
  if (name == kCapabilityXattr && !may_hold_capability_->load()) {
    return Err(ENODATA);
  }
  return InSnapshot(*store_, [&]() -> StatusOr<proto::Result> {
    auto row = store_->GetInode(ino);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return Err(ENOENT);
    auto value = store_->GetXattr(ino, name);
    if (!value.ok()) return value.status();
    if (!value->has_value()) return Err(ENODATA);
    proto::Result r;
    r.set_data(**value);
    return r;
  });
}

StatusOr<proto::Result> Reader::ListXattr(uint64_t ino) {
  return InSnapshot(*store_, [&]() -> StatusOr<proto::Result> {
    auto row = store_->GetInode(ino);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return Err(ENOENT);
    auto names = store_->ListXattrs(ino);
    if (!names.ok()) return names.status();
    proto::Result r;
    for (const std::string& n : *names) r.add_names(n);
    return r;
  });
}

StatusOr<proto::Result> Reader::StatFs() {
  return InSnapshot(*store_, [&]() -> StatusOr<proto::Result> {
    auto inodes = store_->CountInodes();
    if (!inodes.ok()) return inodes.status();
    auto bytes = store_->TotalStoredBytes();
    if (!bytes.ok()) return bytes.status();
    proto::Result r;
    proto::StatFs* s = r.mutable_statfs();
    const uint64_t block = kChunkSize;
    const uint64_t used = (*bytes + block - 1) / block;
    s->set_block_size(block);
    s->set_blocks(options_.capacity_bytes / block);
    s->set_blocks_free(s->blocks() > used ? s->blocks() - used : 0);
    s->set_files(options_.capacity_inodes);
    s->set_files_free(options_.capacity_inodes > *inodes
                          ? options_.capacity_inodes - *inodes
                          : 0);
    s->set_name_max(kNameMax);
    return r;
  });
}

StatusOr<bool> Reader::HasGarbage() { return store_->HasGarbage(); }

StatusOr<uint64_t> Reader::AppliedIndex() {
  StatusOr<snapshot::Meta> meta = store_->ReadMeta();
  if (!meta.ok()) return meta.status();
  return meta->applied_index;
}

StatusOr<uint64_t> Reader::Digest() { return store_->Digest(); }

}  // namespace paxosfs::fsm
