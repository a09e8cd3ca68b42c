#pragma once

#include "console/client/AdminClient.h"
#include "console/ctl/CtlOptions.h"

#include <QObject>
#include <QTimer>

// heraldctl drain NODE / disconnect USER: one order on /admin, through the console's own
// AdminClient (one-shot: no reconnecting), done when the node acknowledges it.
namespace herald::ctl {

class AdminOrder : public QObject {
    Q_OBJECT
public:
    explicit AdminOrder(Options options, QObject* parent = nullptr);

    void start();

Q_SIGNALS:
    // Emitted once, after the connection is closed (or could not be opened).
    void finished(int exitCode);

private:
    void onWelcomed(const QString& node);
    void onAck(const admin::Ack& ack);
    void onServerError(const QString& code, const QString& message);
    void onEnded(const client::Ending& ending);
    void onTimeout();
    void finish(int exitCode, const QString& message = {});
    void emitFinished();

    Options options_;
    console::AdminClient client_;
    QTimer timer_; // the whole exchange must fit in --timeout
    QString what_; // "drain" or "disconnect": the command, and the id the node acknowledges
    QString where_;
    QString via_; // the node that answered
    bool open_ = false;
    bool sent_ = false;
    bool finishing_ = false;
    bool emitted_ = false;
    int exitCode_ = kExitOk;
};

} // namespace herald::ctl
