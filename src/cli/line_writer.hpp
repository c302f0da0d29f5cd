#pragma once
// Writes stdout lines on a helper thread, so that a slow reader of a CLI peer's output never
// stalls its event loop. A blocked write(2) on the io_context's thread would stop ICE consent
// answers, retransmissions and everything else: a script that reads a peer's events late (or
// reads another process first) must not make the connection fail 30 s later (RFC 7675).
//
// Memory stays bounded when the reader falls behind: lines written with Importance::Droppable
// (progress reports) are skipped while more than kMaxQueuedLines wait, and counted; every other
// line is kept. Lines leave in the order they were written.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace posthorn::cli {

class LineWriter {
public:
  enum class Importance { Keep, Droppable };
  static constexpr std::size_t kMaxQueuedLines = 4096;

  /// Writes to `out` (stdout by default). The thread starts here.
  explicit LineWriter(std::FILE* out = stdout);
  /// Waits for queued lines (see flush) and stops the thread.
  ~LineWriter();
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  /// Queues `line` (a trailing newline is added). Never blocks on the reader.
  void write(std::string line, Importance importance = Importance::Keep);

  /// Blocks until every queued line is written, or `patience` passes without the reader taking
  /// any (a reader that went away must not keep the process alive). True when all left.
  bool flush(std::chrono::milliseconds patience = std::chrono::seconds(10));

  /// Droppable lines skipped so far because the reader was behind.
  [[nodiscard]] std::uint64_t dropped() const;

private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

} // namespace posthorn::cli
