// Rebuilding a node's state from a peer's snapshot: how a joining node gets
// its first state, and how a node that fell behind its peers' truncated
// logs catches up. A marker file, DIR/rebuild, says a rebuild is due; it is
// removed only once the snapshot is installed and the log truncated through
// its index, so a node that dies mid-rebuild rebuilds again at its next
// start (resuming the partial download where the sender still has it).
//
// Thread safety: free functions; one caller per data directory.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "log/log.h"
#include "tls/credentials.h"

namespace paxosfs::cli {

// Marks DIR for a rebuild, naming the peer to try first ("" for none).
Status MarkForRebuild(const std::string& dir, const std::string& peer);
bool RebuildDue(const std::string& dir);

// Creates DIR's log (REQUIRES: none there yet) holding only metadata: the
// configuration history `configs` (EncodeMetadata bytes, as the leader's
// MemberChangeReply carries them) and a fresh random disk id, so the node
// votes only once a configuration lists that disk. Used by `join` and
// `rebuild`. Returns the disk id.
StatusOr<uint64_t> WriteFreshLog(const std::string& dir,
                                 const std::string& configs);

// DIR/revote: this node voted before `paxosfs rebuild` gave it a new disk
// id; `serve` asks to vote again once caught up (cli/promoter.h) and clears
// the mark once it does.
Status MarkForRevote(const std::string& dir, uint64_t disk_id);
bool RevoteDue(const std::string& dir);
Status ClearRevote(const std::string& dir);

// If DIR is marked: fetches a snapshot from the marked peer or, failing
// that, from each of `peers` in turn, installs it as DIR's store (nobody may
// have it open), truncates `log` through the snapshot's index and removes
// the mark. Prints progress to stderr (a live line on a terminal, a line
// every few seconds otherwise). Errors name every peer tried and why.
// `tls` is this node's material (the snapshot service needs a node
// certificate of the cluster).
Status RebuildIfDue(const std::string& dir, const std::string& cluster_id,
                    const tls::Material& tls,
                    const std::vector<std::string>& peers, log::Log* log);

}  // namespace paxosfs::cli
