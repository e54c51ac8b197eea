// Page checksums for the store: a VFS shim under SQLite that keeps an XXH3
// checksum in the last 8 bytes of every page of a database file and checks
// it on every page read from that file, so a flipped bit, a torn write, a
// page never written, or one written to the wrong place is reported as
// corruption instead of being served as file data. (A lost overwrite,
// which leaves the page's previous valid version, is not.) Why a shim and what
// it covers: snapshot/README.md ("Page checksums").
//
// Only database files whose header reserves exactly 8 bytes per page are
// checked (a new store reserves them, see ReservePageChecksums); others
// pass through unchanged. WAL frames carry SQLite's own checksums and are
// not touched: a page gets its checksum when a checkpoint copies it into
// the database file.
//
// Thread safety: UsePageChecksums may be called from any thread, any number
// of times; the fault record is per thread.
#pragma once

#include <sqlite3.h>

#include <string>

#include "common/status.h"

namespace paxosfs::snapshot {

// Bytes each page gives up for its checksum.
inline constexpr int kPageChecksumBytes = 8;

// Makes the checksumming VFS SQLite's default for this process (once), so
// every connection opened afterwards, by any code, reads and writes through
// it. Call before opening a database.
void UsePageChecksums();

// For a database that has no page yet (call before its first write): its
// pages will reserve room for, and carry, checksums.
Status ReservePageChecksums(sqlite3* db);

// Whether the database file on disk reserves room for page checksums.
StatusOr<bool> HasPageChecksums(const std::string& path);

// What the calling thread's last failed page check found ("page 12 of
// /x/state.db (offset 180224): checksum mismatch"), and forgets it; empty
// if none. A read that fails the check returns SQLITE_IOERR_DATA.
std::string TakePageChecksumFault();

}  // namespace paxosfs::snapshot
