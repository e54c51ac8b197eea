// Deterministic binary encoding of values, messages and metadata: unsigned
// LEB128 varints and length-prefixed bytes, fields in a fixed order. The same
// input always gives the same bytes, on every host.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "replica/core/messages.h"
#include "replica/core/types.h"

namespace paxosfs::replica {

std::string EncodeValue(const Value& value);
StatusOr<Value> DecodeValue(std::string_view bytes);
// Checks `bytes` exactly as DecodeValue does, but leaves a batch's commands
// out of the result: they are skipped, not copied (a value may be MiBs).
StatusOr<Value> CheckValue(std::string_view bytes);

std::string EncodeMessage(const Message& msg);
// Appends the encoding to `out` (say, after a transport's tag) with at most
// one allocation.
void AppendMessage(const Message& msg, std::string* out);
StatusOr<Message> DecodeMessage(std::string_view bytes);

std::string EncodeMetadata(const Metadata& meta);
StatusOr<Metadata> DecodeMetadata(std::string_view bytes);

}  // namespace paxosfs::replica
