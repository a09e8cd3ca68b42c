#include "server/LocalBroker.h"

#include "shared/Bus.h"

#include <QDateTime>
#include <QMetaObject>
#include <algorithm>

namespace herald {

void LocalBroker::subscribe(const QString& key) {
    if (++subscribed_[key] == 1) {
        // In place at once; announced on the next pass, as a Redis confirmation would be.
        QMetaObject::invokeMethod(
            this,
            [this, key] {
                if (subscribed_.contains(key))
                    Q_EMIT keyLive(key);
            },
            Qt::QueuedConnection);
    }
}

void LocalBroker::unsubscribe(const QString& key) {
    auto it = subscribed_.find(key);
    if (it != subscribed_.end() && --it.value() <= 0)
        subscribed_.erase(it);
}

void LocalBroker::publish(const QString& key, const QByteArray& payload, PublishDone done) {
    // Queued so a publisher never sees its own delivery inside publish(), as with Redis.
    QMetaObject::invokeMethod(
        this,
        [this, key, payload] {
            if (subscribed_.contains(key))
                deliver(key, payload);
        },
        Qt::QueuedConnection);
    if (done)
        done(std::nullopt);
}

void LocalBroker::trim(Ring& ring, qint64 nowMs) {
    const auto count = static_cast<size_t>(std::max(1, ring.retention.count));
    while (!ring.entries.empty() && (ring.entries.size() > count ||
                                     ring.entries.front().atMs < nowMs - ring.retention.ageMs)) {
        ring.maxDeleted = ring.entries.front().id;
        ring.entries.pop_front();
    }
}

void LocalBroker::expire(const QString& key, qint64 nowMs) {
    const auto it = rings_.find(key);
    if (it == rings_.end())
        return;
    trim(it.value(), nowMs);
    // As a Redis key with an expiry: gone once nothing is left, and unknown to later readers.
    if (it->entries.empty())
        rings_.erase(it);
}

void LocalBroker::publishKept(const QString& key, const Retention& retention,
                              const QByteArray& dataJson, const QString& origin, KeptDone done) {
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    expire(key, now);
    Ring& ring = rings_[key];
    ring.retention = retention;
    // Redis's rule: the time in ms, and a sequence within the same ms (or a clock that went back).
    const streamid::Position previous = ring.last;
    streamid::Position id{quint64(now), 0};
    if (id <= ring.last)
        id = {ring.last.ms, ring.last.seq + 1};
    ring.last = id;
    ring.entries.push_back({id, dataJson, now});
    trim(ring, now);

    bus::Message message;
    message.id = streamid::format(id);
    message.hasPrev = true;
    message.prev = previous == streamid::Position{} ? QString() : streamid::format(previous);
    message.origin = origin;
    message.publishedMs = now;
    message.dataJson = dataJson;
    publish(key, bus::encodeEnvelope(message), {});
    // At once, as publish() answers: the delivery itself is queued, and an HTTP publisher then
    // answers at once and reads the next pipelined request in the same pass, so a burst is
    // delivered in few passes, each connection written once per pass. (Answering on the next
    // pass made a burst one pass per message: 5 times the CPU per delivery.)
    done(message.id);
}

void LocalBroker::readHistory(const QString& key, const QString& after, int limit, ReadDone done) {
    expire(key, QDateTime::currentMSecsSinceEpoch());
    HistoryRead read;
    const auto it = rings_.constFind(key);
    if (after.isEmpty()) {
        read.complete = true;
        if (it != rings_.constEnd())
            read.lastId = streamid::format(it->last);
    } else if (it != rings_.constEnd()) {
        const Ring& ring = it.value();
        read.lastId = streamid::format(ring.last);
        const auto from = streamid::parse(after);
        if (from) {
            const auto kept = std::lower_bound(
                ring.entries.begin(), ring.entries.end(), *from,
                [](const Kept& k, const streamid::Position& p) { return k.id < p; });
            // As Redis says it: {0,0} is the newest id trimmed until anything is.
            read.complete =
                (kept != ring.entries.end() && kept->id == *from) || ring.maxDeleted == *from;
            for (auto e = kept; e != ring.entries.end() && read.entries.size() < limit; ++e)
                if (e->id > *from)
                    read.entries.append({streamid::format(e->id), e->dataJson});
        }
    }
    QMetaObject::invokeMethod(
        this, [done = std::move(done), read = std::move(read)] { done(read); },
        Qt::QueuedConnection);
}

} // namespace herald
