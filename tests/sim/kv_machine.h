// A small key-value state machine for the simulation. Commands are puts
// carrying a request id (client, sequence); a put returns the value it
// replaced. The session table makes a re-proposed put apply once and return
// its first result (exactly-once across leader changes).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replica/state_machine.h"

namespace paxosfs::sim {

struct Put {
  uint64_t client = 0;
  uint64_t seq = 0;
  uint64_t key = 0;
  uint64_t value = 0;
};

std::string EncodePut(const Put& put);
Put DecodePut(std::string_view bytes);
uint64_t DecodeResult(std::string_view bytes);

class KvMachine final : public replica::StateMachine {
 public:
  StatusOr<std::vector<std::string>> Apply(
      uint64_t slot, const std::vector<std::string>& commands) override;
  uint64_t AppliedIndex() const override { return applied_; }
  // Held in memory only: after a restart the log is replayed from slot 1.
  uint64_t DurableIndex() const override { return 0; }
  Status Checkpoint() override { return Status::Ok(); }

  uint64_t Get(uint64_t key) const;
  // True if the client's put with this sequence number has been applied.
  bool Applied(uint64_t client, uint64_t seq) const;
  uint64_t Digest() const;

 private:
  uint64_t applied_ = 0;
  std::map<uint64_t, uint64_t> kv_;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> sessions_;  // seq, old
};

}  // namespace paxosfs::sim
