// A single-threaded epoll loop with a few timers: the whole load generator runs on it, one per
// process, so nothing needs a lock.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>

namespace bench {

inline int64_t nowNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

class IoHandler {
public:
    virtual ~IoHandler() = default;
    virtual void onIo(uint32_t events) = 0;
};

class EventLoop {
public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    bool add(int fd, uint32_t events, IoHandler* handler);
    bool modify(int fd, uint32_t events, IoHandler* handler);
    void remove(int fd);

    using TimerId = uint64_t;
    TimerId at(int64_t whenNs, std::function<void()> fn);
    // Calls fn every periodNs from now on until cancel(id).
    TimerId every(int64_t periodNs, std::function<void()> fn);
    void cancel(TimerId id);

    // Runs until done() holds or the deadline passes; returns done().
    bool runUntil(const std::function<bool()>& done, int64_t deadlineNs);
    void runOnce(int64_t deadlineNs);

private:
    struct Timer {
        TimerId id;
        int64_t period;
        std::function<void()> fn;
    };
    void fireTimers();

    int epfd_ = -1;
    TimerId nextId_ = 1;
    std::multimap<int64_t, Timer> timers_;
};

} // namespace bench
