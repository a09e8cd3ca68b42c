#include "Worker.h"

#include <algorithm>
#include <sys/epoll.h>
#include <unistd.h>

namespace bench {

Worker::Worker(int controlFd, const WorkerConfig& config, int index)
    : control_(controlFd)
    , config_(config)
    , index_(index)
    , ctx_{loop_, config_.peer, *this, Rng(), config.epochNs}
    , holder_(loop_, config_.peer, config_.targets, config_.sources, config.epochNs, index,
              [this](ControlMessage m) { reply(std::move(m)); }) {
    loop_.add(control_, EPOLLIN, this);
}

Worker::~Worker() {
    subs_.clear();
    loop_.remove(control_);
}

int Worker::run() {
    while (!quit_) {
        if (config_.hardDeadlineNs > 0 && nowNs() > config_.hardDeadlineNs)
            return 3;
        loop_.runOnce(nowNs() + kSec);
    }
    return 0;
}

void Worker::onIo(uint32_t) {
    ControlMessage m;
    bool gone = false;
    while (receiveControl(control_, &m, &gone))
        handle(m);
    if (gone)
        quit_ = true; // the coordinator is gone: nothing left to measure for
}

void Worker::reply(ControlMessage m) {
    m.set("worker", index_);
    if (!sendControl(control_, m))
        quit_ = true;
}

void Worker::handle(const ControlMessage& m) {
    if (holder_.handle(m))
        return;
    if (m.verb == "connect") {
        startConnect(m);
    } else if (m.verb == "reset") {
        for (auto& s : subs_)
            s->received = 0;
        deliveries_ = 0;
        firstDelivery_ = lastDelivery_ = 0;
        latency_.clear();
        target_k_ = 0;
        done_ = 0;
        reply(ControlMessage{"ok", {}});
    } else if (m.verb == "expect") {
        target_k_ = uint32_t(m.number("k"));
        done_ = 0;
        for (auto& s : subs_)
            if (s->state() == Subscriber::State::Ready && !s->slow && s->received >= target_k_)
                ++done_;
        expecting_ = true;
        expectTimer_ =
            loop_.at(m.number("deadline") + config_.epochNs, [this] { checkExpectDone(true); });
        checkExpectDone(false);
    } else if (m.verb == "slow") {
        for (auto& s : subs_) {
            if (s->state() == Subscriber::State::Ready && !s->slow) {
                slow_ = s.get();
                slow_->slow = true;
                slow_->setReading(false);
                --ready_;
                break;
            }
        }
        reply(ControlMessage{"ok", {}}.set("index", slow_ ? int64_t(slow_->index()) : -1));
    } else if (m.verb == "slowresume") {
        if (slow_)
            slow_->setReading(true);
        slowWaiting_ = true;
        slowTimer_ =
            loop_.at(m.number("deadline") + config_.epochNs, [this] { checkSlowDone(true); });
        checkSlowDone(false);
    } else if (m.verb == "close") {
        const size_t n = subs_.size();
        // Plain close() on every socket, as when a load balancer in front restarts.
        for (auto& s : subs_)
            s->closeNow();
        subs_.clear();
        ready_ = 0;
        slow_ = nullptr;
        reply(ControlMessage{"closed", {}}.set("n", int64_t(n)));
    } else if (m.verb == "quit") {
        quit_ = true;
    }
}

void Worker::startConnect(const ControlMessage& m) {
    const size_t count = size_t(m.number("count"));
    const size_t t = size_t(m.number("target"));
    target_ = &config_.targets[std::min(t, config_.targets.size() - 1)];
    inflightLimit_ = size_t(std::max<int64_t>(1, m.number("inflight", 64)));
    nextToStart_ = oldestUnresolved_ = subs_.size();
    ok_ = failed_ = 0;
    firstReady_ = lastReady_ = 0;
    firstFailure_.clear();
    for (size_t i = 0; i < count; ++i)
        subs_.push_back(std::make_unique<Subscriber>(ctx_, uint32_t(subs_.size())));
    connecting_ = true;
    connectTimer_ = loop_.every(100 * kMs, [this] { checkHandshakeTimeouts(); });
    deadlineTimer_ = loop_.at(m.number("deadline") + config_.epochNs, [this] {
        // Whatever has not completed by now counts as failed.
        for (size_t i = oldestUnresolved_; i < subs_.size(); ++i) {
            Subscriber& s = *subs_[i];
            if (s.state() != Subscriber::State::Ready && s.state() != Subscriber::State::Closed) {
                s.closeNow();
                ++failed_;
            }
        }
        nextToStart_ = oldestUnresolved_ = subs_.size();
        inflight_ = 0;
        if (firstFailure_.empty())
            firstFailure_ = "connect deadline passed";
        checkConnectDone();
    });
    startMore();
    checkConnectDone();
}

void Worker::startMore() {
    while (connecting_ && inflight_ < inflightLimit_ && nextToStart_ < subs_.size()) {
        Subscriber& s = *subs_[nextToStart_];
        const uint32_t source = sourceAddress(nextToStart_ + size_t(index_), config_.sources);
        ++nextToStart_;
        const char* why = "";
        if (s.start(*target_, source, &why)) {
            ++inflight_;
        } else {
            ++failed_;
            if (firstFailure_.empty())
                firstFailure_ = why;
        }
    }
}

void Worker::checkHandshakeTimeouts() {
    const int64_t now = nowNs();
    while (oldestUnresolved_ < nextToStart_) {
        const auto st = subs_[oldestUnresolved_]->state();
        if (st != Subscriber::State::Ready && st != Subscriber::State::Closed)
            break;
        ++oldestUnresolved_;
    }
    for (size_t i = oldestUnresolved_; i < nextToStart_; ++i) {
        Subscriber& s = *subs_[i];
        const auto st = s.state();
        if (st != Subscriber::State::Ready && st != Subscriber::State::Closed &&
            now - s.startedNs() > config_.handshakeTimeoutNs) {
            s.closeNow();
            onFailed(s, "handshake timed out");
        }
    }
}

void Worker::checkConnectDone() {
    if (!connecting_ || nextToStart_ < subs_.size() || inflight_ > 0)
        return;
    connecting_ = false;
    loop_.cancel(connectTimer_);
    loop_.cancel(deadlineTimer_);
    reply(ControlMessage{"connected", {}}
              .set("ok", int64_t(ok_))
              .set("failed", int64_t(failed_))
              .set("first", firstReady_)
              .set("last", lastReady_)
              .set("why", firstFailure_));
}

void Worker::onReady(Subscriber& s) {
    (void)s;
    const int64_t t = nowNs() - config_.epochNs;
    if (ok_ == 0)
        firstReady_ = t;
    lastReady_ = t;
    ++ok_;
    ++ready_;
    if (inflight_ > 0)
        --inflight_;
    startMore();
    checkConnectDone();
}

void Worker::onFailed(Subscriber& s, const char* why) {
    (void)s;
    ++failed_;
    if (firstFailure_.empty())
        firstFailure_ = why;
    if (inflight_ > 0)
        --inflight_;
    startMore();
    checkConnectDone();
}

void Worker::onDelivery(Subscriber& s, int64_t sentNs, int64_t receivedNs) {
    latency_.add(receivedNs - sentNs);
    if (deliveries_ == 0)
        firstDelivery_ = receivedNs;
    lastDelivery_ = receivedNs;
    ++deliveries_;
    if (++s.received == target_k_ && expecting_ && !s.slow) {
        ++done_;
        checkExpectDone(false);
    }
}

void Worker::onClosed(Subscriber& s, int code) {
    ++closedByServer_;
    ++closeCodes_[code];
    if (&s == slow_) {
        checkSlowDone(false);
        return;
    }
    --ready_;
    if (target_k_ > 0 && s.received >= target_k_ && done_ > 0)
        --done_;
    checkExpectDone(false);
}

ControlMessage Worker::deliveryReport(bool complete) const {
    std::string codes;
    for (const auto& [code, n] : closeCodes_)
        codes += std::to_string(code) + ":" + std::to_string(n) + ",";
    return ControlMessage{"delivered", {}}
        .set("complete", complete ? 1 : 0)
        .set("count", int64_t(deliveries_))
        .set("first", firstDelivery_)
        .set("last", lastDelivery_)
        .set("ready", int64_t(ready_))
        .set("done", int64_t(done_))
        .set("closed", int64_t(closedByServer_))
        .set("codes", codes)
        .set("hist", latency_.serialize());
}

void Worker::checkExpectDone(bool deadlinePassed) {
    if (!expecting_)
        return;
    const bool complete = done_ >= ready_;
    if (!complete && !deadlinePassed)
        return;
    expecting_ = false;
    loop_.cancel(expectTimer_);
    reply(deliveryReport(complete));
}

void Worker::checkSlowDone(bool deadlinePassed) {
    if (!slowWaiting_)
        return;
    const bool closed = !slow_ || slow_->state() == Subscriber::State::Closed;
    if (!closed && !deadlinePassed)
        return;
    slowWaiting_ = false;
    loop_.cancel(slowTimer_);
    reply(ControlMessage{"slow", {}}
              .set("found", slow_ ? 1 : 0)
              .set("closed", slow_ && closed ? 1 : 0)
              .set("code", slow_ ? slow_->closeCode() : 0)
              .set("bytes", slow_ ? int64_t(slow_->bytesRead()) : 0));
}

} // namespace bench
