// A keep-alive HTTP/1.1 client connection that pipelines: requests are written as soon as they
// are queued and answers are matched to them in order. Reads Content-Length and chunked bodies.
// A broken connection fails its outstanding requests (status 0) and reconnects on the next one.
#pragma once

#include "EventLoop.h"
#include "Net.h"

#include <deque>
#include <functional>
#include <string>
#include <string_view>

namespace bench {

class HttpClient final : public IoHandler {
public:
    using Done = std::function<void(int status, std::string_view body)>;

    HttpClient(EventLoop& loop, const Endpoint& to, uint32_t sourceIp);
    ~HttpClient() override;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // `raw` is a whole request (head and body).
    void request(std::string raw, Done done);
    size_t outstanding() const { return waiting_.size(); }

    void onIo(uint32_t events) override;

private:
    bool open();
    void flush();
    void readSome();
    bool parseOne(); // true if a whole answer was taken from in_
    void breakAll();
    void updateEvents();

    EventLoop& loop_;
    Endpoint to_;
    uint32_t source_;
    int fd_ = -1;
    bool connecting_ = false;
    std::string out_;
    std::string in_;
    std::deque<Done> waiting_;
    int64_t lastActivityNs_ = 0;
    static constexpr int64_t kIdleReuseNs = 2 * kSec;
};

} // namespace bench
