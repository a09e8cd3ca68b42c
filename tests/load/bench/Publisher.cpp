#include "Publisher.h"

namespace bench {

Publisher::Publisher(EventLoop& loop, const Peer& peer, const Endpoint& target, int connections,
                     int window, int64_t epochNs)
    : loop_(loop)
    , peer_(peer)
    , target_(target)
    , window_(size_t(window > 0 ? window : 1))
    , epoch_(epochNs) {
    for (int i = 0; i < connections; ++i)
        clients_.push_back(std::make_unique<HttpClient>(loop_, target_, 0x7f000001u));
}

void Publisher::publish(long count, long payloadBytes, int64_t intendedNs,
                        std::function<void(long)> done) {
    auto tally = std::make_shared<Tally>(Tally{0, 0, count, std::move(done)});
    if (count == 0) {
        tally->done(0);
        return;
    }
    for (long i = 0; i < count; ++i)
        pending_.push_back(Pending{payloadBytes, intendedNs, tally});
    pump();
}

void Publisher::pump() {
    while (!pending_.empty()) {
        HttpClient* least = nullptr;
        for (auto& c : clients_)
            if (!least || c->outstanding() < least->outstanding())
                least = c.get();
        if (least->outstanding() >= window_)
            return;
        Pending p = std::move(pending_.front());
        pending_.pop_front();
        const int64_t sent = p.intended >= 0 ? p.intended : nowNs() - epoch_;
        least->request(peer_.publishRequest(target_.hostPort, seq_++, sent, size_t(p.payload)),
                       [this, tally = p.tally](int status, std::string_view) {
                           if (status >= 200 && status < 300)
                               ++tally->ok;
                           else
                               ++errors_[status];
                           if (++tally->answered == tally->count)
                               tally->done(tally->ok);
                           pump();
                       });
    }
}

void Publisher::drop() {
    pending_.clear();
    for (auto& c : clients_)
        c = std::make_unique<HttpClient>(loop_, target_, 0x7f000001u);
}

std::string Publisher::errors() const {
    std::string out;
    for (const auto& [status, n] : errors_)
        out += (out.empty() ? "" : ",") + std::to_string(status) + ":" + std::to_string(n);
    return out;
}

} // namespace bench
