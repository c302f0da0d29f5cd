#pragma once
// The workloads of `posthorn bench dc`, run on a pair of processes speaking the `posthorn dc`
// JSON-lines contract (docs/cli-dc.md): two `posthorn dc`, two Node peers on another stack
// (tests/interop/js/dc-peer.mjs), or one of each.

#include "tools/dc_pair.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace posthorn::cli {

/// The command line of one peer for the given role, mode, byte count and message size.
using DcPeerCommand = std::function<std::vector<std::string>(const tools::DcPeerArgs&)>;

struct DcPairSpec {
  DcPeerCommand offerer;
  DcPeerCommand answerer;
};

/// Time from the offer leaving the offerer to both sides reporting the channel open. The
/// answerer is started and ready first, and the offerer prints its offer once its stack is
/// loaded, so neither process's start-up counts.
double measure_setup_ms(const DcPairSpec& pair);

struct BulkResult {
  double mb_per_s = 0;
  double msgs_per_s = 0;
  double cpu_ms_per_mb_send = 0;
  double cpu_ms_per_mb_recv = 0;
  bool intact = false;
};

/// The offerer sends `bytes` of the pattern in `message_size` messages to the answerer (a sink);
/// from both channels open to the sink's `done`. CPU is user+system time of each process over
/// the same interval (from /proc), per megabyte (10^6 bytes) moved.
BulkResult measure_bulk(const DcPairSpec& pair, std::uint64_t bytes, std::size_t message_size);

/// Linear interpolation between closest ranks; 0 for an empty set.
double percentile(std::vector<double> v, double p);

} // namespace posthorn::cli
