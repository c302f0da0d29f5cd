#include "cli/line_writer.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace posthorn::cli {

struct LineWriter::Shared {
  std::FILE* out = nullptr;
  mutable std::mutex mutex;
  std::condition_variable wake;    // lines queued or stopping
  std::condition_variable written; // the queue shrank
  std::deque<std::string> queue;
  bool stopping = false;
  bool broken = false; // a write failed (the reader closed the pipe): discard from now on
  bool writing = false;
  std::uint64_t dropped = 0;
  std::thread thread;

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return; // stopping with nothing left
      // Take everything queued and write it in one go, unlocked.
      std::string batch;
      while (!queue.empty()) {
        batch += queue.front();
        queue.pop_front();
      }
      writing = true;
      lock.unlock();
      bool ok = true;
      if (!broken) {
        ok = std::fwrite(batch.data(), 1, batch.size(), out) == batch.size() &&
             std::fflush(out) == 0;
      }
      lock.lock();
      writing = false;
      if (!ok) broken = true;
      written.notify_all();
    }
  }
};

LineWriter::LineWriter(std::FILE* out) : shared_(std::make_shared<Shared>()) {
  shared_->out = out;
  // The thread holds the state too: if it is ever detached (see the destructor) it must not
  // outlive what it uses.
  shared_->thread = std::thread([s = shared_] { s->run(); });
}

LineWriter::~LineWriter() {
  flush();
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
    // A reader that never drained: what is left is given up, the thread must end.
    shared_->queue.clear();
  }
  shared_->wake.notify_all();
  // The thread may be blocked in a write to a reader that stopped reading; it cannot be woken,
  // so it is left to the process exit rather than joined forever.
  if (flush(std::chrono::milliseconds(0)))
    shared_->thread.join();
  else
    shared_->thread.detach();
}

void LineWriter::write(std::string line, Importance importance) {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->broken) return;
    if (importance == Importance::Droppable && shared_->queue.size() >= kMaxQueuedLines) {
      ++shared_->dropped;
      return;
    }
    line += '\n';
    shared_->queue.push_back(std::move(line));
  }
  shared_->wake.notify_one();
}

bool LineWriter::flush(std::chrono::milliseconds patience) {
  std::unique_lock lock(shared_->mutex);
  for (;;) {
    if (shared_->queue.empty() && !shared_->writing) return true;
    if (shared_->broken) return false;
    const auto before = shared_->queue.size();
    if (!shared_->written.wait_for(lock, patience, [&] {
          return shared_->queue.size() < before || (shared_->queue.empty() && !shared_->writing);
        }))
      return false;
  }
}

std::uint64_t LineWriter::dropped() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->dropped;
}

} // namespace posthorn::cli
