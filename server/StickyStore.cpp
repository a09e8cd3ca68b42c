#include "server/StickyStore.h"

#include <QSet>
#include <algorithm>

namespace herald {
namespace {
// A withdrawal of a notice this node never saw is remembered this long: longer than any
// announcement or list read can be late.
constexpr qint64 kUnknownWithdrawalMs = 10 * 60 * 1000;
} // namespace

bool StickyStore::add(const StickyNotice& notice, qint64 nowMs) {
    if (notice.expiresAtMs <= nowMs || notices_.contains(notice.id) ||
        withdrawn_.contains(notice.id))
        return false;
    notices_.insert(notice.id, {notice, generation_});
    return true;
}

std::optional<StickyNotice> StickyStore::withdraw(const QString& id, qint64 nowMs) {
    const auto it = notices_.find(id);
    if (it == notices_.end()) {
        withdrawn_.insert(id, std::max(withdrawn_.value(id), nowMs + kUnknownWithdrawalMs));
        return std::nullopt;
    }
    const StickyNotice notice = it->notice;
    notices_.erase(it);
    withdrawn_.insert(id, std::max(notice.expiresAtMs, nowMs + kUnknownWithdrawalMs));
    return notice;
}

std::optional<StickyNotice> StickyStore::find(const QString& id) const {
    const auto it = notices_.constFind(id);
    if (it == notices_.constEnd())
        return std::nullopt;
    return it->notice;
}

QList<StickyNotice> StickyStore::active() const {
    QList<StickyNotice> list;
    list.reserve(notices_.size());
    for (const Entry& e : notices_)
        list.append(e.notice);
    std::sort(list.begin(), list.end(), [](const StickyNotice& a, const StickyNotice& b) {
        return a.expiresAtMs != b.expiresAtMs ? a.expiresAtMs < b.expiresAtMs : a.id < b.id;
    });
    return list;
}

QList<StickyNotice> StickyStore::takeExpired(qint64 nowMs) {
    QList<StickyNotice> gone;
    for (auto it = notices_.begin(); it != notices_.end();) {
        if (it->notice.expiresAtMs <= nowMs) {
            gone.append(it->notice);
            it = notices_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = withdrawn_.begin(); it != withdrawn_.end();)
        it = it.value() <= nowMs ? withdrawn_.erase(it) : std::next(it);
    return gone;
}

std::optional<qint64> StickyStore::nextExpiryMs() const {
    std::optional<qint64> next;
    for (const Entry& e : notices_)
        if (!next || e.notice.expiresAtMs < *next)
            next = e.notice.expiresAtMs;
    return next;
}

StickyStore::Merge StickyStore::merge(const QList<StickyNotice>& shared, quint64 load,
                                      qint64 nowMs) {
    Merge result;
    QSet<QString> ids;
    for (const StickyNotice& n : shared) {
        ids.insert(n.id);
        if (add(n, nowMs)) {
            notices_[n.id].generation = load; // learned from this read, not newer than it
            result.added.append(n);
        }
    }
    // Known before the read began and missing from it: withdrawn (or lapsed) while this node did
    // not hear of it. Notices learned after the read began may simply be newer than it.
    for (auto it = notices_.begin(); it != notices_.end();) {
        if (it->generation < load && !ids.contains(it.key())) {
            result.gone.append(it->notice);
            withdrawn_.insert(it.key(), std::max(it->notice.expiresAtMs, nowMs));
            it = notices_.erase(it);
        } else {
            ++it;
        }
    }
    return result;
}

} // namespace herald
