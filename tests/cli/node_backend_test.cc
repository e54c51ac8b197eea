// The node backend's exactly-once bookkeeping, with a scripted driver that
// lets the test choose which proposals become slots, and when.
#include "cli/node_backend.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <vector>

#include "fsm/commands.h"

namespace paxosfs::cli {
namespace {

using std::chrono::seconds;

// Records proposals; the test turns them into chosen slots by hand.
class ScriptedDriver : public replica::Driver {
 public:
  void Receive(uint64_t, std::string) override {}
  Status Propose(std::string command) override {
    std::lock_guard<std::mutex> lock(mu_);
    proposals_.push_back(std::move(command));
    cv_.notify_all();
    return Status::Ok();
  }
  StatusOr<uint64_t> ReadIndex(std::chrono::milliseconds) override {
    return read_index.load();
  }
  replica::LocalReads LocalReadWindow() const override { return {}; }
  StatusOr<replica::NodeId> ChangeMembership(
      const replica::MembershipChange&) override {
    return Status::Unavailable("scripted");
  }
  replica::DriverStatus status() const override { return {}; }
  void Halt(Status) override {}

  // What ReadIndex answers: a slot beyond the applied index keeps a read
  // waiting for the applier.
  std::atomic<uint64_t> read_index{0};

  // Waits until at least `n` proposals were made; returns the n-th (1-based).
  std::string WaitProposal(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, seconds(10),
                             [&] { return proposals_.size() >= n; }));
    return proposals_.size() >= n ? proposals_[n - 1] : "";
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> proposals_;
};

class NodeBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/paxosfs-backend-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto fs = fsm::Filesystem::Open(root_ + "/store.db", fsm::Options());
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(fs).value();
    applier_ = std::make_unique<replica::Applier>(
        fs_.get(), replica::Applier::Options(),
        [this](uint64_t slot, const std::vector<std::string>& commands,
               const std::vector<std::string>& results) {
          backend_->OnApplied(slot, commands, results);
        });
    NodeBackendOptions options;
    options.node_id = 1;
    options.boot_id = 7;
    options.repropose_ms = 60'000;  // The test re-proposes by hand.
    backend_ = std::make_unique<NodeBackend>(options, fs_.get(), &driver_,
                                             applier_.get());
  }
  void TearDown() override {
    applier_.reset();
    backend_.reset();
    fs_.reset();
    std::filesystem::remove_all(root_);
  }

  // Chooses `command` as the next slot and waits until it is applied.
  void Choose(const std::string& command) {
    applier_->Push(++slot_, {command});
    ASSERT_TRUE(applier_->WaitApplied(slot_, std::chrono::seconds(10)));
  }

  proto::Command Create(const std::string& name) {
    proto::Command c;
    c.mutable_create()->set_parent(fsm::kRootIno);
    c.mutable_create()->set_name(name);
    c.mutable_create()->set_mode(S_IFREG | 0644);
    return c;
  }

  std::string root_;
  std::unique_ptr<fsm::Filesystem> fs_;
  ScriptedDriver driver_;
  std::unique_ptr<NodeBackend> backend_;
  std::unique_ptr<replica::Applier> applier_;
  uint64_t slot_ = 0;
};

TEST_F(NodeBackendTest, Execute_ReturnsTheAppliedResult) {
  auto done = std::async(std::launch::async,
                         [&] { return backend_->Execute(Create("a")); });
  Choose(driver_.WaitProposal(1));
  auto r = done.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->error(), 0);
  EXPECT_TRUE(S_ISREG(r->attr().mode()));
}

// Regression: a re-proposed copy of a finished request, applied between
// that request's return and the session's next request, was taken as the
// next request's result (a create answered with an unlink's empty result:
// the kernel saw EIO).
TEST_F(NodeBackendTest, LateDuplicate_NotTakenForTheNextRequest) {
  auto first = std::async(std::launch::async,
                          [&] { return backend_->Execute(Create("a")); });
  std::string a = driver_.WaitProposal(1);
  Choose(a);
  ASSERT_TRUE(first.get().ok());
  Choose(a);  // The duplicate lands after the request completed.
  auto second = std::async(std::launch::async,
                           [&] { return backend_->Execute(Create("b")); });
  std::string b = driver_.WaitProposal(2);
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(100)),
            std::future_status::timeout)
      << "the second request completed before it was applied";
  Choose(b);
  auto r = second.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->error(), 0);
  EXPECT_TRUE(S_ISREG(r->attr().mode()));
  auto reader = fs_->NewReader();
  ASSERT_TRUE(reader.ok());
  auto looked_up = (*reader)->Lookup(fsm::kRootIno, "b");
  ASSERT_TRUE(looked_up.ok());
  EXPECT_EQ(looked_up->attr().ino(), r->attr().ino());
}

// A node asked to stop does not keep its requests (and so its unmount)
// waiting for the request timeout (15 s): neither a command nobody will
// choose nor a read waiting for slots this node has not applied.
TEST_F(NodeBackendTest, Stop_WaitingCommandAndReadReturnAtOnce) {
  driver_.read_index = 5;
  auto command = std::async(std::launch::async,
                            [&] { return backend_->Execute(Create("a")); });
  auto read =
      std::async(std::launch::async, [&] { return backend_->ReadBarrier(); });
  driver_.WaitProposal(1);
  EXPECT_EQ(read.wait_for(std::chrono::milliseconds(200)),
            std::future_status::timeout)
      << "the read did not wait for slot 5";
  auto stopped = std::chrono::steady_clock::now();
  backend_->Stop();
  ASSERT_EQ(command.wait_for(seconds(5)), std::future_status::ready);
  ASSERT_EQ(read.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, seconds(2));
  EXPECT_EQ(command.get().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(read.get().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace paxosfs::cli
