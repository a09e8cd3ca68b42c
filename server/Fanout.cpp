#include "server/Fanout.h"

namespace herald {

bool Fanout::add(Session* session, const QString& key) {
    QList<QString>& keys = bySession_[session];
    if (keys.contains(key))
        return false;
    keys.append(key);
    QSet<Session*>& sessions = byKey_[key];
    const bool first = sessions.isEmpty();
    sessions.insert(session);
    ++total_;
    return first;
}

bool Fanout::remove(Session* session, const QString& key) {
    auto keysIt = bySession_.find(session);
    if (keysIt == bySession_.end() || !keysIt->removeOne(key))
        return false;
    if (keysIt->isEmpty())
        bySession_.erase(keysIt);
    --total_;
    auto sessionsIt = byKey_.find(key);
    sessionsIt->remove(session);
    if (!sessionsIt->isEmpty())
        return false;
    byKey_.erase(sessionsIt);
    return true;
}

QStringList Fanout::removeAll(Session* session) {
    QStringList emptied;
    const auto keysIt = bySession_.constFind(session);
    if (keysIt == bySession_.cend())
        return emptied;
    const QList<QString> keys = *keysIt; // a copy: remove() edits the original
    for (const QString& key : keys)
        if (remove(session, key))
            emptied.append(key);
    return emptied;
}

const QSet<Session*>& Fanout::subscribers(const QString& key) const {
    static const QSet<Session*> none;
    const auto it = byKey_.constFind(key);
    return it == byKey_.cend() ? none : *it;
}

bool Fanout::isSubscribed(Session* session, const QString& key) const {
    const auto it = bySession_.constFind(session);
    return it != bySession_.cend() && it->contains(key);
}

int Fanout::subscriptionCount(Session* session) const {
    const auto it = bySession_.constFind(session);
    return it == bySession_.cend() ? 0 : static_cast<int>(it->size());
}

QStringList Fanout::keysOf(Session* session) const {
    const auto it = bySession_.constFind(session);
    return it == bySession_.cend() ? QStringList{} : *it;
}

QList<QPair<QString, qint64>> Fanout::counts() const {
    QList<QPair<QString, qint64>> out;
    out.reserve(byKey_.size());
    for (auto it = byKey_.cbegin(); it != byKey_.cend(); ++it)
        out.append({it.key(), static_cast<qint64>(it.value().size())});
    return out;
}

} // namespace herald
