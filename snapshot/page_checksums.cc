#include "snapshot/page_checksums.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <utility>

#include "common/check.h"
#include "common/checksum.h"

namespace paxosfs::snapshot {
namespace {

constexpr char kVfsName[] = "paxosfs-checksum";
constexpr char kMagic[] = "SQLite format 3";  // With its NUL: 16 bytes.
constexpr int kHeaderBytes = 100;

// The shim's part of an open file; the real file's state follows it in the
// same allocation (szOsFile covers both).
struct File {
  sqlite3_file base;
  const char* name;
  // The page size while the header says pages reserve kPageChecksumBytes;
  // 0 while it does not (or has not been seen yet): nothing is checked.
  int checked_page_size;
};
static_assert(sizeof(File) % 8 == 0, "the real file must stay aligned");

sqlite3_vfs* Real(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}
sqlite3_file* Real(sqlite3_file* file) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<File*>(file) + 1);
}

thread_local std::string fault;

uint64_t PageSum(const unsigned char* page, int page_size, int64_t offset) {
  uint64_t page_number = static_cast<uint64_t>(offset / page_size) + 1;
  return Checksum64(
      std::string_view(reinterpret_cast<const char*>(page),
                       static_cast<size_t>(page_size - kPageChecksumBytes)),
      page_number);
}

void StoreSum(uint64_t sum, unsigned char* out) {
  for (int i = 0; i < kPageChecksumBytes; ++i) {
    out[i] = static_cast<unsigned char>(sum >> (8 * i));
  }
}

uint64_t LoadSum(const unsigned char* in) {
  uint64_t sum = 0;
  for (int i = 0; i < kPageChecksumBytes; ++i) {
    sum |= static_cast<uint64_t>(in[i]) << (8 * i);
  }
  return sum;
}

// Reads the page size and reserve from a buffer holding the file's header.
void NoteHeader(File* f, const void* buf, int amount, int64_t offset) {
  if (offset != 0 || amount < kHeaderBytes) return;
  const auto* h = static_cast<const unsigned char*>(buf);
  if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) return;
  int page_size = (h[16] << 8) | h[17];
  if (page_size == 1) page_size = 65536;
  // SQLite never lowers a file's reserve: a header that says otherwise
  // after one that reserved checksums is damage, and page 1's own check
  // must still run.
  if (h[20] == kPageChecksumBytes) f->checked_page_size = page_size;
}

bool IsWholePage(const File* f, int amount, int64_t offset) {
  return f->checked_page_size > 0 && amount == f->checked_page_size &&
         offset % f->checked_page_size == 0;
}

int Read(sqlite3_file* file, void* buf, int amount, sqlite3_int64 offset) {
  auto* f = reinterpret_cast<File*>(file);
  int rc = Real(file)->pMethods->xRead(Real(file), buf, amount, offset);
  if (rc != SQLITE_OK) return rc;
  NoteHeader(f, buf, amount, offset);
  if (!IsWholePage(f, amount, offset)) return rc;
  const auto* page = static_cast<const unsigned char*>(buf);
  if (LoadSum(page + amount - kPageChecksumBytes) ==
      PageSum(page, amount, offset)) {
    return SQLITE_OK;
  }
  fault = "page " + std::to_string(offset / amount + 1) + " of " +
          (f->name != nullptr ? f->name : "a database") + " (offset " +
          std::to_string(offset) + "): checksum mismatch";
  sqlite3_log(SQLITE_IOERR_DATA, "%s", fault.c_str());
  return SQLITE_IOERR_DATA;
}

int Write(sqlite3_file* file, const void* buf, int amount,
          sqlite3_int64 offset) {
  auto* f = reinterpret_cast<File*>(file);
  NoteHeader(f, buf, amount, offset);
  if (!IsWholePage(f, amount, offset)) {
    return Real(file)->pMethods->xWrite(Real(file), buf, amount, offset);
  }
  // In place, as SQLite's own checksum shim does: the bytes are the page's
  // reserved ones, which SQLite never reads; a copy would add a memcpy of
  // every page a checkpoint writes.
  auto* page = static_cast<unsigned char*>(const_cast<void*>(buf));
  StoreSum(PageSum(page, amount, offset), page + amount - kPageChecksumBytes);
  return Real(file)->pMethods->xWrite(Real(file), page, amount, offset);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  // A memory-mapped page would skip the check.
  if (reinterpret_cast<File*>(file)->checked_page_size > 0) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return Real(file)->pMethods->xFetch(Real(file), offset, amount, out);
}

