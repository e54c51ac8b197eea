#include "cli/node_backend.h"

#include <algorithm>

#include "common/logging.h"

namespace paxosfs::cli {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// How long a read waiting for the applier goes without checking for a stop.
constexpr milliseconds kStopCheck(100);

NodeBackend::NodeBackend(const NodeBackendOptions& options, fsm::Filesystem* fs,
                         replica::Driver* driver, replica::Applier* applier,
                         KernelCache* cache)
    : options_(options),
      fs_(fs),
      driver_(driver),
      applier_(applier),
      cache_(cache) {}

void NodeBackend::SetMount(fuse::Mount* mount) {
  if (cache_ != nullptr) cache_->SetMount(mount);
  std::lock_guard<std::mutex> lock(mu_);
  mount_ = mount;
}

void NodeBackend::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  for (const auto& s : sessions_) s->cv.notify_all();
}

bool NodeBackend::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

uint64_t NodeBackend::CacheTicket() {
  return cache_ == nullptr ? 0 : cache_->Ticket();
}

double NodeBackend::CacheSeconds(uint64_t ticket, uint64_t ino) {
  return cache_ == nullptr ? 0 : cache_->Seconds(ticket, ino);
}

NodeBackend::Session* NodeBackend::Acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  Session* s;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
  } else {
    sessions_.push_back(std::make_unique<Session>());
    s = sessions_.back().get();
    // Unique across restarts of this node: the boot id fills the high bits.
    s->id = (options_.boot_id << 20) | (sessions_.size() - 1);
  }
  // Under mu_: OnApplied compares these concurrently. A result left by a
  // late duplicate of this session's previous request must not be taken
  // for the new one's.
  ++s->sequence;
  s->in_flight = true;
  s->result.reset();
  return s;
}

void NodeBackend::Release(Session* session) {
  std::lock_guard<std::mutex> lock(mu_);
  session->in_flight = false;
  session->result.reset();
  free_.push_back(session);
}

StatusOr<uint64_t> NodeBackend::CurrentSize(uint64_t ino) {
  auto reader = fs_->NewReader();
  if (!reader.ok()) return reader.status();
  auto attr = (*reader)->GetAttr(ino);
  if (!attr.ok()) return attr.status();
  if (attr->error() != 0) return Status::NotFound("no such inode");
  return attr->attr().size();
}

