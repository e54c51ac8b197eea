// Peer messages of the Multi-Paxos core. One flat struct keeps the codec and
// the handlers short; each type documents which fields it uses, the rest stay
// zero. The binary encoding (codec.h) is deterministic and compact (varints),
// carried as PeerMessage.body in proto/paxos.proto.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "replica/core/types.h"

namespace paxosfs::replica {

enum class MsgType : uint8_t {
  // Candidate -> voters. slot: candidate's first unchosen slot.
  kPreVote = 1,
  // ok: the voter would promise (it has not heard a live leader recently).
  kPreVoteReply,
  // Phase 1a. ballot; slot: first slot the promise must report from.
  kPrepare,
  // Phase 1b. ballot; ok; promised (on refusal); disk_id; slot (from);
  // entries: everything accepted at or after slot (chosen ones flagged);
  // complete: false if entries were cut at the size bound; index: compacted.
  kPromise,
  // Phase 2a. ballot; entries (slot, value); commit: leader's chosen prefix;
  // sent_ns: leader's clock when sent, echoed for its lease.
  kAccept,
  // Phase 2b. ballot; ok; promised; disk_id; entries (slots only); sent_ns.
  kAccepted,
  // Leader -> everyone. ballot; commit; sent_ns.
  kHeartbeat,
  // ballot; ok (lease granted); promised; disk_id; sent_ns; commit.
  kHeartbeatReply,
  // slot..index: chosen entries wanted.
  kCatchupRequest,
  // entries: chosen entries; commit: sender's chosen prefix; ok false with
  // index: the sender compacted through index (snapshot needed).
  kCatchupReply,
  // id: read barrier id.
  kReadIndexRequest,
  // id; ok; index: leader's commit index under a valid lease.
  kReadIndexReply,
  // Leader -> voters once more slots are chosen. ballot; commit. No reply:
  // leases are renewed by the periodic heartbeat, and a reply per commit
  // would double the messages of every write.
  kCommit,
  // Voter -> leader, asking for a follower read lease. disk_id; id: the
  // asker's lease nonce (random per start); sent_ns: the asker's clock when
  // sent (the lease counts from then).
  kLeaseRequest,
  // Leader -> voter. ballot; ok; id and sent_ns echoed; slot: the lease's
  // length in ns from sent_ns on the holder's clock; index: the highest slot
  // the leader had proposed when it granted (the holder reads once it has
  // applied that far).
  kLeaseGrant,
};

struct WireEntry {
  uint64_t slot = 0;
  Ballot ballot;
  bool chosen = false;
  std::string value;
  // Never on the wire: the core keeps no copy of an applied slot's value,
  // so `value` is empty and the sender fills it from its log before
  // encoding (FillValuesFromLog).
  bool value_in_log = false;
};

struct Message {
  MsgType type = MsgType::kHeartbeat;
  Ballot ballot;
  Ballot promised;
  bool ok = false;
  bool complete = false;
  uint64_t disk_id = 0;
  uint64_t slot = 0;
  uint64_t index = 0;
  uint64_t commit = 0;  // Every type: the sender's chosen prefix.
  uint64_t id = 0;
  int64_t sent_ns = 0;
  std::vector<WireEntry> entries;
};

struct Envelope {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Message msg;
};

const char* MsgTypeName(MsgType type);

}  // namespace paxosfs::replica
