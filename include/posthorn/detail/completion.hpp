#pragma once
// Bridges asio completion tokens (callbacks, use_future, use_awaitable, …) to the type-erased
// callbacks the library's implementation takes, so the templates in public headers stay thin.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace posthorn::detail {

/// Wraps a (possibly move-only) completion handler in a copyable std::function that invokes it
/// once, on the handler's associated executor (the room's executor by default), never inline
/// inside the call that completed it.
template <class... Args, class Handler>
std::function<void(Args...)> make_completion(Handler handler,
                                             const boost::asio::any_io_executor& fallback) {
  auto executor = boost::asio::get_associated_executor(handler, fallback);
  auto shared = std::make_shared<std::optional<Handler>>(std::move(handler));
  return [shared, executor](Args... args) {
    boost::asio::post(executor, [shared, ... args = std::move(args)]() mutable {
      if (!*shared) return; // completed already: only the first completion counts
      auto h = std::move(**shared);
      shared->reset();
      std::move(h)(std::move(args)...);
    });
  };
}

} // namespace posthorn::detail
