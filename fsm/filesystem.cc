// The StateMachine side: slots, transactions, checkpoints, exactly-once.
#include "fsm/filesystem.h"

#include <algorithm>
#include <cerrno>

#include "fsm/applier.h"
#include "fsm/commands.h"
#include "snapshot/store.h"

namespace paxosfs::fsm {
namespace {

snapshot::StoreOptions StoreOptionsFor(const Options& options, bool read_only) {
  snapshot::StoreOptions o;
  o.read_only = read_only;
  o.check_on_open = options.check_on_open;
  o.chunk_size = kChunkSize;
  o.on_corruption = options.on_corruption;
  o.wal_sync_every_ms = options.wal_sync_every_ms;
  return o;
}

std::string ErrorResult(int error) { return Err(error).SerializeAsString(); }

}  // namespace

Filesystem::Filesystem(std::string path, const Options& options,
                       std::unique_ptr<snapshot::Store> store,
                       bool may_hold_capability)
    : path_(std::move(path)),
      options_(options),
      store_(std::move(store)),
      may_hold_capability_(
          std::make_shared<std::atomic<bool>>(may_hold_capability)),
      applier_(std::make_unique<Applier>(store_.get(), options_,
                                         may_hold_capability_)) {}

Filesystem::~Filesystem() = default;

StatusOr<std::unique_ptr<Filesystem>> Filesystem::Open(const std::string& path,
                                                       const Options& options) {
  PAXOSFS_CHECK(options.clock != nullptr);
  // The root's timestamps must not come from this host's clock, or replicas
  // created at different moments would differ: a new store starts at 0.
  auto store = snapshot::Store::Open(path, StoreOptionsFor(options, false), 0);
  if (!store.ok()) return store.status();
  StatusOr<bool> capability = (*store)->AnyXattrNamed(kCapabilityXattr);
  if (!capability.ok()) return capability.status();
  std::unique_ptr<Filesystem> fs(
      new Filesystem(path, options, std::move(*store), *capability));
  // What the last run committed may still sit unsynced in the page cache:
  // make it durable before claiming it is.
  PAXOSFS_RETURN_IF_ERROR(fs->SyncNow());
  return fs;
}

uint64_t Filesystem::AppliedIndex() const {
  return store_->meta().applied_index;
}

uint64_t Filesystem::DurableIndex() const {
  return std::max(durable_index_, store_->SyncedIndex());
}

StatusOr<std::string> Filesystem::ApplyOne(const std::string& encoded) {
  proto::Command c;
  if (!c.ParseFromString(encoded)) return ErrorResult(EINVAL);
  const proto::RequestId& id = c.request_id();
  const bool tracked = id.node() != 0 || id.session() != 0 || id.sequence();
  if (tracked) {
    auto session = store_->GetSession(id.node(), id.session());
    if (!session.ok()) return session.status();
    if (session->has_value()) {
      if ((*session)->sequence == id.sequence()) return (*session)->result;
      if ((*session)->sequence > id.sequence()) return ErrorResult(EALREADY);
    }
  }
  StatusOr<proto::Result> result = applier_->Apply(c);
  if (!result.ok()) return result.status();
  std::string out = result->SerializeAsString();
  if (tracked) {
    PAXOSFS_RETURN_IF_ERROR(store_->PutSession(
        id.node(), id.session(), snapshot::SessionRow{id.sequence(), out}));
  }
  return out;
}

StatusOr<std::vector<std::string>> Filesystem::Apply(
    uint64_t slot, const std::vector<std::string>& commands) {
  BatchResult batch = ApplyBatch(slot, {&commands});
  if (!batch.status.ok()) return batch.status;
  return std::move(batch.results.front());
}

replica::StateMachine::BatchResult Filesystem::ApplyBatch(
    uint64_t first_slot,
    const std::vector<const std::vector<std::string>*>& slots) {
  PAXOSFS_CHECK(!slots.empty());
  PAXOSFS_CHECK_MSG(first_slot == AppliedIndex() + 1,
                    "slots must be applied in order, without gaps");
  const uint64_t last_slot = first_slot + slots.size() - 1;
  const snapshot::Meta before = store_->meta();
  // The batch commits as one transaction, so readers see all of its slots
  // or none. The store's background sync makes it durable soon after; only
  // if that falls behind is this commit fsynced here.
  const int64_t now = options_.clock->MonotonicNanos();
  const uint64_t durable_index = DurableIndex();
  // Nothing waiting to be made durable counts as keeping up.
  if (durable_index != durable_seen_ || durable_index == AppliedIndex()) {
    durable_seen_ = durable_index;
    durable_moved_ns_ = now;
  }
  const bool durable =
      last_slot - durable_index >= options_.checkpoint_every_slots ||
      now - durable_moved_ns_ >= options_.checkpoint_every_ms * 1000000;
  BatchResult out;
  out.status = store_->Begin(durable);
  if (!out.status.ok()) return out;
  out.results.reserve(slots.size());
  for (uint64_t slot = first_slot; slot <= last_slot && out.status.ok();
       ++slot) {
    std::vector<std::string>& results = out.results.emplace_back();
    for (const std::string& encoded : *slots[slot - first_slot]) {
      StatusOr<std::string> r = ApplyOne(encoded);
      if (!r.ok()) {
        out.status =
            r.status().WithContext("applying slot " + std::to_string(slot));
        break;
      }
      results.push_back(std::move(*r));
    }
  }
  if (out.status.ok()) {
    snapshot::Meta meta = store_->meta();
    meta.applied_index = last_slot;
    store_->SetMeta(meta);
    out.status = store_->Commit();
    if (!out.status.ok()) {
      out.status = out.status.WithContext("committing slots " +
                                          std::to_string(first_slot) + "-" +
                                          std::to_string(last_slot));
    } else if (durable) {
      durable_index_ = durable_seen_ = last_slot;
      durable_moved_ns_ = now;
    }
  } else {
    store_->Rollback().ok();
  }
  if (!out.status.ok()) {
    store_->SetMeta(before);
    out.results.clear();
  }
  return out;
}

Status Filesystem::Checkpoint() {
  if (DurableIndex() == AppliedIndex()) return Status::Ok();
  return SyncNow();
}

StatusOr<bool> Filesystem::Tidy() { return store_->Tidy(); }

Status Filesystem::SyncNow() {
  PAXOSFS_RETURN_IF_ERROR(store_->Begin(/*durable=*/true));
  PAXOSFS_RETURN_IF_ERROR(store_->Commit());
  durable_index_ = durable_seen_ = AppliedIndex();
  durable_moved_ns_ = options_.clock->MonotonicNanos();
  return Status::Ok();
}

StatusOr<uint64_t> Filesystem::Digest() { return store_->Digest(); }

StatusOr<std::unique_ptr<Reader>> Filesystem::NewReader() const {
  auto store = snapshot::Store::Open(path_, StoreOptionsFor(options_, true));
  if (!store.ok()) return store.status();
  return std::unique_ptr<Reader>(
      new Reader(std::move(*store), options_, may_hold_capability_));
}

void Filesystem::TEST_Crash() { store_->TEST_Abandon(); }

}  // namespace paxosfs::fsm
