#include "tests/sim/kv_machine.h"

#include <cstring>

#include "common/check.h"
#include "common/checksum.h"

namespace paxosfs::sim {
namespace {

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetU64(std::string_view in, size_t pos) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  }
  return v;
}

}  // namespace

std::string EncodePut(const Put& put) {
  std::string out;
  PutU64(&out, put.client);
  PutU64(&out, put.seq);
  PutU64(&out, put.key);
  PutU64(&out, put.value);
  return out;
}

Put DecodePut(std::string_view bytes) {
  PAXOSFS_CHECK(bytes.size() == 32);
  return Put{GetU64(bytes, 0), GetU64(bytes, 8), GetU64(bytes, 16),
             GetU64(bytes, 24)};
}

uint64_t DecodeResult(std::string_view bytes) {
  PAXOSFS_CHECK(bytes.size() == 8);
  return GetU64(bytes, 0);
}

StatusOr<std::vector<std::string>> KvMachine::Apply(
    uint64_t slot, const std::vector<std::string>& commands) {
  PAXOSFS_CHECK_MSG(slot == applied_ + 1, "slots applied out of order");
  std::vector<std::string> results;
  for (const std::string& c : commands) {
    Put put = DecodePut(c);
    auto& session = sessions_[put.client];
    uint64_t old = 0;
    if (put.seq <= session.first) {
      // A re-proposed put: answer as the first time, change nothing.
      old = put.seq == session.first ? session.second : 0;
    } else {
      old = kv_[put.key];
      kv_[put.key] = put.value;
      session = {put.seq, old};
    }
    std::string r;
    PutU64(&r, old);
    results.push_back(std::move(r));
  }
  applied_ = slot;
  return results;
}

uint64_t KvMachine::Get(uint64_t key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? 0 : it->second;
}

bool KvMachine::Applied(uint64_t client, uint64_t seq) const {
  auto it = sessions_.find(client);
  return it != sessions_.end() && it->second.first >= seq;
}

uint64_t KvMachine::Digest() const {
  Hasher h;
  h.UpdateU64(applied_);
  for (const auto& [k, v] : kv_) {
    h.UpdateU64(k);
    h.UpdateU64(v);
  }
  for (const auto& [c, s] : sessions_) {
    h.UpdateU64(c);
    h.UpdateU64(s.first);
    h.UpdateU64(s.second);
  }
  return h.Digest();
}

}  // namespace paxosfs::sim
