// The version line printed by `paxosfs --version`: the release and the schema
// version of everything it writes and sends.
#pragma once

#include <string>

namespace paxosfs::cli {

std::string VersionString();

}  // namespace paxosfs::cli
