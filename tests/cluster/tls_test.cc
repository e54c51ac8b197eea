// Mutual TLS and join tokens with real processes: who gets in, who is
// refused, and that every refusal is said clearly where it happens.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/admin_client.h"
#include "cli/tls_files.h"
#include "proto/admin.grpc.pb.h"
#include "tests/cluster/cluster.h"
#include "tests/cluster/files.h"
#include "tls/token.h"

namespace paxosfs::testing {
namespace {

using std::chrono::seconds;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a paxosfs command to completion (bounded); its exit code (-1 if it
// did not exit) and its output in *out.
int RunPaxosfs(const std::vector<std::string>& args, const std::string& log,
               std::string* out) {
  std::vector<std::string> argv = {PAXOSFS_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = cli::Spawn(argv, log);
  int status = 0;
  bool exited = child.ok() && cli::WaitExit(child->pid, seconds(60), &status);
  if (child.ok() && !exited) cli::Kill9(&*child);
  *out = Slurp(log);
  return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A joiner started by hand through node 1, with `token`.
struct Joiner {
  std::string data, listen, log;
  cli::Child child;
  ~Joiner() {
    if (child.pid > 0) cli::Stop(&child, seconds(20));
  }
};

void StartJoin(const Cluster& c, const std::string& token,
               const std::string& name, Joiner* j) {
  j->data = c.root() + "/" + name;
  j->listen = "127.0.0.1:" + std::to_string(FreePort());
  j->log = c.root() + "/" + name + ".log";
  auto child = cli::Spawn(
      {PAXOSFS_BINARY, "join", "--peer", c.listen(1), "--token", token,
       "--data", j->data, "--listen", j->listen, "--no-mount"},
      j->log);
  ASSERT_TRUE(child.ok());
  j->child = *child;
}

// The same join, run to its end: it must be refused.
int JoinRefused(const Cluster& c, const std::string& token,
                const std::string& name, std::string* out, int via = 1) {
  return RunPaxosfs({"join", "--peer", c.listen(via), "--token", token,
                     "--data", c.root() + "/" + name, "--listen",
                     "127.0.0.1:" + std::to_string(FreePort()), "--no-mount"},
                    c.root() + "/" + name + ".log", out);
}

int Mode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777)
                                      : -1;
}

TEST(TlsTest, JoinTokens_UsedOnceExpiredOrForeignRefused_KeysAre0600) {
  Cluster cluster(3);
  ASSERT_NE(cluster.WaitReady(), 0) << cluster.LogTail(1);
  std::string token = cluster.CreateToken(1, {"--ttl", "10m"});
  ASSERT_FALSE(token.empty());

  Joiner first;
  StartJoin(cluster, token, "first", &first);
  ASSERT_TRUE(Eventually(
      [&] { return Slurp(first.log).find("serving on") != std::string::npos; },
      seconds(60)))
      << Slurp(first.log);
  for (const char* name : {"ca.crt", "node.crt", "node.key"}) {
    EXPECT_EQ(Mode(cli::TlsDir(first.data) + "/" + name), 0600) << name;
  }
  EXPECT_EQ(Mode(cli::TlsDir(first.data)), 0700);
  EXPECT_FALSE(std::filesystem::exists(cli::TlsDir(first.data) + "/ca.key"))
      << "a joiner must never get the CA key";
  for (int i = 1; i <= 3; ++i) {
    for (const char* name : {"ca.crt", "ca.key", "node.crt", "node.key"}) {
      EXPECT_EQ(Mode(cli::TlsDir(cluster.data_dir(i)) + "/" + name), 0600)
          << "node " << i << " " << name;
    }
  }

  std::string out;
  EXPECT_EQ(JoinRefused(cluster, token, "replay", &out), 1);
  EXPECT_NE(out.find("already used"), std::string::npos) << out;
  EXPECT_TRUE(cluster.WaitForLog(1, "refused a join", seconds(10)));

  // Redeemed only where it was made; the refusal names that node.
  std::string of_one = cluster.CreateToken(1);
  EXPECT_EQ(JoinRefused(cluster, of_one, "elsewhere", &out, /*via=*/2), 1);
  EXPECT_NE(out.find("made by node 1"), std::string::npos) << out;
  EXPECT_NE(out.find(cluster.listen(1)), std::string::npos) << out;

  // An expired token made with the cluster's real CA.
  auto ca = cli::LoadCa(cli::TlsDir(cluster.data_dir(1)));
  ASSERT_TRUE(ca.ok());
  int64_t now = time(nullptr);
  auto expired = tls::NewToken(ca->key_pem, ca->cert_pem, 1, 60, now - 120);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(JoinRefused(cluster, tls::FormatToken(*expired), "late", &out), 1);
  EXPECT_NE(out.find("expired"), std::string::npos) << out;
  EXPECT_NE(out.find("paxosfs token create"), std::string::npos) << out;

  // A token of another cluster: the joiner refuses to send it.
  tls::Ca other = tls::NewCa("test").value();
  auto foreign = tls::NewToken(other.key_pem, other.cert_pem, 1, 600, now);
  EXPECT_EQ(JoinRefused(cluster, tls::FormatToken(*foreign), "foreign", &out),
            1);
  EXPECT_NE(out.find("another CA than the token's"), std::string::npos) << out;

  EXPECT_EQ(RunPaxosfs({"join", "--peer", cluster.listen(1), "--data",
                        cluster.root() + "/none", "--listen", "127.0.0.1:1",
                        "--no-mount"},
                       cluster.root() + "/none.log", &out),
            2);
  EXPECT_NE(out.find("give --token"), std::string::npos) << out;

  std::string error;
  EXPECT_EQ(cluster.CreateToken(1, {"--ttl", "forever"}, &error), "");
  EXPECT_NE(error.find("--ttl"), std::string::npos) << error;
}

TEST(TlsTest, NodeOfAnotherClusterAtAMembersAddress_RefusedAndLogged) {
  Cluster cluster(3);
  ASSERT_NE(cluster.WaitReady(), 0) << cluster.LogTail(1);
  cluster.Stop(3);
  // Same cluster id, same node id and address, but its own CA: only the
  // certificates tell it apart.
  std::string members;
  for (int i = 1; i <= 3; ++i) {
    members += (i > 1 ? "," : "") + std::to_string(i) + "@" + cluster.listen(i);
  }
  std::string impostor = cluster.root() + "/impostor";
  std::string out;
  ASSERT_EQ(RunPaxosfs({"init", "--data", impostor, "--listen",
                        cluster.listen(3), "--node-id", "3", "--cluster-id",
                        "test", "--members", members},
                       impostor + ".init.log", &out),
            0)
      << out;
  auto child =
      cli::Spawn({PAXOSFS_BINARY, "serve", "--data", impostor, "--no-mount"},
                 impostor + ".log");
  ASSERT_TRUE(child.ok());
  cli::Child serving = *child;

  const std::string refusal = "is not signed by this cluster's CA";
  // The leader dials node 3 (followers talk to the leader only).
  EXPECT_TRUE(Eventually(
      [&] {
        return cluster.Log(1).find(refusal) != std::string::npos ||
               cluster.Log(2).find(refusal) != std::string::npos;
      },
      seconds(30)))
      << cluster.LogTail(1) << cluster.LogTail(2);
  EXPECT_TRUE(Eventually(
      [&] {
        return Slurp(impostor + ".log").find(refusal) != std::string::npos;
      },
      seconds(30)))
      << Slurp(impostor + ".log");
  // The cluster goes on with its two real voters; the impostor learns
  // nothing.
  EXPECT_TRUE(WriteFile(cluster.mount(1) + "/after", "still here"));
  EXPECT_EQ(ReadFile(cluster.mount(2) + "/after"), "still here");
  auto mine = cli::LoadNodeTls(impostor);
  ASSERT_TRUE(mine.ok());
  auto seen = cli::FetchStatus(*mine, cluster.listen(1), 2000);
  EXPECT_EQ(seen.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(seen.status().message().find(refusal), std::string::npos)
      << seen.status().message();
  cli::Stop(&serving, seconds(20));
}

TEST(TlsTest, AdminWithoutCertificateOrFromARemovedNode_Refused) {
  Cluster cluster(3);
  ASSERT_NE(cluster.WaitReady(), 0) << cluster.LogTail(1);
  grpc::ChannelArguments args;
  tls::SetServerName(&args);
  auto stub = proto::Admin::NewStub(grpc::CreateCustomChannel(
      cluster.listen(1),
      tls::ClientCredentials({cluster.admin_tls().ca_pem, "", ""}), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  proto::NodeStatus reply;
  grpc::Status s = stub->GetStatus(&ctx, proto::StatusRequest(), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(cluster.WaitForLog(1,
                                 "refused a call to /paxosfs.proto.Admin/"
                                 "GetStatus: the caller presented no client "
                                 "certificate",
                                 seconds(10)))
      << cluster.LogTail(1);

  // `paxosfs status` without a node's data directory says what to give.
  std::string out;
  EXPECT_EQ(RunPaxosfs({"status", "--data", cluster.root() + "/nowhere",
                        "--peer", cluster.listen(1)},
                       cluster.root() + "/status.log", &out),
            1);
  EXPECT_NE(out.find("give --data"), std::string::npos) << out;

  // Node 3 is removed while it still runs: its certificate stays valid
  // (there is no revocation list) but the members refuse it.
  auto three = cli::LoadNodeTls(cluster.data_dir(3));
  ASSERT_TRUE(three.ok());
  ASSERT_TRUE(cli::FetchStatus(*three, cluster.listen(1), 2000).ok());
  EXPECT_EQ(
      RunPaxosfs({"members", "--data", cluster.data_dir(1), "remove", "3"},
                 cluster.root() + "/remove.log", &out),
      0)
      << out;
  EXPECT_TRUE(Eventually(
      [&] {
        auto st = cli::FetchStatus(*three, cluster.listen(1), 2000);
        return st.status().message().find("node 3 was removed") !=
               std::string::npos;
      },
      seconds(20)));
  EXPECT_TRUE(cluster.WaitForLog(1, "node 3 was removed", seconds(10)));
}

}  // namespace
}  // namespace paxosfs::testing