const sqlite3_io_methods kFileMethods = {
    3,
    [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); },
    Read,
    Write,
    [](sqlite3_file* f, sqlite3_int64 size) {
      return Real(f)->pMethods->xTruncate(Real(f), size);
    },
    [](sqlite3_file* f, int flags) {
      return Real(f)->pMethods->xSync(Real(f), flags);
    },
    [](sqlite3_file* f, sqlite3_int64* size) {
      return Real(f)->pMethods->xFileSize(Real(f), size);
    },
    [](sqlite3_file* f, int lock) {
      return Real(f)->pMethods->xLock(Real(f), lock);
    },
    [](sqlite3_file* f, int lock) {
      return Real(f)->pMethods->xUnlock(Real(f), lock);
    },
    [](sqlite3_file* f, int* out) {
      return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
    },
    [](sqlite3_file* f, int op, void* arg) {
      int rc = Real(f)->pMethods->xFileControl(Real(f), op, arg);
      if (rc == SQLITE_OK && op == SQLITE_FCNTL_VFSNAME) {
        *static_cast<char**>(arg) =
            sqlite3_mprintf("%s/%z", kVfsName, *static_cast<char**>(arg));
      }
      return rc;
    },
    [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); },
    [](sqlite3_file* f) {
      return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
    },
    [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
    },
    [](sqlite3_file* f, int offset, int n, int flags) {
      return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
    },
    [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); },
    [](sqlite3_file* f, int remove) {
      return Real(f)->pMethods->xShmUnmap(Real(f), remove);
    },
    Fetch,
    [](sqlite3_file* f, sqlite3_int64 offset, void* p) {
      return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
    },
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
         int* out_flags) {
  // Journals, WALs and temporary files are not database pages at rest.
  if ((flags & SQLITE_OPEN_MAIN_DB) == 0) {
    return Real(vfs)->xOpen(Real(vfs), name, file, flags, out_flags);
  }
  auto* f = reinterpret_cast<File*>(file);
  std::memset(f, 0, sizeof(File));
  int rc = Real(vfs)->xOpen(Real(vfs), name, Real(file), flags, out_flags);
  if (rc != SQLITE_OK) return rc;  // base.pMethods stays null: no close.
  f->name = name;
  f->base.pMethods = &kFileMethods;
  return SQLITE_OK;
}

sqlite3_vfs MakeVfs(sqlite3_vfs* real) {
  sqlite3_vfs v = *real;
  v.iVersion = 3;
  v.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
  v.pNext = nullptr;
  v.zName = kVfsName;
  v.pAppData = real;
  v.xOpen = Open;
  // The real VFS's methods may read their own pAppData: call them with it.
  v.xDelete = [](sqlite3_vfs* s, const char* n, int sync) {
    return Real(s)->xDelete(Real(s), n, sync);
  };
  v.xAccess = [](sqlite3_vfs* s, const char* n, int flags, int* out) {
    return Real(s)->xAccess(Real(s), n, flags, out);
  };
  v.xFullPathname = [](sqlite3_vfs* s, const char* n, int size, char* out) {
    return Real(s)->xFullPathname(Real(s), n, size, out);
  };
  v.xDlOpen = [](sqlite3_vfs* s, const char* n) {
    return Real(s)->xDlOpen(Real(s), n);
  };
  v.xDlError = [](sqlite3_vfs* s, int size, char* out) {
    Real(s)->xDlError(Real(s), size, out);
  };
  v.xDlSym = [](sqlite3_vfs* s, void* h, const char* sym) {
    return Real(s)->xDlSym(Real(s), h, sym);
  };
  v.xDlClose = [](sqlite3_vfs* s, void* h) { Real(s)->xDlClose(Real(s), h); };
  v.xRandomness = [](sqlite3_vfs* s, int size, char* out) {
    return Real(s)->xRandomness(Real(s), size, out);
  };
  v.xSleep = [](sqlite3_vfs* s, int us) {
    return Real(s)->xSleep(Real(s), us);
  };
  v.xCurrentTime = [](sqlite3_vfs* s, double* out) {
    return Real(s)->xCurrentTime(Real(s), out);
  };
  v.xGetLastError = [](sqlite3_vfs* s, int size, char* out) {
    return Real(s)->xGetLastError(Real(s), size, out);
  };
  v.xCurrentTimeInt64 = [](sqlite3_vfs* s, sqlite3_int64* out) {
    return Real(s)->xCurrentTimeInt64(Real(s), out);
  };
  v.xSetSystemCall = [](sqlite3_vfs* s, const char* n, sqlite3_syscall_ptr p) {
    return Real(s)->xSetSystemCall(Real(s), n, p);
  };
  v.xGetSystemCall = [](sqlite3_vfs* s, const char* n) {
    return Real(s)->xGetSystemCall(Real(s), n);
  };
  v.xNextSystemCall = [](sqlite3_vfs* s, const char* n) {
    return Real(s)->xNextSystemCall(Real(s), n);
  };
  return v;
}

}  // namespace

void UsePageChecksums() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    PAXOSFS_CHECK_MSG(real != nullptr && real->iVersion >= 3,
                      "SQLite has no default VFS of version 3");
    static sqlite3_vfs vfs = MakeVfs(real);
    PAXOSFS_CHECK(sqlite3_vfs_register(&vfs, /*makeDflt=*/1) == SQLITE_OK);
  });
}

Status ReservePageChecksums(sqlite3* db) {
  int reserve = kPageChecksumBytes;
  int rc =
      sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
  if (rc != SQLITE_OK) {
    return Status::IOError(std::string("cannot reserve page checksums: ") +
                           sqlite3_errstr(rc));
  }
  return Status::Ok();
}

StatusOr<bool> HasPageChecksums(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  unsigned char header[kHeaderBytes];
  ssize_t n = ::pread(fd, header, sizeof(header), 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof(header)) ||
      std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption(path + " has no SQLite header");
  }
  return header[20] == kPageChecksumBytes;
}

std::string TakePageChecksumFault() { return std::exchange(fault, {}); }

}  // namespace paxosfs::snapshot
