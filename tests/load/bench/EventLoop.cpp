#include "EventLoop.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sys/epoll.h>
#include <unistd.h>

namespace bench {

EventLoop::EventLoop()
    : epfd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) {
        std::perror("epoll_create1");
        std::exit(2);
    }
}

EventLoop::~EventLoop() {
    ::close(epfd_);
}

bool EventLoop::add(int fd, uint32_t events, IoHandler* handler) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = handler;
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, uint32_t events, IoHandler* handler) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = handler;
    return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::at(int64_t whenNs, std::function<void()> fn) {
    const TimerId id = nextId_++;
    timers_.emplace(whenNs, Timer{id, 0, std::move(fn)});
    return id;
}

EventLoop::TimerId EventLoop::every(int64_t periodNs, std::function<void()> fn) {
    const TimerId id = nextId_++;
    timers_.emplace(nowNs() + periodNs, Timer{id, periodNs, std::move(fn)});
    return id;
}

void EventLoop::cancel(TimerId id) {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.id == id) {
            timers_.erase(it);
            return;
        }
    }
}

void EventLoop::fireTimers() {
    const int64_t now = nowNs();
    while (!timers_.empty() && timers_.begin()->first <= now) {
        auto node = timers_.extract(timers_.begin());
        Timer& t = node.mapped();
        if (t.period > 0) {
            // Re-armed before the call so the callback may cancel itself.
            auto fn = t.fn;
            node.key() = std::max(node.key() + t.period, now);
            timers_.insert(std::move(node));
            fn();
        } else {
            t.fn();
        }
    }
}

void EventLoop::runOnce(int64_t deadlineNs) {
    int64_t until = deadlineNs;
    if (!timers_.empty())
        until = std::min(until, timers_.begin()->first);
    // To the nanosecond (epoll_pwait2), not rounded up to the next millisecond: the latency
    // scenario sends each message at its due time, and a tick up to 1 ms late was counted as
    // latency of the server under test.
    const int64_t waitNs = std::clamp<int64_t>(until - nowNs(), 0, 1000 * kMs);
    const timespec timeout{time_t(waitNs / kSec), long(waitNs % kSec)};
    epoll_event events[512];
    const int n = epoll_pwait2(epfd_, events, 512, &timeout, nullptr);
    if (n < 0 && errno != EINTR) {
        std::perror("epoll_wait");
        std::exit(2);
    }
    for (int i = 0; i < n; ++i)
        static_cast<IoHandler*>(events[i].data.ptr)->onIo(events[i].events);
    fireTimers();
}

bool EventLoop::runUntil(const std::function<bool()>& done, int64_t deadlineNs) {
    while (!done()) {
        if (nowNs() >= deadlineNs)
            return done();
        runOnce(deadlineNs);
    }
    return true;
}

} // namespace bench
