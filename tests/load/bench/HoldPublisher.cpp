#include "HoldPublisher.h"

namespace bench {

HoldPublisher::HoldPublisher(EventLoop& loop, const std::vector<Endpoint>& targets, size_t window,
                             uint32_t streams, std::string prefix, long payload, std::string token,
                             int64_t epochNs)
    : loop_(loop)
    , targets_(targets)
    , window_(window > 0 ? window : 1)
    , streams_(streams > 0 ? streams : 1)
    , prefix_(std::move(prefix))
    , payload_(payload)
    , auth_(token.empty() ? "" : "Authorization: Bearer " + token + "\r\n")
    , epoch_(epochNs) {
    for (const Endpoint& t : targets_)
        clients_.push_back(std::make_unique<HttpClient>(loop_, t, 0x7f000001u));
}

void HoldPublisher::start(double rate) {
    rate_ = rate;
    t0_ = nowNs();
    const uint64_t already = status_.size();
    t0_ -= int64_t(double(already) * double(kSec) / rate_); // continue the sequence's schedule
    timer_ = loop_.every(kMs, [this] { tick(); });
}

void HoldPublisher::stop() {
    loop_.cancel(timer_);
    timer_ = 0;
}

void HoldPublisher::tick() {
    // Message k is due at t0 + k / rate (so message 0 at once): counting only whole intervals
    // sent each one an interval after its due time, and that interval was counted as latency.
    const uint64_t due = uint64_t(rate_ * double(nowNs() - t0_) / double(kSec)) + 1;
    while (status_.size() < due)
        send(status_.size());
}

void HoldPublisher::send(uint64_t k) {
    status_.push_back(kPending);
    due_.push_back(t0_ + int64_t(double(k) * double(kSec) / rate_) - epoch_);
    answered_.push_back(0);
    const size_t n = clients_.size();
    HttpClient* client = nullptr;
    size_t node = 0;
    for (size_t i = 0; i < n && !client; ++i) {
        node = (k + i) % n;
        if (clients_[node]->outstanding() < window_)
            client = clients_[node].get();
    }
    if (!client) {
        status_[k] = kNotSent;
        answered_[k] = nowNs() - epoch_;
        lastFailure_ = nowNs();
        return;
    }
    std::string data =
        "{\"s\":" + std::to_string(k) + ",\"t\":" + std::to_string(due_[k]) + ",\"p\":\"";
    if (payload_ > long(data.size()) + 2)
        data.append(size_t(payload_) - data.size() - 2, 'x');
    data += "\"}";
    const std::string body =
        "{\"stream\":\"" + prefix_ + std::to_string(k % streams_) + "\",\"data\":" + data + "}";
    std::string request =
        "POST /api/publish HTTP/1.1\r\nHost: " + targets_[node].hostPort + "\r\n" + auth_ +
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    ++outstanding_;
    client->request(std::move(request), [this, k](int status, std::string_view answer) {
        --outstanding_;
        answered_[k] = nowNs() - epoch_;
        const bool ok = status >= 200 && status < 300;
        if (ok && answer.find("\"id\":\"") != std::string_view::npos) {
            status_[k] = int16_t(status);
            return;
        }
        status_[k] = ok ? kNoId : int16_t(status);
        lastFailure_ = nowNs();
    });
}

std::map<int, long> HoldPublisher::failures() const {
    std::map<int, long> out;
    for (int16_t s : status_)
        if (s < 200 || s >= 300)
            ++out[s];
    return out;
}

} // namespace bench
