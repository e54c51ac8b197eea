// Group commit. A Sync() caller either finds its records already durable, or
// waits for the running sync, or becomes the leader: it takes every buffered
// record (its own and anyone else's), writes and fdatasyncs them without the
// lock, and wakes the waiters. One fdatasync thus covers all the threads that
// appended while the previous one ran.
#include "log/file_log_impl.h"

namespace paxosfs::log {

Status FileLog::Sync() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = placed_records_;
  while (true) {
    if (!poison_.ok()) return poison_;
    if (durable_records_ >= target) return Status::Ok();
    if (!sync_running_) break;
    sync_cv_.wait(lock);
  }
  sync_running_ = true;
  // flushing_ stays readable by Get (under mu_) while the leader writes it;
  // nobody modifies it until the leader has the lock again.
  flushing_.swap(pending_);
  pending_bytes_ = 0;
  const uint64_t batch_end = placed_records_;
  lock.unlock();

  std::vector<Opened> opened;
  Status s = WriteAndSync(flushing_, &opened);

  lock.lock();
  for (Opened& o : opened) {
    auto it = segments_.find(o.segment);
    PAXOSFS_CHECK(it != segments_.end());
    it->second.reader = std::move(o.reader);
  }
  if (s.ok()) {
    for (const Piece& p : flushing_) {
      SegmentAt(p.segment).written = p.offset + p.bytes.size();
    }
    durable_records_ = batch_end;
  } else {
    // Never retry: after a failed fdatasync the kernel may have dropped the
    // dirty pages and marked them clean, so a second fdatasync would
    // "succeed" without the data (PostgreSQL's fsyncgate). Only a reopen,
    // which re-reads the disk, can tell what survived.
    poison_ = s.WithContext("log " + dir_ + " is unusable until reopened");
  }
  flushing_.clear();
  sync_running_ = false;
  sync_cv_.notify_all();
  return poison_;
}

Status FileLog::WriteAndSync(const std::vector<Piece>& pieces,
                             std::vector<Opened>* opened) {
  for (const Piece& p : pieces) {
    if (p.segment != writer_segment_) {
      // The previous segment is made durable, and cut to its records,
      // before a newer one exists, so after a crash only the newest segment
      // can end in a torn record or zeros.
      if (writer_ != nullptr) PAXOSFS_RETURN_IF_ERROR(writer_->Seal());
      const std::string path = SegmentPath(p.segment);
      StatusOr<std::unique_ptr<WritableFile>> w = env_->NewWritableFile(path);
      if (!w.ok()) return w.status();
      StatusOr<std::unique_ptr<RandomAccessFile>> r =
          env_->NewRandomAccessFile(path);
      if (!r.ok()) return r.status();
      writer_ = std::move(*w);
      writer_segment_ = p.segment;
      opened->push_back({p.segment, std::move(*r)});
    }
    PAXOSFS_RETURN_IF_ERROR(writer_->Append(p.bytes));
  }
  if (writer_ != nullptr) PAXOSFS_RETURN_IF_ERROR(writer_->Sync());
  // A new segment's directory entry must be durable too, or a crash could
  // lose the whole file after its records were reported durable.
  if (!opened->empty()) PAXOSFS_RETURN_IF_ERROR(env_->SyncDir(dir_));
  return Status::Ok();
}

// Oldest first, with a directory sync after each removal, so that whatever a
// crash leaves is a contiguous run of segments (recovery treats a gap as a
// lost file).
Status FileLog::RemoveSegments(const std::vector<uint64_t>& segments) {
  for (uint64_t sequence : segments) {
    Status s = env_->RemoveFile(SegmentPath(sequence));
    if (s.ok()) s = env_->SyncDir(dir_);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      poison_ = s.WithContext("log " + dir_ + " is unusable until reopened");
      return poison_;
    }
  }
  return Status::Ok();
}

}  // namespace paxosfs::log
