#include "cli/json_lines.hpp"

#include <boost/asio/post.hpp>

#include <cstdio>
#include <mutex>
#include <thread>

namespace posthorn::cli {

struct JsonLineReader::Shared {
  boost::asio::io_context* io;
  std::function<void(std::string)> on_line;
  std::function<void()> on_eof;
  std::mutex mutex;
  bool alive = true;

  void post(std::function<void()> fn) {
    std::lock_guard lock(mutex);
    if (!alive) return;
    boost::asio::post(*io, [self = this, fn = std::move(fn)] {
      {
        std::lock_guard inner(self->mutex);
        if (!self->alive) return;
      }
      fn();
    });
  }
};

JsonLineReader::JsonLineReader(boost::asio::io_context& io,
                               std::function<void(std::string)> on_line,
                               std::function<void()> on_eof)
    : shared_(std::make_shared<Shared>()) {
  shared_->io = &io;
  shared_->on_line = std::move(on_line);
  shared_->on_eof = std::move(on_eof);
}

JsonLineReader::~JsonLineReader() {
  stop();
}

void JsonLineReader::start() {
  // The thread owns a reference to the shared state; it may outlive this object while blocked in
  // a read, and then finds `alive == false` and posts nothing.
  std::thread([shared = shared_] {
    std::string line;
    int c;
    bool overlong = false;
    while ((c = std::getchar()) != EOF) {
      if (c == '\n') {
        if (!overlong && !line.empty()) {
          auto* s = shared.get();
          shared->post([s, l = std::move(line)]() mutable { s->on_line(std::move(l)); });
        }
        line.clear();
        overlong = false;
        continue;
      }
      if (line.size() >= kMaxLine) {
        overlong = true;
        line.clear();
      }
      if (!overlong && c != '\r') line.push_back(static_cast<char>(c));
    }
    auto* s = shared.get();
    shared->post([s] { s->on_eof(); });
  }).detach();
}

void JsonLineReader::stop() {
  std::lock_guard lock(shared_->mutex);
  shared_->alive = false;
}

} // namespace posthorn::cli
