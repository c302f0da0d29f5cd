#include "cli/demo_peers.hpp"

#include <poll.h>

#include <stdexcept>

namespace posthorn::cli {

using nlohmann::json;
using namespace std::chrono;

DemoPeers::DemoPeers(const std::vector<std::string>& names, const std::vector<std::string>& flags,
                     const std::string& log_dir) {
  for (const auto& name : names) {
    std::vector<std::string> argv{tools::self_executable(), "peer"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    add(name, argv, log_dir);
  }
}

void DemoPeers::add(const std::string& name, const std::vector<std::string>& argv,
                    const std::string& log_dir) {
  // The shell only redirects stderr to the peer's log and then becomes the peer (exec).
  std::string command = "exec";
  for (const auto& arg : argv) {
    std::string quoted = "'";
    for (char c : arg)
      quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += " " + quoted + "'";
  }
  command += " 2>'" + log_dir + "/" + name + ".log'";
  peers_.push_back(
      {name,
       std::make_unique<tools::ChildProcess>(std::vector<std::string>{"/bin/sh", "-c", command}),
       {},
       {}});
}

std::size_t DemoPeers::index_of(const std::string& self_id) const {
  for (std::size_t i = 0; i < peers_.size(); ++i)
    if (peers_[i].self == self_id) return i;
  return peers_.size();
}

bool DemoPeers::pump(milliseconds timeout) {
  std::vector<pollfd> fds;
  for (auto& p : peers_)
    fds.push_back({p.process->stdout_fd(), POLLIN, 0});
  if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) return false;
  bool any = false;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
    auto& p = peers_[i];
    p.process->pump_stdout();
    while (auto line = p.process->take_buffered_line()) {
      auto e = json::parse(*line, nullptr, false);
      if (!e.is_object()) continue;
      any = true;
      if (e.value("event", "") == "ready") p.self = e.value("self", "");
      if (watcher_) watcher_(i, e);
      // Progress is for the watcher only; the rest waits for wait_for().
      if (e.value("event", "") != "progress") p.backlog.push_back(std::move(e));
    }
  }
  return any;
}

json DemoPeers::wait_for(std::size_t i, const std::function<bool(const json&)>& match,
                         milliseconds timeout, const std::string& what) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    auto& backlog = peers_[i].backlog;
    for (auto it = backlog.begin(); it != backlog.end(); ++it) {
      if (match(*it)) {
        json e = std::move(*it);
        backlog.erase(it);
        return e;
      }
      if (it->value("event", "") == "error" && !it->contains("peer"))
        throw std::runtime_error(peers_[i].name + ": " + it->value("error", "error"));
    }
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left <= milliseconds(0))
      throw std::runtime_error(peers_[i].name + ": timed out waiting for " + what);
    if (peers_[i].process->eof() && backlog.empty())
      throw std::runtime_error(peers_[i].name + " exited while waiting for " + what);
    pump(std::min(left, milliseconds(100)));
  }
}

} // namespace posthorn::cli
