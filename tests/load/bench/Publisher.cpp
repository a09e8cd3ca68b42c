#include "Publisher.h"

namespace bench {

Publisher::Publisher(EventLoop& loop, const Peer& peer, const Endpoint& target, int connections,
                     int window, int64_t epochNs, int batch)
    : loop_(loop)
    , peer_(peer)
    , target_(target)
    , window_(size_t(window > 0 ? window : 1))
    , batch_(size_t(batch > 0 ? batch : 1))
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
        if (batch_ > 1) {
            sendBatch(*least);
            continue;
        }
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

void Publisher::sendBatch(HttpClient& client) {
    std::vector<std::pair<uint64_t, int64_t>> messages;
    std::vector<std::shared_ptr<Tally>> tallies;
    long payload = 0;
    while (!pending_.empty() && messages.size() < batch_) {
        Pending& p = pending_.front();
        payload = p.payload;
        messages.emplace_back(seq_++, p.intended >= 0 ? p.intended : nowNs() - epoch_);
        tallies.push_back(std::move(p.tally));
        pending_.pop_front();
    }
    client.request(peer_.publishBatchRequest(target_.hostPort, messages, size_t(payload)),
                   [this, tallies = std::move(tallies)](int status, std::string_view body) {
                       // 200 [{"id",...} or {"error":...}, ...], one per message, in order.
                       size_t at = 0;
                       for (const auto& tally : tallies) {
                           bool good = false;
                           if (status == 200) {
                               const size_t id = body.find(R"({"id")", at);
                               const size_t error = body.find(R"({"error")", at);
                               good = id < error;
                               at = std::min(id, error);
                               at = at == std::string_view::npos ? body.size() : at + 1;
                           }
                           if (good)
                               ++tally->ok;
                           else // 207: an item refused inside a 200 answer
                               ++errors_[status == 200 ? 207 : status];
                           if (++tally->answered == tally->count)
                               tally->done(tally->ok);
                       }
                       pump();
                   });
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
