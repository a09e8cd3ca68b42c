#include "Holder.h"

#include <algorithm>
#include <charconv>

namespace bench {
namespace {

constexpr int64_t kHandshakeTimeoutNs = 15 * kSec;
constexpr int kMaxAttempts = 30; // about a minute of retries before a subscriber counts as gone

// The string value of "key":"..." after `from` in a JSON text (no escapes expected), or npos.
std::string_view stringField(std::string_view text, std::string_view key, size_t from = 0) {
    const std::string needle = "\"" + std::string(key) + "\":\"";
    const size_t at = text.find(needle, from);
    if (at == std::string_view::npos)
        return {};
    const size_t start = at + needle.size();
    const size_t end = text.find('"', start);
    return end == std::string_view::npos ? std::string_view{} : text.substr(start, end - start);
}

// "<ms>-<seq>" as two numbers; false for ids of another form.
bool parseId(std::string_view id, uint64_t* ms, uint64_t* seq) {
    const size_t dash = id.find('-');
    if (dash == std::string_view::npos)
        return false;
    const auto a = std::from_chars(id.data(), id.data() + dash, *ms);
    const auto b = std::from_chars(id.data() + dash + 1, id.data() + id.size(), *seq);
    return a.ec == std::errc{} && a.ptr == id.data() + dash && b.ec == std::errc{} &&
           b.ptr == id.data() + id.size();
}

bool testBit(const std::vector<uint64_t>& bits, uint64_t i) {
    return i / 64 < bits.size() && (bits[i / 64] >> (i % 64)) & 1u;
}

} // namespace

Holder::Holder(EventLoop& loop, const Peer& peer, const std::vector<Endpoint>& targets, int sources,
               int64_t epochNs, int workerIndex, Reply reply)
    : loop_(loop)
    , targets_(targets)
    , sources_(sources)
    , index_(workerIndex)
    , reply_(std::move(reply))
    , ctx_{loop, peer, *this, Rng(), epochNs} {}

Holder::~Holder() {
    subs_.clear();
}

bool Holder::handle(const ControlMessage& m) {
    if (m.verb == "hold") {
        startHold(m);
    } else if (m.verb == "hstatus") {
        reply_(status());
    } else if (m.verb == "hcheck") {
        const std::string hex = m.text("acked");
        acked_.assign((hex.size() + 15) / 16, 0);
        // Hex digits in order of sequence: digit d holds sequences 4d..4d+3, lowest bit first.
        for (size_t d = 0; d < hex.size(); ++d) {
            const char c = hex[d];
            const uint64_t v = uint64_t(c >= 'a'               ? c - 'a' + 10
                                        : c >= '0' && c <= '9' ? c - '0'
                                                               : 0);
            acked_[d / 16] |= v << (4 * (d % 16));
        }
        checking_ = true;
        checkTimer_ = loop_.every(250 * kMs, [this] { check(false); });
        checkDeadline_ = loop_.at(m.number("deadline") + ctx_.epochNs, [this] { check(true); });
        check(false);
    } else if (m.verb == "hclose") {
        const size_t n = subs_.size();
        for (auto& s : subs_)
            s->closeNow();
        loop_.cancel(handshakeTimer_);
        reply_(ControlMessage{"hclosed", {}}.set("n", int64_t(n)));
    } else {
        return false;
    }
    return true;
}

void Holder::startHold(const ControlMessage& m) {
    const size_t count = size_t(m.number("count"));
    base_ = uint64_t(m.number("base"));
    streams_ = uint32_t(std::max<int64_t>(1, m.number("streams", 1)));
    if (m.text("prefix") != "-" && !m.text("prefix").empty())
        prefix_ = m.text("prefix");
    const uint32_t target = uint32_t(m.number("target")) % uint32_t(targets_.size());
    inflightLimit_ = size_t(std::max<int64_t>(1, m.number("inflight", 64)));
    slots_.assign(count, Slot{});
    subs_.clear();
    for (size_t i = 0; i < count; ++i) {
        slots_[i].stream = uint32_t((base_ + i) % streams_);
        slots_[i].target = target;
        subs_.push_back(std::make_unique<Subscriber>(ctx_, uint32_t(i)));
    }
    connecting_ = true;
    // Handshakes that hang (first connects and reconnects alike) count as failed.
    handshakeTimer_ = loop_.every(500 * kMs, [this] {
        const int64_t now = nowNs();
        for (auto& s : subs_) {
            const auto st = s->state();
            if (st != Subscriber::State::Ready && st != Subscriber::State::Closed &&
                st != Subscriber::State::Idle && now - s->startedNs() > kHandshakeTimeoutNs) {
                s->closeNow();
                onFailed(*s, "handshake timed out");
            }
        }
    });
    connectDeadline_ = loop_.at(m.number("deadline") + ctx_.epochNs, [this] {
        if (!connecting_)
            return;
        for (size_t i = 0; i < subs_.size(); ++i) {
            const auto st = subs_[i]->state();
            if (st != Subscriber::State::Ready && st != Subscriber::State::Closed) {
                subs_[i]->closeNow();
                ++failed_;
                slots_[i].gone = true;
            }
        }
        next_ = subs_.size();
        inflight_ = 0;
        if (firstFailure_.empty())
            firstFailure_ = "connect deadline passed";
        maybeHeld();
    });
    fillConnects();
    maybeHeld();
}

void Holder::startOne(size_t i) {
    const char* why = "";
    if (!subs_[i]->start(targets_[slots_[i].target], sourceAddress(base_ + i, sources_), &why))
        onFailed(*subs_[i], why);
}

void Holder::fillConnects() {
    while (connecting_ && inflight_ < inflightLimit_ && next_ < subs_.size()) {
        ++inflight_;
        startOne(next_++);
    }
}

void Holder::maybeHeld() {
    if (!connecting_ || next_ < subs_.size() || inflight_ > 0)
        return;
    connecting_ = false;
    loop_.cancel(connectDeadline_);
    reply_(ControlMessage{"held", {}}
               .set("ok", int64_t(ok_))
               .set("failed", int64_t(failed_))
               .set("why", firstFailure_));
}

void Holder::onReady(Subscriber& s) {
    Slot& slot = slots_[s.index()];
    ++ready_;
    if (slot.reconnecting) {
        slot.reconnecting = false;
        slot.attempts = 0;
        ++reconnects_;
        return;
    }
    ++ok_;
    if (inflight_ > 0)
        --inflight_;
    fillConnects();
    maybeHeld();
}

void Holder::onFailed(Subscriber& s, const char* why) {
    Slot& slot = slots_[s.index()];
    if (slot.reconnecting) {
        ++reconnectFailures_;
        scheduleReconnect(s.index());
        return;
    }
    if (!connecting_)
        return; // a first connect the deadline already counted
    ++failed_;
    slot.gone = true;
    if (firstFailure_.empty())
        firstFailure_ = why;
    if (inflight_ > 0)
        --inflight_;
    fillConnects();
    maybeHeld();
}

void Holder::onClosed(Subscriber& s, int code) {
    ++closed_;
    ++closeCodes_[code];
    if (ready_ > 0)
        --ready_;
    scheduleReconnect(s.index());
}

void Holder::scheduleReconnect(size_t i) {
    Slot& slot = slots_[i];
    if (++slot.attempts > kMaxAttempts) {
        slot.gone = true;
        slot.reconnecting = false;
        return;
    }
    slot.reconnecting = true;
    // Spread out, and slower after each failure, as a browser client backs off.
    const int64_t spread = 500 * kMs * std::min(slot.attempts, 8);
    const int64_t delay = 100 * kMs + int64_t(rng_.next() % uint64_t(spread));
    loop_.at(nowNs() + delay, [this, i] {
        // A timer runs after the loop's batch of socket events: the old object is not in use.
        subs_[i] = std::make_unique<Subscriber>(ctx_, uint32_t(i));
        slots_[i].target = (slots_[i].target + 1) % uint32_t(targets_.size());
        startOne(i);
    });
}

std::string Holder::subscribeFor(const Subscriber& s, const Peer&) {
    const Slot& slot = slots_[s.index()];
    const std::string stream = prefix_ + std::to_string(slot.stream);
    std::string m = R"({"event":"subscribe","streams":[")" + stream + "\"]";
    if (slot.reconnecting && slot.positioned)
        m += R"(,"since":{")" + stream + "\":\"" + slot.lastId + "\"}";
    return m + "}";
}

