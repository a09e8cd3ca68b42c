#pragma once

#include "server/Broker.h"
#include "server/Frame.h"
#include "server/HistoryPolicy.h"
#include "server/Metrics.h"
#include "shared/Bus.h"
#include "shared/StreamIds.h"

#include <QHash>
#include <QObject>
#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace herald {

// A subscription being set up: it is answered ("subscribed") only when it is ready, so the
// answer means "from here on you get everything"; with `since` it also brings what was missed.
struct StreamJoin {
    QString key;
    std::optional<QString> since;
    bool ready = false;
    bool cancelled = false;
    bool reading = false;   // its history read is under way
    bool recovered = false; // with since: everything after it is in `replay`
    // With since: what history gave, then what was delivered live meanwhile (it may overlap).
    std::vector<std::pair<streamid::Position, Frame>> replay;
    std::vector<std::pair<streamid::Position, Frame>> live;
    std::function<void()> onReady; // called once, never inside StreamContinuity::join()
};

// Keeps each stream's delivery on this node gap-free, in order and without duplicates, for the
// streams that keep history, and sets up subscriptions (StreamJoin). Per stream key it knows the
// last id delivered here; a message whose "prev" is not that id reveals a gap (a pub/sub message
// lost, e.g. while the link to Redis was down), which is filled from history before anything
// later is delivered, and every re-established subscription is followed by the same catch-up.
// Streams without history are only gated on the broker's confirmation.
class StreamContinuity : public QObject {
    Q_OBJECT
public:
    using Send = std::function<void(const QString& key, const Frame& frame)>;

    StreamContinuity(Broker& broker, HistoryPolicy policy, Metrics& metrics, Send send,
                     QObject* parent = nullptr);

    // A key gets its first / loses its last local subscriber (the Router subscribes the broker).
    void track(const QString& key);
    void untrack(const QString& key);

    // A bus message for a tracked stream key (not "system"); `message.id` set.
    void arrive(const QString& key, bus::Message message);

    // Sets `join` up; its onReady is called when it is ready (possibly on the next pass).
    void join(const std::shared_ptr<StreamJoin>& join);
    // Makes `join` ready at once when nothing is to be waited for or read (the stream is in
    // place and nothing is to be replayed); false: call join() instead.
    bool readyNow(const std::shared_ptr<StreamJoin>& join);
    // The join was answered, or cancelled (mark it so first): stop feeding it.
    void leave(const std::shared_ptr<StreamJoin>& join);

    // The newest id delivered here for `key` ("" when none or unknown).
    QString lastIdOf(const QString& key) const {
        const auto it = keys_.constFind(key);
        return it != keys_.constEnd() && it->known ? it->lastId : QString();
    }
    streamid::Position lastPositionOf(const QString& key) const {
        const auto it = keys_.constFind(key);
        return it != keys_.constEnd() && it->known ? it->last : streamid::Position{};
    }
    std::optional<Retention> retentionFor(const QString& key) const {
        return policy_.retentionFor(key);
    }

private:
    enum class Phase { Waiting, Reading, Live };
    struct KeyState {
        std::optional<Retention> retention;
        Phase phase = Phase::Waiting;
        bool known = false; // lastId is this node's real position in the stream
        QString lastId;
        streamid::Position last;
        std::vector<bus::Message> held; // arrived while reading: delivered after the read
        std::vector<std::shared_ptr<StreamJoin>> joins;
        quint64 generation = 0; // a read answered after untrack()/track() is ignored
    };

    void onKeyLive(const QString& key);
    void catchUp(const QString& key);
    void onCaughtUp(const QString& key, quint64 generation, const HistoryRead& read);
    void deliverNext(const QString& key, KeyState& state, bus::Message message);
    void deliverOrdered(const QString& key, KeyState& state, const QString& id,
                        const streamid::Position& position, const QByteArray& dataJson);
    void startJoins(const QString& key);
    // deferAnswer: called from join(), whose caller must not see onReady inside it.
    void startJoin(KeyState& state, const std::shared_ptr<StreamJoin>& join, bool deferAnswer);
    void readForJoin(const std::shared_ptr<StreamJoin>& join, const QString& after);
    void finishJoin(const std::shared_ptr<StreamJoin>& join);
    int readLimit(const KeyState& state) const;

    Broker& broker_;
    HistoryPolicy policy_;
    Metrics& metrics_;
    Send send_;
    QHash<QString, KeyState> keys_;
    quint64 nextGeneration_ = 1;
};

} // namespace herald
