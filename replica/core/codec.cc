#include "replica/core/codec.h"

#include <cstdint>

#include "common/check.h"

namespace paxosfs::replica {
namespace {

// Bounds every decoded count so a corrupt length cannot make us allocate
// without limit.
constexpr uint64_t kMaxCount = 1u << 20;

// Varint fields take at most this many bytes.
constexpr size_t kMaxVarintBytes = 10;

class Writer {
 public:
  explicit Writer(std::string out = {}) : out_(std::move(out)) {}
  // Values run to MiBs: growing by doubling would allocate, fault in and
  // copy them again at every step.
  void Reserve(size_t more) { out_.reserve(out_.size() + more); }
  void U64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Bool(bool v) { U64(v ? 1 : 0); }
  void Bytes(std::string_view b) {
    U64(b.size());
    out_.append(b);
  }
  void Ballot(const replica::Ballot& b) {
    U64(b.round);
    U64(b.node);
  }
  void Config(const replica::Config& c) {
    U64(c.voters.size());
    for (const Voter& v : c.voters) {
      U64(v.node);
      U64(v.disk_id);
    }
    U64(c.learners.size());
    for (NodeId n : c.learners) U64(n);
    U64(c.addresses.size());
    for (const auto& [node, address] : c.addresses) {
      U64(node);
      Bytes(address);
    }
    U64(c.next_node_id);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U64(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      uint8_t byte = static_cast<uint8_t>(in_[pos_++]);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool I64(int64_t* v) {
    uint64_t u = 0;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool Bool(bool* v) {
    uint64_t u = 0;
    if (!U64(&u) || u > 1) return false;
    *v = u == 1;
    return true;
  }
  // Every element takes at least one byte, so a count beyond the bytes left
  // is malformed: refusing it here keeps a 16-byte message from making the
  // decoder allocate millions of elements (found by tests/fuzz/codec_fuzz).
  bool Count(uint64_t* n) {
    return U64(n) && *n <= kMaxCount && *n <= in_.size() - pos_;
  }
  bool Bytes(std::string* b) {
    std::string_view v;
    if (!Bytes(&v)) return false;
    b->assign(v);
    return true;
  }
  bool Bytes(std::string_view* b) {
    uint64_t n = 0;
    if (!U64(&n) || n > in_.size() - pos_) return false;
    *b = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Ballot(replica::Ballot* b) { return U64(&b->round) && U64(&b->node); }
  bool Config(replica::Config* c) {
    uint64_t n = 0;
    if (!Count(&n)) return false;
    c->voters.resize(n);
    for (Voter& v : c->voters) {
      if (!U64(&v.node) || !U64(&v.disk_id)) return false;
    }
    if (!Count(&n)) return false;
    c->learners.resize(n);
    for (NodeId& l : c->learners) {
      if (!U64(&l)) return false;
    }
    if (!Count(&n)) return false;
    c->addresses.clear();
    NodeId previous = kNoNode;
    for (uint64_t i = 0; i < n; ++i) {
      NodeId node = kNoNode;
      std::string address;
      // Strictly increasing ids: the one encoding a map has.
      if (!U64(&node) || node <= previous || !Bytes(&address)) return false;
      c->addresses.emplace_hint(c->addresses.end(), node, std::move(address));
      previous = node;
    }
    return U64(&c->next_node_id);
  }
  bool Done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

Status Corrupt(const char* what) {
  return Status::Corruption(std::string("malformed ") + what);
}

}  // namespace

std::string EncodeValue(const Value& value) {
  Writer w;
  w.U64(static_cast<uint64_t>(value.kind));
  if (value.kind == Value::Kind::kBatch) {
    size_t bytes = kMaxVarintBytes;
    for (const std::string& c : value.commands) {
      bytes += kMaxVarintBytes + c.size();
    }
    w.Reserve(bytes);
    w.U64(value.commands.size());
    for (const std::string& c : value.commands) w.Bytes(c);
  } else if (value.kind == Value::Kind::kConfig) {
    w.Config(value.config);
  }
  return w.Take();
}

namespace {

StatusOr<Value> DecodeValue(std::string_view bytes, bool commands) {
  Reader r(bytes);
  Value value;
  uint64_t kind = 0;
  if (!r.U64(&kind) || kind > 2) return Corrupt("value kind");
  value.kind = static_cast<Value::Kind>(kind);
  if (value.kind == Value::Kind::kBatch) {
    uint64_t n = 0;
    if (!r.Count(&n)) return Corrupt("batch");
    if (commands) value.commands.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view c;
      if (!r.Bytes(&c)) return Corrupt("batch command");
      if (commands) value.commands.emplace_back(c);
    }
  } else if (value.kind == Value::Kind::kConfig) {
    if (!r.Config(&value.config)) return Corrupt("config");
  }
  if (!r.Done()) return Corrupt("value (trailing bytes)");
  return value;
}

}  // namespace

StatusOr<Value> DecodeValue(std::string_view bytes) {
  return DecodeValue(bytes, /*commands=*/true);
}

StatusOr<Value> CheckValue(std::string_view bytes) {
  return DecodeValue(bytes, /*commands=*/false);
}

std::string EncodeMessage(const Message& m) {
  std::string out;
  AppendMessage(m, &out);
  return out;
}

void AppendMessage(const Message& m, std::string* out) {
  // Ten varints and two ballots, then per entry a slot, a ballot, a flag
  // and the value with its length.
  constexpr size_t kFixedBytes = 16 * kMaxVarintBytes;
  constexpr size_t kEntryBytes = 5 * kMaxVarintBytes;
  size_t bytes = kFixedBytes;
  for (const WireEntry& e : m.entries) bytes += kEntryBytes + e.value.size();
  Writer w(std::move(*out));
  w.Reserve(bytes);
  w.U64(static_cast<uint64_t>(m.type));
  w.Ballot(m.ballot);
  w.Ballot(m.promised);
  w.Bool(m.ok);
  w.Bool(m.complete);
  w.U64(m.disk_id);
  w.U64(m.slot);
  w.U64(m.index);
  w.U64(m.commit);
  w.U64(m.id);
  w.I64(m.sent_ns);
  w.U64(m.entries.size());
  for (const WireEntry& e : m.entries) {
    PAXOSFS_CHECK_MSG(!e.value_in_log,
                      "a value left in the log was not filled");
    w.U64(e.slot);
    w.Ballot(e.ballot);
    w.Bool(e.chosen);
    w.Bytes(e.value);
  }
  *out = w.Take();
}

StatusOr<Message> DecodeMessage(std::string_view bytes) {
  Reader r(bytes);
  Message m;
  uint64_t type = 0;
  if (!r.U64(&type) || type < 1 ||
      type > static_cast<uint64_t>(MsgType::kLeaseGrant)) {
    return Corrupt("message type");
  }
  m.type = static_cast<MsgType>(type);
  uint64_t n = 0;
  if (!r.Ballot(&m.ballot) || !r.Ballot(&m.promised) || !r.Bool(&m.ok) ||
      !r.Bool(&m.complete) || !r.U64(&m.disk_id) || !r.U64(&m.slot) ||
      !r.U64(&m.index) || !r.U64(&m.commit) || !r.U64(&m.id) ||
      !r.I64(&m.sent_ns) || !r.Count(&n)) {
    return Corrupt("message header");
  }
  m.entries.resize(n);
  for (WireEntry& e : m.entries) {
    if (!r.U64(&e.slot) || !r.Ballot(&e.ballot) || !r.Bool(&e.chosen) ||
        !r.Bytes(&e.value)) {
      return Corrupt("message entry");
    }
  }
  if (!r.Done()) return Corrupt("message (trailing bytes)");
  return m;
}

std::string EncodeMetadata(const Metadata& meta) {
  Writer w;
  w.Ballot(meta.promised);
  w.U64(meta.disk_id);
  w.U64(meta.configs.size());
  for (const auto& [slot, config] : meta.configs) {
    w.U64(slot);
    w.Config(config);
  }
  return w.Take();
}

StatusOr<Metadata> DecodeMetadata(std::string_view bytes) {
  Reader r(bytes);
  Metadata meta;
  uint64_t n = 0;
  if (!r.Ballot(&meta.promised) || !r.U64(&meta.disk_id) || !r.Count(&n)) {
    return Corrupt("metadata");
  }
  meta.configs.resize(n);
  for (auto& [slot, config] : meta.configs) {
    if (!r.U64(&slot) || !r.Config(&config)) return Corrupt("metadata config");
  }
  if (!r.Done()) return Corrupt("metadata (trailing bytes)");
  return meta;
}

}  // namespace paxosfs::replica
