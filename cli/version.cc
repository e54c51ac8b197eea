#include "cli/version.h"

#include "proto/format.pb.h"

#ifndef PAXOSFS_VERSION
#error "PAXOSFS_VERSION must be defined by the build"
#endif

namespace paxosfs::cli {

std::string VersionString() {
  return std::string("paxosfs ") + PAXOSFS_VERSION + " (schema " +
         std::to_string(proto::CURRENT_SCHEMA) + ")";
}

}  // namespace paxosfs::cli
