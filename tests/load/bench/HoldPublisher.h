// The hold scenario's publisher: a steady total rate spread over every node (message k goes to
// node k % nodes, or the next one whose window has room) and over S streams (message k to stream
// k % S, carrying k as "s"), each node over its own keep-alive connection. It remembers how each
// message was answered, so the subscribers can be checked against exactly the acknowledged ones:
// a 200 with an id is acknowledged; 503 (the broker could not take it), no answer (status 0) and
// "not sent" (every window full) are not.
#pragma once

#include "EventLoop.h"
#include "HttpClient.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

class HoldPublisher {
public:
    static constexpr int16_t kPending = -3; // not answered yet
    static constexpr int16_t kNotSent = -1; // every node's window was full
    static constexpr int16_t kNoId = -2;    // a 2xx without an id

    HoldPublisher(EventLoop& loop, const std::vector<Endpoint>& targets, size_t window,
                  uint32_t streams, std::string prefix, long payload, std::string token,
                  int64_t epochNs);

    void start(double rate);
    void stop();
    size_t outstanding() const { return outstanding_; }
    uint64_t sent() const { return status_.size(); }

    // Per message: kPending, kNotSent, kNoId or the HTTP status (0: the connection broke).
    const std::vector<int16_t>& status() const { return status_; }
    // When each message was due, ns since the epoch; and when its answer came (0: none yet).
    const std::vector<int64_t>& dueAt() const { return due_; }
    const std::vector<int64_t>& answeredAt() const { return answered_; }
    // Answers that were not a 2xx with an id, by status.
    std::map<int, long> failures() const;
    int64_t lastFailureNs() const { return lastFailure_; }

private:
    void tick();
    void send(uint64_t k);

    EventLoop& loop_;
    std::vector<Endpoint> targets_;
    std::vector<std::unique_ptr<HttpClient>> clients_;
    size_t window_;
    uint32_t streams_;
    std::string prefix_;
    long payload_;
    std::string auth_;
    int64_t epoch_;
    double rate_ = 0;
    int64_t t0_ = 0;
    EventLoop::TimerId timer_ = 0;
    size_t outstanding_ = 0;
    int64_t lastFailure_ = 0;
    std::vector<int16_t> status_;
    std::vector<int64_t> due_, answered_;
};

} // namespace bench
