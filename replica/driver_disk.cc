#include "replica/driver_disk.h"

#include <string>
#include <utility>

#include "replica/core/codec.h"

namespace paxosfs::replica {

StatusOr<LogRecord> ReadRecord(const log::Log* log, uint64_t slot) {
  auto e = log->Get(slot);
  if (!e.ok()) return e.status();
  return LogRecord{e->slot,
                   {e->ballot_round, e->ballot_node},
                   e->chosen,
                   std::move(e->value)};
}

namespace {

StatusOr<PersistentState> ReadDisk(log::Log* log, uint64_t applied) {
  PersistentState disk;
  std::string meta = log->Metadata();
  if (!meta.empty()) {
    auto decoded = DecodeMetadata(meta);
    if (!decoded.ok()) {
      return decoded.status().WithContext("the log's metadata");
    }
    disk.metadata = std::move(decoded).value();
  }
  for (uint64_t slot = log->FirstSlot(); slot <= log->LastSlot(); ++slot) {
    auto read = ReadRecord(log, slot);
    if (read.status().code() == StatusCode::kNotFound) continue;
    if (!read.ok()) return read.status();
    LogRecord r = std::move(read).value();
    if (r.chosen && r.slot <= applied) {
      r.value_in_log = true;
      r.value_size = r.value.size();
      r.value = std::string();
    }
    disk.records.push_back(std::move(r));
  }
  disk.applied_index = applied;
  disk.compacted_index = log->FirstSlot() - 1;
  return disk;
}

}  // namespace

StatusOr<std::unique_ptr<Core>> CoreFromDisk(const DriverOptions& options,
                                             log::Log* log, uint64_t applied) {
  auto disk = ReadDisk(log, applied);
  if (!disk.ok()) return disk.status();
  Options core_options;
  core_options.id = options.node_id;
  core_options.genesis = options.genesis;
  int64_t now = options.clock->MonotonicNanos();
  core_options.seed =
      options.seed != 0
          ? options.seed
          : static_cast<uint64_t>(options.clock->WallNanos()) ^ options.node_id;
  return std::make_unique<Core>(core_options, std::move(disk).value(), now);
}

Status BootstrapLog(log::Log* log, const Config& genesis, NodeId id) {
  PAXOSFS_RETURN_IF_ERROR(
      log->SetMetadata(EncodeMetadata(Core::BootstrapMetadata(genesis, id))));
  return log->Sync();
}

}  // namespace paxosfs::replica
