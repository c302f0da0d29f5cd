#pragma once
// Reads stdin line by line on a helper thread and hands each line to the io_context's thread.
// A thread (rather than an asio stream descriptor) because stdin may be a pipe, a terminal or a
// regular file, and epoll refuses regular files.

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>

namespace posthorn::cli {

class JsonLineReader {
public:
  /// Lines longer than this are skipped with an error line count (SDP with many candidates is
  /// ~10 KiB; 4 MiB leaves room for base64 payloads in later commands).
  static constexpr std::size_t kMaxLine = 4 << 20;

  JsonLineReader(boost::asio::io_context& io, std::function<void(std::string)> on_line,
                 std::function<void()> on_eof);
  ~JsonLineReader();
  JsonLineReader(const JsonLineReader&) = delete;
  JsonLineReader& operator=(const JsonLineReader&) = delete;

  void start();
  /// No callbacks after this returns.
  void stop();

private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

} // namespace posthorn::cli