StatusOr<proto::Result> NodeBackend::Execute(proto::Command command) {
  if (options_.space != nullptr) {
    PAXOSFS_RETURN_IF_ERROR(options_.space->Admit(
        command, [this](uint64_t ino) { return CurrentSize(ino); }));
  }
  Session* session = Acquire();
  proto::RequestId* id = command.mutable_request_id();
  id->set_node(options_.node_id);
  id->set_session(session->id);
  id->set_sequence(session->sequence);
  command.set_boot(options_.boot_id);
  std::string encoded = command.SerializeAsString();
  auto deadline = Clock::now() + milliseconds(options_.request_timeout_ms);
  Status last = Status::Ok();
  std::optional<std::string> result;
  bool stopping = false;
  for (int attempt = 0; !result && !stopping && Clock::now() < deadline;
       ++attempt) {
    // While this node cannot apply (its store is full), a command that does
    // not show up applied was most likely chosen already; offering it again
    // would only add copies to every node's log.
    bool offer = attempt == 0 || applier_->error().ok();
    if (offer) {
      last = driver_->Propose(encoded);
      if (!last.ok() && last.code() != StatusCode::kUnavailable) {
        // This node's log failed: it takes no further part, so waiting is
        // pointless. Before the first offer nothing left this node and the
        // error is exact (ENOSPC); after it, an earlier offer may still be
        // chosen elsewhere, so the outcome is unknown.
        Release(session);
        if (attempt == 0) return last;
        return Status::IOError("the outcome is unknown: " + last.ToString());
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    auto wake =
        std::min(deadline, Clock::now() + milliseconds(options_.repropose_ms));
    // No leader known: wait a little for an election before offering again.
    if (offer && !last.ok())
      wake = std::min(wake, Clock::now() + milliseconds(50));
    session->cv.wait_until(
        lock, wake, [&] { return session->result.has_value() || stopping_; });
    result = session->result;
    stopping = stopping_;
  }
  Release(session);
  if (!result && stopping) {
    return Status::Unavailable(
        "this node is stopping (the outcome is unknown)");
  }
  Status apply_error = applier_->error();
  if (!result && !apply_error.ok()) {
    // Chosen or not, it cannot be applied here before the store recovers;
    // say why (a full store is ENOSPC).
    return apply_error;
  }
  if (!result) {
    return Status::Unavailable("the command was not applied within " +
                               std::to_string(options_.request_timeout_ms) +
                               " ms" +
                               (last.ok() ? "" : " (" + last.ToString() + ")"));
  }
  proto::Result decoded;
  if (!decoded.ParseFromString(*result)) {
    return Status::Corruption("the state machine returned a malformed result");
  }
  return decoded;
}

Status NodeBackend::ReadBarrier() {
  milliseconds timeout(options_.request_timeout_ms);
  auto deadline = Clock::now() + timeout;
  // The core gives up on a barrier after its read timeout (2 s); a leader
  // slowed by a loaded disk, or an election, may need longer. Like a
  // write, a read waits up to the request timeout before EAGAIN.
  auto index = driver_->ReadIndex(timeout);
  while (!index.ok() && index.status().code() == StatusCode::kUnavailable &&
         Clock::now() < deadline && !Stopping()) {
    index = driver_->ReadIndex(
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  }
  if (!index.ok()) return index.status();
  // In slices, so a stop does not wait out the timeout.
  const auto until = Clock::now() + timeout;
  bool applied = applier_->WaitApplied(*index, std::min(kStopCheck, timeout));
  while (!applied && Clock::now() < until && !Stopping()) {
    applied = applier_->WaitApplied(
        *index, std::min(kStopCheck, std::chrono::duration_cast<milliseconds>(
                                         until - Clock::now())));
  }
  if (!applied && Stopping()) {
    return Status::Unavailable("this node is stopping");
  }
  if (!applied) {
    Status apply_error = applier_->error();
    return apply_error.ok()
               ? Status::TimedOut("this node did not catch up to slot " +
                                  std::to_string(*index) + " in time")
               : apply_error;
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<fsm::Reader>> NodeBackend::NewReader() {
  return fs_->NewReader();
}

uint64_t NodeBackend::DataVersion(uint64_t ino) {
  return data_versions_.Get(ino);
}

void NodeBackend::OnApplied(uint64_t slot,
                            const std::vector<std::string>& commands,
                            const std::vector<std::string>& results) {
  for (size_t i = 0; i < commands.size(); ++i) {
    proto::Command c;
    if (!c.ParseFromString(commands[i])) continue;  // Applied as EINVAL.
    // Before the waiter wakes and before the applied index moves: an open
    // that follows either must see the new version.
    data_versions_.Applied(slot, c);
    const proto::RequestId& id = c.request_id();
    // Writes made here bypass the page cache (fuse/ops_data.cc), so files
    // open here for reading need the same invalidation as for writes made
    // elsewhere.
    if (id.node() != options_.node_id || c.has_write()) Invalidate(c);
    if (id.node() != options_.node_id) continue;
    Session* woken = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      uint64_t index = id.session() & ((uint64_t{1} << 20) - 1);
      if ((id.session() >> 20) != options_.boot_id ||
          index >= sessions_.size()) {
        continue;  // A session of an earlier run of this node.
      }
      Session* s = sessions_[index].get();
      // A re-proposed copy can be applied after its request completed;
      // only the request still waiting takes a result.
      if (s->in_flight && s->sequence == id.sequence() && !s->result) {
        s->result = results[i];
        woken = s;
      }
    }
    // Sessions live as long as the backend, so notifying outside mu_ is
    // safe, and spares the woken thread a wait for the lock.
    if (woken != nullptr) woken->cv.notify_one();
  }
}

void NodeBackend::Invalidate(const proto::Command& c) {
  uint64_t ino = fuse::DataChanged(c);
  if (ino == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (mount_ == nullptr) return;
  // Cached names and attributes were dropped when this node voted for the
  // change (KernelCache); page-cached data of files open here remains. An
  // append lands where apply found the end, so it drops the whole file.
  if (c.has_write() && !c.write().append()) {
    uint64_t length = 0;
    for (const proto::ChunkWrite& p : c.write().pieces())
      length += p.data().size();
    mount_->InvalidateInode(ino, static_cast<int64_t>(c.write().offset()),
                            static_cast<int64_t>(length));
  } else {
    mount_->InvalidateInode(ino, 0, 0);
  }
}

}  // namespace paxosfs::cli
