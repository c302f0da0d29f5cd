#pragma once
// A child process with line-oriented pipes to its stdin and from its stdout (stderr is
// inherited). Used to run `posthorn dc` peers as separate processes.

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace posthorn::tools {

class ChildProcess {
public:
  /// Spawns `argv[0]` with `argv`. Throws std::runtime_error if it cannot start.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess(); // closes stdin, waits briefly, then kills (only this child, by pid)
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] int stdout_fd() const noexcept { return out_fd_; }

  /// Writes one line (a '\n' is appended). False if the child closed its stdin.
  bool write_line(const std::string& line);
  /// Next complete line if one is buffered or arrives within `timeout`; nullopt on timeout/EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// A complete line already buffered (no waiting), after pump_stdout() read what was there.
  std::optional<std::string> take_buffered_line();
  /// Reads whatever is available without blocking; false on EOF.
  bool pump_stdout();
  [[nodiscard]] bool eof() const noexcept { return eof_; }

  void close_stdin();
  /// Waits for exit up to `timeout`; returns the exit status (or nullopt if still running).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void kill();

  /// User + system CPU time consumed so far (from /proc/<pid>/stat).
  [[nodiscard]] std::chrono::microseconds cpu_time() const;
  /// Resident set size in KiB (from /proc/<pid>/status).
  [[nodiscard]] long rss_kib() const;

private:
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
  std::optional<int> status_;
};

/// The path of the running executable (/proc/self/exe).
std::string self_executable();

} // namespace posthorn::tools
