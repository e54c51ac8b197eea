// Writes the seed corpus: a few well-formed inputs per target, built with the
// real encoders so the fuzzers start from the shapes peers, disks and users
// produce. Usage: fuzz_corpus_gen tests/fuzz/corpus
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fsm/commands.h"
#include "log/format.h"
#include "proto/command.pb.h"
#include "proto/snapshot.pb.h"
#include "replica/core/codec.h"
#include "snapshot/chunk.h"

namespace paxosfs {
namespace {

std::filesystem::path root;

void Put(const std::string& target, const std::string& name,
         const std::string& bytes) {
  std::filesystem::create_directories(root / target);
  std::ofstream(root / target / name, std::ios::binary) << bytes;
}

void Codec() {
  using namespace replica;
  replica::Config config{{{1, 11}, {2, 22}, {3, 33}}, {4}};
  Message promise;
  promise.type = MsgType::kPromise;
  promise.ballot = {7, 2};
  promise.ok = true;
  promise.entries.push_back({5, {6, 1}, true, EncodeValue({})});
  Put("codec_fuzz", "promise", EncodeMessage(promise));
  Message accept;
  accept.type = MsgType::kAccept;
  accept.ballot = {8, 1};
  accept.commit = 4;
  accept.entries.push_back(
      {6, {8, 1}, false, EncodeValue({Value::Kind::kBatch, {"a", "bc"}, {}})});
  Put("codec_fuzz", "accept", EncodeMessage(accept));
  Put("codec_fuzz", "value_config",
      EncodeValue({Value::Kind::kConfig, {}, config}));
  Put("codec_fuzz", "metadata",
      EncodeMetadata({{7, 2}, 99, {{0, config}, {9, config}}}));
}

void FileLog() {
  using namespace log;
  std::string segment;
  AppendSegmentHeaderRecord({1, 1, "meta"}, &segment);
  AppendEntryRecord({1, 2, 1, false, "one"}, &segment);
  AppendEntryRecord({2, 2, 1, true, "two"}, &segment);
  AppendRecord(RecordType::kMetadata, {"meta2"}, &segment);
  AppendTruncateRecord(2, &segment);
  AppendEntryRecord({3, 3, 2, false, "three"}, &segment);
  // Even first byte: the segment as is; then with a torn and a zero tail.
  Put("file_log_fuzz", "segment", '\0' + segment);
  Put("file_log_fuzz", "torn_tail",
      '\0' + segment.substr(0, segment.size() - 5));
  Put("file_log_fuzz", "zero_tail", '\0' + segment + std::string(30, '\0'));
  // Odd first byte: records the target frames itself (type, length, payload).
  std::string header;
  AppendSegmentHeaderRecord({1, 1, ""}, &header);
  std::string framed = "\1";
  auto record = [&](RecordType type, const std::string& payload) {
    framed += static_cast<char>(type);
    framed += static_cast<char>(payload.size());
    framed += payload;
  };
  record(RecordType::kSegmentHeader, header.substr(kRecordHeaderBytes));
  std::string entry;
  AppendEntryRecord({1, 1, 1, true, "v"}, &entry);
  record(RecordType::kEntry, entry.substr(kRecordHeaderBytes));
  record(RecordType::kMetadata, "m");
  Put("file_log_fuzz", "framed", framed);
}

void SnapshotChunk() {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i % 7) + "\n";
  for (auto [name, level] : {std::pair{"raw", 0}, std::pair{"zstd", 3}}) {
    proto::SnapshotChunk chunk;
    chunk.set_snapshot_id("snap-1");
    chunk.set_offset(1 << 20);
    snapshot::EncodeChunk(text, level, &chunk);
    Put("snapshot_chunk_fuzz", name, chunk.SerializeAsString());
  }
  proto::SnapshotChunk empty;
  snapshot::EncodeChunk("", 0, &empty);
  empty.set_final(true);
  Put("snapshot_chunk_fuzz", "empty_final", empty.SerializeAsString());
}

void ConfigFile() {
  Put("config_file_fuzz", "full",
      "# paxosfs serve\ndata = /var/lib/paxosfs/main\n"
      "mount = /srv/paxosfs\nverbose = yes\n");
  Put("config_file_fuzz", "no_mount",
      "\n  data=/d#1\t\nno-mount = on\r\nverbose = 0\n");
  Put("config_file_fuzz", "bad_key", "mountpoint = /srv\n");
}

void Fsm() {
  std::vector<proto::Command> cmds(10);
  int64_t time_ns = 1000;
  for (proto::Command& c : cmds) c.set_time_ns(time_ns += 1000);
  cmds[0].mutable_mkdir()->set_parent(fsm::kRootIno);
  cmds[0].mutable_mkdir()->set_name("d");
  cmds[0].mutable_mkdir()->set_mode(0755);
  cmds[1].mutable_create()->set_parent(2);
  cmds[1].mutable_create()->set_name("f");
  cmds[1].mutable_create()->set_mode(S_IFREG | 0644);
  fsm::SetWrite(3, fsm::kChunkSize - 3, "hello", &cmds[2]);
  cmds[3].mutable_link()->set_inode(3);
  cmds[3].mutable_link()->set_new_parent(fsm::kRootIno);
  cmds[3].mutable_link()->set_new_name("g");
  cmds[4].mutable_rename()->set_parent(2);
  cmds[4].mutable_rename()->set_name("f");
  cmds[4].mutable_rename()->set_new_parent(fsm::kRootIno);
  cmds[4].mutable_rename()->set_new_name("g");
  cmds[5].mutable_symlink()->set_parent(2);
  cmds[5].mutable_symlink()->set_name("s");
  cmds[5].mutable_symlink()->set_target("../g");
  cmds[6].mutable_setxattr()->set_inode(3);
  cmds[6].mutable_setxattr()->set_name("user.k");
  cmds[6].mutable_setxattr()->set_value("v");
  cmds[7].mutable_setattr()->set_inode(3);
  cmds[7].mutable_setattr()->set_valid(proto::SETATTR_SIZE);
  cmds[7].mutable_setattr()->set_size(2);
  cmds[8].mutable_fallocate()->set_inode(3);
  cmds[8].mutable_fallocate()->set_length(100);
  cmds[9].mutable_request_id()->set_node(1);
  cmds[9].mutable_request_id()->set_session(1);
  cmds[9].mutable_request_id()->set_sequence(1);
  cmds[9].mutable_rmdir()->set_parent(fsm::kRootIno);
  cmds[9].mutable_rmdir()->set_name("d");
  std::string all;
  for (size_t i = 0; i < cmds.size(); ++i) {
    std::string bytes = cmds[i].SerializeAsString();
    all += static_cast<char>(bytes.size() & 0xff);
    all += static_cast<char>(bytes.size() >> 8);
    all += bytes;
    // The first three alone: a file with data that mutations can grow from.
    if (i == 2) Put("fsm_fuzz", "write", all);
  }
  Put("fsm_fuzz", "tour", all);
}

}  // namespace
}  // namespace paxosfs

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  paxosfs::root = argv[1];
  paxosfs::Codec();
  paxosfs::FileLog();
  paxosfs::SnapshotChunk();
  paxosfs::ConfigFile();
  paxosfs::Fsm();
  return 0;
}
