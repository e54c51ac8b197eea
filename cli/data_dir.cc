#include "cli/data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli/input_checks.h"
#include "common/checksum.h"

namespace paxosfs::cli {
namespace {

constexpr int kFormat = 1;

std::string IdentityPath(const std::string& dir) { return dir + "/identity"; }

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

std::string Body(const Identity& id) {
  std::ostringstream out;
  out << "# paxosfs node identity, written by `paxosfs init`. Do not edit:\n"
      << "# the checksum below rejects any change.\n"
      << "format=" << kFormat << "\n"
      << "cluster_id=" << id.cluster_id << "\n"
      << "node_id=" << id.node_id << "\n"
      << "listen=" << id.listen << "\n"
      << "members=" << FormatMembers(id.members) << "\n";
  return out.str();
}

Status BadLine(const std::string& path, int line, const std::string& why) {
  return Status::Corruption(
      path + ":" + std::to_string(line) + ": " + why +
      ". The node identity is damaged; restore it from a backup, or wipe "
      "this data directory and add the node again");
}

}  // namespace

Status WriteFileDurably(const std::string& dir, const std::string& name,
                        const std::string& data) {
  std::string tmp = dir + "/." + name + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    return Status::IOError("cannot create " + tmp + ": " +
                           std::strerror(errno));
  }
  bool ok = write(fd, data.data(), data.size()) ==
                static_cast<ssize_t>(data.size()) &&
            fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (!ok) {
    return Status(saved == ENOSPC ? StatusCode::kNoSpace : StatusCode::kIOError,
                  "cannot write " + tmp + ": " + std::strerror(saved));
  }
  if (rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) {
    return Status::IOError("cannot rename " + tmp + ": " +
                           std::strerror(errno));
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd < 0 || fsync(dfd) != 0) {
    if (dfd >= 0) close(dfd);
    return Status::IOError("cannot sync directory " + dir);
  }
  close(dfd);
  return Status::Ok();
}

replica::Config GenesisConfig(const Identity& identity) {
  replica::Config config;
  for (const Member& m : identity.members) {
    config.voters.push_back({m.id, m.id});
    config.addresses[m.id] = m.address;
    config.next_node_id = std::max(config.next_node_id, m.id + 1);
  }
  return config;
}

std::string LogDir(const std::string& data_dir) { return data_dir + "/log"; }
std::string StorePath(const std::string& data_dir) {
  return data_dir + "/state.db";
}

StatusOr<std::vector<Member>> ParseMembers(const std::string& text) {
  std::vector<Member> members;
  std::set<uint64_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t at = item.find('@');
    size_t colon = item.rfind(':');
    std::string id_text = item.substr(0, at == std::string::npos ? 0 : at);
    char* end = nullptr;
    uint64_t id = std::strtoull(id_text.c_str(), &end, 10);
    if (at == std::string::npos || id == 0 || *end != '\0' ||
        colon == std::string::npos || colon < at || colon + 1 == item.size()) {
      return Status::InvalidArgument("bad member '" + item +
                                     "': expected ID@HOST:PORT with ID >= 1, "
                                     "e.g. 1@10.0.0.1:7000");
    }
    if (!ids.insert(id).second) {
      return Status::InvalidArgument("member id " + std::to_string(id) +
                                     " appears twice");
    }
    Status address = CheckAddress(item.substr(at + 1));
    if (!address.ok()) {
      return Status::InvalidArgument("bad member '" + item + "': its address " +
                                     address.message());
    }
    members.push_back({id, item.substr(at + 1)});
  }
  if (members.empty()) {
    return Status::InvalidArgument("no members given");
  }
  return members;
}

std::string FormatMembers(const std::vector<Member>& members) {
  std::string out;
  for (const Member& m : members) {
    if (!out.empty()) out += ",";
    out += std::to_string(m.id) + "@" + m.address;
  }
  return out;
}

Status CreateDataDir(const std::string& dir, const Identity& identity) {
  auto existing = ReadIdentity(dir);
  if (existing.ok()) {
    return Status::AlreadyExists(
        dir + " already holds node " + std::to_string(existing->node_id) +
        " of cluster '" + existing->cluster_id +
        "'; use another --data directory or remove this one first");
  }
  if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::IOError("cannot create " + dir + ": " + ec.message());
  }
  std::string body = Body(identity);
  return WriteFileDurably(dir, "identity",
                          body + "checksum=" + Hex(Checksum64(body)) + "\n");
}

StatusOr<Identity> ReadIdentity(const std::string& dir) {
  std::string path = IdentityPath(dir);
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound(
        dir +
        " is not a paxosfs data directory (no identity file); create "
        "it with `paxosfs init`");
  }
  std::string body, line, checksum;
  std::map<std::string, std::string> values;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("checksum=", 0) == 0) {
      checksum = line.substr(9);
      break;
    }
    body += line + "\n";
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return BadLine(path, number, "no '='");
    values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (checksum != Hex(Checksum64(body))) {
    return BadLine(path, number, "checksum does not match the contents");
  }
  if (values["format"] != std::to_string(kFormat)) {
    return Status::InvalidArgument(
        path + " has format " + values["format"] + ", this paxosfs reads " +
        std::to_string(kFormat) + "; run the paxosfs version that wrote it");
  }
  Identity id;
  id.cluster_id = values["cluster_id"];
  id.node_id = std::strtoull(values["node_id"].c_str(), nullptr, 10);
  id.listen = values["listen"];
  auto members = ParseMembers(values["members"]);
  if (!members.ok()) return BadLine(path, number, members.status().message());
  id.members = std::move(members).value();
  return id;
}

}  // namespace paxosfs::cli
