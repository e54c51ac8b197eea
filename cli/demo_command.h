// `paxosfs demo`: a local cluster on loopback for trying paxosfs out. Node i
// keeps its data under DIR/node<i>/data and mounts DIR/node<i>/mnt. Prints
// the mount paths, then a line containing "ready" once every mount is up
// and a leader is elected; SIGINT or SIGTERM unmounts and stops everything.
#pragma once

#include <string>

namespace paxosfs::cli {

struct DemoFlags {
  std::string dir = "demo";
  int nodes = 3;
  int base_port = 7301;  // Node i listens on base_port + i - 1.
  int ready_timeout_s = 60;
};

int RunDemo(const DemoFlags& flags, const std::string& self_binary);

}  // namespace paxosfs::cli
