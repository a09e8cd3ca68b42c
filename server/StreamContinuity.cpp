#include "server/StreamContinuity.h"

#include <QLoggingCategory>
#include <QMetaObject>
#include <QTimer>

Q_LOGGING_CATEGORY(lcContinuity, "herald.history")

namespace herald {
namespace {
constexpr int kRetryMs = 500; // a read that failed (broker away) is tried again this often
} // namespace

StreamContinuity::StreamContinuity(Broker& broker, HistoryPolicy policy, Metrics& metrics,
                                   Send send, QObject* parent)
    : QObject(parent)
    , broker_(broker)
    , policy_(std::move(policy))
    , metrics_(metrics)
    , send_(std::move(send)) {
    connect(&broker_, &Broker::keyLive, this, &StreamContinuity::onKeyLive);
}

int StreamContinuity::readLimit(const KeyState& state) const {
    // Redis trims approximately, so a stream may hold somewhat more than its count.
    return state.retention ? std::min(state.retention->count * 2 + 128, 10'000) : 0;
}

void StreamContinuity::track(const QString& key) {
    KeyState& state = keys_[key];
    state = KeyState{};
    state.retention = policy_.retentionFor(key);
    state.generation = nextGeneration_++;
    if (broker_.isLive(key))
        onKeyLive(key);
}

void StreamContinuity::untrack(const QString& key) {
    keys_.remove(key);
}

void StreamContinuity::onKeyLive(const QString& key) {
    const auto it = keys_.find(key);
    if (it == keys_.end())
        return;
    if (!it->retention) {
        it->phase = Phase::Live;
        startJoins(key);
        return;
    }
    // The first time: where the stream stands. After a reconnect: what was missed meanwhile.
    catchUp(key);
}

void StreamContinuity::catchUp(const QString& key) {
    KeyState& state = keys_[key];
    state.phase = Phase::Reading;
    const quint64 generation = state.generation;
    broker_.readHistory(
        key, state.known ? state.lastId : QString(), readLimit(state),
        [this, key, generation](HistoryRead read) { onCaughtUp(key, generation, read); });
}

void StreamContinuity::onCaughtUp(const QString& key, quint64 generation, const HistoryRead& read) {
    const auto it = keys_.find(key);
    if (it == keys_.end() || it->generation != generation)
        return; // untracked meanwhile
    KeyState& state = it.value();
    if (read.error) {
        qCDebug(lcContinuity) << "history read for" << key << "failed:" << read.error->message;
        // The subscription's next confirmation starts another read; until then, try again.
        QTimer::singleShot(kRetryMs, this, [this, key, generation] {
            const auto again = keys_.find(key);
            if (again != keys_.end() && again->generation == generation &&
                again->phase == Phase::Reading && broker_.isLive(key))
                catchUp(key);
        });
        return;
    }
    if (!state.known) {
        state.known = true;
        state.lastId = read.lastId;
        state.last = streamid::parse(read.lastId).value_or(streamid::Position{});
    } else {
        if (!read.complete && !read.entries.isEmpty()) {
            metrics_.gapsUnfilled++;
            qCWarning(lcContinuity) << "messages of" << key << "after" << state.lastId
                                    << "are no longer kept: this node's clients miss them";
        }
        for (const HistoryEntry& entry : read.entries) {
            const auto position = streamid::parse(entry.id);
            if (!position || *position <= state.last)
                continue;
            metrics_.gapsFilled++;
            deliverOrdered(key, state, entry.id, *position, entry.dataJson);
        }
        if (read.entries.size() >= readLimit(state))
            return catchUp(key); // more than one read's worth was missed
        if (!read.complete && read.entries.isEmpty()) {
            // Nothing after our position is kept and our position is gone too: the stream
            // expired or Redis lost it; continue from where it stands now.
            if (const auto now = streamid::parse(read.lastId); now && *now > state.last) {
                metrics_.gapsUnfilled++;
                state.lastId = read.lastId;
                state.last = *now;
            }
        }
    }
    state.phase = Phase::Live;
    std::vector<bus::Message> held = std::move(state.held);
    state.held.clear();
    for (bus::Message& message : held) {
        // A held message may reveal another gap: the rest waits for that read.
        KeyState& current = keys_[key];
        if (current.phase != Phase::Live) {
            current.held.push_back(std::move(message));
            continue;
        }
        deliverNext(key, current, std::move(message));
    }
    if (keys_[key].phase == Phase::Live)
        startJoins(key);
}

void StreamContinuity::arrive(const QString& key, bus::Message message) {
    const auto it = keys_.find(key);
    if (it == keys_.end())
        return;
    KeyState& state = it.value();
    if (!state.retention || !message.hasPrev) {
        // Live only (no history, or a plain PUBLISH): delivered as it comes.
        const Frame frame = Frame::text(bus::encodeMessageFrame(key, message.id, message.dataJson));
        send_(key, frame);
        return;
    }
    if (state.phase != Phase::Live) {
        state.held.push_back(std::move(message));
        return;
    }
    deliverNext(key, state, std::move(message));
}

void StreamContinuity::deliverNext(const QString& key, KeyState& state, bus::Message message) {
    const auto position = streamid::parse(message.id);
    if (!position) {
        // An envelope with prev but a foreign id: deliver, it cannot be placed in the order.
        send_(key, Frame::text(bus::encodeMessageFrame(key, message.id, message.dataJson)));
        return;
    }
    if (state.known && *position <= state.last)
        return; // already delivered (a gap fill got it first)
    // An empty prev: the stream starts again (first message, or its history expired or was
    // lost), so there is nothing to look for before it.
    if (state.known && !message.prev.isEmpty() && message.prev != state.lastId) {
        state.held.push_back(std::move(message));
        catchUp(key);
        return;
    }
    state.known = true;
    deliverOrdered(key, state, message.id, *position, message.dataJson);
}

void StreamContinuity::deliverOrdered(const QString& key, KeyState& state, const QString& id,
                                      const streamid::Position& position,
                                      const QByteArray& dataJson) {
    state.lastId = id;
    state.last = position;
    // History is written by anyone with Redis access: check what is read back, as on the bus.
    auto compact = bus::compactJsonValue(dataJson);
    if (std::holds_alternative<Error>(compact)) {
        qCWarning(lcContinuity) << "skipped a malformed message" << id << "of" << key;
        return;
    }
    const Frame frame =
        Frame::text(bus::encodeMessageFrame(key, id, std::get<QByteArray>(compact)));
    send_(key, frame);
    for (const auto& join : state.joins)
        if (join->since && !join->cancelled)
            join->live.emplace_back(position, frame);
}

void StreamContinuity::join(const std::shared_ptr<StreamJoin>& join) {
    const auto it = keys_.find(join->key);
    if (it == keys_.end()) {
        // Not tracked (system, online, or already subscribed): ready at once.
        QMetaObject::invokeMethod(
            this, [this, join] { finishJoin(join); }, Qt::QueuedConnection);
        return;
    }
    it->joins.push_back(join);
    if (it->phase == Phase::Live)
        startJoin(it.value(), join, true);
}

void StreamContinuity::leave(const std::shared_ptr<StreamJoin>& join) {
    const auto it = keys_.find(join->key);
    if (it == keys_.end())
        return;
    std::erase(it->joins, join);
}

void StreamContinuity::startJoins(const QString& key) {
    const auto it = keys_.find(key);
    if (it == keys_.end())
        return;
    // A copy: a join that finishes at once leaves the list.
    const auto joins = it->joins;
    for (const auto& join : joins)
        startJoin(it.value(), join, false);
}

bool StreamContinuity::readyNow(const std::shared_ptr<StreamJoin>& join) {
    const auto it = keys_.constFind(join->key);
    if (it == keys_.constEnd()) {
        join->ready = true; // not a broker key (the online feed): nothing to wait for
        return true;
    }
    const KeyState& state = it.value();
    if (state.phase != Phase::Live)
        return false;
    if (state.retention && join->since && !(state.known && *join->since == state.lastId))
        return false; // a replay to read first
    // Nothing to replay: nothing was missed, or the stream keeps no history to replay from.
    join->recovered = state.retention && join->since;
    join->ready = true;
    return true;
}

void StreamContinuity::startJoin(KeyState& state, const std::shared_ptr<StreamJoin>& join,
                                 bool deferAnswer) {
    if (join->ready || join->cancelled || join->reading)
        return;
    auto finishSoon = [this, join, deferAnswer] {
        if (deferAnswer)
            QMetaObject::invokeMethod(
                this, [this, join] { finishJoin(join); }, Qt::QueuedConnection);
        else
            finishJoin(join);
    };
    if (!state.retention || !join->since) {
        // Nothing to replay. (A `since` on a stream without history cannot be honoured.)
        join->recovered = false;
        return finishSoon();
    }
    const QString since = *join->since;
    if (state.known && since == state.lastId) {
        join->recovered = true; // nothing was missed: the common case of a quick reconnect
        return finishSoon();
    }
    // "" is the position of a stream that had no message yet: resume from its very start.
    const QString from = since.isEmpty() ? QStringLiteral("0-0") : since;
    if (!streamid::parse(from)) {
        join->recovered = false; // not a position of any history
        return finishSoon();
    }
    join->reading = true;
    join->recovered = true;
    readForJoin(join, from);
}

void StreamContinuity::readForJoin(const std::shared_ptr<StreamJoin>& join, const QString& after) {
    const auto it = keys_.find(join->key);
    if (it == keys_.end() || join->cancelled)
        return;
    const int limit = readLimit(it.value());
    const quint64 generation = it->generation;
    broker_.readHistory(join->key, after, limit, [this, join, limit, generation](HistoryRead read) {
        const auto state = keys_.find(join->key);
        if (join->cancelled || state == keys_.end() || state->generation != generation)
            return;
        if (read.error) {
            join->recovered = false; // said plainly; the client reloads
        } else {
            join->recovered = join->recovered && read.complete;
            for (const HistoryEntry& entry : read.entries) {
                const auto position = streamid::parse(entry.id);
                auto compact = bus::compactJsonValue(entry.dataJson);
                if (!position || std::holds_alternative<Error>(compact))
                    continue;
                join->replay.emplace_back(
                    *position, Frame::text(bus::encodeMessageFrame(join->key, entry.id,
                                                                   std::get<QByteArray>(compact))));
            }
            if (read.entries.size() >= limit)
                return readForJoin(join, read.entries.last().id);
        }
        finishJoin(join);
    });
}

void StreamContinuity::finishJoin(const std::shared_ptr<StreamJoin>& join) {
    if (join->ready || join->cancelled)
        return;
    join->ready = true;
    if (!join->recovered && join->since)
        metrics_.resumesIncomplete++;
    if (join->onReady)
        join->onReady();
}

} // namespace herald
