#include "cli/tls_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/data_dir.h"

namespace paxosfs::cli {
namespace {

StatusOr<std::string> ReadFile(const std::string& path,
                               const std::string& hint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path + "; " + hint);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string TlsDir(const std::string& data_dir) { return data_dir + "/tls"; }

Status CreateTlsDir(const std::string& data_dir) {
  std::string dir = TlsDir(data_dir);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create " + dir + ": " +
                           std::strerror(errno));
  }
  return Status::Ok();
}

Status WriteTlsFile(const std::string& data_dir, const std::string& name,
                    const std::string& contents) {
  return WriteFileDurably(TlsDir(data_dir), name, contents);
}

StatusOr<tls::Material> LoadNodeTls(const std::string& data_dir,
                                    const std::string& cluster_id,
                                    uint64_t node_id) {
  const std::string dir = TlsDir(data_dir);
  const std::string hint =
      "the node's TLS files are made by `paxosfs init` or `paxosfs join`; "
      "give --data the data directory of a node of this cluster";
  tls::Material m;
  for (auto [name, out] :
       {std::pair{"ca.crt", &m.ca_pem}, std::pair{"node.crt", &m.cert_pem},
        std::pair{"node.key", &m.key_pem}}) {
    auto text = ReadFile(dir + "/" + name, hint);
    if (!text.ok()) return text.status();
    *out = std::move(text).value();
  }
  Status s = tls::CheckKeyMatches(m.cert_pem, m.key_pem);
  if (s.ok()) s = tls::VerifySignedBy(m.cert_pem, m.ca_pem);
  if (!s.ok()) {
    return Status::InvalidArgument(dir + "/node.crt: " + s.message() +
                                   "; the files of " + dir +
                                   " do not belong together");
  }
  auto info = tls::ParseNodeCert(m.cert_pem);
  if (!info.ok()) return info.status();
  if ((!cluster_id.empty() && info->cluster_id != cluster_id) ||
      (node_id != 0 && info->node_id != node_id)) {
    return Status::InvalidArgument(
        dir + "/node.crt is node " + std::to_string(info->node_id) +
        "'s of cluster '" + info->cluster_id + "', but this data directory " +
        "is node " + std::to_string(node_id) + " of cluster '" + cluster_id +
        "'; restore this node's own tls/ files");
  }
  return m;
}

StatusOr<tls::Ca> LoadCa(const std::string& tls_dir) {
  auto key = ReadFile(tls_dir + "/ca.key",
                      tls_dir + " does not hold the cluster's CA key");
  if (!key.ok()) return key.status();
  auto cert =
      ReadFile(tls_dir + "/ca.crt", "ca.key is there but ca.crt is missing");
  if (!cert.ok()) return cert.status();
  return tls::Ca{*cert, *key};
}

StatusOr<AdminAccess> AdminAccessFrom(const std::string& data_dir,
                                      const std::string& peer) {
  AdminAccess access;
  auto material = LoadNodeTls(data_dir);
  if (!material.ok()) return material.status();
  access.tls = std::move(material).value();
  access.peer = peer;
  if (access.peer.empty()) {
    auto id = ReadIdentity(data_dir);
    if (!id.ok()) return id.status();
    access.peer = id->listen;
  }
  return access;
}

Status CreateFounderTls(const std::string& data_dir,
                        const std::string& cluster_id, uint64_t node_id,
                        const std::string& ca_from) {
  StatusOr<tls::Ca> ca =
      ca_from.empty() ? tls::NewCa(cluster_id) : LoadCa(ca_from);
  if (!ca.ok()) {
    return ca_from.empty() ? ca.status() : ca.status().WithContext("--ca-from");
  }
  auto key = tls::NewPrivateKey();
  if (!key.ok()) return key.status();
  auto pub = tls::PublicKeyOf(*key);
  if (!pub.ok()) return pub.status();
  auto cert = tls::SignNodeCert(*ca, cluster_id, node_id, *pub);
  if (!cert.ok()) {
    return Status::InvalidArgument(
        "cannot sign this node's certificate with the CA" +
        (ca_from.empty() ? "" : " of " + ca_from) + ": " +
        cert.status().message() +
        "; pass --ca-from the tls/ directory of a founder of this cluster");
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return Status::IOError("cannot create " + data_dir + ": " + ec.message());
  PAXOSFS_RETURN_IF_ERROR(CreateTlsDir(data_dir));
  PAXOSFS_RETURN_IF_ERROR(WriteTlsFile(data_dir, "ca.key", ca->key_pem));
  PAXOSFS_RETURN_IF_ERROR(WriteTlsFile(data_dir, "ca.crt", ca->cert_pem));
  PAXOSFS_RETURN_IF_ERROR(WriteTlsFile(data_dir, "node.key", *key));
  return WriteTlsFile(data_dir, "node.crt", *cert);
}

}  // namespace paxosfs::cli