void Holder::onSubscribed(Subscriber& s, std::string_view text) {
    Slot& slot = slots_[s.index()];
    const std::string stream = prefix_ + std::to_string(slot.stream);
    const size_t rec = text.find("\"recovered\":");
    if (rec != std::string_view::npos) {
        const size_t at = text.find("\"" + stream + "\":", rec);
        if (at != std::string_view::npos)
            ++(text.compare(at + stream.size() + 3, 4, "true") == 0 ? recoveredTrue_
                                                                    : recoveredFalse_);
    }
    // The first answer's position is where a resume starts when nothing came since.
    const size_t pos = text.find("\"positions\":");
    if (!slot.reconnecting && slot.lastId.empty() && pos != std::string_view::npos) {
        slot.lastId = std::string(stringField(text, stream, pos));
        parseId(slot.lastId, &slot.lastMs, &slot.lastSeq);
        slot.positioned = text.find("\"" + stream + "\":\"", pos) != std::string_view::npos;
    }
}

void Holder::onText(Subscriber& s, std::string_view text, int64_t) {
    if (text.find(R"("event":"message")") == std::string_view::npos)
        return;
    if (s.state() != Subscriber::State::Ready)
        ++beforeSubscribed_;
    Slot& slot = slots_[s.index()];
    ++messages_;
    const std::string_view id = stringField(text, "id");
    const size_t at = text.find("\"s\":");
    uint64_t seq = 0;
    if (id.empty() || at == std::string_view::npos ||
        std::from_chars(text.data() + at + 4, text.data() + text.size(), seq).ec != std::errc{}) {
        ++unparsed_;
        return;
    }
    if (seq % streams_ != slot.stream ||
        stringField(text, "stream") != prefix_ + std::to_string(slot.stream)) {
        ++wrongStream_;
        return;
    }
    const uint64_t bit = seq / streams_;
    if (slot.got.size() <= bit / 64)
        slot.got.resize(bit / 64 + 1, 0);
    if (testBit(slot.got, bit)) {
        ++duplicates_;
        if (firstDuplicate_.empty())
            firstDuplicate_ = "sub" + std::to_string(base_ + s.index()) + ":seq" +
                              std::to_string(seq) + ":id" + std::string(id);
    }
    slot.got[bit / 64] |= uint64_t(1) << (bit % 64);
    uint64_t ms = 0, n = 0;
    if (parseId(id, &ms, &n)) {
        if (!slot.lastId.empty() && (ms < slot.lastMs || (ms == slot.lastMs && n <= slot.lastSeq)))
            ++outOfOrder_;
        else {
            slot.lastMs = ms;
            slot.lastSeq = n;
            slot.lastId = std::string(id);
            slot.positioned = true;
        }
    }
}

