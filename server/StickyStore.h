#pragma once

#include "shared/Messages.h"

#include <QHash>
#include <QList>
#include <QString>
#include <optional>

namespace herald {

// The active sticky notices of one node, without I/O (StickyNotices does that): what to give a
// new connection, when the next one lapses, and how a fresh copy of the shared list (Redis)
// merges with what this node learned meanwhile. Withdrawn ids are remembered until the notice
// would have lapsed, so a late copy (a delayed announcement, a list read before the withdrawal)
// cannot bring one back.
class StickyStore {
public:
    // Adds a notice; false when it is known already, withdrawn, or lapsed by `nowMs`.
    bool add(const StickyNotice& notice, qint64 nowMs);
    // Removes a notice and remembers its withdrawal; the notice when it was active.
    std::optional<StickyNotice> withdraw(const QString& id, qint64 nowMs);
    bool contains(const QString& id) const { return notices_.contains(id); }
    std::optional<StickyNotice> find(const QString& id) const;
    int size() const { return static_cast<int>(notices_.size()); }
    // Soonest to lapse first (then by id), so every node lists them in the same order.
    QList<StickyNotice> active() const;

    // Drops the notices that have lapsed by `nowMs` (and withdrawals no longer needed); returns
    // the dropped notices.
    QList<StickyNotice> takeExpired(qint64 nowMs);
    // When the next notice lapses; nullopt when none is active.
    std::optional<qint64> nextExpiryMs() const;

    // A read of the shared list starts: notices added from now on are newer than that read.
    quint64 beginLoad() { return ++generation_; }
    struct Merge {
        QList<StickyNotice> added; // in the shared list, not known here
        QList<StickyNotice> gone;  // known here before the read began, no longer shared
    };
    // Applies what the read begun as `load` found; newer notices are kept as they are.
    Merge merge(const QList<StickyNotice>& shared, quint64 load, qint64 nowMs);

private:
    struct Entry {
        StickyNotice notice;
        quint64 generation = 0;
    };
    QHash<QString, Entry> notices_;
    QHash<QString, qint64> withdrawn_; // id -> until when the withdrawal is remembered
    quint64 generation_ = 0;
};

} // namespace herald
