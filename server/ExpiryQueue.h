#pragma once

#include <QList>
#include <QtGlobal>
#include <map>
#include <optional>
#include <unordered_map>

namespace herald {

// Session ids ordered by the moment their credential expires, so one timer set for the earliest
// can close each connection on time (a periodic sweep would be late by up to its interval).
class ExpiryQueue {
public:
    void add(quint64 id, qint64 atMs) { byId_.emplace(id, byTime_.emplace(atMs, id)); }
    void remove(quint64 id) {
        if (auto it = byId_.find(id); it != byId_.end()) {
            byTime_.erase(it->second);
            byId_.erase(it);
        }
    }
    std::optional<qint64> nextMs() const {
        return byTime_.empty() ? std::nullopt : std::optional(byTime_.begin()->first);
    }
    // Removes and returns the ids due at `nowMs`.
    QList<quint64> takeDue(qint64 nowMs) {
        QList<quint64> due;
        while (!byTime_.empty() && byTime_.begin()->first <= nowMs) {
            due.append(byTime_.begin()->second);
            byId_.erase(byTime_.begin()->second);
            byTime_.erase(byTime_.begin());
        }
        return due;
    }
    std::size_t size() const { return byId_.size(); }

private:
    std::multimap<qint64, quint64> byTime_;
    std::unordered_map<quint64, std::multimap<qint64, quint64>::iterator> byId_;
};

} // namespace herald