void Holder::check(bool deadlinePassed) {
    if (!checking_)
        return;
    uint64_t lost = 0, lostAtGone = 0, extra = 0, incomplete = 0;
    std::string firstLost;
    const uint64_t maxSeq = uint64_t(acked_.size()) * 64;
    for (size_t i = 0; i < slots_.size(); ++i) {
        const Slot& slot = slots_[i];
        uint64_t missing = 0;
        for (uint64_t j = 0, k = slot.stream; k < maxSeq || j < slot.got.size() * 64;
             ++j, k += streams_) {
            const bool a = testBit(acked_, k), g = testBit(slot.got, j);
            if (a && !g) {
                ++missing;
                if (firstLost.empty())
                    firstLost = "sub" + std::to_string(base_ + i) + ":seq" + std::to_string(k);
            } else if (g && !a) {
                ++extra;
            }
        }
        lost += missing;
        if (slot.gone)
            lostAtGone += missing;
        incomplete += missing > 0;
    }
    if (lost > 0 && !deadlinePassed)
        return;
    checking_ = false;
    loop_.cancel(checkTimer_);
    loop_.cancel(checkDeadline_);
    ControlMessage r = status();
    r.verb = "hchecked";
    reply_(r.set("complete", lost == 0 ? 1 : 0)
               .set("lost", int64_t(lost))
               .set("lost_at_gone", int64_t(lostAtGone))
               .set("subscribers_missing", int64_t(incomplete))
               .set("unacked_received", int64_t(extra))
               .set("first_lost", firstLost));
}

ControlMessage Holder::status() const {
    std::string codes;
    for (const auto& [code, n] : closeCodes_)
        codes += std::to_string(code) + ":" + std::to_string(n) + ",";
    int64_t gone = 0;
    for (const Slot& s : slots_)
        gone += s.gone;
    return ControlMessage{"hstatus", {}}
        .set("n", int64_t(slots_.size()))
        .set("ready", int64_t(ready_))
        .set("closed", int64_t(closed_))
        .set("codes", codes)
        .set("reconnects", int64_t(reconnects_))
        .set("reconnect_failures", int64_t(reconnectFailures_))
        .set("gone", gone)
        .set("recovered_true", int64_t(recoveredTrue_))
        .set("recovered_false", int64_t(recoveredFalse_))
        .set("messages", int64_t(messages_))
        .set("duplicates", int64_t(duplicates_))
        .set("first_duplicate", firstDuplicate_)
        .set("out_of_order", int64_t(outOfOrder_))
        .set("wrong_stream", int64_t(wrongStream_))
        .set("unparsed", int64_t(unparsed_))
        .set("before_subscribed", int64_t(beforeSubscribed_));
}

} // namespace bench
