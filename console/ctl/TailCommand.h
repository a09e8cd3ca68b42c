#pragma once

#include "console/client/NodeSocket.h"
#include "console/ctl/CtlOptions.h"

#include <QJsonObject>
#include <QObject>
#include <QTimer>

// heraldctl tail: one WebSocket, one subscription, one line per message on stdout.
namespace herald::ctl {

class TailCommand : public QObject {
    Q_OBJECT
public:
    explicit TailCommand(Options options, QObject* parent = nullptr);

    void start();
    // SIGINT/SIGTERM: close the connection cleanly and finish with exit code 0.
    void interrupt();

    // The endpoint chosen for the options: "/private" with --jwt, "/admin" with a token,
    // "/public" otherwise.
    static QString endpointFor(const Options& options);

Q_SIGNALS:
    // Emitted once, after the connection is closed (or could not be opened).
    void finished(int exitCode);

private:
    void onMessage(const ServerMessage& message, const QByteArray& frame);
    void onUndecodable(const Error& error);
    void onEnded(const client::Ending& ending);
    void onSetupTimeout();
    void onServerError(const ErrorEvent& event);
    void print(const QJsonObject& event, const QJsonValue& data);
    void finish(int exitCode, const QString& message = {});
    void emitFinished();

    Options options_;
    QString endpoint_;
    QUrl url_;
    QString where_; // for messages
    QByteArray credential_;
    client::NodeSocket socket_;
    QTimer setupTimer_; // connect + welcome + subscribed must fit in --timeout
    bool connected_ = false;
    bool ended_ = false; // the socket reported the end of the connection
    bool subscribed_ = false;
    bool finishing_ = false;
    bool emitted_ = false;
    int exitCode_ = kExitOk;
    QString key_; // the routing key the server confirmed
    int printed_ = 0;
};

} // namespace herald::ctl
